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
from support import cogvideo_sat, satc

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
