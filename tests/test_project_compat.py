"""satc judges a config the way the project's code runs it, on any machine.

* A project's own argument set from YAML reaches its code untyped (CogVideoX's
  ``process_config_to_args`` does ``setattr(args, key, value)``): argparse's ``type=`` is a
  warning there, not an error; a text value for a flag and SAT's own arguments stay errors.
* A compile-only install (no SAT, DeepSpeed or torch importable) judges and records a
  bundle exactly as a machine with them installed: no did-you-mean for a torch target,
  the same args.json, and `satc check` finds no drift across the two.
* Resume without ``args.save`` and resume in inference mode are warnings (C9).
* A did-you-mean from ``args.*`` never points into ``deepspeed``, where a key of the same
  name changes nothing SAT does.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from support import ROOT, cogvideo_sat, require_module, satc

BASES = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")

OWN_ARGUMENTS = (
    '    group.add_argument("--image2video", action="store_true")\n',
    '    group.add_argument("--image2video", action="store_true")\n'
    '    group.add_argument("--grid-size", type=int, default=512)\n'
    '    group.add_argument("--reweight-token-idx", type=int, nargs="+", default=[1])\n'
    '    group.add_argument("--use-flow", action="store_true")\n',
)

# Makes find_spec blind to SAT, DeepSpeed and torch, as on a compile-only install.
COMPILE_ONLY = """\
import importlib.util as _util

_real = _util.find_spec


def _find_spec(name, package=None):
    if name.split(".")[0] in ("sat", "deepspeed", "torch"):
        return None
    return _real(name, package)


