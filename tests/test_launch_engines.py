"""Generated launch scripts on the real engines, CPU and loopback only: torchrun (one
node, and two "nodes" on this machine), the deepspeed launcher through pdsh + ssh to
a private sshd, and SLURM.  Every launched rank reports its layout (fixtures/probe_ranks.py)
and it must match the compiled topology table."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import support
from launch_helpers import PROBE, compile_bundle, read_probe

RUN_TIMEOUT = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(out: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "SATC_PROBE_OUT": str(out), **extra}


def _assert_layout(records: list[dict[str, Any]], nodes: int, per_node: int, bundle: Path) -> None:
    """Ranks 0..world-1, each node a consecutive block, one world whose all_reduce agrees."""
    world = nodes * per_node
    assert [r["rank"] for r in records] == list(range(world)), records
    assert {r["world_size"] for r in records} == {world}
    assert {r["local_world_size"] for r in records} == {per_node}
    assert [(r["node_block"], r["local_rank"]) for r in records] == [
        (rank // per_node, rank % per_node) for rank in range(world)
    ]
    assert {r["all_reduce"] for r in records} == {world * (world + 1) / 2}
    assert {r["bundle"] for r in records} == {str(bundle.resolve() / "args.json")}
    assert all(r["bundle_exists"] for r in records)
    assert {r["master_addr"] for r in records} <= {"127.0.0.1", "localhost"}


def test_torchrun_one_node_two_ranks(tmp_path: Path) -> None:
    support.require_tool("torchrun")
    bundle = compile_bundle(
        tmp_path, {"entrypoint": str(PROBE), "env": {"SATC_PROBE_ENV": "MY_VAR", "MY_VAR": "v=1:2"}}
    )
    out = tmp_path / "ranks.jsonl"
    result = subprocess.run(
        ["bash", str(bundle / "launch.sh"), "two words", "$(x)", "$$", "${local_rank}x"],
        cwd=tmp_path,
        env=_env(out),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    records = read_probe(out)
    _assert_layout(records, 1, 2, bundle)
    # Exactly as given: torch elastic would otherwise turn `$$` into `$` and ${local_rank} into 0/1.
    assert {tuple(r["argv"]) for r in records} == {("two words", "$(x)", "$$", "${local_rank}x")}
    assert {r["env"]["MY_VAR"] for r in records} == {"v=1:2"}


def test_torchrun_reports_the_failing_ranks_own_exit_code(tmp_path: Path) -> None:
    support.require_tool("torchrun")
    bundle = compile_bundle(tmp_path, {"entrypoint": str(PROBE)})
    result = subprocess.run(
        ["bash", str(bundle / "launch.sh")],
        cwd=tmp_path,
        env=_env(tmp_path / "r.jsonl", SATC_PROBE_FAIL_RANK="1"),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "launch.sh: rank 1 on " in result.stderr and "exited with code 3" in result.stderr


def test_torchrun_two_nodes_form_one_world_of_four(tmp_path: Path) -> None:
    support.require_tool("torchrun")
    port = _free_port()
    bundle = compile_bundle(
        tmp_path,
        {
            "entrypoint": str(PROBE),
            "nodes": 2,
            "master_addr": "127.0.0.1",
            "master_port": port,
            "rdzv_timeout": 60,
        },
    )
    out = tmp_path / "ranks.jsonl"
    script = str(bundle / "launch.sh")
    # Node rank from the environment on one "node", from the argument on the other.
    node0 = subprocess.Popen(
        ["bash", script],
        cwd=tmp_path,
        env=_env(out, NODE_RANK="0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        node1 = subprocess.run(
            ["bash", script, "--node-rank", "1", "arg"],
            cwd=tmp_path,
            env=_env(out),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        log0, _ = node0.communicate(timeout=RUN_TIMEOUT)
    finally:
        if node0.poll() is None:
            node0.kill()
    assert node1.returncode == 0, node1.stderr
    assert node0.returncode == 0, log0
    records = read_probe(out)
    _assert_layout(records, 2, 2, bundle)
    # The node started with --node-rank 1 forwarded "arg": its ranks form one block.
    with_arg = {r["rank"] for r in records if r["argv"] == ["arg"]}
    assert with_arg in ({0, 1}, {2, 3})


def test_torchrun_refuses_a_missing_node_rank(tmp_path: Path) -> None:
    bundle = compile_bundle(tmp_path, {"entrypoint": str(PROBE), "nodes": 2, "master_addr": "127.0.0.1"})
    env = {k: v for k, v in os.environ.items() if k != "NODE_RANK"}
    result = subprocess.run(
        ["bash", str(bundle / "launch.sh")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "NODE_RANK" in result.stderr


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Path]:
    """A private sshd on 127.0.0.1:<spare port> with a generated key; yields a bin dir whose
    `ssh` uses that key and port for localhost (the launcher and pdsh call `ssh` by name)."""
    sshd_path = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    support.require(sshd_path is not None, "sshd not installed (apt-get install openssh-server)")
    support.require_tool("pdsh")
    real_ssh = support.require_tool("ssh")
    keygen = support.require_tool("ssh-keygen")
    home = tmp_path / "ssh"
    home.mkdir(mode=0o700)
    for name in ("host_key", "user_key"):
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(home / name)], check=True, timeout=30
        )
    (home / "authorized_keys").write_text((home / "user_key.pub").read_text())
    (home / "authorized_keys").chmod(0o600)
    port = _free_port()
    (home / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {home / 'host_key'}\n"
        f"AuthorizedKeysFile {home / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\n"
        f"PidFile {home / 'sshd.pid'}\nUsePAM no\nAcceptEnv *\n"
    )
    (home / "ssh_config").write_text(
        f"Host localhost\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile {home / 'user_key'}\n"
        f"  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile {home / 'known_hosts'}\n"
        "  LogLevel ERROR\n  BatchMode yes\n"
    )
    os.makedirs("/run/sshd", exist_ok=True)  # privilege separation directory
    daemon = subprocess.Popen(
        [sshd_path, "-D", "-e", "-f", str(home / "sshd_config")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    bindir = tmp_path / "sshbin"
    bindir.mkdir()
    (bindir / "ssh").write_text(f'#!/bin/sh\nexec {real_ssh} -F {home / "ssh_config"} "$@"\n')
    (bindir / "ssh").chmod(0o755)
    try:
        deadline = time.monotonic() + 20
        while True:
            check = subprocess.run(
                [str(bindir / "ssh"), "localhost", "true"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if check.returncode == 0:
                break
            if daemon.poll() is not None or time.monotonic() > deadline:
                daemon.kill()
                pytest.fail(f"sshd did not come up: {check.stderr}\n{daemon.communicate()[0]}")
            time.sleep(0.3)
        yield bindir
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def test_deepspeed_launcher_through_pdsh_and_ssh(tmp_path: Path, sshd: Path) -> None:
    support.require_tool("deepspeed")
    out = tmp_path / "ranks.jsonl"
    # The remote shell starts clean: only what the launcher forwards (PYTHON*, $DS_ENV_FILE)
    # arrives, so the probe's output file travels in launch.env like any user variable.
    bundle = compile_bundle(
        tmp_path,
        {
            "target": "deepspeed",
            "entrypoint": str(PROBE),
            "force_multi": True,
            "hosts": ["localhost"],
            "env": {"SATC_PROBE_ENV": "MY_VAR", "MY_VAR": "v=1:2", "SATC_PROBE_OUT": str(out)},
        },
    )
    assert (bundle / "hostfile").read_text() == "localhost slots=2\n"
    env = _env(out, PATH=f"{sshd}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        ["bash", str(bundle / "launch.sh"), "x"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pdsh" in result.stdout + result.stderr  # the multi-host path, not the local one
    records = read_probe(out)
    _assert_layout(records, 1, 2, bundle)
    assert {r["launcher_env"]["LOCAL_SIZE"] for r in records} == {"2"}
    assert {r["env"]["MY_VAR"] for r in records} == {"v=1:2"}
    # The entrypoint sees exactly its own arguments: no `--local_rank=N` (--no_local_rank).
    assert {tuple(r["argv"]) for r in records} == {("x",)}


def _slurm_ready() -> None:
    support.require_tool("sbatch")
    support.slurm_node()


def test_slurm_sbatch_two_tasks(tmp_path: Path) -> None:
    _slurm_ready()
    bundle = compile_bundle(
        tmp_path,
        {"target": "slurm", "entrypoint": str(PROBE), "slurm": {"job_name": "satc-test", "time": "00:05:00"}},
        out="bundle dir 'q'",
    )
    out = tmp_path / "ranks.jsonl"
    log = tmp_path / "slurm.out"
    result = subprocess.run(
        ["sbatch", "--wait", f"--output={log}", str(bundle / "launch.sh"), "a b"],
        cwd=tmp_path,
        env=_env(out),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    job_log = log.read_text() if log.exists() else ""
    assert result.returncode == 0, result.stderr + job_log
    records = read_probe(out)
    _assert_layout(records, 1, 2, bundle)
    assert {r["launcher_env"]["SLURM_NTASKS"] for r in records} == {"2"}
    assert {tuple(r["argv"]) for r in records} == {("a b",)}


def test_torchrun_rendezvous_timeout_bounds_a_missing_node(tmp_path: Path) -> None:
    support.require_tool("torchrun")
    bundle = compile_bundle(
        tmp_path,
        {
            "entrypoint": str(PROBE),
            "nodes": 2,
            "master_addr": "127.0.0.1",
            "master_port": _free_port(),
            "rdzv_timeout": 10,
        },
    )
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(bundle / "launch.sh"), "--node-rank", "0"],
        cwd=tmp_path,
        env=_env(tmp_path / "r.jsonl"),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "RendezvousTimeoutError" in result.stderr
    assert elapsed < 40, f"node 0 waited {elapsed:.0f} s for a node that never came (rdzv_timeout 10)"
