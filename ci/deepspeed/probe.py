"""Rank probe for launcher tests: prints one JSON line per rank and all-reduces.

Each rank prints exactly one line ``SATC_PROBE {json}`` (a single write, so
lines from different ranks do not interleave) containing the distributed env
vars, argv and cwd, then runs a gloo all_reduce of (rank + 1) via
``init_method="env://"``; ``allreduce`` must equal W*(W+1)/2.
"""

import json
import os
import sys

import torch
import torch.distributed as dist

KEYS = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_SIZE",
    "LOCAL_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "CROSS_RANK",
    "CROSS_SIZE",
    "NODE_RANK",
    "GROUP_RANK",
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "PYTHONPATH",
    "PATH",
    "VIRTUAL_ENV",
    "SLURM_PROCID",
    "SLURM_LOCALID",
    "SLURM_NTASKS",
)


def main() -> None:
    info = {k: os.environ.get(k) for k in KEYS}
    info.update({k: v for k, v in os.environ.items() if k.startswith("SATC_")})
    info["argv"] = sys.argv[1:]
    info["cwd"] = os.getcwd()
    dist.init_process_group("gloo", init_method="env://")
    t = torch.tensor([dist.get_rank() + 1.0])
    dist.all_reduce(t)
    info["allreduce"] = t.item()
    info["dist_rank"] = dist.get_rank()
    info["dist_world_size"] = dist.get_world_size()
    sys.stdout.write("SATC_PROBE " + json.dumps(info, sort_keys=True) + "\n")
    sys.stdout.flush()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
