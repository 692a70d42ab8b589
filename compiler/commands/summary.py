"""A few human lines about a plan: what will run, at which precision, on what topology."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..plan import Plan
from ..rules.models.cogvideox import profile_line


def precision(args: Mapping[str, Any]) -> str:
    if args.get("bf16"):
        return "bf16"
    return "fp16" if args.get("fp16") else "fp32"


def describe(plan: Plan) -> str:
    topology = plan.topology
    lines = [
        f"  mode {plan.args['mode']}, {precision(plan.args)}, "
        + (f"ZeRO stage {plan.args['zero_stage']}" if plan.training else "no DeepSpeed"),
        f"  world {topology.world_size} = {topology.nodes} node(s) x {topology.gpus_per_node} "
        f"({plan.launch['device']}), model-parallel {topology.model_parallel_size}, "
        f"data-parallel {topology.data_parallel_size}, "
        f"context-parallel {topology.context_parallel_size}"
        + (
            ""
            if topology.sequence_parallel_size is None
            else f", sequence-parallel {topology.sequence_parallel_size} (SP1)"
        ),
    ]
    if plan.deepspeed_config is not None:
        ds = plan.deepspeed_config
        lines.append(
            f"  train_batch_size {ds['train_batch_size']} = "
            f"{ds['train_micro_batch_size_per_gpu']} x {ds['gradient_accumulation_steps']} x "
            f"{topology.data_parallel_size} (micro x grad_accum x dp)"
        )
    lines.append(f"  launch: {plan.launch['target']} -> {plan.launch['entrypoint']}")
    model = profile_line(plan.model_config)
    if model:
        lines.append(model)
    return "\n".join(lines)
