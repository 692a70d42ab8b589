"""A mapping under `args:` named like a top-level section the project reads (`args:
deepspeed: {...}`, as harshit810/cogVideoFinetuning eb3867d sat/configs/inference.yaml:14
writes it) is a type error whose hint moves it to the top level, citing the loader line;
where the project reads no such section, no hint sends it there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import cogvideo_sat, satc

BASES = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")
LAYER = "args:\n  deepspeed:\n    fp16: {enabled: true}\n"
SECTION = (
    '    if "deepspeed" in config:\n'
    '        deepspeed_config = config.pop("deepspeed", OmegaConf.create())\n'
    "        args.deepspeed_config = OmegaConf.to_object(deepspeed_config)\n"
)


def _compile(tree: Path, tmp_path: Path, layer: str) -> str:
    config = tmp_path / "layer.yaml"
    config.write_text(layer, encoding="utf-8")
    result = satc(
        "compile",
        *BASES,
        str(config),
        "-o",
        str(tmp_path / "bundle"),
        cwd=tree,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 2, result.stderr
    assert "layer.yaml:2:3: error: args.deepspeed: expected true or false, got a mapping" in result.stderr
    return result.stderr


@pytest.mark.parametrize("mode", ["finetune", "pretrain"])
def test_a_deepspeed_mapping_under_args_is_sent_to_the_top_level(tmp_path: Path, mode: str) -> None:
    stderr = _compile(cogvideo_sat(), tmp_path, LAYER + f"  mode: {mode}\n")
    assert (
        "hint: move it to the top level, as a `deepspeed:` section: the project reads deepspeed "
        "there (arguments.py:292), never under args" in stderr
    )


def test_in_an_inference_run_the_hint_deletes_it(tmp_path: Path) -> None:
    """get_args starts DeepSpeed only outside inference (arguments.py:117): a top-level
    section there is unused too (satc warns of it), so the hint does not send it there."""
    stderr = _compile(cogvideo_sat(), tmp_path, LAYER)
    assert (
        "hint: delete it: an inference run (args.mode: inference, configs/inference.yaml:4:3) does "
        "not start DeepSpeed, so a top-level `deepspeed:` section (arguments.py:292) would go unused "
        "as well\n"
    ) in stderr, stderr
    assert "move it to the top level" not in stderr
    # what the old hint led to: the section moved to the top level is reported unused
    moved = tmp_path / "moved.yaml"
    moved.write_text("deepspeed:\n  fp16: {enabled: true}\n", encoding="utf-8")
    result = satc(
        "compile",
        *BASES,
        str(moved),
        "-o",
        str(tmp_path / "moved"),
        cwd=cogvideo_sat(),
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert "warning: deepspeed: the deepspeed section is not used in inference mode" in result.stderr


def test_beside_a_top_level_section_the_hint_merges(tmp_path: Path) -> None:
    layer = LAYER + "  mode: finetune\ndeepspeed:\n  bf16: {enabled: false}\n"
    stderr = _compile(cogvideo_sat(), tmp_path, layer)
    assert "hint: merge it into the top-level `deepspeed:` section" in stderr


def test_no_hint_where_the_project_reads_no_deepspeed_section(tmp_path: Path) -> None:
    tree = tmp_path / "no-section" / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    path = tree / "arguments.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(SECTION) == 1, "arguments.py changed upstream"
    path.write_text(text.replace(SECTION, ""), encoding="utf-8")
    stderr = _compile(tree, tmp_path, LAYER)
    assert "top level" not in stderr and "top-level" not in stderr
