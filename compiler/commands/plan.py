"""satc plan: per-GPU memory by component, a verdict against the GPU, the batch, and
the changes that would make a plan fit, each with its own estimate."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..memory import sizes
from ..memory.components import GIB
from ..memory.estimate import Estimate, Setup, estimate, with_changes
from ..memory.gpus import SAFE_FRACTION
from ..memory.inputs import setup
from ..plan import Plan
from ..rules.models.cogvideox.context import PIXEL_DATASETS


@dataclass(frozen=True)
class Suggestion:
    change: str
    overrides: tuple[str, ...]
    estimate: Estimate

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "set": list(self.overrides),
            "per_gpu_gib": round(self.estimate.per_gpu_gib, 2),
            "fits": self.estimate.fits,
        }


@dataclass(frozen=True)
class Report:
    plan: Plan
    estimate: Estimate
    suggestions: tuple[Suggestion, ...]

    @property
    def batch(self) -> dict[str, int]:
        s = self.estimate.setup
        return {
            "global": s.micro * s.grad_accum * s.data_parallel,
            "micro": s.micro,
            "grad_accum": s.grad_accum,
            "data_parallel": s.data_parallel,
        }


def _candidates(
    s: Setup, pinned: bool, legacy_offload: bool, pixel_data: bool = False
) -> list[tuple[str, tuple[str, ...], Setup]]:
    """Changes that lower a rank's memory, cheapest in throughput first; each `--set` is
    one that compiles (a dataset that yields frames cannot feed latents, M21; one node
    grows by its GPUs first, since more nodes need a rendezvous host)."""
    out: list[tuple[str, tuple[str, ...], Setup]] = []
    if s.training and not s.checkpointed:
        out.append(
            (
                "turn on activation checkpointing",
                ("args.checkpoint_activations=true",),
                with_changes(s, checkpointed=True),
            )
        )
    if s.training and s.micro > 1:
        micro = s.micro // 2
        gas = s.grad_accum * s.micro // micro
        keeps = micro * gas == s.micro * s.grad_accum
        out.append(
            (
                f"micro-batch {micro} with {gas} accumulation steps"
                + (" (same global batch)" if keeps else ""),
                (f"deepspeed.train_micro_batch_size_per_gpu={micro}",)
                if pinned  # launch.global_batch_size derives the accumulation
                else (
                    f"deepspeed.train_micro_batch_size_per_gpu={micro}",
                    f"deepspeed.gradient_accumulation_steps={gas}",
                ),
                with_changes(s, micro=micro, grad_accum=gas),
            )
        )
    if s.training and s.stage < 3:
        stage = max(2, s.stage + 1) if s.stage < 2 else 3
        out.append(
            (
                f"ZeRO stage {stage}",
                (f"deepspeed.zero_optimization.stage={stage}",),
                with_changes(s, stage=stage),
            )
        )
    if s.training and not s.offload_optimizer:
        stage = max(s.stage, 2)
        out.append(
            (
                f"offload the optimizer to CPU (ZeRO stage {stage})",
                (
                    f"deepspeed.zero_optimization.stage={stage}",
                    # satc refuses offload_optimizer beside the deprecated cpu_offload
                    "deepspeed.zero_optimization.cpu_offload=true"
                    if legacy_offload
                    else "deepspeed.zero_optimization.offload_optimizer.device=cpu",
                ),
                with_changes(s, stage=stage, offload_optimizer=True),
            )
        )
    if s.training and s.stage >= 1 and not s.offload_optimizer:
        nodes = max(1, s.world // s.gpus_per_node) * 2
        one_node = nodes == 2 and s.gpus_per_node < 8
        shape = f"1 node x {s.gpus_per_node * 2}" if one_node else f"{nodes} nodes x {s.gpus_per_node}"
        out.append(
            (
                f"twice the GPUs ({shape}; ZeRO partitions over dp {s.data_parallel * 2})",
                (f"launch.gpus_per_node={s.gpus_per_node * 2}",) if one_node else (f"launch.nodes={nodes}",),
                with_changes(s, data_parallel=s.data_parallel * 2, world=s.world * 2),
            )
        )
    if s.training and s.vae_encodes and not pixel_data:
        out.append(
            (
                "encode the videos ahead of time (the data loader then yields latents)",
                ("model.latent_input=true",),
                with_changes(s, vae_encodes=False),
            )
        )
    if len(out) > 1:
        # Every change at once; the highest ZeRO stage any of them asks for.
        fields = {
            f: getattr(changed, f)
            for _, _, changed in out
            for f in _FIELDS
            if getattr(changed, f) != getattr(s, f)
        }
        fields["stage"] = max(changed.stage for _, _, changed in out)
        keyed: dict[str, str] = {}
        for _, group, _ in out:
            keyed.update(item.partition("=")[::2] for item in group)
        if "deepspeed.zero_optimization.stage" in keyed:
            keyed["deepspeed.zero_optimization.stage"] = str(fields["stage"])
        out.append(
            ("all of the above", tuple(f"{k}={v}" for k, v in keyed.items()), with_changes(s, **fields))
        )
    return out


_FIELDS = (
    "checkpointed",
    "micro",
    "grad_accum",
    "stage",
    "offload_optimizer",
    "data_parallel",
    "world",
    "vae_encodes",
)


def _has_cpu_offload(plan: Plan) -> bool:
    ds = plan.deepspeed_config if isinstance(plan.deepspeed_config, dict) else {}
    zero = ds.get("zero_optimization")
    return isinstance(zero, dict) and "cpu_offload" in zero


def missing_model(plan: Plan) -> str | None:
    """Why this plan has no model to estimate (None when it has one)."""
    model = plan.model_config if isinstance(plan.model_config, dict) else {}
    network = model.get("network_config")
    params = network.get("params") if isinstance(network, dict) else None
    if isinstance(params, dict) and isinstance(params.get("hidden_size"), int):
        return None
    return "no model.network_config.params.hidden_size: the memory model reads the DiT's shapes from it"


def report(plan: Plan) -> Report:
    base = setup(plan)
    model = sizes.read(plan.model_config, plan.data_config)
    current = estimate(base, model)
    suggestions: list[Suggestion] = []
    if current.fits is False:
        data = plan.data_config if isinstance(plan.data_config, dict) else {}
        for change, overrides, changed in _candidates(
            base,
            plan.launch.get("global_batch_size") is not None,
            _has_cpu_offload(plan),
            data.get("target") in PIXEL_DATASETS,
        ):
            option = estimate(changed, model)
            if option.total < current.total:
                suggestions.append(Suggestion(change, overrides, option))
    return Report(plan, current, tuple(suggestions))


def _gib(value: float) -> float:
    return round(value / GIB, 2)


def document(result: Report) -> dict[str, Any]:
    e = result.estimate
    z = e.sizes
    return {
        "memory": {
            "per_gpu_gib": round(e.per_gpu_gib, 2),
            "components": {name: _gib(value) for name, value in e.components.items()},
            "formulas": dict(e.formulas),
            "gpu": e.setup.gpu,
            "gpu_gib": e.setup.gpu_gib,
            "fits": e.fits,
            "safe_fraction": SAFE_FRACTION,
            "verdict": e.verdict,
            "assumptions": list(e.assumptions),
            "suggestions": [s.as_dict() for s in result.suggestions],
        },
        "model": {
            "dit_params": z.dit_params,
            "lora_params": z.lora_params,
            "trainable_params": z.trainable_params if e.setup.training else 0,
            "text_encoder_params": z.text_encoder_params,
            "vae_params": z.vae_params,
            "tokens": z.tokens,
        },
        "batch": result.batch,
    }


def render_json(result: Report) -> str:
    return json.dumps(document(result), indent=2, sort_keys=True) + "\n"


def _millions(count: int) -> str:
    return f"{count / 1e9:.2f} B" if count >= 1e9 else f"{count / 1e6:.1f} M"


def render_text(result: Report) -> str:
    e = result.estimate
    z, s = e.sizes, e.setup
    trainable = z.trainable_params if s.training else 0
    lines = [
        f"model: DiT {_millions(z.dit_params)} parameters ({_millions(trainable)} trainable), "
        f"T5 {_millions(z.text_encoder_params)}, VAE {_millions(z.vae_params)}; {z.tokens:,} tokens a sample",
        f"per-GPU memory (each of {s.world} rank(s)), {s.precision}, ZeRO stage {s.stage}:",
    ]
    width = max(len(name) for name in e.components)
    for name, value in e.components.items():
        lines.append(f"  {name:<{width}}  {value / GIB:7.2f} GiB  {e.formulas[name]}")
    lines.append(f"  {'total':<{width}}  {e.per_gpu_gib:7.2f} GiB")
    gpu = f" on {s.gpu}" if s.gpu else ""
    lines.append(f"verdict{gpu}: {e.verdict}")
    for item in result.suggestions:
        verdict = "fits" if item.estimate.fits else "still too much"
        lines.append(
            f"  option: {item.change}: {item.estimate.per_gpu_gib:.1f} GiB ({verdict})\n      "
            + " ".join(f"--set {o}" for o in item.overrides)
        )
    b = result.batch
    lines.append(
        f"batch: global {b['global']} = micro {b['micro']} x grad_accum {b['grad_accum']} x dp {b['data_parallel']}"
    )
    lines.append("assumptions:")
    lines += [f"  - {item}" for item in e.assumptions]
    return "\n".join(lines) + "\n"


def summary_line(plan: Plan) -> str:
    """One line for compile's output: the estimate and the verdict."""
    if missing_model(plan):
        return "  memory: not estimated (no model.network_config to read the model from)"
    e = report(plan).estimate
    return f"  memory ~{e.per_gpu_gib:.1f} GiB per GPU (satc plan for the breakdown); {e.verdict}"
