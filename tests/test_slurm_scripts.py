"""ci/slurm/stop.sh --all stops only the munged that ci/slurm/start.sh started: a munged
that was already running (the machine's own) is left alone.  Run against stand-in
daemons (a process named munged) and private pid files, never the real ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STOP = ROOT / "ci" / "slurm" / "stop.sh"


@pytest.fixture
def stand_in(tmp_path: Path):
    """A live process whose name (comm) is munged, and its pid file."""
    binary = tmp_path / "munged"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", binary)
    process = subprocess.Popen([str(binary), "300"])
    munge_dir = tmp_path / "munge"
    munge_dir.mkdir()
    (munge_dir / "munged.pid").write_text(f"{process.pid}\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    yield process, munge_dir / "munged.pid", run_dir
    if process.poll() is None:
        process.kill()
    process.wait()


def _stop(pid_file: Path, run_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SATC_SLURM_RUN_DIR": str(run_dir), "SATC_SLURM_MUNGE_PID": str(pid_file)}
    return subprocess.run(
        ["bash", str(STOP), "--all"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_stop_all_leaves_a_munged_it_did_not_start(stand_in) -> None:
    process, pid_file, run_dir = stand_in
    result = _stop(pid_file, run_dir)
    assert result.returncode == 0, result.stderr
    time.sleep(0.5)
    assert process.poll() is None, "stop.sh --all stopped a munged that start.sh did not start"
    assert f"leaving munged (pid {process.pid}) running" in result.stderr
    assert pid_file.exists()


def test_stop_all_stops_the_munged_start_sh_started(stand_in) -> None:
    process, pid_file, run_dir = stand_in
    (run_dir / "munged.pid").write_text(pid_file.read_text())  # what start.sh records
    result = _stop(pid_file, run_dir)
    assert result.returncode == 0, result.stderr
    assert process.wait(timeout=30) is not None
    assert not (run_dir / "munged.pid").exists()
