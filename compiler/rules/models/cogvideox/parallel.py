"""Model parallel: heads and hidden size split across ranks, groups within nodes, training."""

from __future__ import annotations

from .context import Model
from .profiles import NETWORK


def m18_heads_divisible_by_mp(model: Model) -> None:
    """M18: SAT splits attention heads and the hidden size across model-parallel ranks
    (sat/mpu/utils.py `divide`: "is not divisible by"); CogVideoX-2B has 30 heads."""
    mp = model.work.args.get("model_parallel_size", 1)
    if not isinstance(mp, int) or mp <= 1:
        return
    for name in ("num_attention_heads", "hidden_size"):
        value = model.int_at((*NETWORK, name))
        if value is not None and value % mp:
            options = [d for d in range(1, 9) if value % d == 0]
            model.error(
                ("args", "model_parallel_size"),
                "M18",
                f"{value} {name.replace('num_', '').replace('_', ' ')} do not split {mp} ways "
                f"(model.network_config.params.{name})",
                f"use a model_parallel_size that divides {value}: {', '.join(map(str, options))}",
            )
            return


def m19_mp_within_node(model: Model) -> None:
    """M19: model-parallel groups are consecutive ranks (R11); a group larger than a node,
    or not aligned with nodes, sends every layer's all-reduce across the network."""
    topology = model.work.topology
    mp = topology.get("model_parallel_size", 1)
    per_node = topology.get("gpus_per_node", 1)
    if mp > 1 and topology.get("nodes", 1) > 1 and (mp > per_node or per_node % mp):
        # It replaces the generic topology warning on the same key (R11 warns for any model).
        model.work.warnings[:] = [
            w
            for w in model.work.warnings
            if not (w.key == "args.model_parallel_size" and "span nodes" in w.message)
        ]
        model.warn(
            ("args", "model_parallel_size"),
            "M19",
            f"model-parallel groups of {mp} span nodes of {per_node} GPUs",
            f"use a model_parallel_size that divides launch.gpus_per_node ({per_node})",
        )


def m20_no_mp_training(model: Model) -> None:
    """M20: CogVideoX does not support model parallel > 1 for training: the adaLN
    parameters are shared, not split, between model-parallel ranks and drift apart
    (maintainers, CogVideo #154)."""
    mp = model.work.args.get("model_parallel_size", 1)
    if model.work.training and isinstance(mp, int) and mp > 1:
        model.error(
            ("args", "model_parallel_size"),
            "M20",
            f"model parallel {mp} is unsupported for CogVideoX training (adaLN parameters are not split)",
            "use model_parallel_size: 1 and scale with data parallel / ZeRO",
        )
