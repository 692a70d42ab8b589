"""G6: an arg the project's get_args computes as world_size // (a product of args) is
computed from the world the bundle is compiled for, as that code does at launch
(CriliasMiller/Kaleido e54b5e7, arguments.py:191-192: ``if args.data_parallel_size is
None: args.data_parallel_size = args.world_size // (args.model_parallel_size *
args.sequence_parallel_size)``), instead of being left None with a G1 warning."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from support import cogvideo_sat, satc

BASES = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")
ARGUMENT = '    group.add_argument("--force-pretrain", action="store_true")\n'
WEIGHTS = "    if args.train_data_weights is not None:\n"
DIVISION = (
    "    if args.data_parallel_size is None:\n"
    "        args.data_parallel_size = args.world_size // (args.model_parallel_size * args.split_size)\n"
)


@pytest.fixture(scope="module")
def divided(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("divided") / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    path = tree / "arguments.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(ARGUMENT) == 1 and text.count(WEIGHTS) == 1, "arguments.py changed upstream"
    text = text.replace(
        ARGUMENT,
        ARGUMENT
        + '    group.add_argument("--data-parallel-size", type=int, default=None)\n'
        + '    group.add_argument("--split-size", type=int, default=1)\n',
    )
    path.write_text(text.replace(WEIGHTS, DIVISION + WEIGHTS), encoding="utf-8")
    return tree


def _compile(tree: Path, tmp_path: Path, *sets: str) -> tuple[str, dict]:
    out = tmp_path / "bundle"
    result = satc(
        "compile",
        *BASES,
        "-o",
        str(out),
        "--set",
        "launch.gpus_per_node=8",
        *[item for value in sets for item in ("--set", value)],
        cwd=tree,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    return result.stderr, json.loads((out / "args.json").read_text(encoding="utf-8"))["args"]


def test_the_size_is_computed_from_the_compiled_world(divided: Path, tmp_path: Path) -> None:
    stderr, args = _compile(divided, tmp_path, "args.model_parallel_size=2", "args.split_size=2")
    assert args["data_parallel_size"] == 2  # 8 // (2 x 2)
    assert "data_parallel_size" not in stderr  # no G1: reproduced
    explained = satc(
        "explain",
        *BASES,
        "args.data_parallel_size",
        "--set",
        "launch.gpus_per_node=8",
        "--set",
        "args.model_parallel_size=2",
        "--set",
        "args.split_size=2",
        cwd=divided,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert "G6" in explained.stdout and "world_size 8 // (2 x 2)" in explained.stdout, explained.stdout


def test_a_given_size_is_kept_as_the_project_keeps_it(divided: Path, tmp_path: Path) -> None:
    _, args = _compile(divided, tmp_path, "args.data_parallel_size=3")
    assert args["data_parallel_size"] == 3


def _refused(tree: Path, tmp_path: Path, *sets: str) -> str:
    out = tmp_path / "refused"
    result = satc(
        "compile",
        *BASES,
        "-o",
        str(out),
        "--set",
        "launch.gpus_per_node=8",
        *[item for value in sets for item in ("--set", value)],
        cwd=tree,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr and not out.exists()
    return result.stderr


@pytest.mark.parametrize("size", ["0", "-2"])
def test_a_zero_or_negative_divisor_is_an_error_naming_the_line(
    divided: Path, tmp_path: Path, size: str
) -> None:
    stderr = _refused(divided, tmp_path, f"args.split_size={size}")
    assert "--set args.split_size: error: args.split_size: split_size " + size in stderr, stderr
    assert (
        "args.data_parallel_size = args.world_size // (args.model_parallel_size * args.split_size)" in stderr
    )
    assert "(arguments.py:" in stderr and "[G6]" in stderr
    assert ("ZeroDivisionError" if size == "0" else "a negative data_parallel_size") in stderr


def test_a_text_divisor_is_an_error(divided: Path, tmp_path: Path) -> None:
    stderr = _refused(divided, tmp_path, "args.split_size=two")
    assert "split_size 'two' is not an integer" in stderr and "[G6]" in stderr, stderr


def test_a_given_size_that_differs_from_the_arithmetic_is_warned(divided: Path, tmp_path: Path) -> None:
    stderr, args = _compile(divided, tmp_path, "args.data_parallel_size=3")
    assert args["data_parallel_size"] == 3
    assert "warning: args.data_parallel_size: data_parallel_size 3 is kept" in stderr, stderr
    assert "world_size 8 // (1 x 1) = 8" in stderr and "(arguments.py:" in stderr
    stderr, _ = _compile(divided, tmp_path, "args.data_parallel_size=8")
    assert "data_parallel_size" not in stderr


MESH = """from torch.distributed.device_mesh import init_device_mesh


def setup_mesh(args):
    if args.train_data is not None:
        if args.fsdp2:
            dp_size = args.data_parallel_size
            if args.model_parallel_size > 1:
                return init_device_mesh("cuda", (args.model_parallel_size, dp_size))
            return init_device_mesh("cuda", (dp_size,))
"""
TRAINING = ("configs/cogvideox1.5_5b.yaml", "configs/sft.yaml")


@pytest.fixture(scope="module")
def meshed(divided: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The divided project with a vendored SAT that sizes an FSDP2 device mesh by
    args.data_parallel_size behind `if args.fsdp2:` (the shape of
    CriliasMiller/Kaleido e54b5e7, sat/training/deepspeed_training.py:501-510)."""
    tree = tmp_path_factory.mktemp("meshed") / "sat"
    shutil.copytree(divided, tree)
    vendored = tree / "SwissArmyTransformer" / "sat"
    installed = importlib.util.find_spec("sat")  # the installed SAT, copied as a project vendors it
    assert installed is not None and installed.submodule_search_locations
    shutil.copytree(
        installed.submodule_search_locations[0], vendored, ignore=shutil.ignore_patterns("__pycache__")
    )
    (vendored / "training" / "fsdp_mesh.py").write_text(MESH, encoding="utf-8")
    path = tree / "arguments.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(ARGUMENT, ARGUMENT + '    group.add_argument("--fsdp2", action="store_true")\n'),
        encoding="utf-8",
    )
    return tree


def _train(tree: Path, tmp_path: Path, *sets: str) -> tuple[int, str]:
    out = tmp_path / "train"
    result = satc(
        "compile",
        *TRAINING,
        "-o",
        str(out),
        "--set",
        "launch.gpus_per_node=8",
        "--set",
        "model.latent_input=false",
        *[item for value in sets for item in ("--set", value)],
        cwd=tree,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert "internal error" not in result.stderr
    return result.returncode, result.stderr


def test_a_kept_size_that_sizes_a_device_mesh_is_an_error(meshed: Path, tmp_path: Path) -> None:
    rc, stderr = _train(meshed, tmp_path, "args.data_parallel_size=3", "args.fsdp2=true")
    assert rc == 2, stderr
    assert "error: args.data_parallel_size: data_parallel_size 3 is kept" in stderr, stderr
    assert "sizes a device mesh by it (SwissArmyTransformer/sat/training/fsdp_mesh.py:" in stderr
    assert "1 x 1 x 3 ranks in a world of 8 [G6]" in stderr
    # Without FSDP2 the mesh is never built: the same value is a warning.
    rc, stderr = _train(meshed, tmp_path, "args.data_parallel_size=3")
    assert "warning: args.data_parallel_size: data_parallel_size 3 is kept" in stderr, stderr
    assert "error: args.data_parallel_size" not in stderr
