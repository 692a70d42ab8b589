"""One rank's report: run satc.runtime.init() or the reference get_args, then write what
this rank sees (groups, context parallel, seed, group sums) as JSON.

    torchrun ... probe.py satc OUT_DIR                 # bundle from $SATC_BUNDLE
    torchrun ... probe.py reference OUT_DIR CONFIG...  # CogVideoX's get_args(--base ...)

Test instrumentation only: it records every torch.distributed.new_group call this
rank makes (members, and whether only members enter it), so tests can compare the
sequences across ranks (D7).

``reference`` runs CogVideoX's own ``arguments.py`` from ``$SATC_COGVIDEO_SAT``, in
place, as its README launches it (cwd and ``sys.path`` = the tree, see
project_get_args.enter): get_args, initialize_distributed (a real gloo process group,
SAT's mpu, the tree's ``sgm.util`` context parallel) and the seed, unmodified.  No
function of the project is replaced: on a machine without CUDA its own code already
takes ``device = 'cpu'`` and skips ``torch.cuda.set_device``; the configs are inference
ones because the same code refuses training when ``device`` ('cpu') differs from
LOCAL_RANK, and the test's layer sets ``distributed_backend: gloo``.  One arrangement:
``sgm`` is the tree's package without its ``__init__`` (project_get_args.sgm_util_only:
that only imports the VAE, 10-20 s per rank here, which get_args never uses).
"""

import json
import os
import random
import sys
import time
from pathlib import Path


def _process_start() -> float:
    """Wall-clock time this process was created (Linux /proc), for time-to-init."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    started_after_boot = int(fields[19]) / ticks
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.time() - uptime + started_after_boot


START = _process_start()


def _maybe_die_in_init() -> None:
    """PROBE_KILL_AT=RANK: that rank SIGKILLs itself once its process group is up, when
    init() starts creating groups (a rank dying mid-init, for the failure tests)."""
    victim = os.environ.get("PROBE_KILL_AT")
    if victim is None or victim != os.environ.get("RANK"):
        return
    import signal

    from satc.runtime import groups

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    groups.initialize = die


def main() -> int:
    mode, out_dir, configs = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    import numpy
    import torch
    import torch.distributed as dist

    calls = []
    original_new_group = dist.new_group

    def recording_new_group(ranks=None, *args, **kwargs):
        members = sorted(ranks) if ranks is not None else None
        calls.append({"ranks": members, "local": bool(kwargs.get("use_local_synchronization"))})
        return original_new_group(ranks, *args, **kwargs)

    dist.new_group = recording_new_group

    _maybe_die_in_init()
    if mode == "satc":
        import satc.runtime
        from satc.runtime import context_parallel as cp

        try:
            args = satc.runtime.init()
        except satc.runtime.RuntimeConfigError as exc:
            print(f"satc.runtime: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            return 3
    else:
        import importlib

        import project_get_args  # beside this file

        tree = Path(os.environ["SATC_COGVIDEO_SAT"]).resolve()
        project_get_args.enter(tree)
        project_get_args.sgm_util_only(tree)
        project = importlib.import_module("arguments")
        assert Path(project.__file__).resolve() == tree / "arguments.py", project.__file__
        from sgm import util as cp

        args = project.get_args(["--base", *configs])
    init_seconds = time.time() - START

    from sat import mpu

    rank = dist.get_rank()
    report = {
        "mode": mode,
        "init_seconds": init_seconds,
        "rank": rank,
        "world_size": dist.get_world_size(),
        "args_rank": args.rank,
        "args_world_size": args.world_size,
        "local_rank": args.local_rank,
        "device": args.device,
        "seed": args.seed,
        "draws": {
            "python": random.random(),
            "numpy": float(numpy.random.rand()),
            "torch": float(torch.rand(1).item()),
        },
        "mp": {
            "rank": mpu.get_model_parallel_rank(),
            "world": mpu.get_model_parallel_world_size(),
            "ranks": dist.get_process_group_ranks(mpu.get_model_parallel_group()),
        },
        "dp": {
            "rank": mpu.get_data_parallel_rank(),
            "world": mpu.get_data_parallel_world_size(),
            "ranks": dist.get_process_group_ranks(mpu.get_data_parallel_group()),
        },
        "cp": {
            "size": cp.get_context_parallel_world_size(),
            "rank": cp.get_context_parallel_rank(),
            "group_rank": cp.get_context_parallel_group_rank(),
            "ranks": dist.get_process_group_ranks(cp.get_context_parallel_group()),
        },
        "new_group_calls": calls,
        "namespace_keys": sorted(vars(args)),
        "model_config_type": type(getattr(args, "model_config", None)).__name__,
    }
    # The reference's context-parallel groups are mis-created at mp > 2 (D7): a
    # collective on them can hang, so only satc's are exercised.
    groups = {"world": None, "mp": mpu.get_model_parallel_group(), "dp": mpu.get_data_parallel_group()}
    if mode == "satc":
        groups["cp"] = cp.get_context_parallel_group()
    sums = {}
    for name, group in groups.items():
        value = torch.tensor([float(rank + 1)])
        dist.all_reduce(value, group=group)
        sums[name] = value.item()
    report["sums"] = sums
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{mode}-rank{rank}.json").write_text(json.dumps(report, sort_keys=True))
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
