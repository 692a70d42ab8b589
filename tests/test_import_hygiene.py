"""The compile path never imports torch, DeepSpeed or SAT (issue 2)."""

from __future__ import annotations

import subprocess
import sys

from support import CASES

PROBE = """
import sys
from pathlib import Path
import satc.compiler.cli
from satc.compiler.pipeline import compile_bundle
case = Path(sys.argv[1])
compile_bundle([str(case / "cogvideox_2b.yaml"), str(case / "sft.yaml")], [], Path(sys.argv[2]))
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "deepspeed", "sat", "triton"})
print(",".join(heavy))
"""


def test_compiling_imports_no_heavy_modules(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(CASES / "cogvideox_2b_sft"), str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
