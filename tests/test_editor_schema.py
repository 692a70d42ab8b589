"""The editor's verdict (the JSON Schema `satc schema` prints) is compile's verdict.

An editor reads each YAML file with the schema: jsonschema decides valid / invalid,
and `deprecationMessage` marks a key with a warning (VS Code's YAML extension).  With
`yaml.yamlVersion: "1.1"` (README, "Editor support") it reads `yes`/`on` as booleans,
as OmegaConf does; PyYAML's safe_load is that reading.  For every case, including
CogVideoX's official configs, both must agree on "compiles or not" and on which keys
get a schema warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import support
import yaml
from satc.compiler.errors import ConfigError
from satc.compiler.pipeline import compile_bundle
from satc.compiler.tree import Path as TreePath

SCHEMA_WARNINGS = ("DeepSpeed ignores this key here", "deprecated")


def _schema() -> dict[str, Any]:
    result = support.satc("schema")
    assert result.returncode == 0, result.stderr
    schema: dict[str, Any] = json.loads(result.stdout)
    return schema


SCHEMA = _schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _dotted(path: TreePath) -> str:
    return ".".join(str(part) for part in path)


def editor(files: list[Path]) -> tuple[bool, set[str]]:
    """(every file valid, keys the editor marks as deprecated) per file, as an editor sees them."""
    valid, marked = True, set()
    for file in files:
        data = yaml.safe_load(file.read_text()) or {}
        valid &= VALIDATOR.is_valid(data)

        def walk(node: Any, schema: dict[str, Any], path: TreePath) -> None:
            if not isinstance(node, dict):
                return
            for key, value in node.items():
                sub = schema.get("properties", {}).get(key)
                if isinstance(sub, dict):
                    if "deprecationMessage" in sub:
                        marked.add(_dotted((*path, key)))
                    walk(value, sub, (*path, key))

        walk(data, SCHEMA, ())
    return valid, marked


def compiler(files: list[Path], out: Path) -> tuple[bool, set[str]]:
    try:
        bundle = compile_bundle([str(f) for f in files], [], out)
    except ConfigError:
        return False, set()
    return True, {w.key for w in bundle.warnings if w.message.startswith(SCHEMA_WARNINGS)}


CASES = {
    "yaml-1.1-booleans": ("args:\n  mode: inference\n  fp16: yes\n  bf16: off\n", True),
    "local_rank": ("args:\n  mode: inference\n  local_rank: 0\n", False),
    "base": ("args:\n  mode: inference\n  base: [a.yaml]\n", False),
    "deepspeed_config": ("args:\n  deepspeed_config: ds.json\n", False),
    "reserved-env": ("args:\n  mode: inference\nlaunch:\n  env: {MASTER_ADDR: h, FOO: 1}\n", False),
    "misplaced": (
        "args:\n  train_iters: 10\ndeepspeed:\n  train_micro_batch_size_per_gpu: 1\n  loss_scale: 0\n"
        "  hysteresis: 2\n  bf16: {enabled: true}\n",
        True,
    ),
    "typo": ("args:\n  mode: inference\n  lerning_rate: 1\n", False),
    "slurm-extra": (
        "args:\n  mode: inference\nlaunch:\n  target: slurm\n  slurm:\n    gpu_directive: gres\n"
        "    extra: {reservation: big, requeue: true}\n",
        True,
    ),
    "slurm-extra-unknown": (
        "args:\n  mode: inference\nlaunch:\n  target: slurm\n  slurm:\n    extra: {chdir: /}\n",
        False,
    ),
    "accepted": (
        "args:\n  train_iters: 10\ndeepspeed:\n  train_micro_batch_size_per_gpu: 1\n  loss_scale: 0\n"
        "  bf16: {enabled: true}\nsatc:\n  accept_warnings: [deepspeed.loss_scale]\n",
        True,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_editor_and_compile_agree(tmp_path: Path, name: str) -> None:
    text, compiles = CASES[name]
    config = tmp_path / "c.yaml"
    config.write_text(text)
    verdict = editor([config])
    compiled = compiler([config], tmp_path / "out")
    assert verdict[0] is compiled[0] is compiles
    if name != "accepted":  # an accepted warning is still marked in the editor
        assert verdict[1] == compiled[1]


# The official pairs compile refuses by a rule that reads two files at once (the model's
# profile and the run's values): an editor checks each file by itself and cannot see it.
# With the fix each message names, both agree again.
SAMPLE_1_0 = "args:\n  sampling_num_frames: 13\n  sampling_image_size: [480, 720]\n"
CROSS_FILE = {
    ("cogvideox_2b.yaml", "inference.yaml"): ({"M14", "M15"}, SAMPLE_1_0),
    ("cogvideox_5b_lora.yaml", "inference.yaml"): ({"M14", "M15"}, SAMPLE_1_0),
    ("cogvideox_5b_i2v.yaml", "inference.yaml"): (
        {"M14", "M15", "M24"},
        SAMPLE_1_0 + "  image2video: true\n",
    ),
    ("cogvideox1.5_5b.yaml", "sft.yaml"): ({"M21"}, "model:\n  latent_input: false\n"),
}


def _buildable_1_0(official: Path, tmp_path: Path) -> Path:
    """CogVideoX 1.0's config as its network at e519ece builds it: compile refuses the
    official text (M25 integer patch_size; M4 the 2B's interpolation passed twice), which
    a single-file editor schema flags only in part (M25)."""
    with pytest.raises(ConfigError) as refused:
        compile_bundle([str(official)], [], tmp_path / "official")
    rules = {
        p.message.rsplit("[", 1)[-1].rstrip("]") for p in refused.value.problems if p.severity == "error"
    }
    # T1 beside them: the model file alone trains (SAT's default mode) without args.train_data.
    assert rules == ({"M25", "M4", "T1"} if "2b" in official.name else {"M25", "T1"})
    assert not editor([official])[0], "the editor flags the integer patch_size too"
    text = official.read_text().replace("      patch_size: 2\n", "      patch_size: [1, 2, 2]\n", 1)
    if "height_interpolation: 1.875" in text:
        text = text.replace(
            "            height_interpolation: 1.875\n            width_interpolation: 1.875\n", ""
        )
        text = text.replace(
            "      patch_size: [1, 2, 2]\n",
            "      patch_size: [1, 2, 2]\n      height_interpolation: 1.875\n      width_interpolation: 1.875\n",
        )
    fixed = tmp_path / official.name
    fixed.write_text(text)
    return fixed


@pytest.mark.parametrize(
    "model",
    ["cogvideox_2b.yaml", "cogvideox_5b_lora.yaml", "cogvideox_5b_i2v.yaml", "cogvideox1.5_5b.yaml"],
)
@pytest.mark.parametrize("run", ["sft.yaml", "inference.yaml"])
def test_official_configs_get_the_same_verdict(tmp_path: Path, model: str, run: str) -> None:
    configs = support.cogvideo_sat() / "configs"
    files = [configs / model, configs / run]
    if model.startswith("cogvideox_"):
        files[0] = _buildable_1_0(files[0], tmp_path)
    if (model, run) in CROSS_FILE:
        rules, fix = CROSS_FILE[model, run]
        with pytest.raises(ConfigError) as refused:
            compile_bundle([str(f) for f in files], [], tmp_path / "refused")
        errors = [p for p in refused.value.problems if p.severity == "error"]
        assert {p.message.rsplit("[", 1)[-1].rstrip("]") for p in errors} == rules
        assert editor(files)[0], "each file is valid by itself"
        (tmp_path / "fix.yaml").write_text(fix)
        files.append(tmp_path / "fix.yaml")
    verdict, compiled = editor(files), compiler(files, tmp_path / "out")
    assert verdict == compiled
    assert verdict[0], "CogVideoX's official configs compile (with the fix a broken pair's message names)"
    if run == "sft.yaml":
        assert {"deepspeed.loss_scale", "deepspeed.hysteresis"} <= verdict[1]


def test_committed_args_are_cogvideox_own_parser() -> None:
    """schemas/satc.schema.json's `args` are the parser CogVideoX's own get_args builds (run
    in place from $SATC_COGVIDEO_SAT), with each argument as the project reader read it:
    default, group, and `type=list` for sampling_image_size (arguments.py:42), which takes
    any list of integers the code can index twice (sample_video.py:199)."""
    import project_support

    support.require_module("sat")
    root = Path(__file__).resolve().parent.parent / "schemas"
    props = json.loads((root / "satc.schema.json").read_text())["properties"]["args"]["properties"]
    facts = json.loads((root / "builtin_project.json").read_text())["arguments"]
    assert set(props) == project_support.parser_dests(support.cogvideo_sat()) == set(facts)
    for dest, fact in facts.items():
        assert props[dest]["default"] == fact["default"], dest
        assert props[dest]["x-satc-group"] == (fact["group"] or "options"), dest
    size = props["sampling_image_size"]
    # the code divides the first two into a latent shape: integers, any count from two
    assert (size["type"], size["minItems"], size.get("maxItems"), size.get("items")) == (
        "array",
        2,
        None,
        {"type": "integer", "minimum": 1},
    )
    assert size["x-satc-group"] == "sampling"
