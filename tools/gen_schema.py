"""Regenerate ``schemas/satc.schema.json`` from the installed SAT, DeepSpeed and CogVideoX parsers.

Dev-time only (it imports SAT and DeepSpeed):  ``python tools/gen_schema.py``.
``tests/test_schema.py`` fails when the committed file drifts from what this writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))

import cogvideox_parser  # noqa: E402
import deepspeed_schema  # noqa: E402
import launch_schema  # noqa: E402

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

_SCALAR_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", None: "string"}


def _item_schema(action: argparse.Action) -> dict[str, Any]:
    if isinstance(action, argparse._StoreTrueAction):
        return {"type": "boolean"}
    if action.dest == "iterable_dataset":
        # nargs='?' with const=True: the value is True, False or the string 'custom'.
        return {"enum": list(action.choices or [])}
    item: dict[str, Any] = {"type": _SCALAR_TYPES[action.type]}  # type: ignore[index]
    if action.choices is not None:
        item["enum"] = list(action.choices)
    return item


def arg_schema(action: argparse.Action, group: str) -> dict[str, Any]:
    item = _item_schema(action)
    if action.nargs in ("*", "+") or (isinstance(action.nargs, int) and action.nargs > 0):
        schema: dict[str, Any] = {"type": "array", "items": item}
        if action.nargs == "+":
            schema["minItems"] = 1
        if isinstance(action.nargs, int) and action.nargs > 0:
            schema["minItems"] = schema["maxItems"] = action.nargs
    else:
        schema = dict(item)
    if action.default is None:
        if "type" in schema:
            schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if action.dest in MINIMUM:
        schema["minimum"] = MINIMUM[action.dest]
    schema["default"] = action.default
    schema["description"] = " ".join((action.help or "").split())
    schema["x-satc-group"] = group
    if action.dest in COMPUTED:
        schema["x-satc-computed"] = COMPUTED[action.dest]
    return schema


def args_schema() -> dict[str, Any]:
    parser = cogvideox_parser.build_parser()
    group_of = {id(a): g.title for g in parser._action_groups for a in g._group_actions}
    properties = {
        action.dest: arg_schema(action, group_of.get(id(action), "sat"))
        for action in parser._actions
        if action.dest != "help"
    }
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
