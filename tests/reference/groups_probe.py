"""One rank of the group-equivalence test: satc's groups and the reference's, side by side.

    torchrun --nproc-per-node W groups_probe.py OUT_DIR BUNDLES_JSON INIT_MP

BUNDLES_JSON maps each model-parallel size to a bundle compiled for this world.  The
rank runs satc.runtime.init() on the INIT_MP bundle (recording its new_group calls),
then satc's group step (runtime.groups.initialize, what init() calls) for every other
size, then for every size SAT's own mpu.initialize_model_parallel plus CogVideoX's
context-parallel setup (arguments.py with the tree's own sgm/util.py, from
$SATC_COGVIDEO_SAT: project_get_args.sgm_util_only), and writes
what each gives.  CogVideoX's initialize_context_parallel leaves its loop after its
own group, so at mp > 2 real groups would hang: there its loop runs against a
new_group that returns the members instead, which is exactly the membership it
assigns.
"""

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import project_get_args  # beside this file

# CogVideoX's own sgm/util.py, read in place: satc.runtime.init() publishes to it too.
project_get_args.sgm_util_only(Path(os.environ["SATC_COGVIDEO_SAT"]).resolve())


def snapshot(dist, mpu, cp, cp_ranks, seed, collectives):
    """Every value SAT's and sgm.util's getters give, plus group members."""
    import torch

    node = mpu.get_node_group()
    taken = {
        "mp": {
            "ranks": dist.get_process_group_ranks(mpu.get_model_parallel_group()),
            "rank": mpu.get_model_parallel_rank(),
            "world": mpu.get_model_parallel_world_size(),
            "src": mpu.get_model_parallel_src_rank(),
        },
        "dp": {
            "ranks": dist.get_process_group_ranks(mpu.get_data_parallel_group()),
            "rank": mpu.get_data_parallel_rank(),
            "world": mpu.get_data_parallel_world_size(),
        },
        "node": {
            "ranks": dist.get_process_group_ranks(node),
            "rank": mpu.get_node_rank(),
            "world": mpu.get_node_world_size(),
            "src": mpu.get_node_src_rank(),
        },
        "cp": {
            "ranks": cp_ranks,
            "size": cp.get_context_parallel_world_size(),
            "rank": cp.get_context_parallel_rank(),
            "group_rank": cp.get_context_parallel_group_rank(),
        },
        "seed": seed,
    }
    if collectives:
        groups = {
            "world": None,
            "mp": mpu.get_model_parallel_group(),
            "dp": mpu.get_data_parallel_group(),
            "node": node,
            "cp": cp.get_context_parallel_group(),
        }
        sums = {}
        for name, group in groups.items():
            value = torch.tensor([float(dist.get_rank() + 1)])
            dist.all_reduce(value, group=group)
            sums[name] = value.item()
        taken["sums"] = sums
    return taken


def reset(mpu, cp_modules):
    mpu.destroy_model_parallel()
    for module in cp_modules:
        module._CONTEXT_PARALLEL_GROUP = None
        module._CONTEXT_PARALLEL_SIZE = None


def reference_context_parallel(dist, sgm_util, mpu, mp):
    """The context-parallel step of initialize_distributed (arguments.py:234-239), called on
    the tree's own sgm.util; returns the members of this rank's group."""
    if mp <= 2:
        sgm_util.set_context_parallel_group(mp, mpu.get_model_parallel_group())
        return dist.get_process_group_ranks(sgm_util.get_context_parallel_group())
    real = dist.new_group
    dist.new_group = lambda ranks, *args, **kwargs: sorted(ranks)
    try:
        sgm_util.initialize_context_parallel(2)
    finally:
        dist.new_group = real
    return sgm_util.get_context_parallel_group()


def main() -> int:
    out_dir, bundles, init_mp = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
    import torch.distributed as dist

    calls = []
    real_new_group = dist.new_group

    def recording_new_group(ranks=None, *args, **kwargs):
        calls.append({"ranks": sorted(ranks), "local": bool(kwargs.get("use_local_synchronization"))})
        return real_new_group(ranks, *args, **kwargs)

    import satc.runtime
    from satc.runtime import context_parallel, groups

    os.environ["SATC_BUNDLE"] = str(Path(bundles[init_mp]) / "args.json")
    dist.new_group = recording_new_group
    args = satc.runtime.init()
    dist.new_group = real_new_group

    import sgm.util
    from sat.mpu import initialize as mpu  # every getter, node ones included

    rank, world = dist.get_rank(), dist.get_world_size()
    local_world = int(os.environ["LOCAL_WORLD_SIZE"])
    cp_modules = (context_parallel, sgm.util)
    report = {
        "rank": rank,
        "world": world,
        "init_mp": int(init_mp),
        "init_calls": calls,
        "satc": {},
        "reference": {},
    }

    def satc_view(seed):
        ranks = dist.get_process_group_ranks(context_parallel.get_context_parallel_group())
        ours = snapshot(dist, mpu, context_parallel, ranks, seed, collectives=True)
        # sgm.util received the same group (what CogVideoX's VAE reads).
        theirs = snapshot(dist, mpu, sgm.util, ranks, seed, collectives=False)
        assert sgm.util.get_context_parallel_group() is context_parallel.get_context_parallel_group()
        assert theirs["cp"] == ours["cp"], (theirs["cp"], ours["cp"])
        return ours

    report["satc"][init_mp] = satc_view(args.seed)
    for mp, bundle in sorted(bundles.items()):
        if mp == init_mp:
            continue
        reset(mpu, cp_modules)
        groups.initialize(rank, world, int(mp), local_world, timedelta(seconds=60))
        report["satc"][mp] = satc_view(satc.runtime.load(bundle).seed)
    for mp, bundle in sorted(bundles.items()):
        reset(mpu, cp_modules)
        mpu.initialize_model_parallel(int(mp))
        cp_ranks = reference_context_parallel(dist, sgm.util, mpu, int(mp))
        frozen = json.loads((Path(bundle) / "args.json").read_text())["args"]["seed"]
        seed = frozen + mpu.get_data_parallel_rank()  # arguments.py: seed + dp rank
        report["reference"][mp] = snapshot(dist, mpu, sgm.util, cp_ranks, seed, collectives=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"rank{rank}.json").write_text(json.dumps(report, sort_keys=True))
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
