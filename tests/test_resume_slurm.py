"""Runs that continue on the real local SLURM cluster (ci/slurm/start.sh): the bundle's
launch.sh under sbatch, SAT's real training_main on the small test model (rule C8,
docs/resume.md), against one uninterrupted run of the same config under torchrun.

* A job with a real four-minute time limit: SLURM itself sends the warning signal
  (launch.slurm.resume_signal_s), the ranks checkpoint the step they finished, the job
  requeues itself and the requeued job finishes; every step's samples are the
  uninterrupted run's.
* `scontrol requeue` by hand mid-run resumes from the last periodic checkpoint, and
  `scancel` leaves no rank behind.

A file of its own: xdist (--dist loadfile) runs it on another worker than the torchrun
resume tests, so SLURM's waits overlap theirs.  SLURM holds a requeued job about two
minutes (its BeginTime) before it runs again; the tests release it at once (`scontrol
update StartTime=now`), which changes nothing a requeued job does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from resume_support import compile_config, launch_env, run_folder, steps_of, workdir
from support import require_module, require_tool, slurm_node

# The time-limit job: SLURM sends the warning when at most N + 60 s remain (it documents
# up to a minute early): with a 4-minute limit and N = 60, 120-180 s into the job, well
# after the ranks started even on a loaded machine (a signal before a rank reaches init()
# ends it: docs/resume.md, C8).  4 s a step on the first run: it cannot finish 64 steps
# before the signal; the requeued run takes the rest at full speed, well before its own
# warning.
LONG = 64
FIRST_RUN_STEP_SLEEP = "4"
TIME_LIMIT_SETS = (
    "launch.target=slurm",
    "launch.slurm.time=00:04:00",
    "launch.slurm.resume_signal_s=60",
    "launch.slurm.job_name=satc-time-limit",
    f"args.train_iters={LONG}",
    "args.save_interval=1000",  # no periodic checkpoint: the one resumed is the signal's
)
REQUEUE_SETS = (
    "launch.target=slurm",
    "launch.slurm.time=00:15:00",
    "launch.slurm.resume_signal_s=60",
    "launch.slurm.job_name=satc-requeue",
    "args.train_iters=30",
)


class Uninterrupted:
    """The reference run under torchrun, started while a SLURM job sleeps through its
    first steps (so it does not slow the job's start) and read when a test needs it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.records = directory / "records.jsonl"
        self.process: subprocess.Popen[str] | None = None
        self._steps: dict[int, dict[str, Any]] | None = None

    def start(self) -> None:
        if self.process is not None:
            return
        compile_config(self.directory, "bundle", f"args.train_iters={LONG}", "args.save_interval=1000")
        self.process = subprocess.Popen(
            ["bash", "bundle/launch.sh"],
            cwd=self.directory,
            env=launch_env(self.records),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def steps(self) -> dict[int, dict[str, Any]]:
        if self._steps is None:
            self.start()
            assert self.process is not None
            output, _ = self.process.communicate(timeout=900)
            assert self.process.returncode == 0, output[-6000:]
            self._steps = steps_of(self.records)
            assert sorted(self._steps) == list(range(1, LONG + 1))
        return self._steps

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Uninterrupted]:
    require_module("sat")
    run = Uninterrupted(workdir(tmp_path_factory.mktemp("uninterrupted")))
    yield run
    run.stop()


def _slurm_ready() -> None:
    require_tool("sbatch")
    slurm_node()


def _submit(directory: Path, records: Path, **env: str) -> str:
    result = subprocess.run(
        # append: a requeued job writes its output after the first run's, not over it
        [
            "sbatch",
            "--parsable",
            "--open-mode=append",
            f"--output={directory / 'job-%j.out'}",
            "bundle/launch.sh",
        ],
        cwd=directory,
        env=launch_env(
            records,
            SATC_PYTHON=sys.executable,
            SATC_BUNDLE_DIR=str(directory / "bundle"),
            **env,
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(";")[0]


def _job(job: str) -> dict[str, str]:
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True, timeout=30)
    return dict(word.split("=", 1) for word in shown.stdout.split() if "=" in word)


def _state(job: str) -> dict[str, str]:
    """The job's state, a requeued job's hold released (see the module's docstring)."""
    info = _job(job)
    if info.get("JobState") == "PENDING" and info.get("Reason") == "BeginTime":
        subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], timeout=30, check=False)
    return info


