"""The smallest real SAT/DeepSpeed training entrypoint on a satc bundle.

A CogVideoX entrypoint changes one line, `args = get_args(args_list)` ->
`args = satc.runtime.init()`; this script does the same and then trains a tiny
model for args.train_iters steps through deepspeed.initialize with the bundle's
ds_config.json, so the bundle is proven against the real DeepSpeed engine.

    satc compile examples/tiny_cpu.yaml -o build/tiny && cd examples && ../build/tiny/launch.sh
    python examples/train_tiny.py [BUNDLE_DIR]   # default: $SATC_BUNDLE
"""

from __future__ import annotations

import json
import sys

import satc.runtime


def main(argv: list[str]) -> int:
    try:
        args = satc.runtime.init(argv[0] if argv else None)
    except satc.runtime.RuntimeConfigError as exc:
        print(f"train_tiny: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 2

    import deepspeed
    import torch
    from sat import mpu

    bundle_dir = satc.runtime.bundle_path(argv[0] if argv else None).parent
    ds_config_path = bundle_dir / "ds_config.json"
    ds_config = json.loads(ds_config_path.read_text(encoding="utf-8"))
    if ds_config != args.deepspeed_config:
        print(
            f"train_tiny: {ds_config_path} differs from args.deepspeed_config in "
            f"args.json; recompile the bundle",
            file=sys.stderr,
        )
        return 2

    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    engine, _, _, _ = deepspeed.initialize(
        model=model,
        model_parameters=model.parameters(),
        config=str(ds_config_path),
        mpu=mpu,
        dist_init_required=False,
    )
    dtype = torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else torch.float32
    # Each data-parallel rank draws its own batches: its seed is seed + dp rank (R14).
    generator = torch.Generator().manual_seed(args.seed)
    target = torch.nn.Linear(8, 1)
    torch.nn.init.constant_(target.weight, 0.5)
    for step in range(1, args.train_iters + 1):
        inputs = torch.randn(args.batch_size, 8, generator=generator)
        labels = target(inputs).detach()
        loss = torch.nn.functional.mse_loss(engine(inputs.to(dtype)).float(), labels)
        engine.backward(loss)
        engine.step()
        report = {
            "step": step,
            "rank": args.rank,
            "loss": loss.item(),
            "zero_stage": engine.zero_optimization_stage(),
            "dp_world": mpu.get_data_parallel_world_size(),
        }
        # One write per line: both ranks share the launcher's stdout.
        sys.stdout.write("train_tiny " + json.dumps(report, sort_keys=True) + "\n")
        sys.stdout.flush()
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