_util.find_spec = _find_spec
"""


@pytest.fixture(scope="module")
def own_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("typed-project") / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    anchor, replacement = OWN_ARGUMENTS
    path = tree / "arguments.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(anchor) == 1, "arguments.py changed upstream"
    path.write_text(text.replace(anchor, replacement), encoding="utf-8")
    return tree


def _compile(tree: Path, out: Path, cache: Path, layer: str, *extra: str, env: dict[str, str] | None = None):
    config = out.parent / f"{out.name}.yaml"
    config.write_text(layer, encoding="utf-8")
    return satc(
        "compile",
        *BASES,
        str(config),
        *extra,
        "-o",
        str(out),
        cwd=tree,
        env={"SATC_CACHE_DIR": str(cache), **(env or {})},
    )


def _compile_only_env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "compile-only"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(COMPILE_ONLY, encoding="utf-8")
    return {"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


def test_own_arguments_take_yaml_values_of_another_type_with_a_warning(
    own_tree: Path, tmp_path: Path
) -> None:
    layer = "args:\n  grid_size: [512, 896]\n  reweight_token_idx: 0\n"
    result = _compile(own_tree, tmp_path / "b", tmp_path / "cache", layer)
    assert result.returncode == 0, result.stderr
    for key in ("args.grid_size", "args.reweight_token_idx"):
        assert f"warning: {key}: argparse declares" in result.stderr, result.stderr
    assert (
        "process_config_to_args sets YAML values as-is; argparse's type=int is not applied" in result.stderr
    )


def test_a_string_for_an_own_flag_and_sats_own_types_stay_errors(own_tree: Path, tmp_path: Path) -> None:
    layer = "args:\n  use_flow: 'False'\n  batch_size: [1, 2]\n"
    result = _compile(own_tree, tmp_path / "b", tmp_path / "cache", layer)
    assert result.returncode == 2, result.stderr
    assert "error: args.use_flow: expected true or false, got string 'False'" in result.stderr
    assert "error: args.batch_size: expected an integer" in result.stderr


def test_compile_only_machine_judges_and_records_the_same(tmp_path: Path) -> None:
    require_module("sat")
    require_module("deepspeed")
    require_module("torch")
    tree = cogvideo_sat()
    cache = tmp_path / "cache"
    (tmp_path / "full").mkdir()
    (tmp_path / "bare").mkdir()
    full = _compile(tree, tmp_path / "full" / "b", cache, "args: {}\n")
    bare = _compile(tree, tmp_path / "bare" / "b", cache, "args: {}\n", env=_compile_only_env(tmp_path))
    assert full.returncode == 0, full.stderr
    assert bare.returncode == 0, bare.stderr
    # cogvideox1.5_5b.yaml's loss_config is torch.nn.Identity: no guess at a project class
    assert "IdentityGuider" not in bare.stderr and "torch.nn.Identity" not in bare.stderr
    shown = [line for line in full.stderr.splitlines() if "warning" in line]
    assert shown == [line for line in bare.stderr.splitlines() if "warning" in line]
    recorded = (tmp_path / "full" / "b" / "args.json").read_text(encoding="utf-8")
    assert recorded == (tmp_path / "bare" / "b" / "args.json").read_text(encoding="utf-8")
    assert '"path": "sat/' not in recorded and '"path": "torch/' not in recorded
    assert '"name": "sat"' in recorded and '"version": "0.4.12"' in recorded
    # a bundle compiled on one machine is up to date on the other
    checked = satc("check", "-o", str(tmp_path / "bare" / "b"), cwd=tree, env={"SATC_CACHE_DIR": str(cache)})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    checked = satc(
        "check",
        "-o",
        str(tmp_path / "full" / "b"),
        cwd=tree,
        env={"SATC_CACHE_DIR": str(cache), **_compile_only_env(tmp_path)},
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_sat_release_change_is_drift(tmp_path: Path) -> None:
    require_module("sat")
    tree = cogvideo_sat()
    cache = tmp_path / "cache"
    out = tmp_path / "b"
    assert _compile(tree, out, cache, "args: {}\n").returncode == 0
    args = out / "args.json"
    args.write_text(args.read_text(encoding="utf-8").replace('"0.4.12"', '"0.4.11"'), encoding="utf-8")
    checked = satc("check", "-o", str(out), cwd=tree, env={"SATC_CACHE_DIR": str(cache)})
    assert checked.returncode != 0
    assert "the project's sat changed: 0.4.11 when compiled, 0.4.12 now" in checked.stdout + checked.stderr


def test_resume_without_save_and_in_inference_warns(tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "tiny_cpu.yaml")
    result = satc(
        "compile",
        example,
        "--set",
        "launch.exact_resume=true",
        "--set",
        "launch.max_restarts=3",
        "-o",
        str(tmp_path / "a"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to resume: args.save is null" in result.stderr and "[C9]" in result.stderr
    assert "exact on the same topology" not in result.stdout + result.stderr
    saved = satc(
        "compile",
        example,
        "--set",
        "launch.max_restarts=3",
        "--set",
        "args.save=ckpts",
        "-o",
        str(tmp_path / "s"),
        cwd=tmp_path,
    )
    assert saved.returncode == 0 and "C9" not in saved.stderr + saved.stdout, saved.stderr
    inference = satc(
        "compile",
        example,
        "--set",
        "args.mode=inference",
        "--set",
        "launch.resume=auto",
        "-o",
        str(tmp_path / "i"),
        cwd=tmp_path,
    )
    assert inference.returncode == 0, inference.stderr
    assert "warning: launch.resume: ignored: args.mode is inference" in inference.stderr


def test_no_hint_from_args_into_deepspeed(tmp_path: Path) -> None:
    result = _compile(
        cogvideo_sat(),
        tmp_path / "b",
        tmp_path / "cache",
        "args: {}\n",
        "--set",
        "args.sequence_parallel_size=1",
    )
    assert result.returncode == 2, result.stderr
    assert "error: args.sequence_parallel_size: unknown key under args" in result.stderr
    assert "deepspeed.sequence_parallel_size" not in result.stderr


def test_a_target_in_another_package_warns_without_a_guess(tmp_path: Path) -> None:
    layer = (
        "model:\n  network_config:\n    params:\n      modules:\n        pos_embed_config:\n"
        "          target: my_lab.Rotary3DPositionEmbeddingMixin\n"
    )
    result = _compile(cogvideo_sat(), tmp_path / "b", tmp_path / "cache", layer)
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "my_lab" in line]
    assert warned and "unknown target" in warned[0], result.stderr
    at = result.stderr.index(warned[0])
    assert "did you mean" not in result.stderr[at : at + len(warned[0]) + 200].split("\n", 2)[1]
