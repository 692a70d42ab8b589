"""ruff and strict mypy stay clean on the package (STYLE.md: small, strict tooling)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from support import ROOT, require

PACKAGE = ["compiler", "runtime", "bundle_format.py", "__init__.py", "__main__.py"]


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    require(shutil.which(ruff) is not None, "ruff not installed")
    result = subprocess.run(
        [ruff, "check", *PACKAGE, "tests", "tools", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    require(importlib.util.find_spec("mypy") is not None, "mypy not installed")
    # mypy checks a package by its import name: give it one, as `.dev/satc` does locally.
    (tmp_path / "satc").symlink_to(ROOT)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            *(f"satc/{item}" for item in PACKAGE[:3]),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
