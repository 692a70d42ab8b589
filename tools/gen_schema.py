"""Regenerate ``schemas/satc.schema.json``: CogVideoX's arguments, DeepSpeed's config, satc's own.

Dev-time only (the DeepSpeed and optimizer tables import DeepSpeed, torch and SAT):
``python tools/gen_schema.py``, after ``python tools/builtin_profile.py``.  The ``args``
properties are CogVideoX's parser as the project reader saw it on the tree in
``$SATC_COGVIDEO_SAT``: the built-in profile (``schemas/builtin_project.json``, the
reader's own output there), so no copy of the project's parser lives in satc.
``tests/test_optimizer_config.py`` fails when the committed file drifts from what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))

import deepspeed_schema  # noqa: E402
import launch_schema  # noqa: E402

BUILTIN_PROFILE = ROOT / "schemas" / "builtin_project.json"
SCHEMA_PATH = ROOT / "schemas" / "satc.schema.json"

# Dests a config may not set: satc derives them, or they are per process.
COMPUTED = {
    "base": "satc records the input files itself; list them on the command line",
    "deepspeed_config": "write the DeepSpeed config as the top-level `deepspeed:` section",
    "deepscale_config": "write the DeepSpeed config as the top-level `deepspeed:` section",
    "local_rank": "it is per process: the launcher sets LOCAL_RANK and the runtime reads it",
}

# Sizes and counts argparse takes as any int: a negative batch or interval is a typo that
# SAT would only trip over at run time (or, for the micro-batch, divide by).
MINIMUM = {
    "batch_size": 1,
    "eval_batch_size": 1,
    "gradient_accumulation_steps": 1,
    "model_parallel_size": 1,
    "train_iters": 0,
    "epochs": 1,
    "lr_decay_iters": 1,
    "eval_iters": 0,
    "eval_interval": 1,
    "save_interval": 1,
    "log_interval": 1,
    "exit_interval": 1,
    "num_workers": 0,
    "prefetch_factor": 1,
    "block_size": 1,
    "checkpoint_num_layers": 1,
    "checkpoint_skip_layers": 0,
    "sampling_fps": 1,
    "sampling_num_frames": 1,
    "lcm_steps": 1,
    "grid_num_rows": 1,
    "final_size": 1,
    "latent_channels": 1,
    "lr": 0,
    "weight_decay": 0,
    "warmup": 0,
    "lr_decay_ratio": 0,
}

# What satc requires of a list the code indexes: sample_video.py:199 reads
# ``image_size[0], image_size[1]`` and divides them by the VAE's factor into a latent
# shape (CogVideoX declares the dest ``type=list``: no count, no item type).
INDEXED = {"sampling_image_size": {"minItems": 2, "items": {"type": "integer", "minimum": 1}}}

# argparse's `type=` as JSON Schema; no `type=` hands the code text.
_SCALAR_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean", None: "string"}


def _item_schema(arg: dict[str, Any]) -> dict[str, Any]:
    if arg["action"] in ("store_true", "store_false"):
        return {"type": "boolean"}
    if arg["nargs"] == "?" and arg["choices"] is not None:
        # `--flag [VALUE]` with const=True (SAT's iterable_dataset): True, False or a choice.
        return {"enum": list(arg["choices"])}
    item: dict[str, Any] = {"type": "array" if arg["type"] == "list" else _SCALAR_TYPES[arg["type"]]}
    if arg["choices"] is not None:
        item["enum"] = list(arg["choices"])
    return item


def arg_schema(arg: dict[str, Any]) -> dict[str, Any]:
    """One argument fact (compiler/project/facts.py: Argument, as JSON) as a schema."""
    item = _item_schema(arg)
    nargs = arg["nargs"]
    if nargs in ("*", "+") or (isinstance(nargs, int) and nargs > 0 and arg["action"] == "store"):
        schema: dict[str, Any] = {"type": "array", "items": item}
        if nargs == "+":
            schema["minItems"] = 1
        if isinstance(nargs, int):
            schema["minItems"] = schema["maxItems"] = nargs
    else:
        schema = dict(item)
    schema.update(INDEXED.get(arg["dest"], {}))
    if arg["default"] is None:
        if "type" in schema:
            schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if arg["dest"] in MINIMUM:
        schema["minimum"] = MINIMUM[arg["dest"]]
    schema["default"] = arg["default"]
    schema["description"] = " ".join((arg["help"] or "").split())
    # argparse files an argument added to the parser itself under its "options" group.
    schema["x-satc-group"] = arg["group"] or "options"
    if arg["dest"] in COMPUTED:
        schema["x-satc-computed"] = COMPUTED[arg["dest"]]
    return schema


def args_schema() -> dict[str, Any]:
    profile = json.loads(BUILTIN_PROFILE.read_text(encoding="utf-8"))
    properties = {dest: arg_schema(arg) for dest, arg in profile["arguments"].items()}
    return {
        "type": "object",
        "description": "Values for SAT's argparse namespace (CogVideoX's get_args).",
        "additionalProperties": False,
        "properties": dict(sorted(properties.items())),
    }


def satc_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "satc's own settings; never passed to SAT.",
        "properties": {
            "accept_warnings": {
                "type": "array",
                "items": {
                    "type": "string",
                    "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+|\[[0-9]+\])*$",
                },
                "uniqueItems": True,
                "default": [],
                "description": "Dotted keys whose warnings are known and accepted (a key covers "
                "the keys below it): compile stops printing them and --strict passes them; "
                "recorded in provenance.accepted_warnings.",
            }
        },
    }


def build() -> dict[str, Any]:
    free_tree = {
        "type": "object",
        "description": "Free-form target/params tree, passed to instantiate_from_config as is.",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://satc.invalid/schemas/satc.schema.json",
        "title": "satc config (SwissArmyTransformer / CogVideoX)",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "args": args_schema(),
            "model": {**free_tree, "description": "The model config (args.model_config)."},
            "data": {**free_tree, "description": "The data config (args.data_config)."},
            "deepspeed": deepspeed_schema.build(),
            "launch": launch_schema.build(),
            "satc": satc_schema(),
        },
    }


def for_editors(schema: Any) -> Any:
    """Make what compile reports visible in an editor (VS Code's YAML extension reads
    `deprecationMessage` as a warning and `errorMessage` for a failed subschema):
    misplaced and deprecated keys warn, keys compile refuses fail (`not: {}`)."""
    if isinstance(schema, list):
        return [for_editors(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: for_editors(value) for key, value in schema.items()}
    if "x-satc-misplaced" in out:
        target = f"deepspeed.{out['x-satc-misplaced']}"
        out["deprecationMessage"] = f"DeepSpeed ignores this key here; it reads it as {target}: move it there"
        out.setdefault("description", out["deprecationMessage"])
    if "x-satc-deprecated" in out and "not" not in out:
        out["deprecationMessage"] = f"deprecated: {out['x-satc-deprecated']}"
    for refused in ("x-satc-computed", "x-satc-reserved"):
        if refused in out:
            out["not"] = {}
            out["errorMessage"] = f"satc refuses this key: {out[refused]}"
    return out


def main() -> None:
    text = json.dumps(for_editors(build()), indent=2, sort_keys=False, allow_nan=False) + "\n"
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
