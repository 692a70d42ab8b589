"""Shared test helpers: run satc, hash directories, require real tools.

Under CI=true nothing may skip: a missing torchrun, DeepSpeed or SLURM is a failure,
because .ci/run provides them.  Locally a missing tool skips with a reason.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
# CogVideoX's official configs, verbatim except where its own network at e519ece cannot
# build them: the 1.0 model configs give patch_size [1, 2, 2] and the 2B's interpolation on
# the network (M25, M4; tests/test_project_consume.py compiles the verbatim files).
REFERENCE = ROOT / "tests" / "cases" / "_reference"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip locally, fail in CI (DEVELOPERS.md: no skips under CI=true)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} not on PATH")
    assert path is not None
    return path


def require_module(name: str) -> None:
    import importlib.util

    require(importlib.util.find_spec(name) is not None, f"python module {name} not installed")


def satc(
    *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a fresh process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "satc", *argv],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tree_digest(path: Path) -> str:
    """Names, bytes, modes and mtimes of everything under ``path`` ('' if absent)."""
    if not path.exists():
        return ""
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")) if path.is_dir() else [path]:
        stat = item.lstat()
        digest.update(f"{item.relative_to(path.parent)}|{stat.st_mode}|{stat.st_mtime_ns}".encode())
        if item.is_file():
            digest.update(item.read_bytes())
    return digest.hexdigest()


# The skip reason, also matched by tests/conftest.py's one-line summary.
COGVIDEO_SAT_MISSING = (
    "needs CogVideoX's sat/ folder: git clone https://github.com/THUDM/CogVideo, then "
    "SATC_COGVIDEO_SAT=$PWD/CogVideo/sat make test"
)


def cogvideo_sat() -> Path:
    """CogVideoX's `sat/` folder, the real client: read in place, never copied.

    Set SATC_COGVIDEO_SAT to it (README, "Quickstart"), or the tests that need it skip
    (and fail under CI=true).
    """
    value = os.environ.get("SATC_COGVIDEO_SAT", "")
    path = Path(value).resolve() if value else None
    require(path is not None and (path / "train_video.py").is_file(), COGVIDEO_SAT_MISSING)
    assert path is not None
    return path


# What CogVideoX 1.0's official model configs need to build on the network of the same
# sat/ folder (M25, M4): a layer after the model config and, for 2B, two removals.
BUILDABLE_1_0 = ROOT / "tests" / "fixtures" / "cogvideox" / "buildable_1_0.yaml"
_POS_EMBED = "model.network_config.params.modules.pos_embed_config.params"


def buildable_1_0(model: str) -> tuple[list[str], list[str]]:
    """(layers, --set overrides) that make an official 1.0 model config buildable."""
    if not model.startswith("cogvideox_"):
        return [], []
    overrides = [f"{_POS_EMBED}.{side}_interpolation=null" for side in ("height", "width")]
    if model.startswith("cogvideox_2b"):
        return [str(BUILDABLE_1_0)], [
            *overrides,
            "model.network_config.params.height_interpolation=1.875",
            "model.network_config.params.width_interpolation=1.875",
        ]
    return [str(BUILDABLE_1_0)], []


def forks() -> Path:
    """The SAT-derived projects beside CogVideoX's tree (../shared/reference/forks), found
    from SATC_COGVIDEO_SAT as .ci/run sets it."""
    path = cogvideo_sat().parent / "forks"
    require((path / "Tora" / "sat" / "arguments.py").is_file(), f"{path}: the forks' reference trees")
    return path


# The one-node test cluster runs one job at a time: SLURM tests in different files (xdist
# workers) take turns through this lock, held until the test ends (conftest.py releases
# it), instead of failing when another worker's job holds the node.
SLURM_LOCK = Path(os.environ.get("TMPDIR", "/tmp")) / "satc-tests-slurm.lock"
_slurm_held: list[object] = []


def slurm_node(wait: float = 1800) -> None:
    """Wait for the test cluster's node (this worker's turn, then an idle node)."""
    require_tool("sinfo")
    if not _slurm_held:
        handle = open(SLURM_LOCK, "w")  # noqa: SIM115 - held past this function, closed by release
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                require(time.monotonic() < deadline, "the test SLURM node stayed busy (another worker)")
                time.sleep(2)
        _slurm_held.append(handle)
    deadline = time.monotonic() + 300  # a job of another run (or just ended) leaving the node
    while True:
        state = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30, check=False
        )
        if state.returncode == 0 and any(s in state.stdout for s in ("idle", "mixed")):
            return
        require(time.monotonic() < deadline, "no idle SLURM node (start one with ci/slurm/start.sh)")
        time.sleep(2)


def release_slurm_node() -> None:
    while _slurm_held:
        handle = _slurm_held.pop()
        handle.close()  # type: ignore[attr-defined]
