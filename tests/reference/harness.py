"""Helpers for the runtime's multi-process tests: compile CPU bundles of CogVideoX's own
configs, launch real ranks (torchrun or plain processes with a launcher's variables),
and the layout R11-R14 predict, computed here from the SPEC's formulas and never from
satc's code."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import REFERENCE, ROOT, satc

PROBE = Path(__file__).resolve().parent / "probe.py"
SEED = 1234
# Inference: the reference refuses training when device ('cpu') != LOCAL_RANK.
GOLDEN = [REFERENCE / "cogvideox_2b.yaml", REFERENCE / "inference.yaml"]
# Variables a launcher sets; scrubbed so a test decides exactly which dialect is live.
LAUNCHER_VARS = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "LOCAL_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "CROSS_RANK",
    "CROSS_SIZE",
    "SATC_BUNDLE",
    "TORCHELASTIC_RUN_ID",
)
LAUNCHER_PREFIXES = ("SLURM_", "OMPI_", "PMIX_", "PMI_")


def torchrun() -> str:
    return str(Path(sys.executable).parent / "torchrun")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in LAUNCHER_VARS and not name.startswith(LAUNCHER_PREFIXES)
    }
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def overlay(
    directory: Path, world: int, mp: int, *, nodes: int = 1, timeout: int = 60, port: int | None = None
) -> Path:
    """The test's layer on CogVideoX's configs; args.* here also steer the reference."""
    launch = [
        "  device: cpu",
        f"  nodes: {nodes}",
        f"  gpus_per_node: {world // nodes}",
        f"  init_timeout: {timeout}",
        "  master_addr: 127.0.0.1",
    ]
    if port is not None:
        launch.append(f"  master_port: {port}")
    path = directory / f"overlay-w{world}-mp{mp}.yaml"
    path.write_text(
        "launch:\n" + "\n".join(launch) + "\n"
        f"args:\n  model_parallel_size: {mp}\n  seed: {SEED}\n  distributed_backend: gloo\n"
        # inference.yaml samples like CogVideoX 1.5; the 2B's own values (M14, M15).
        "  sampling_image_size: [480, 720]\n  sampling_num_frames: 13\n"
        # The 2B's 30 heads do not split 4 or 8 ways (M18); 32 heads of 60 do.
        + ("" if 30 % mp == 0 else "model:\n  network_config:\n    params:\n      num_attention_heads: 32\n"),
        encoding="utf-8",
    )
    return path


def compile_bundle(directory: Path, world: int, mp: int, **options: Any) -> Path:
    """A bundle for world ranks (1 node unless nodes=) at model-parallel mp; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    configs = [*GOLDEN, overlay(directory, world, mp, **options)]
    out = directory / "bundle"
    result = satc("compile", *map(str, configs), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


def configs_of(bundle: Path) -> list[str]:
    """The YAML files a bundle was compiled from (for the reference's --base)."""
    return [str(path) for path in [*GOLDEN, *sorted(bundle.parent.glob("overlay-*.yaml"))]]


@dataclass
class Launch:
    returncode: int
    output: str
    seconds: float
    reports: dict[int, dict[str, Any]]


def reports(out: Path, mode: str) -> dict[int, dict[str, Any]]:
    reports = {}
    for path in sorted(out.glob(f"{mode}-rank*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        reports[report["rank"]] = report
    return reports


def run_torchrun(
    bundle: Path | None,
    nproc: int,
    out: Path,
    *,
    mode: str = "satc",
    configs: list[str] = (),
    timeout: float = 240,
    **env: str,
) -> Launch:
    """torchrun --standalone with nproc ranks running the probe (bounded by timeout)."""
    extra = {"SATC_BUNDLE": str(bundle / "args.json")} if bundle is not None else {}
    command = [
        torchrun(),
        "--standalone",
        "--nproc-per-node",
        str(nproc),
        "--max-restarts",
        "0",
        str(PROBE),
        mode,
        str(out),
        *configs,
    ]
    started = time.monotonic()
    result = subprocess.run(
        command,
        env=clean_env(**extra, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    return Launch(
        result.returncode, result.stdout + result.stderr, time.monotonic() - started, reports(out, mode)
    )


def spawn_ranks(
    envs: list[dict[str, str]], out: Path, timeout: float = 240, mode: str = "satc"
) -> tuple[list[subprocess.CompletedProcess[str]], float]:
    """Plain processes, one per env (a launcher's variables set by the test)."""
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, str(PROBE), mode, str(out)],
            env=clean_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        for env in envs
    ]
    results = []
    try:
        for proc in procs:
            remaining = max(1.0, timeout - (time.monotonic() - started))
            output, _ = proc.communicate(timeout=remaining)
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, output, ""))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results, time.monotonic() - started


def expected_layout(rank: int, world: int, mp: int) -> dict[str, Any]:
    """R11 (SAT: mp blocks of consecutive ranks, dp strides), R12 (cp = mp group when
    mp <= 2, else consecutive pairs), R14 (seed + dp rank), from the SPEC alone."""
    cp = min(mp, 2)
    mp_group = list(range(rank - rank % mp, rank - rank % mp + mp))
    dp_group = list(range(rank % mp, world, mp))
    cp_group = list(range(rank - rank % cp, rank - rank % cp + cp))
    return {
        "mp": {"rank": mp_group.index(rank), "world": mp, "ranks": mp_group},
        "dp": {"rank": dp_group.index(rank), "world": len(dp_group), "ranks": dp_group},
        "cp": {"size": cp, "rank": cp_group.index(rank), "group_rank": rank // cp, "ranks": cp_group},
        "seed": SEED + dp_group.index(rank),
        "sums": {
            "world": float(sum(r + 1 for r in range(world))),
            "mp": float(sum(r + 1 for r in mp_group)),
            "dp": float(sum(r + 1 for r in dp_group)),
            "cp": float(sum(r + 1 for r in cp_group)),
        },
    }


def expected_draws(seed: int) -> dict[str, float]:
    """First python / numpy / torch draws after seeding all three with ``seed``."""
    import numpy
    import torch

    generator = torch.Generator().manual_seed(seed)
    return {
        "python": random.Random(seed).random(),
        "numpy": float(numpy.random.RandomState(seed).rand()),
        "torch": float(torch.rand(1, generator=generator).item()),
    }


def assert_rank_matches(report: dict[str, Any], world: int, mp: int) -> None:
    rank = report["rank"]
    want = expected_layout(rank, world, mp)
    where = f"rank {rank} of {world}, mp {mp}"
    assert report["world_size"] == report["args_world_size"] == world, where
    assert report["args_rank"] == rank, where
    assert (report["local_rank"], report["device"]) == (rank, "cpu"), where  # one node, CPU
    for part in ("mp", "dp", "cp"):
        assert report[part] == want[part], f"{where}: {part} {report[part]} != {want[part]}"
    assert report["seed"] == want["seed"], where
    assert report["sums"] == want["sums"], where
    assert report["draws"] == expected_draws(want["seed"]), where
