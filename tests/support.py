"""Shared test helpers: run satc, hash directories, require real tools.

Under CI=true nothing may skip: a missing torchrun, DeepSpeed or SLURM is a failure,
because .ci/run provides them.  Locally a missing tool skips with a reason.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
REFERENCE = ROOT / "tests" / "cases" / "_reference"  # CogVideoX's official configs, verbatim
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
