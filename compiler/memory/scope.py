"""Whether satc's memory model applies to a plan, and compile's one memory line.

Kept apart from the model itself (sizes, components, estimate) so that a compile whose
plan is not estimated (sampling, a network other than CogVideoX's) does not import it.
"""

from __future__ import annotations

from ..plan import Plan


def missing_model(plan: Plan) -> str | None:
    """Why this plan has no model to estimate (None when it has one)."""
    model = plan.model_config if isinstance(plan.model_config, dict) else {}
    network = model.get("network_config")
    params = network.get("params") if isinstance(network, dict) else None
    if isinstance(params, dict) and isinstance(params.get("hidden_size"), int):
        return None
    return "no model.network_config.params.hidden_size: the memory model reads the DiT's shapes from it"


# The network whose parameters memory/sizes.py counts, mixin by mixin (CogVideoX's sat/,
# and forks that keep its class and modules, as Tora does), and the modules it counts.
ESTIMATED_NETWORK = "dit_video_concat.DiffusionTransformer"
COUNTED_MODULES = frozenset(
    {"pos_embed_config", "patch_embed_config", "adaln_layer_config", "final_layer_config", "lora_config"}
)


def not_estimated(plan: Plan) -> str | None:
    """Why satc's memory model cannot estimate this plan (None when it can). A model of
    another class (a fork's own network, CogView3's image DiT or UNet) would get numbers
    for CogVideoX's DiT, T5 and 3D video VAE: no number beats a wrong one."""
    model = plan.model_config if isinstance(plan.model_config, dict) else {}
    network = model.get("network_config")
    target = network.get("target") if isinstance(network, dict) else None
    if isinstance(target, str) and target != ESTIMATED_NETWORK:
        return (
            f"model.network_config.target is {target}, not CogVideoX's {ESTIMATED_NETWORK}: "
            "satc's memory model counts CogVideoX's DiT, T5 and 3D VAE only"
        )
    reason = missing_model(plan)
    if reason:
        return reason
    if not plan.training:
        return (
            "args.mode is inference: satc's memory model is a training run's (optimizer, activations, "
            "the VAE encode of training videos); sampling's peak (the VAE decode at "
            "sampling_image_size, tiled or not) is not modelled"
        )
    params = network.get("params") if isinstance(network, dict) else None
    modules = params.get("modules") if isinstance(params, dict) else None
    extra = sorted(set(modules) - COUNTED_MODULES) if isinstance(modules, dict) else []
    if extra:
        return (
            f"model.network_config.params.modules has {', '.join(extra)}, which satc's memory model "
            f"does not count (it counts {', '.join(sorted(COUNTED_MODULES))})"
        )
    return None


def summary_line(plan: Plan) -> str:
    """One line for compile's output: the estimate and the verdict."""
    reason = not_estimated(plan)
    if reason:
        return f"  memory: not estimated ({reason})"
    from ..commands.plan import report

    e = report(plan).estimate
    return f"  memory ~{e.per_gpu_gib:.1f} GiB per GPU (satc plan for the breakdown); {e.verdict}"
