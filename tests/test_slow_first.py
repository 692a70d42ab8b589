"""The suite's schedule: ci/test.sh starts the slowest files first (tests/slow_first.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from slow_first import SECONDS, slowest_files_first
from support import ROOT


def _items(names: list[str]) -> list[SimpleNamespace]:
    return [SimpleNamespace(path=Path("tests") / name, nodeid=f"{name}::{i}") for i, name in enumerate(names)]


def test_slow_files_go_first_and_each_file_stays_in_one_piece() -> None:
    names = ["test_a.py", "test_a.py", "test_a.py", "test_plan_cli.py", "test_b.py", "test_resume_sat.py"]
    names += ["test_resume_sat.py", "test_c.py", "test_c.py"]
    items = _items(names)
    slowest_files_first(items)
    order = [item.path.name for item in items]
    # Known-slow files by their seconds, then the rest by test count (xdist's order), ties
    # in collection order; within a file the tests keep their order.
    assert order == [
        "test_resume_sat.py", "test_resume_sat.py", "test_plan_cli.py",
        "test_a.py", "test_a.py", "test_a.py", "test_c.py", "test_c.py", "test_b.py",
    ]  # fmt: skip
    ids = [item.nodeid for item in items]
    assert ids[:2] == ["test_resume_sat.py::5", "test_resume_sat.py::6"]
    assert ids[3:6] == ["test_a.py::0", "test_a.py::1", "test_a.py::2"]


def test_every_named_file_exists_and_ci_keeps_the_collection_order() -> None:
    """A renamed file would silently lose its place; xdist's default reorder would undo it."""
    missing = [name for name in SECONDS if not (ROOT / "tests" / name).is_file()]
    assert not missing, f"tests/slow_first.py names files that do not exist: {missing}"
    script = (ROOT / "ci" / "test.sh").read_text(encoding="utf-8")
    command = re.search(r"-m pytest tests (.*?)\"\$@\"", script, re.S)
    assert command and "--dist loadfile" in command.group(1), "ci/test.sh: no --dist loadfile"
    assert "--no-loadscope-reorder" in command.group(1), "ci/test.sh: xdist would reorder the files"


def test_the_collection_starts_with_the_slowest_file() -> None:
    """The conftest hook is active: pytest collects the slowest named file first."""
    first = max(SECONDS, key=SECONDS.__getitem__)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "tests/test_slow_first.py", f"tests/{first}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected and collected[0].startswith(f"tests/{first}::"), collected[:3]


def test_the_ops_ci_builds_before_pytest_are_the_ones_deepspeed_loads_on_cpu() -> None:
    """ci/build_deepspeed_ops.py builds each op by its builder's name: a name DeepSpeed no
    longer has would silently leave the build to the tests (minutes, inside one test)."""
    from support import require_module

    require_module("deepspeed")
    code = (
        "import sys; sys.path.insert(0, 'ci'); import build_deepspeed_ops as b; "
        "from deepspeed.accelerator import get_accelerator as g; "
        "print([n for n in b.OPS if type(g().create_op_builder(n)).__name__ != n])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
    script = (ROOT / "ci" / "test.sh").read_text(encoding="utf-8")
    assert "ci/build_deepspeed_ops.py" in script
