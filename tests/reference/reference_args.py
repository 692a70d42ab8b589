"""Print the namespace CogVideoX's get_args computes for YAML configs, as JSON.

Run as a subprocess: ``python reference_args.py CONFIG... [-- CONFIG...]...``; one
JSON line per group of configs (SAT is imported once for all of them).  The port's per-process
half is neutralised the way one GPU rank 0 would see it — one CUDA device, no
process group (rank 0 has data-parallel rank 0) — so training configs pass the
reference's ``device == local_rank`` check on a CPU machine.  Everything a config
decides runs through the unmodified port.
"""

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cogvideox_get_args as reference  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402


def main() -> None:
    torch.cuda.device_count = lambda: 1  # one GPU: device = LOCAL_RANK = 0
    reference.initialize_distributed = lambda args: True
    reference.set_random_seed = lambda seed: None
    reference.mpu.get_data_parallel_rank = lambda: 0
    groups: list[list[str]] = [[]]
    for item in sys.argv[1:]:
        if item == "--":
            groups.append([])
        else:
            groups[-1].append(item)
    for configs in groups:
        args = reference.get_args(["--base", *configs])
        values = {}
        for key, value in vars(args).items():
            if OmegaConf.is_config(value):
                value = OmegaConf.to_container(value, resolve=True)
            values[key] = value
        print("REFERENCE " + json.dumps(values, sort_keys=True, default=repr), flush=True)


if __name__ == "__main__":
    main()
