"""One rank of the sequence-parallel test: satc's groups and the vendored SAT's own.

    torchrun --nproc-per-node W sequence_probe.py OUT_DIR BUNDLE COMBOS_JSON

PYTHONPATH puts a stand-in for a project's vendored SAT (a sequence-parallel mpu) first.
The rank runs satc.runtime.init(BUNDLE), compiled for the first (mp, sp) of COMBOS_JSON,
then satc's group step (runtime.groups.initialize) for every other combination, and
after each the SAT's own initialize_model_parallel; it writes the members and group
rank every getter gives, and the sum of an all_reduce over each satc group.
"""

import json
import sys
from datetime import timedelta
from pathlib import Path

KINDS = ("data_parallel", "model_parallel", "sequence_parallel", "data_broadcast", "sequence_data_parallel")
GLOBALS = (
    "_MODEL_PARALLEL_GROUP",
    "_DATA_PARALLEL_GROUP",
    "_DATA_BROADCAST_GROUP",
    "_SEQUENCE_PARALLEL_GROUP",
    "_SEQUENCE_DATA_PARALLEL_GROUP",
    "_NODE_GROUP",
)


def snapshot(dist, mpu, sums):
    import torch

    taken = {}
    for kind in KINDS:
        group = getattr(mpu, f"get_{kind}_group")()
        entry = {"ranks": dist.get_process_group_ranks(group), "rank": dist.get_rank(group)}
        if sums:
            value = torch.tensor([float(dist.get_rank() + 1)])
            dist.all_reduce(value, group=group)
            entry["sum"] = value.item()
        taken[kind] = entry
    taken["node"] = dist.get_process_group_ranks(mpu.get_node_group())
    return taken


def reset(initialize):
    for name in GLOBALS:
        setattr(initialize, name, None)


def main() -> None:
    out, bundle, combos = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    import satc.runtime
    import torch.distributed as dist
    from satc.runtime import groups

    # What init() itself creates: each call's members and whether only they enter it.
    original, init_calls = dist.new_group, []

    def recording(ranks=None, *args, **kwargs):
        init_calls.append({"ranks": sorted(ranks), "local": bool(kwargs.get("use_local_synchronization"))})
        return original(ranks, *args, **kwargs)

    dist.new_group = recording
    try:
        namespace = satc.runtime.init(bundle)
    finally:
        dist.new_group = original
    from sat import mpu
    from sat.mpu import initialize

    rank, world = dist.get_rank(), dist.get_world_size()
    report = {
        "rank": rank,
        "seed": namespace.seed,
        "sat": initialize.__file__,
        "init_calls": init_calls,
        "satc": {},
        "vendored": {},
    }
    for index, (mp, sp) in enumerate(combos):
        key = f"{mp}x{sp}"
        if index:
            reset(initialize)
            groups.initialize(rank, world, mp, world, timedelta(seconds=60), sp)
        report["satc"][key] = snapshot(dist, mpu, sums=True)
        reset(initialize)
        initialize.initialize_model_parallel(mp, sp)
        report["vendored"][key] = snapshot(dist, mpu, sums=False)
    dist.barrier()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rank{rank}.json").write_text(json.dumps(report), encoding="utf-8")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
