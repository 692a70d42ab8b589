"""init() refuses a wrong launch before any collective and never waits forever: real
processes on CPU (gloo), each bounded by the test.  An outer timeout firing is a
failure (subprocess.TimeoutExpired), not a pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from reference import harness
from support import require_module

# Seconds init() may wait for a peer in these bundles; the bound below adds the time
# 2-4 ranks need to import torch + SAT on a loaded 2-core CI machine.
INIT_TIMEOUT = 5
BOUND = 75


@pytest.fixture(scope="module", autouse=True)
def _real_components() -> None:
    for module in ("torch", "deepspeed", "sat"):
        require_module(module)


def _torchrun_env(rank: int, world: int, port: int, **extra: str) -> dict[str, str]:
    return {
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "WORLD_SIZE": str(world),
        "LOCAL_WORLD_SIZE": str(world),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        **extra,
    }


def test_world_size_differs_from_the_bundle(tmp_path: Path) -> None:
    bundle = harness.compile_bundle(tmp_path, world=4, mp=1, timeout=INIT_TIMEOUT)
    launch = harness.run_torchrun(bundle, 2, tmp_path / "out", timeout=BOUND)
    assert launch.returncode != 0 and not launch.reports
    assert "TopologyError: world size mismatch" in launch.output
    assert "WORLD_SIZE=2" in launch.output and "world_size 4" in launch.output


def test_ranks_per_node_differ_from_the_bundle(tmp_path: Path) -> None:
    """Compiled for 2 nodes x 2, launched as 1 node x 4: same world, wrong LOCAL_WORLD_SIZE."""
    bundle = harness.compile_bundle(tmp_path, world=4, mp=2, nodes=2, timeout=INIT_TIMEOUT)
    launch = harness.run_torchrun(bundle, 4, tmp_path / "out", timeout=BOUND)
    assert launch.returncode != 0 and not launch.reports
    assert "TopologyError: ranks-per-node mismatch" in launch.output
    assert "LOCAL_WORLD_SIZE=4" in launch.output and "gpus_per_node 2" in launch.output


def test_bundle_edited_after_compile(tmp_path: Path) -> None:
    bundle = harness.compile_bundle(tmp_path, world=1, mp=1, timeout=INIT_TIMEOUT)
    args_json = bundle / "args.json"
    document = json.loads(args_json.read_text(encoding="utf-8"))
    document["args"]["model_parallel_size"] = 2
    args_json.write_text(json.dumps(document, indent=2), encoding="utf-8")
    (result,), _ = harness.spawn_ranks(
        [_torchrun_env(0, 1, harness.free_port(), SATC_BUNDLE=str(args_json))],
        tmp_path / "out",
        timeout=BOUND,
    )
    assert result.returncode == 3, result.stdout[-3000:]
    assert "BundleError" in result.stdout and "digest mismatch" in result.stdout


def test_missing_bundle(tmp_path: Path) -> None:
    (result,), _ = harness.spawn_ranks(
        [_torchrun_env(0, 1, harness.free_port(), SATC_BUNDLE=str(tmp_path / "args.json"))],
        tmp_path / "out",
        timeout=BOUND,
    )
    assert result.returncode == 3, result.stdout[-3000:]
    assert "BundleError" in result.stdout and "no such bundle file" in result.stdout


def _two_ranks(
    tmp_path: Path, rank1: dict[str, str] | None, rank0: dict[str, str] | None = None
) -> tuple[list, float]:
    bundle = harness.compile_bundle(tmp_path, world=2, mp=1, timeout=INIT_TIMEOUT)
    port = harness.free_port()
    common = {"SATC_BUNDLE": str(bundle / "args.json")}
    envs = [_torchrun_env(0, 2, port, **common, **(rank0 or {}))]
    if rank1 is not None:
        envs.append(_torchrun_env(1, 2, port, **common, **rank1))
    return harness.spawn_ranks(envs, tmp_path / "out", timeout=BOUND)


def _named_timeout(output: str, stage: str) -> None:
    assert "RendezvousError" in output, output[-3000:]
    assert stage in output and f"launch.init_timeout {INIT_TIMEOUT}s" in output, output[-3000:]


def test_a_rank_that_never_starts(tmp_path: Path) -> None:
    (rank0,), seconds = _two_ranks(tmp_path, rank1=None)
    assert rank0.returncode == 3
    _named_timeout(rank0.stdout, "process-group rendezvous")
    assert "1/2 clients joined" in rank0.stdout
    assert seconds < BOUND


def test_a_rank_killed_during_init(tmp_path: Path) -> None:
    """Rank 1 dies (SIGKILL) after the rendezvous, as init() starts making groups: rank 0
    waits only in its data-parallel group with rank 1, bounded by init_timeout."""
    (rank0, rank1), seconds = _two_ranks(tmp_path, rank1={"PROBE_KILL_AT": "1"}, rank0={"PROBE_KILL_AT": "1"})
    assert rank1.returncode == -9
    assert rank0.returncode == 3
    _named_timeout(rank0.stdout, "process groups (model-, data-, context-parallel, node)")
    assert seconds < BOUND


def test_a_wrong_master_port(tmp_path: Path) -> None:
    """Rank 1 looks for the rendezvous on a port nobody listens on: both give up, named."""
    closed = str(harness.free_port())
    (rank0, rank1), seconds = _two_ranks(tmp_path, rank1={"MASTER_PORT": closed})
    assert rank0.returncode == 3 and rank1.returncode == 3
    _named_timeout(rank0.stdout, "process-group rendezvous")
    _named_timeout(rank1.stdout, "process-group rendezvous")
    assert f"tcp://127.0.0.1:{closed}" in rank1.stdout
    assert seconds < BOUND


# Imports first, so the clock measures init() alone, as a launched rank would spend it.
_TIMED_INIT = """
import json, sys, time
import torch, sat
import satc.runtime
started = time.monotonic()
try:
    satc.runtime.init()
    outcome = {"error": None}
except satc.runtime.RuntimeConfigError as exc:
    outcome = {"error": type(exc).__name__, "message": str(exc)}
outcome["seconds"] = time.monotonic() - started
print(json.dumps(outcome))
"""


def test_a_dead_master_port_fails_within_init_timeout(tmp_path: Path) -> None:
    """One rank alone, nothing listening on MASTER_PORT: torch's own TCPStore retries took
    1.5-3x init_timeout here; init() must give up at init_timeout, naming the address."""
    bundle = harness.compile_bundle(tmp_path, world=4, mp=2, timeout=INIT_TIMEOUT)
    dead = harness.free_port()
    env = harness.clean_env(**_torchrun_env(3, 4, dead, SATC_BUNDLE=str(bundle / "args.json")))
    result = subprocess.run(
        [sys.executable, "-c", _TIMED_INIT],
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["error"] == "RendezvousError", outcome
    assert INIT_TIMEOUT - 0.5 <= outcome["seconds"] < INIT_TIMEOUT + 3, outcome
    for words in (f"tcp://127.0.0.1:{dead}", f"MASTER_PORT {dead}", f"launch.init_timeout {INIT_TIMEOUT}s"):
        assert words in outcome["message"], outcome["message"]
