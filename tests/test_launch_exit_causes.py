"""Each launch script reports the failing rank's own exit cause, not its launcher's.

Launchers are replaced by tiny fakes that fail the way the real ones do: DeepSpeed's
launcher exits with a killed rank's return code -N (so 256 - N), and srun exits with
whatever ended its last task (often SIGTERM, 143, for the peers it killed) while its
"task N: ..." lines name the rank that failed first.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from launch_helpers import compile_bundle

SRUN_LINES = {
    "exit": "srun: error: vm: task 1: Exited with exit code 7\\nsrun: error: vm: task 0: Terminated\\n",
    "kill": "srun: error: vm: task 1: Killed\\nsrun: error: vm: task 0: Terminated\\n",
}


def _run(
    script: Path, tmp_path: Path, fakes: dict[str, str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "fakes"
    bin_dir.mkdir()
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!/usr/bin/env bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    environment.update(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env)
    return subprocess.run(
        ["bash", str(script)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_deepspeed_target_reports_a_killed_rank_as_a_signal(tmp_path: Path) -> None:
    bundle = compile_bundle(tmp_path, {"target": "deepspeed", "entrypoint": "t.py"})
    result = _run(bundle / "launch.sh", tmp_path, {"deepspeed": "exit 247"}, {})
    assert result.returncode == 137, result.stderr
    assert "a rank was killed by signal 9 (KILL)" in result.stderr


def test_deepspeed_target_passes_an_exit_code_through(tmp_path: Path) -> None:
    bundle = compile_bundle(tmp_path, {"target": "deepspeed", "entrypoint": "t.py"})
    result = _run(bundle / "launch.sh", tmp_path, {"deepspeed": "exit 7"}, {})
    assert result.returncode == 7
    assert "a rank failed with exit code 7" in result.stderr


@pytest.mark.parametrize(
    ("how", "code", "message"),
    [
        ("exit", 7, "launch.sh: rank 1 exited with code 7"),
        ("kill", 137, "launch.sh: rank 1 was killed by signal 9 (KILL)"),
    ],
)
def test_slurm_target_reports_the_first_failing_task(
    tmp_path: Path, how: str, code: int, message: str
) -> None:
    bundle = compile_bundle(tmp_path, {"target": "slurm", "entrypoint": "t.py"})
    fakes = {"srun": f"printf '{SRUN_LINES[how]}' >&2; exit 143"}
    result = _run(
        bundle / "launch.sh",
        tmp_path,
        fakes,
        {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "vm", "SATC_BUNDLE_DIR": str(bundle)},
    )
    assert result.returncode == code, result.stderr
    assert message in result.stderr
