"""examples/train_tiny.py trains 2 steps with the real DeepSpeed engine on 2 CPU ranks,
started by the launch.sh satc generates, for ZeRO stage 0 and 2 bundles."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from reference import harness
from support import ROOT, require_module, require_tool, satc

EXAMPLES = ROOT / "examples"
STAGES = {0: ["tiny_cpu.yaml"], 2: ["tiny_cpu.yaml", "tiny_cpu_zero2.yaml"]}


@cache
def _train(tmp: Path, stage: int) -> dict[tuple[int, int], dict[str, object]]:
    """Compile, launch as a user would (cd examples && BUNDLE/launch.sh), parse the steps."""
    bundle = tmp / f"zero{stage}"
    result = satc("compile", *(str(EXAMPLES / name) for name in STAGES[stage]), "-o", str(bundle))
    assert result.returncode == 0, result.stderr
    env = harness.clean_env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    # The first DeepSpeed run on a machine builds a small CPU op (about a minute).
    run = subprocess.run(
        ["bash", str(bundle / "launch.sh")],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    steps = {}
    for line in run.stdout.splitlines():
        if line.startswith("train_tiny "):
            report = json.loads(line.removeprefix("train_tiny "))
            steps[(report["rank"], report["step"])] = report
    return steps


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("torch", "deepspeed", "sat"):
        require_module(module)
    require_tool("bash")
    return tmp_path_factory.mktemp("example")


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_example_trains_two_steps_with_deepspeed(workdir: Path, stage: int) -> None:
    steps = _train(workdir, stage)
    assert sorted(steps) == [(rank, step) for rank in (0, 1) for step in (1, 2)]
    for report in steps.values():
        assert report["zero_stage"] == stage
        assert report["dp_world"] == 2
        assert math.isfinite(report["loss"])
    # Data-parallel ranks draw different batches (seed + dp rank, R14).
    assert steps[(0, 1)]["loss"] != steps[(1, 1)]["loss"]


def test_zero_stages_compute_the_same_steps(workdir: Path) -> None:
    """ZeRO-2 partitions state but not the math: same seeds, same fp32 losses."""
    zero0, zero2 = _train(workdir, 0), _train(workdir, 2)
    for key, report in zero0.items():
        assert zero2[key]["loss"] == pytest.approx(report["loss"], rel=1e-5)
