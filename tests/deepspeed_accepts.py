"""Load ds_config.json files with the real DeepSpeedConfig (run as a subprocess).

argv: pairs of (ds_config.json, data_parallel_size).  A gloo world of one process is
initialised so DeepSpeed asks the mpu for the data-parallel size, and then checks
train_batch_size == micro x grad_accum x dp itself.  Prints one JSON line per file.
"""

import json
import socket
import sys

import deepspeed
import torch.distributed as dist
from deepspeed.runtime.config import DeepSpeedConfig


class DataParallelOnly:
    def __init__(self, size: int) -> None:
        self.size = size

    def get_data_parallel_world_size(self) -> int:
        return self.size


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    # DeepSpeedConfig asks deepspeed.comm (not torch.distributed) whether a world exists;
    # without this it silently assumes world size 1 and ignores the mpu.
    deepspeed.init_distributed(dist_backend="gloo")
    pairs = sys.argv[1:]
    for path, dp in zip(pairs[::2], pairs[1::2], strict=True):
        config = DeepSpeedConfig(json.load(open(path)), mpu=DataParallelOnly(int(dp)))
        print(
            json.dumps(
                {
                    "path": path,
                    "world_size": config.world_size,
                    "train_batch_size": config.train_batch_size,
                    "micro": config.train_micro_batch_size_per_gpu,
                    "gas": config.gradient_accumulation_steps,
                    "zero_stage": config.zero_optimization_stage,
                    "fp16": config.float16_config.enabled,
                    "bf16": config.bfloat16_config.enabled,
                }
            )
        )
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
