"""What the memory model reads from a resolved Plan (precision, ZeRO, batch, GPU)."""

from __future__ import annotations

from typing import Any

from ..plan import Plan
from . import components as c
from .estimate import Setup, gpu_gib


def _offloaded(section: Any) -> bool:
    return isinstance(section, dict) and section.get("device") in ("cpu", "nvme")


def _section(tree: dict[str, Any], key: str) -> dict[str, Any]:
    value = tree.get(key)
    return value if isinstance(value, dict) else {}


def optimizer_state_bytes(ds: dict[str, Any]) -> tuple[str, int]:
    optimizer = _section(ds, "optimizer")
    name = str(optimizer.get("type", "Adam"))
    key = name.rsplit(".", 1)[-1].lower()
    if key in c.OPTIMIZER_STATE_BYTES:
        return name, c.OPTIMIZER_STATE_BYTES[key]
    if "sgd" in key:
        return name, c.OPTIMIZER_STATE_BYTES["sgd"]
    return name, c.OPTIMIZER_STATE_BYTES["adam"]  # Adam-like: two moments


def setup(plan: Plan) -> Setup:
    args, topology = plan.args, plan.topology
    ds: dict[str, Any] = plan.deepspeed_config if isinstance(plan.deepspeed_config, dict) else {}
    zero = _section(ds, "zero_optimization")
    stage = zero.get("stage", 0) if isinstance(zero.get("stage", 0), int) else 0
    precision = "bf16" if args.get("bf16") else "fp16" if args.get("fp16") else "fp32"
    name, state_bytes = optimizer_state_bytes(ds)
    bucket = zero.get("reduce_bucket_size", c.DEFAULT_REDUCE_BUCKET)
    gpu, memory = gpu_gib(dict(plan.launch))
    micro: Any = ds.get("train_micro_batch_size_per_gpu") if plan.training else None
    if not isinstance(micro, int):
        micro = args.get("batch_size") if isinstance(args.get("batch_size"), int) else 1
    assert isinstance(micro, int)
    grad_accum = ds.get("gradient_accumulation_steps", 1) if plan.training else 1
    return Setup(
        bytes_per_value=4 if precision == "fp32" else 2,
        precision=precision,
        training=plan.training,
        stage=stage,
        offload_optimizer=_offloaded(zero.get("offload_optimizer")) or zero.get("cpu_offload") is True,
        offload_params=_offloaded(zero.get("offload_param")),
        optimizer=name,
        state_bytes=state_bytes,
        micro=max(1, micro),
        grad_accum=grad_accum if isinstance(grad_accum, int) else 1,
        data_parallel=topology.data_parallel_size,
        world=topology.world_size,
        gpus_per_node=topology.gpus_per_node,
        checkpointed=bool(args.get("checkpoint_activations")),
        reduce_bucket=int(bucket) if isinstance(bucket, (int, float)) else c.DEFAULT_REDUCE_BUCKET,
        gpu=gpu,
        gpu_gib=memory,
        vae_encodes=not (
            isinstance(plan.model_config, dict) and plan.model_config.get("latent_input") is True
        ),
    )
