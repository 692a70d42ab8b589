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


def test_the_runtime_imports_nothing_from_the_compiler() -> None:
    """runtime/ runs on the cluster beside any satc version's bundles: it shares only the
    root modules (bundle_format, files, scrub) with the compiler, never the compiler."""
    import ast

    from support import ROOT

    offenders = []
    for path in sorted((ROOT / "runtime").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                if module.lstrip(".").startswith("compiler") or "satc.compiler" in module:
                    offenders.append(f"{path.name}:{node.lineno} {module}")
            elif isinstance(node, ast.Import):
                offenders += [f"{path.name}:{node.lineno}" for a in node.names if "compiler" in a.name]
    assert offenders == []