def _wait(what: str, condition: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def _lines(records: Path) -> list[dict[str, Any]]:
    if not records.exists():
        return []
    return [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines() if line]


def _started(records: Path, step: int) -> bool:
    return any(line["step"] >= step for line in _lines(records))


def _started_again(records: Path) -> bool:
    """Every rank of the requeued job recorded a step (attempt[1]: SLURM_RESTART_COUNT)."""
    return len({line["rank"] for line in _lines(records) if line["attempt"][1] >= 1}) == 2


def _leftovers(directory: Path) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, timeout=30)
    return [line for line in ps.stdout.splitlines() if str(directory) in line and "sat_resume_entry" in line]


def test_slurm_time_limit_signals_checkpoints_requeues_and_the_job_finishes(
    tmp_path: Path, uninterrupted: Uninterrupted
) -> None:
    _slurm_ready()
    directory = workdir(tmp_path)
    bundle = compile_config(directory, "bundle", *TIME_LIMIT_SETS)
    script = (bundle / "launch.sh").read_text()
    assert "#SBATCH --time=00:04:00\n" in script
    assert "#SBATCH --signal=USR1@60\n#SBATCH --requeue\n" in script
    records = directory / "records.jsonl"
    job = _submit(directory, records, SATC_FIRST_RUN_STEP_SLEEP=FIRST_RUN_STEP_SLEEP)
    try:
        _wait("step 1", lambda: _started(records, 1))
        uninterrupted.start()
        # Nothing but SLURM's clock interrupts this job.
        _wait("the requeued job to finish", lambda: _state(job).get("JobState") == "COMPLETED", timeout=720)
    finally:
        subprocess.run(["scancel", job], timeout=30, check=False)
    info = _job(job)
    assert int(info["Restarts"]) >= 1, info
    output = "\n".join(p.read_text() for p in sorted(directory.glob("job-*.out")))
    # (The first run's own lines may be lost: SLURM ends its step as it requeues it.)
    assert "DUE TO JOB REQUEUE" in output and "(rule C1)" in output, output[-4000:]
    assert "DUE TO TIME LIMIT" not in output, output[-4000:]

    first_run = max(line["step"] for line in _lines(records) if line["attempt"][1] == 0)
    assert first_run < LONG  # the time limit interrupted it
    steps = steps_of(records)
    reference = uninterrupted.steps()
    assert sorted(steps) == list(range(1, LONG + 1))  # every optimizer step of the plan, once
    for step in range(1, LONG + 1):
        assert steps[step]["samples"] == reference[step]["samples"], step  # no repeat, no gap
        assert steps[step]["lr"] == reference[step]["lr"], step
    folder = run_folder(directory)
    assert (folder / "latest").read_text() == str(LONG)
    chain = json.loads((folder / "satc-lineage.json").read_text())["chain"]
    assert [(c["slurm_job_id"], c["slurm_restart_count"]) for c in chain[:2]] == [(job, None), (job, "1")]
    # The first run checkpointed the step it was in when the signal came, and no other.
    assert chain[0]["saved_at_iteration"] == first_run
    assert chain[1]["resumed_from"]["iteration"] == first_run
    assert not _leftovers(directory)


def test_slurm_scontrol_requeue_resumes_and_scancel_leaves_no_process(
    tmp_path: Path, uninterrupted: Uninterrupted
) -> None:
    _slurm_ready()
    directory = workdir(tmp_path)
    compile_config(directory, "bundle", *REQUEUE_SETS)
    records = directory / "records.jsonl"
    job = _submit(directory, records, SATC_STEP_SLEEP="1")
    try:
        _wait("step 3 (after checkpoint 2)", lambda: _started(records, 3))
        uninterrupted.start()
        subprocess.run(["scontrol", "requeue", job], check=True, timeout=30)
        _wait(
            "the requeued job's step 4",
            lambda: _state(job).get("Restarts") == "1" and _started_again(records),
        )
        subprocess.run(["scancel", job], check=True, timeout=30)
        _wait("the job to end", lambda: _job(job).get("JobState") in ("CANCELLED", "COMPLETED", None))
        _wait("no rank left", lambda: not _leftovers(directory), timeout=120)
    finally:
        subprocess.run(["scancel", job], timeout=30, check=False)
    output = "\n".join(p.read_text() for p in sorted(directory.glob("job-*.out")))
    assert "(rule C1)" in output, output[-4000:]  # the requeued job resumed
    steps = steps_of(records)
    reference = uninterrupted.steps()
    # scancel may end the requeued run's last step after some ranks recorded it (that
    # step can be below steps the first run reached after its last checkpoint).
    lines = _lines(records)
    last = max(line["attempt"] for line in lines)
    cancelled = {line["step"] for line in lines if line["attempt"] == last}
    assert min(cancelled) > 2  # the requeued run continued after a checkpoint
    for step in sorted(steps):
        partial = len(steps[step]["samples"]) < len(reference[step]["samples"])
        if not (step in cancelled and partial):
            assert steps[step]["samples"] == reference[step]["samples"], step
