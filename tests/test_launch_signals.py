"""Signals: `kill <launch.sh pid>` (SIGTERM) and Ctrl-C (SIGINT to the terminal's process
group) end the launcher, every rank and the log filter -- the process table is checked
afterwards -- and launch.sh exits 128+N with one line saying so, on real torchrun, the
real deepspeed launcher and real SLURM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import support
from launch_helpers import compile_bundle
from test_launch_engines import sshd  # noqa: F401 - the private sshd fixture

STARTUP_TIMEOUT = 120
RANKS = 2

SLEEPER = """
import os, pathlib, time
rank = os.environ.get("RANK") or os.environ.get("SLURM_PROCID") or "0"
pathlib.Path(os.environ["MARKS"], rank).write_text(str(os.getpid()))
print(f"rank {rank} up", flush=True)
time.sleep(600)
"""


def _ours(bundle: Path) -> list[str]:
    """Every live process whose environment names this bundle (launcher, ranks, filter)."""
    needle = f"SATC_BUNDLE={bundle.resolve()}/args.json".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(f"{entry.name} {command[:200]}")
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(tmp_path: Path, target: str, script: str = SLEEPER) -> tuple[subprocess.Popen, Path, Path]:
    entry = tmp_path / "sleeper.py"
    entry.write_text(script)
    bundle = compile_bundle(tmp_path, {"target": target, "entrypoint": str(entry)})
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "MARKS": str(marks), "SATC_PYTHON": sys.executable}
    log = open(tmp_path / "launch.log", "w")  # noqa: SIM115 - closed by the process's end
    process = subprocess.Popen(
        ["bash", str(bundle / "launch.sh")],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a terminal's Ctrl-C goes to all of it
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while len(list(marks.iterdir())) < RANKS:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"ranks did not start: {(tmp_path / 'launch.log').read_text()[-3000:]}")
        time.sleep(0.2)
    return process, bundle, marks


def _finish(process: subprocess.Popen, tmp_path: Path, bundle: Path, marks: Path, code: int) -> str:
    rank_pids = [int(path.read_text()) for path in marks.iterdir()]
    try:
        returncode = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        for pid in [process.pid, *rank_pids]:  # ranks run in sessions of their own
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        raise
    output = (tmp_path / "launch.log").read_text()
    # The process table right after launch.sh returned: nothing of this job is left.
    leftovers = _ours(bundle)
    alive_ranks = [pid for pid in rank_pids if _alive(pid)]
    for pid in alive_ranks:  # never leave them running past the test
        os.kill(pid, signal.SIGKILL)
    assert leftovers == [] and alive_ranks == [], (leftovers, alive_ranks, output[-3000:])
    assert returncode == code, output[-3000:]
    return output


@pytest.mark.parametrize("target", ["torchrun", "deepspeed"])
def test_sigterm_to_launch_sh_ends_the_whole_tree(tmp_path: Path, target: str) -> None:
    support.require_tool(target)
    process, bundle, marks = _start(tmp_path, target)
    process.terminate()  # what Popen.terminate, job runners and a container's PID 1 send
    output = _finish(process, tmp_path, bundle, marks, 128 + signal.SIGTERM)
    assert f"launch.sh: stopped by SIGTERM: {target} and every process it started have ended" in output


@pytest.mark.parametrize("target", ["torchrun", "deepspeed"])
def test_ctrl_c_ends_the_run_with_130_not_a_launcher_failure(tmp_path: Path, target: str) -> None:
    support.require_tool(target)
    process, bundle, marks = _start(tmp_path, target)
    os.killpg(process.pid, signal.SIGINT)  # the terminal signals its whole foreground group
    output = _finish(process, tmp_path, bundle, marks, 128 + signal.SIGINT)
    assert "launch.sh: stopped by SIGINT" in output
    assert "failed with exit status" not in output and "a rank failed" not in output


def test_sigint_to_launch_sh_alone_reaches_ranks_in_their_own_sessions(tmp_path: Path) -> None:
    """torch elastic starts each rank in a session of its own: only launch.sh can reach them."""
    support.require_tool("torchrun")
    process, bundle, marks = _start(tmp_path, "torchrun")
    process.send_signal(signal.SIGINT)
    _finish(process, tmp_path, bundle, marks, 128 + signal.SIGINT)


def test_sigterm_in_a_slurm_allocation_ends_the_job_step(tmp_path: Path) -> None:
    salloc = support.require_tool("salloc")
    support.slurm_node()
    entry = tmp_path / "sleeper.py"
    entry.write_text(SLEEPER)
    bundle = compile_bundle(tmp_path, {"target": "slurm", "entrypoint": str(entry)})
    marks = tmp_path / "marks"
    marks.mkdir()
    process = subprocess.Popen(
        [salloc, "-N1", "--ntasks-per-node=2", "--time=00:05:00", "bash", str(bundle / "launch.sh")],
        cwd=tmp_path,
        env={**os.environ, "MARKS": str(marks), "SATC_PYTHON": sys.executable},
        stdout=open(tmp_path / "launch.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while len(list(marks.iterdir())) < RANKS:
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "launch.log").read_text()
        time.sleep(0.2)
    launch_sh = _bash_running(bundle / "launch.sh")
    assert len(launch_sh) == 1, launch_sh
    os.kill(launch_sh[0], signal.SIGTERM)
    # salloc returns launch.sh's status once the step and the allocation are gone.
    output = _finish(process, tmp_path, bundle, marks, 128 + signal.SIGTERM)
    assert "launch.sh: stopped by SIGTERM: srun" in output


def _bash_running(script: Path) -> list[int]:
    """Pids of `bash SCRIPT` processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command[:2] == [b"bash", str(script).encode()]:
            found.append(int(entry.name))
    return found


