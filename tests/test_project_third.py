"""Patterns of the third trial on public CogVideoX-SAT video projects that satc misread
(benchmarks/projects_trial.md, "Third round").

Each test builds, from a copy of CogVideoX's ``sat/`` (../shared/reference/cogvideo-sat)
and a few lines written here, a project with the shape seen in the public one, cited per
test, and compiles it as that project's README launches it.  No project code is copied.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support import cogvideo_sat, require_module, satc

PACKAGE = "pkgx.models.cogvideox"
ENTRY = "scripts/run/sample_fast.py"
# The entry script of an installed checkout: it imports the parser by its package path.
SCRIPT = f'''"""Sample with a cache (the project's own acceleration)."""

import argparse

from {PACKAGE}.arguments import (
    get_args,
)

if __name__ == "__main__":
    known, rest = argparse.ArgumentParser(add_help=False).parse_known_args()
    args = get_args(rest)
'''
OWN_ARGUMENT = '    group.add_argument("--cache-ratio", type=float, default=0.0)\n'


def _targets_in_package(text: str) -> str:
    """The config's ``target:`` names spelled from the checkout's root, as the project's own
    configs spell them (``fastercache.models.cogvideox.dit_video_concat...``)."""

    def spelled(match: re.Match[str]) -> str:
        name = match.group(2)
        if name.split(".", 1)[0] in ("sat", "torch"):
            return match.group(0)
        return f"{match.group(1)}{PACKAGE}.{name}"

    return re.sub(r"^(\s*target:\s*)([\w.]+)\s*$", spelled, text, flags=re.M)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<checkout>/pkgx/models/cogvideox`` holds CogVideoX's sat/ (one argument more), the
    entry script lives in ``<checkout>/scripts/run`` and the configs in
    ``<checkout>/configs``: camenduru/FasterCache fab32c1's layout."""
    root = tmp_path_factory.mktemp("third") / "checkout"
    project = root.joinpath(*PACKAGE.split("."))
    shutil.copytree(cogvideo_sat(), project, ignore=shutil.ignore_patterns("__pycache__"))
    for package in (root / "pkgx", root / "pkgx" / "models"):
        (package / "__init__.py").write_text("", encoding="utf-8")
    arguments = project / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    anchor = '    group.add_argument("--sampling-fps", type=int, default=8)\n'
    assert text.count(anchor) == 1
    arguments.write_text(text.replace(anchor, anchor + OWN_ARGUMENT), encoding="utf-8")
    (root / "scripts" / "run").mkdir(parents=True)
    (root / ENTRY).write_text(SCRIPT, encoding="utf-8")
    (root / "configs").mkdir()
    for name in ("cogvideox1.5_5b.yaml", "inference.yaml"):
        source = (project / "configs" / name).read_text(encoding="utf-8")
        (root / "configs" / name).write_text(_targets_in_package(source), encoding="utf-8")
    return root


def compile_in(checkout: Path, tmp_path: Path, layer: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "layer.yaml").write_text(layer, encoding="utf-8")
    return satc(
        "compile",
        "configs/cogvideox1.5_5b.yaml",
        "configs/inference.yaml",
        str(tmp_path / "layer.yaml"),
        "-o",
        str(tmp_path / "bundle"),
        "--set",
        f"launch.entrypoint={ENTRY}",
        cwd=checkout,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )


def test_a_parser_imported_by_its_package_path_is_the_projects(checkout: Path, tmp_path: Path) -> None:
    """camenduru/FasterCache@fab32c1: scripts/cogvideox/fastercache_sample_cogvideox.py:19
    imports ``fastercache.models.cogvideox.arguments``; its configs name every target by that
    package path.  satc judged it by the built-in profile: the project's own arguments were
    unknown and every target "unknown" (M2)."""
    result = compile_in(checkout, tmp_path, "args:\n  cache_ratio: 0.5\n")
    assert result.returncode == 0, result.stderr
    assert "[M2]" not in result.stderr and "built-in" not in result.stderr, result.stderr
    # The targets are read: a typo of the network's parameter is caught, named by its class.
    layer = "args:\n  cache_ratio: 0.5\nmodel:\n  network_config:\n    params:\n      num_layerz: 30\n"
    result = compile_in(checkout, tmp_path, layer)
    assert result.returncode == 2, result.stderr
    assert f"{PACKAGE}.dit_video_concat.DiffusionTransformer" in result.stderr
    assert "num_layers" in result.stderr
    # A typo of the project's own argument is an error whose did-you-mean is that argument.
    result = compile_in(checkout, tmp_path, "args:\n  cache_rato: 0.5\n")
    assert result.returncode == 2, result.stderr
    assert "args.cache_rato" in result.stderr and "args.cache_ratio" in result.stderr


# A dataset whose buckets are keyed by frame count, as integers.
BUCKET_DATASET = '''

class BucketClips(SFTDataset):
    """Clips drawn from frame-count buckets: ``{"480p": {49: 1, 97: 0}}``."""

    def __init__(self, data_dir, video_size, fps, max_num_frames, skip_frms_num=3, bucket_config=None):
        super().__init__(data_dir, video_size, fps, max_num_frames, skip_frms_num)
        self.buckets = sorted(n for sizes in (bucket_config or {}).values() for n, on in sizes.items() if on)
'''


@pytest.fixture(scope="module")
def bucket_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("buckets") / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    with (root / "data_video.py").open("a", encoding="utf-8") as handle:
        handle.write(BUCKET_DATASET)
    return root


def test_integer_keys_reach_the_project_as_integers(
    bucket_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bilibili/Index-anisora@171fe63 anisoraV1_train_gpu: its SFT config keys
    ``bucket_config`` by frame count (configs/cogvideox_5b_sft_fix_pretrain_gpu_720.yaml:34,
    ``{9: 0, 17: 0, ...}``); OmegaConf keeps them ints and data_video.py:372 compares them
    with ints.  satc refused every key ("not a string", 51 errors) and its hint, quoting
    them, would make that comparison raise TypeError."""
    layer = (
        "data:\n  target: data_video.BucketClips\n  params:\n"
        "    video_size: [480, 720]\n    fps: 8\n    max_num_frames: 49\n"
        "    bucket_config: {'480p': {9: 0, 49: 1}, '720p': {97: 1}}\n"
    )
    (tmp_path / "layer.yaml").write_text(layer, encoding="utf-8")
    out = tmp_path / "bundle"
    result = satc(
        "compile",
        "configs/cogvideox1.5_5b_i2v.yaml",
        "configs/sft.yaml",
        str(tmp_path / "layer.yaml"),
        "-o",
        str(out),
        cwd=bucket_tree,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert "is not a string" not in result.stderr
    # The frozen config shows the integers, and the runtime hands them back as OmegaConf did.
    assert "97: 1" in (out / "config.yaml").read_text(encoding="utf-8")
    from project_support import launcher_variables
    from satc.runtime import load as load_bundle

    for variable in launcher_variables():
        monkeypatch.delenv(variable)
    args = load_bundle(out)
    buckets = args.data_config.params.bucket_config
    assert list(buckets["480p"].keys()) == [9, 49] and list(buckets["720p"].keys()) == [97]
    # A key YAML reads as another integer than it looks (01), or one in DeepSpeed's JSON,
    # stays refused.
    for bad in ("data:\n  params:\n    bucket_config: {'480p': {01: 1}}\n", "deepspeed:\n  extra: {1: 2}\n"):
        (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
        result = satc(
            "compile",
            "configs/cogvideox1.5_5b_i2v.yaml",
            "configs/sft.yaml",
            str(tmp_path / "bad.yaml"),
            "-o",
            str(tmp_path / "refused"),
            cwd=bucket_tree,
            env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
        )
        assert result.returncode == 2 and "is not a string" in result.stderr, result.stderr


def test_a_sat_checkout_of_another_name_beside_the_project_is_its_sat(tmp_path: Path) -> None:
    """bilibili/Index-anisora@171fe63 anisoraV1_train_gpu/script/gpu_run.sh runs ``pip
    install -e .`` in ``swissarmytransformer-npu_t_sp`` (a SAT whose arguments.py:126 adds
    ``--sp-size``), then ``sat/train_video.py``.  satc took that folder for a sibling project
    and judged ``args.sp_size`` against the installed SAT: "unknown key"."""
    require_module("sat")
    from satc.compiler.project import sources

    checkout = tmp_path / "checkout"
    shutil.copytree(cogvideo_sat(), checkout / "sat", ignore=shutil.ignore_patterns("__pycache__"))
    site = sources.installed("sat")
    assert site is not None
    distribution = checkout / "sat-seqpar"
    shutil.copytree(
        site / "sat", distribution / "sat", ignore=shutil.ignore_patterns("__pycache__", "*.so", "csrc")
    )
    (distribution / "setup.py").write_text(
        "from setuptools import setup\n\nsetup(name='sat-seqpar')\n", encoding="utf-8"
    )
    arguments = distribution / "sat" / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    anchor = "    group = parser.add_argument_group('train', 'training configurations')\n"
    assert text.count(anchor) == 1
    own = "    group.add_argument('--sp-size', type=int, default=1, help='sequence parallel size')\n"
    arguments.write_text(text.replace(anchor, anchor + own), encoding="utf-8")
    (tmp_path / "layer.yaml").write_text("args:\n  sp_size: 1\n", encoding="utf-8")
    result = satc(
        "compile",
        "configs/cogvideox1.5_5b.yaml",
        "configs/inference.yaml",
        str(tmp_path / "layer.yaml"),
        "-o",
        str(tmp_path / "bundle"),
        cwd=checkout / "sat",
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert "sat-seqpar/sat" in (tmp_path / "bundle" / "args.json").read_text(encoding="utf-8")


def _sat_with_sp_size(where: Path) -> None:
    """A copy of the installed SAT at ``where`` whose training arguments add ``--sp-size``."""
    from satc.compiler.project import sources

    site = sources.installed("sat")
    assert site is not None
    shutil.copytree(site / "sat", where, ignore=shutil.ignore_patterns("__pycache__", "*.so", "csrc"))
    arguments = where / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    anchor = "    group = parser.add_argument_group('train', 'training configurations')\n"
    own = "    group.add_argument('--sp-size', type=int, default=1, help='sequence parallel size')\n"
    arguments.write_text(text.replace(anchor, anchor + own, 1), encoding="utf-8")


def test_the_sat_at_the_top_of_an_installed_checkout_and_not_the_one_in_the_cwd(tmp_path: Path) -> None:
    """bilibili/Index-anisora@171fe63 anisoraV1_infer: ``sat/`` (a SAT with ``--sp-size``)
    sits beside setup.py at the top of the checkout whose
    ``fastercache/models/cogvideox/arguments.py`` is the parser; ``pip install -e .`` makes
    it the SAT the run imports.  satc found it only when run as ``python -m satc`` from that
    top (its own sys.path[0]), and took any ``sat/`` in the folder it ran in for the
    installed one."""
    require_module("sat")
    checkout = tmp_path / "checkout"
    project = checkout / "pkgx" / "models" / "cogvideox"
    shutil.copytree(cogvideo_sat(), project, ignore=shutil.ignore_patterns("__pycache__"))
    (checkout / "setup.py").write_text(
        "from setuptools import setup\n\nsetup(name='pkgx')\n", encoding="utf-8"
    )
    _sat_with_sp_size(checkout / "sat")
    (tmp_path / "layer.yaml").write_text("args:\n  sp_size: 1\n", encoding="utf-8")
    configs = [str(project / "configs" / name) for name in ("cogvideox1.5_5b.yaml", "inference.yaml")]

    def compile_from(cwd: Path, root: Path) -> subprocess.CompletedProcess[str]:
        return satc(
            "compile",
            *configs,
            str(tmp_path / "layer.yaml"),
            "--project",
            str(root),
            "-o",
            str(tmp_path / "bundle"),
            cwd=cwd,
            env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
        )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = compile_from(elsewhere, project)
    assert result.returncode == 0, result.stderr
    # CogVideoX's own tree, compiled from a folder that happens to hold that SAT, is judged
    # by the SAT it imports (the installed one): sp_size is no argument of it.
    result = compile_from(checkout, cogvideo_sat())
    assert result.returncode == 2 and "args.sp_size: unknown key" in result.stderr, result.stderr


PATH_SCRIPT = '''"""Sample from a folder of the checkout the script puts on sys.path itself."""

import os
import sys

sys.path.append(os.path.join(os.path.dirname(__file__), "../pkgy/cog_sat"))

from arguments import getArgs  # noqa: E402

if __name__ == "__main__":
    args = getArgs()
'''


def test_a_parser_folder_the_script_adds_to_sys_path_and_a_get_args_named_otherwise(tmp_path: Path) -> None:
    """VideoVerses/VideoTuna@0d49a54 scripts/inference_cogVideo_sat_refactor.py:26-29 appends
    ``../videotuna/models/cogvideo_sat`` to sys.path and imports ``getArgs`` from its
    arguments.py (:191), which parses and calls process_config_to_args as get_args does.
    satc found no project and judged the launch by its built-in profile: the project's own
    ``--mode_type`` and ``--load_transformer`` were "unknown"."""
    checkout = tmp_path / "checkout"
    project = checkout / "pkgy" / "cog_sat"
    shutil.copytree(cogvideo_sat(), project, ignore=shutil.ignore_patterns("__pycache__"))
    arguments = project / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    anchor = '    group.add_argument("--sampling-fps", type=int, default=8)\n'
    assert text.count(anchor) == 1 and text.count("def get_args(") == 1
    text = text.replace(anchor, anchor + OWN_ARGUMENT).replace("def get_args(", "def getArgs(")
    arguments.write_text(text, encoding="utf-8")
    (checkout / "scripts").mkdir()
    (checkout / "scripts" / "infer.py").write_text(PATH_SCRIPT, encoding="utf-8")

    def compile_layer(layer: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "layer.yaml").write_text(layer, encoding="utf-8")
        return satc(
            "compile",
            "pkgy/cog_sat/configs/cogvideox1.5_5b.yaml",
            "pkgy/cog_sat/configs/inference.yaml",
            str(tmp_path / "layer.yaml"),
            "-o",
            str(tmp_path / "bundle"),
            "--set",
            "launch.entrypoint=scripts/infer.py",
            cwd=checkout,
            env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
        )

    result = compile_layer("args:\n  cache_ratio: 0.5\n")
    assert result.returncode == 0, result.stderr
    assert "built-in" not in result.stderr, result.stderr
    result = compile_layer("args:\n  cache_rato: 0.5\n")
    assert result.returncode == 2 and "args.cache_ratio" in result.stderr, result.stderr


GUIDER = '''"""A guider shared by the package's models."""


class PlainCFG:
    def __init__(self, scale, exp=1, num_steps=50):
        self.scale = scale
        self.num_steps = num_steps
'''


def test_a_target_elsewhere_in_the_package_is_read_and_named_relatively(
    checkout: Path, tmp_path: Path
) -> None:
    """A target of the installed package outside the project's folder (``pkgx.common...``)
    resolves from the checkout's root, and the bundle names the file relative to the
    project (no absolute path of this machine)."""
    common = checkout / "pkgx" / "common"
    common.mkdir(exist_ok=True)
    (common / "__init__.py").write_text("", encoding="utf-8")
    (common / "guiders.py").write_text(GUIDER, encoding="utf-8")
    guider = "model:\n  sampler_config:\n    params:\n      guider_config:\n        target: pkgx.common.guiders.PlainCFG\n"
    result = compile_in(checkout, tmp_path, guider + "        params: {scale: 6}\n")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "bundle" / "args.json").read_text(encoding="utf-8")
    assert '"../../common/guiders.py"' in text and str(checkout) not in text
    result = compile_in(checkout, tmp_path, guider + "        params: {scal: 6}\n")
    assert result.returncode == 2 and "pkgx.common.guiders.PlainCFG" in result.stderr, result.stderr


def test_g1_is_silent_on_a_statement_under_an_if_the_launch_does_not_take(tmp_path: Path) -> None:
    """qiuk2/Kaleido@661f439 arguments.py:195-245: FSDP2/DeepSpeed set-up statements under
    ``if args.mode != 'inference':`` got six G1 warnings on its sampling launch, where they
    never run.  A training launch, where they run, still gets G1."""
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    arguments = root / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    anchor = "    args = process_config_to_args(args)\n"
    assert text.count(anchor) == 1
    own = '    if args.mode != "inference":\n        args.log_interval = 7\n'
    arguments.write_text(text.replace(anchor, anchor + own), encoding="utf-8")

    def compile_bases(*bases: str) -> subprocess.CompletedProcess[str]:
        return satc(
            "compile",
            *bases,
            "-o",
            str(tmp_path / "bundle"),
            cwd=root,
            env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
        )

    result = compile_bases("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")
    assert result.returncode == 0, result.stderr
    assert "args.log_interval = 7 [G1]" not in result.stderr, result.stderr
    result = compile_bases("configs/cogvideox1.5_5b_i2v.yaml", "configs/sft.yaml")
    assert "args.log_interval = 7 [G1]" in result.stderr, result.stderr
