"""Two ranks of one host claiming one LOCAL_RANK: every rank ends with the TopologyError,
also when a rank reads the verdict late (a loaded machine) -- rank 0, whose process hosts
the rendezvous store, used to leave first and its peer ended with a RendezvousError."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reference import harness
from support import require_module

INIT_TIMEOUT = 30

_SLOW_READER = """
import json, os, time
import satc.runtime
from satc.runtime import distributed

if os.environ["RANK"] == "1":
    barrier = distributed._store_barrier

    def late(store, name, world_size):
        if name != "checked":
            return barrier(store, name, world_size)
        if store.add(f"{name}/arrived", 1) == world_size:
            store.set(f"{name}/all", "1")
        time.sleep(3)  # descheduled: rank 1 waits for the verdict after rank 0 could have left
        store.wait([f"{name}/all"])

    distributed._store_barrier = late
try:
    satc.runtime.init()
    outcome = {"error": None}
except satc.runtime.RuntimeConfigError as exc:
    outcome = {"error": type(exc).__name__, "message": str(exc)}
print(json.dumps(outcome), flush=True)
"""


def test_a_late_reader_of_a_shared_local_rank_still_gets_the_topology_error(tmp_path: Path) -> None:
    for module in ("torch", "sat"):
        require_module(module)
    bundle = harness.compile_bundle(tmp_path / "b", world=2, mp=1, timeout=INIT_TIMEOUT)
    port = harness.free_port()
    procs = []
    for rank in (0, 1):
        env = harness.clean_env(
            RANK=str(rank),
            LOCAL_RANK="0",
            WORLD_SIZE="2",
            LOCAL_WORLD_SIZE="2",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            SATC_BUNDLE=str(bundle / "args.json"),
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", _SLOW_READER],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=tmp_path,
            )
        )
    outcomes = []
    try:
        for proc in procs:
            output, _ = proc.communicate(timeout=INIT_TIMEOUT * 4)
            assert proc.returncode == 0, output[-3000:]
            outcomes.append(json.loads(output.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for outcome in outcomes:
        assert outcome["error"] == "TopologyError", outcomes
        assert "claim LOCAL_RANK=0" in outcome["message"], outcomes