def test_sighup_of_a_closed_terminal_ends_the_tree_with_129(tmp_path: Path) -> None:
    support.require_tool("torchrun")
    process, bundle, marks = _start(tmp_path, "torchrun")
    process.send_signal(signal.SIGHUP)
    output = _finish(process, tmp_path, bundle, marks, 128 + signal.SIGHUP)
    assert "launch.sh: stopped by SIGHUP: torchrun" in output


def test_a_second_signal_kills_at_once(tmp_path: Path) -> None:
    support.require_tool("torchrun")
    process, bundle, marks = _start(tmp_path, "torchrun")
    process.terminate()
    time.sleep(0.3)
    process.terminate()
    output = _finish(process, tmp_path, bundle, marks, 128 + signal.SIGTERM)
    assert "Killed" not in output  # bash's job notice


def test_sigterm_reaches_ranks_started_through_pdsh_and_ssh(tmp_path: Path, sshd: Path) -> None:  # noqa: F811
    """The deepspeed launcher's multi-host path: the ranks are children of sshd, not of
    launch.sh; the launcher's own handler kills them over pdsh when it gets the signal."""
    support.require_tool("deepspeed")
    entry = tmp_path / "sleeper.py"
    entry.write_text(SLEEPER)
    marks = tmp_path / "marks"
    marks.mkdir()
    launch = {
        "target": "deepspeed",
        "entrypoint": str(entry),
        "force_multi": True,
        "hosts": ["localhost"],
        "env": {"MARKS": str(marks)},
    }
    bundle = compile_bundle(tmp_path, launch)
    process = subprocess.Popen(
        ["bash", str(bundle / "launch.sh")],
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{sshd}{os.pathsep}{os.environ['PATH']}"},
        stdout=open(tmp_path / "launch.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while len(list(marks.iterdir())) < RANKS:
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "launch.log").read_text()
        time.sleep(0.2)
    process.terminate()
    _finish(process, tmp_path, bundle, marks, 128 + signal.SIGTERM)


# A rank that waits for SIGUSR1 (SLURM's warning before the time limit, rule C8) beside a
# child of its own, as a data-loader worker is, which dies of a SIGUSR1 it does not handle.
USR1_RANK = """
import os, pathlib, signal, subprocess, sys, time
marks = pathlib.Path(os.environ["MARKS"])
rank = os.environ.get("RANK") or os.environ.get("SLURM_PROCID") or "0"
got = []
signal.signal(signal.SIGUSR1, lambda *_: got.append(1))
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
(marks / rank).write_text(str(os.getpid()))
deadline = time.monotonic() + 120
while not got and time.monotonic() < deadline:
    time.sleep(0.1)
worker_alive = worker.poll() is None
worker.kill()
(marks.parent / f"usr1-{rank}").write_text(f"{bool(got)} {worker_alive}")
sys.exit(0 if got and worker_alive else 3)
"""


@pytest.mark.parametrize("target", ["torchrun", "deepspeed"])
def test_sigusr1_reaches_every_rank_and_only_the_ranks(tmp_path: Path, target: str) -> None:
    support.require_tool(target)
    process, bundle, marks = _start(tmp_path, target, USR1_RANK)
    os.kill(process.pid, signal.SIGUSR1)
    # The launcher and the ranks' own children live on; the ranks end by themselves.
    output = _finish(process, tmp_path, bundle, marks, 0)
    assert "launch.sh: forwarding SIGUSR1 to the ranks (2 process(es))" in output
    assert sorted(p.read_text() for p in tmp_path.glob("usr1-*")) == ["True True"] * RANKS, output[-3000:]


def test_sigusr1_in_a_slurm_allocation_reaches_every_task_through_srun(tmp_path: Path) -> None:
    salloc = support.require_tool("salloc")
    support.slurm_node()
    entry = tmp_path / "sleeper.py"
    # slurmstepd signals every process of the step, a rank's own children too (as SLURM's
    # --signal=USR1@N does): only the ranks' receipt is asserted here.
    entry.write_text(USR1_RANK.replace("0 if got and worker_alive else 3", "0 if got else 3"))
    bundle = compile_bundle(tmp_path, {"target": "slurm", "entrypoint": str(entry)})
    marks = tmp_path / "marks"
    marks.mkdir()
    process = subprocess.Popen(
        [salloc, "-N1", "--ntasks-per-node=2", "--time=00:05:00", "bash", str(bundle / "launch.sh")],
        cwd=tmp_path,
        env={**os.environ, "MARKS": str(marks), "SATC_PYTHON": sys.executable},
        stdout=open(tmp_path / "launch.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while len(list(marks.iterdir())) < RANKS:
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "launch.log").read_text()
        time.sleep(0.2)
    launch_sh = _bash_running(bundle / "launch.sh")
    assert len(launch_sh) == 1, launch_sh
    os.kill(launch_sh[0], signal.SIGUSR1)
    output = _finish(process, tmp_path, bundle, marks, 0)
    assert "launch.sh: forwarding SIGUSR1 to srun (1 process(es))" in output
    assert sorted(p.read_text().split()[0] for p in tmp_path.glob("usr1-*")) == ["True"] * RANKS, output[
        -3000:
    ]
