"""Group setup at scale: satc.runtime's members-only groups vs SAT's mpu, side by side.

    python benchmarks/bench_groups.py                 # 2, 4, 8, 16 CPU ranks + dry run 8..4096
    python benchmarks/bench_groups.py --ranks 2 4 --dry-max 512   # a quicker run
    python benchmarks/bench_groups.py --json out.json

1. Real ranks (gloo on CPU, one process each).  Every rank joins one process group
   whose store counts every operation, then runs, between barriers, (a) satc's group
   step (runtime.groups.create: what init() runs) and (b) SAT's own
   mpu.initialize_model_parallel.  For each it reports new_group calls and store
   operations per rank and the wall time of the phase (slowest rank).
2. The dry run (runtime.dryrun on torch's fake process group): new_group calls per rank
   from 8 to 4,096 ranks for satc and for SAT's mpu plus CogVideoX's context-parallel
   loop, with the fitted exponent b of calls = a * world^b.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

TIMEOUT = timedelta(seconds=120)


def _counting_store(inner: Any) -> Any:
    import torch.distributed as dist

    class CountingStore(dist.Store):  # type: ignore[misc]
        """Every store operation gloo and torch.distributed make, counted."""

        def __init__(self) -> None:
            super().__init__()
            self.ops: Counter[str] = Counter()

        def set(self, key: str, value: Any) -> None:
            self.ops["set"] += 1
            inner.set(key, value)

        def get(self, key: str) -> Any:
            self.ops["get"] += 1
            return inner.get(key)

        def add(self, key: str, amount: int) -> int:
            self.ops["add"] += 1
            return int(inner.add(key, amount))

        def compare_set(self, key: str, expected: Any, desired: Any) -> Any:
            self.ops["compare_set"] += 1
            return inner.compare_set(key, expected, desired)

        def wait(self, keys: list[str], timeout: timedelta | None = None) -> None:
            self.ops["wait"] += 1
            inner.wait(keys) if timeout is None else inner.wait(keys, timeout)

        def check(self, keys: list[str]) -> bool:
            self.ops["check"] += 1
            return bool(inner.check(keys))

        def delete_key(self, key: str) -> bool:
            self.ops["delete_key"] += 1
            return bool(inner.delete_key(key))

        def num_keys(self) -> int:
            return int(inner.num_keys())

        def set_timeout(self, timeout: timedelta) -> None:
            inner.set_timeout(timeout)

    return CountingStore()


def worker(rank: int, world: int, mp: int, port: int, out: Path) -> None:
    """One rank: both group phases, each between barriers, counted."""
    import torch.distributed as dist
    from sat.mpu import initialize as mpu
    from satc.runtime import groups

    local_world = min(world, 8)
    os.environ["LOCAL_WORLD_SIZE"] = str(local_world)  # SAT's node groups
    tcp = dist.TCPStore("127.0.0.1", port, world, rank == 0, timeout=TIMEOUT)
    store = _counting_store(tcp)
    dist.init_process_group(
        "gloo", store=dist.PrefixStore("default_pg", store), rank=rank, world_size=world, timeout=TIMEOUT
    )
    calls = [0]
    real_new_group = dist.new_group

    def counting_new_group(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real_new_group(*args, **kwargs)

    def phase(run: Any) -> dict[str, Any]:
        dist.barrier()
        calls[0] = 0
        store.ops.clear()
        dist.new_group = counting_new_group
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
        dist.new_group = real_new_group
        ops = sum(store.ops.values())
        dist.barrier()
        return {"new_group": calls[0], "store_ops": ops, "seconds": seconds}

    plan = groups.layout(rank, world, mp, local_world)
    result = {
        "rank": rank,
        "satc": phase(lambda: groups.create(plan, TIMEOUT)),
        "sat": phase(lambda: mpu.initialize_model_parallel(mp)),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def real_ranks(world: int, mp: int, init_barrier: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        # torch >= 2.1 skips the store barrier after new_group unless this is 1; with it,
        # a plain new_group waits for the whole world (what PyTorch PR #99931 measured).
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TORCH_DIST_INIT_BARRIER": "1" if init_barrier else "0"}
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker", str(rank), str(world), str(mp), str(port), tmp],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for rank in range(world)
        ]
        errors = [proc.communicate(timeout=600)[1] for proc in procs]
        if any(proc.returncode for proc in procs):
            raise SystemExit(f"world {world}: a rank failed:\n" + "\n".join(e[-2000:] for e in errors))
        ranks = [json.loads(path.read_text()) for path in sorted(Path(tmp).glob("rank*.json"))]
    summary: dict[str, Any] = {"world": world, "mp": mp, "init_barrier": init_barrier}
    for side in ("satc", "sat"):
        summary[side] = {
            "new_group": sorted({r[side]["new_group"] for r in ranks}),
            "store_ops_max": max(r[side]["store_ops"] for r in ranks),
            "store_ops_mean": sum(r[side]["store_ops"] for r in ranks) / len(ranks),
            "seconds": max(r[side]["seconds"] for r in ranks),
        }
    return summary


def _reference_build(mp: int, local_world: int) -> Any:
    """SAT's mpu, then CogVideoX's VAE setup (arguments.py) with its sgm.util loop, as
    CogVideoX writes it (reimplemented here only when CogVideoX is not at hand)."""
    from sat.mpu import initialize as mpu

    sgm_util = _sgm_util()

    def build(rank: int) -> dict[str, Any]:
        mpu.destroy_model_parallel()
        sgm_util._CONTEXT_PARALLEL_GROUP = None
        mpu.initialize_model_parallel(mp)
        if mp <= 2:
            sgm_util.set_context_parallel_group(mp, mpu.get_model_parallel_group())
        else:
            sgm_util.initialize_context_parallel(2)
        return {"model_parallel": mpu.get_model_parallel_group()}

    os.environ["LOCAL_WORLD_SIZE"] = str(local_world)
    return build


def _sgm_util() -> Any:
    """CogVideoX's sgm/util.py from $SATC_COGVIDEO_SAT (its package __init__ pulls the VAE)."""
    import importlib.util

    root = os.environ.get("SATC_COGVIDEO_SAT")
    if not root:
        raise SystemExit("set SATC_COGVIDEO_SAT to CogVideoX's sat/ folder (or pass --no-reference)")
    spec = importlib.util.spec_from_file_location("cogvideox_sgm_util", Path(root) / "sgm" / "util.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dry_counts(worlds: list[int], mp: int, reference: bool) -> list[dict[str, Any]]:
    """new_group calls of the first and last rank (every rank's count lies between)."""
    from satc.runtime import dryrun

    dryrun.simulate(2, dryrun.satc_build(2, 1, 2, TIMEOUT))  # warm up: first-call imports
    rows = []
    for world in worlds:
        local_world = min(world, 8)
        sample = sorted({0, world - 1})
        started = time.perf_counter()
        full = dryrun.check(dryrun.simulate(world, dryrun.satc_build(world, mp, local_world, TIMEOUT)))
        row: dict[str, Any] = {
            "world": world,
            "satc": max(len(run.calls) for run in full.runs),
            "satc_ok": full.ok,
            "satc_all_ranks_seconds": time.perf_counter() - started,
        }
        if reference:
            ref = dryrun.simulate(world, _reference_build(mp, local_world), ranks=sample)
            row["reference"] = [len(run.calls) for run in ref.runs]
        rows.append(row)
    return rows


def exponent(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y over log x."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--mp", type=int, default=1, help="model-parallel size (CogVideoX's default: 1)")
    parser.add_argument("--dry-max", type=int, default=4096)
    parser.add_argument("--no-reference", action="store_true", help="dry run without CogVideoX's code")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    if options.worker:
        rank, world, mp, port, out = options.worker
        worker(int(rank), int(world), int(mp), int(port), Path(out))
        return 0

    if not options.no_reference and not os.environ.get("SATC_COGVIDEO_SAT"):
        parser.error("set SATC_COGVIDEO_SAT to CogVideoX's sat/ folder, or pass --no-reference")
    print(f"real CPU ranks (gloo), model-parallel {options.mp}; per rank, slowest rank's wall time")
    print(
        f"{'ranks':>5} {'TORCH_DIST_INIT_BARRIER':>23}  {'new_group satc':>14} {'SAT':>5}"
        f"  {'store ops satc':>14} {'SAT':>6}  {'wall satc':>9} {'SAT':>8}"
    )
    real = []
    for world in options.ranks:
        for init_barrier in (False, True):
            row = real_ranks(world, min(options.mp, world), init_barrier)
            real.append(row)
            ours, sat = row["satc"], row["sat"]
            print(
                f"{world:>5} {int(init_barrier):>23}"
                f"  {'/'.join(map(str, ours['new_group'])):>14} {'/'.join(map(str, sat['new_group'])):>5}"
                f"  {ours['store_ops_max']:>14} {sat['store_ops_max']:>6}"
                f"  {ours['seconds'] * 1000:>7.1f}ms {sat['seconds'] * 1000:>6.1f}ms",
                flush=True,
            )

    worlds = [w for w in (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096) if w <= options.dry_max]
    mp = options.mp
    reference = not options.no_reference
    print(f"\ndry run (torch fake process group), model-parallel {mp}: new_group calls per rank")
    header = f"{'ranks':>5}  {'satc':>4}  {'all ranks simulated':>19}"
    print(header + ("  SAT + CogVideoX CP (rank 0 / last)" if reference else ""))
    dry = dry_counts(worlds, mp, reference)
    for row in dry:
        line = f"{row['world']:>5}  {row['satc']:>4}  {row['satc_all_ranks_seconds']:>18.2f}s"
        if reference:
            line += "  " + " / ".join(map(str, row["reference"]))
        print(line + ("" if row["satc_ok"] else "  HANG"), flush=True)
    fits = {"satc": exponent([r["world"] for r in dry], [r["satc"] for r in dry])}
    if reference:
        fits["reference"] = exponent([r["world"] for r in dry], [max(r["reference"]) for r in dry])
    print("fitted exponent b of calls = a * ranks^b: " + ", ".join(f"{k} {v:.2f}" for k, v in fits.items()))
    if options.json:
        options.json.write_text(json.dumps({"real": real, "dry": dry, "exponents": fits}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
