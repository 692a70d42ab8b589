"""Golden cases (black-style): tests/cases/<name>/ holds inputs, case.json, the expected
bundle in expected/ and the expected warnings in warnings.txt.

Each case compiles through the real CLI; the bundle and the warnings must match the
expected files byte for byte, and expected/ is a committed bundle as a user would keep
one (executable launch.sh, nothing else in it), so `satc check --all` finds it up to date.  The expected files were checked by hand against SPEC
R1-R8 (see each case's NOTES.md).  Regenerate with SATC_UPDATE_GOLDEN=1 — and then
read the diff.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support import CASES, satc

NAMES = sorted(p.name for p in CASES.iterdir() if (p / "case.json").exists())
UPDATE = os.environ.get("SATC_UPDATE_GOLDEN") == "1"


def _compile(case: Path, tmp_path: Path) -> tuple[Path, str]:
    spec = json.loads((case / "case.json").read_text())
    work = tmp_path / case.name
    shutil.copytree(case, work, ignore=shutil.ignore_patterns("expected"))
    argv = ["compile", *spec["configs"], "-o", "bundle"]
    for override in spec["set"]:
        argv += ["--set", override]
    result = satc(*argv, cwd=work)
    assert result.returncode == 0, result.stderr
    return work / "bundle", result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_golden_case(name: str, tmp_path: Path) -> None:
    case = CASES / name
    bundle, warnings = _compile(case, tmp_path)
    produced = {p.name: p.read_text() for p in bundle.iterdir()}
    expected_dir = case / "expected"
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        expected_dir.mkdir()
        for file_name, text in produced.items():
            (expected_dir / file_name).write_text(text)
            shutil.copymode(bundle / file_name, expected_dir / file_name)
        (case / "warnings.txt").write_text(warnings)
    expected = {p.name: p.read_text() for p in expected_dir.iterdir()}
    assert sorted(produced) == sorted(expected)
    for file_name in expected:
        assert produced[file_name] == expected[file_name], f"{name}/{file_name} differs"
    assert warnings == (case / "warnings.txt").read_text(), f"{name}/warnings.txt differs"
    assert os.access(expected_dir / "launch.sh", os.X_OK), "expected/ is a bundle as compiled"
