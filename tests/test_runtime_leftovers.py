"""The runtime reads only the launcher that started it: Open MPI's rank variables in a
torchrun rank (an mpirun that started launch.sh, a shell left from an MPI job) are
dropped before DeepSpeed reads them -- DeepSpeed's engine stopped on
`LOCAL_RANK (1) != OMPI_COMM_WORLD_LOCAL_RANK (0)`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reference import harness
from support import require_module

_INIT_THEN_DEEPSPEED_CHECK = """
import argparse, json, os, types
import satc.runtime
satc.runtime.init()
from deepspeed.runtime.engine import DeepSpeedEngine
# What deepspeed.initialize runs on every rank (engine._configure_with_arguments).
DeepSpeedEngine._configure_with_arguments(types.SimpleNamespace(), argparse.Namespace(), None)
print(json.dumps({"rank": int(os.environ["RANK"]), "ompi": sorted(n for n in os.environ if n.startswith("OMPI_"))}))
"""


def test_open_mpi_leftovers_in_torchrun_ranks_do_not_reach_deepspeed(tmp_path: Path) -> None:
    for module in ("torch", "deepspeed", "sat"):
        require_module(module)
    bundle = harness.compile_bundle(tmp_path / "b", world=2, mp=1, timeout=60)
    port = harness.free_port()
    procs = []
    for rank in (0, 1):
        env = harness.clean_env(
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE="2",
            LOCAL_WORLD_SIZE="2",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            SATC_BUNDLE=str(bundle / "args.json"),
            # mpirun's view of the one launch.sh that started both ranks
            OMPI_COMM_WORLD_RANK="0",
            OMPI_COMM_WORLD_SIZE="1",
            OMPI_COMM_WORLD_LOCAL_RANK="0",
            OMPI_COMM_WORLD_LOCAL_SIZE="1",
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", _INIT_THEN_DEEPSPEED_CHECK],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=tmp_path,
            )
        )
    outputs = []
    try:
        for proc in procs:
            output, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, output[-3000:]
            outputs.append(json.loads(output.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert outputs == [{"rank": 0, "ompi": []}, {"rank": 1, "ompi": []}]
