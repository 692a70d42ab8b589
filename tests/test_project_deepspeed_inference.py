"""R4 follows the project's get_args: `deepspeed: true` in inference mode is an error only
where that get_args really dies on it (an unbound local, read statically).

CogVideoX binds ``override_deepspeed_config`` only for training and reads it under
``if args.deepspeed:`` (UnboundLocalError). A fork that binds it to False first
(harshit810/cogVideoFinetuning eb3867d, sat/arguments.py:109, whose inference.sh passes
``--deepspeed --deepspeed_config FILE``) runs the launch, reading the given DeepSpeed
config as CogVideoX's R6 does; without a config its local ``deepspeed_config`` is unbound.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
from support import cogvideo_sat, satc

BASES = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")
ANCHOR = '    if args.mode != "inference":  # training with deepspeed\n'


@pytest.fixture(scope="module")
def bound_first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CogVideoX's tree with the fork's one-line change: the flag is bound before the branch."""
    tree = tmp_path_factory.mktemp("bound-first") / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    path = tree / "arguments.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1, "arguments.py changed upstream"
    path.write_text(
        text.replace(ANCHOR, "    override_deepspeed_config = False\n" + ANCHOR), encoding="utf-8"
    )
    return tree


def _compile(tree: Path, tmp_path: Path, layer: str) -> tuple[int, str, Path]:
    config = tmp_path / "layer.yaml"
    config.write_text(layer, encoding="utf-8")
    out = tmp_path / "bundle"
    result = satc(
        "compile",
        *BASES,
        str(config),
        "-o",
        str(out),
        "--set",
        "args.deepspeed=true",
        cwd=tree,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    return result.returncode, result.stderr, out


def test_cogvideox_dies_on_it_with_or_without_a_config(tmp_path: Path) -> None:
    for layer in ("args: {}\n", "deepspeed:\n  bf16: {enabled: true}\n"):
        rc, stderr, out = _compile(cogvideo_sat(), tmp_path, layer)
        assert rc == 2, stderr
        assert "error: args.deepspeed: deepspeed: true in inference mode" in stderr
        assert "arguments.py:145: override_deepspeed_config is unbound" in stderr
        assert not out.exists()


def test_a_fork_that_binds_the_flag_first_runs_it_with_its_config(bound_first: Path, tmp_path: Path) -> None:
    rc, stderr, out = _compile(bound_first, tmp_path, "deepspeed:\n  bf16: {enabled: true}\n")
    assert rc == 0, stderr
    assert "R4" not in stderr and "not used in inference mode" not in stderr
    args = json.loads((out / "args.json").read_text(encoding="utf-8"))["args"]
    # the project's "override args" branch: the section decides precision and accumulation
    assert (args["deepspeed"], args["bf16"], args["fp16"]) == (True, True, False)
    assert args["gradient_accumulation_steps"] is None


def test_a_fork_that_binds_the_flag_first_still_dies_without_a_config(
    bound_first: Path, tmp_path: Path
) -> None:
    rc, stderr, _ = _compile(bound_first, tmp_path, "args: {}\n")
    assert rc == 2, stderr
    assert "deepspeed_config is unbound" in stderr and "or give a deepspeed section" in stderr


def _crashes(source: str) -> dict[str, str] | None:
    from satc.compiler.project.sources import Found
    from satc.compiler.project.unbound import deepspeed_in_inference

    class Module:
        label, name = "arguments.py", "arguments"

    func = ast.parse(source).body[0]
    return deepspeed_in_inference(Found(Module(), func))  # type: ignore[arg-type]


def test_an_undecidable_binding_is_no_crash() -> None:
    body = "def get_args(a):\n    args = a\n    if {test}:\n        flag = True\n    if args.deepspeed:\n        print(flag)\n"
    assert _crashes(body.format(test='args.mode != "inference"')) == {
        "config": "arguments.py:6: flag is unbound",
        "no_config": "arguments.py:6: flag is unbound",
    }
    assert _crashes(body.format(test="args.fsdp")) is None  # may have run: no proof
    assert _crashes(body.format(test="args.deepspeed_config is None")) == {
        "config": "arguments.py:6: flag is unbound"
    }


def test_an_empty_deepspeed_config_under_args_is_a_given_config(bound_first: Path, tmp_path: Path) -> None:
    """`args.deepspeed_config: {}` is not None: the fork's get_args binds its local from it
    and its `"fp16" in deepspeed_config` tests find nothing (fp32)."""
    rc, stderr, out = _compile(bound_first, tmp_path, "args:\n  deepspeed_config: {}\n  bf16: true\n")
    assert rc == 0, stderr
    args = json.loads((out / "args.json").read_text(encoding="utf-8"))["args"]
    assert (args["bf16"], args["fp16"], args["gradient_accumulation_steps"]) == (False, False, None)
    assert "args.bf16: true is replaced by deepspeed.bf16.enabled (false)" in stderr


COMPREHENSION = "    unset = [k for k in vars(args) if getattr(args, k) is None]\n"


@pytest.mark.parametrize("bind_first", [False, True])
def test_a_comprehension_variable_is_not_a_local_of_get_args(tmp_path: Path, bind_first: bool) -> None:
    """A comprehension is its own scope: its `k` is never an unbound local of get_args,
    so only the real crash (CogVideoX's flag) is reported, with its rule id."""
    tree = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    path = tree / "arguments.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1, "arguments.py changed upstream"
    bind = "    override_deepspeed_config = False\n" if bind_first else ""
    path.write_text(text.replace(ANCHOR, COMPREHENSION + bind + ANCHOR), encoding="utf-8")
    rc, stderr, _ = _compile(tree, tmp_path, "deepspeed:\n  bf16: {enabled: true}\n")
    assert "k is unbound" not in stderr
    if bind_first:
        assert rc == 0, stderr
    else:
        assert rc == 2, stderr
        assert "error: args.deepspeed: deepspeed: true in inference mode [R4]" in stderr
        assert "override_deepspeed_config is unbound" in stderr
