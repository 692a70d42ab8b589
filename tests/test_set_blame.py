"""A problem names the input that set its key: never a --set of another key that only
created the section on the way (``--set args.mode=...`` makes ``args``), and where no
input set it, the project's argparse default line."""

from __future__ import annotations

import shutil
from pathlib import Path

from support import cogvideo_sat, satc

DEFAULT = '        "--model-parallel-size",\n        type=int,\n        default=1,\n'


def test_a_topology_error_on_a_default_names_the_projects_default_not_another_set(tmp_path: Path) -> None:
    tree = tmp_path / "project" / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    path = tree / "arguments.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(DEFAULT) == 1, "arguments.py changed upstream"
    path.write_text(text.replace(DEFAULT, DEFAULT.replace("default=1", "default=2")), encoding="utf-8")
    line = text[: text.index(DEFAULT)].count("\n")  # the add_argument( line above
    result = satc(
        "compile",
        "configs/cogvideox_2b.yaml",  # no args: section: the --set flags make it
        "-o",
        str(tmp_path / "bundle"),
        "--set",
        "args.mode=inference",
        "--set",
        "args.seed=3",
        "--set",
        "launch.gpus_per_node=3",
        cwd=tree,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 2, result.stderr
    assert (
        f"arguments.py:{line} (the project's default): error: args.model_parallel_size: "
        "model_parallel_size 2 does not divide the world size 3" in result.stderr
    ), result.stderr
    assert "--set args.mode: error: args.model_parallel_size" not in result.stderr


def test_the_set_that_set_the_key_is_blamed(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("launch:\n  gpus_per_node: 4\n", encoding="utf-8")
    result = satc(
        "compile",
        str(base),
        "-o",
        str(tmp_path / "bundle"),
        "--set",
        "args.mode=inference",
        "--set",
        "args.model_parallel_size=3",
        "--set",
        "args.seed=3",
        cwd=tmp_path,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 2, result.stderr
    assert "--set args.model_parallel_size: error: args.model_parallel_size: model_parallel_size 3" in (
        result.stderr
    )


def test_locate_skips_a_section_made_by_a_deeper_set() -> None:
    from satc.compiler.errors import SET_RANK, Location
    from satc.compiler.load import locate

    mode = Location(rank=SET_RANK, label="--set args.mode")
    whole = Location(rank=SET_RANK + 1, label="--set deepspeed")
    origin = {("args",): mode, ("args", "mode"): mode, ("deepspeed",): whole}
    assert locate(origin, ("args", "mode")) == mode
    assert locate(origin, ("args", "model_parallel_size")) is None
    # a --set of the whole mapping did set what is inside it
    assert locate(origin, ("deepspeed", "bf16", "enabled")) == whole
