"""benchmarks/bench.py --quick runs end to end and prints its table (no timing asserted:
the numbers belong to the machine; the README records a full run)."""

from __future__ import annotations

import subprocess
import sys

from support import ROOT


def test_quick_benchmark_prints_every_section() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for heading in ("1. cold compile", "2. check", "3. scaling", "4. peak memory", "5. plan"):
        assert heading in out, out
    for row in ("satc compile", "SAT get_args", "python -c pass", "exponent", "peak RSS", "tracemalloc"):
        assert row in out, out
    assert "drifted: 0 " in out, out
    assert "heavy imports added: none" in out, out
