"""satc plan: per-GPU memory by component, a verdict against the GPU, the batch, and
the changes that would make a plan fit, each with its own estimate."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..memory import sizes
from ..memory.components import GIB
from ..memory.estimate import Estimate, Setup, estimate, with_changes
from ..memory.gpus import SAFE_FRACTION
from ..memory.inputs import setup

# Re-exported: satc plan, satc sweep and the tests import them from here.
from ..memory.scope import COUNTED_MODULES as COUNTED_MODULES
from ..memory.scope import ESTIMATED_NETWORK as ESTIMATED_NETWORK
from ..memory.scope import missing_model as missing_model
from ..memory.scope import not_estimated as not_estimated
from ..memory.scope import summary_line as summary_line
from ..plan import Plan
from ..rules.models.cogvideox.context import PIXEL_DATASETS


@dataclass(frozen=True)
class Suggestion:
    change: str
    overrides: tuple[str, ...]
    estimate: Estimate
    note: str = ""  # e.g. that the GPUs at hand would do

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "set": list(self.overrides),
            "per_gpu_gib": round(self.estimate.per_gpu_gib, 2),
            "fits": self.estimate.fits,
            "note": self.note,
        }


@dataclass(frozen=True)
class Report:
    plan: Plan
    estimate: Estimate
    suggestions: tuple[Suggestion, ...]
    advice: tuple[str, ...] = ()  # what no --set can change, said plainly

    @property
    def batch(self) -> dict[str, int]:
        s = self.estimate.setup
        return {
            "global": s.micro * s.grad_accum * s.data_parallel,
            "micro": s.micro,
            "grad_accum": s.grad_accum,
            "data_parallel": s.data_parallel,
        }


# Compiles the plan's own inputs with these extra `--set`s, exactly as `satc compile`
# would: the problems that stop it (empty when it compiles).
Verify = Callable[[tuple[str, ...]], list[str]]


@dataclass(frozen=True)
class _Option:
    change: str
    sets: tuple[tuple[str, str], ...]  # (key, value), in --set order
    setup: Setup
    adds_gpus: bool = False


def _sets(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(pairs)


def _micro_option(s: Setup, pinned: bool) -> _Option:
    micro = s.micro // 2
    gas = s.grad_accum * s.micro // micro
    keeps = micro * gas == s.micro * s.grad_accum
    sets = _sets(("deepspeed.train_micro_batch_size_per_gpu", str(micro)))
    if not pinned:  # launch.global_batch_size derives the accumulation itself
        sets += (("deepspeed.gradient_accumulation_steps", str(gas)),)
    return _Option(
        f"micro-batch {micro} with {gas} accumulation steps" + (" (same global batch)" if keeps else ""),
        sets,
        with_changes(s, micro=micro, grad_accum=gas),
    )


def _offload_option(s: Setup, ds: dict[str, Any]) -> _Option:
    """ZeRO-Offload runs only with a DeepSpeed optimizer (rule Z1): SAT hands its own
    sat.* optimizers to DeepSpeed as client optimizers, which DeepSpeed refuses."""
    stage = max(s.stage, 2)
    given = ds.get("zero_optimization")
    zero: dict[str, Any] = given if isinstance(given, dict) else {}
    sets = _sets(("deepspeed.zero_optimization.stage", str(stage)))
    if "cpu_offload" in zero:  # the deprecated spelling may not stand beside offload_optimizer
        sets += (("deepspeed.zero_optimization.cpu_offload", "null"),)
    sets += (("deepspeed.zero_optimization.offload_optimizer.device", "cpu"),)
    change = f"offload the optimizer to CPU (ZeRO stage {stage})"
    if s.optimizer.startswith("sat."):
        sets += (("deepspeed.optimizer.type", "AdamW"),)
        change += f" with DeepSpeed's AdamW (DeepSpeedCPUAdam; {s.optimizer} cannot run offloaded, Z1)"
    return _Option(change, sets, with_changes(s, stage=stage, offload_optimizer=True))


def _gpus_option(s: Setup, pinned: bool) -> _Option:
    """Twice the GPUs: one node grows by its GPUs first (more nodes need a rendezvous host)."""
    nodes = max(1, s.world // s.gpus_per_node)
    if nodes == 1 and s.gpus_per_node < 8:
        shape, sets = (
            f"1 node x {s.gpus_per_node * 2}",
            _sets(("launch.gpus_per_node", str(s.gpus_per_node * 2))),
        )
    else:
        shape, sets = f"{nodes * 2} nodes x {s.gpus_per_node}", _sets(("launch.nodes", str(nodes * 2)))
    batch = "" if pinned else f"; global batch {s.micro * s.grad_accum * s.data_parallel * 2}"
    return _Option(
        f"twice the GPUs ({shape}; ZeRO partitions over dp {s.data_parallel * 2}{batch})",
        sets,
        with_changes(s, data_parallel=s.data_parallel * 2, world=s.world * 2),
        adds_gpus=True,
    )


def _candidates(s: Setup, pinned: bool, ds: dict[str, Any], pixel_data: bool = False) -> list[_Option]:
    """Changes that lower a rank's memory, cheapest in throughput first (a dataset that
    yields frames cannot feed latents, M21)."""
    out: list[_Option] = []
    if not s.training:
        return out
    if not s.checkpointed:
        out.append(
            _Option(
                "turn on activation checkpointing",
                _sets(("args.checkpoint_activations", "true")),
                with_changes(s, checkpointed=True),
            )
        )
    if s.micro > 1:
        out.append(_micro_option(s, pinned))
    if s.stage < 3:
        stage = max(2, s.stage + 1) if s.stage < 2 else 3
        out.append(
            _Option(
                f"ZeRO stage {stage}",
                _sets(("deepspeed.zero_optimization.stage", str(stage))),
                with_changes(s, stage=stage),
            )
        )
    if not s.offload_optimizer:
        out.append(_offload_option(s, ds))
    if s.stage >= 1 and not s.offload_optimizer:
        out.append(_gpus_option(s, pinned))
    if s.vae_encodes and not pixel_data:
        out.append(
            _Option(
                "encode the videos ahead of time (the data loader then yields latents)",
                _sets(("model.latent_input", "true")),
                with_changes(s, vae_encodes=False),
            )
        )
    return out


def _combined(s: Setup, options: list[_Option], change: str) -> _Option:
    """Every option at once; the highest ZeRO stage any of them asks for."""
    fields = {
        f: getattr(o.setup, f) for o in options for f in _FIELDS if getattr(o.setup, f) != getattr(s, f)
    }
    fields["stage"] = max([s.stage, *(o.setup.stage for o in options)])
    keyed: dict[str, str] = {}
    for option in options:
        keyed.update(option.sets)
    if "deepspeed.zero_optimization.stage" in keyed:
        keyed["deepspeed.zero_optimization.stage"] = str(fields["stage"])
    return _Option(change, tuple(keyed.items()), with_changes(s, **fields), any(o.adds_gpus for o in options))


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


def _variants(option: _Option, s: Setup, pinned: bool) -> list[_Option]:
    """The option, then the same with half the micro-batch: more GPUs at a kept global
    batch (launch.global_batch_size, or a retargeted bundle) may need fewer samples per
    rank to divide evenly."""
    out = [option]
    keys = dict(option.sets)
    if option.adds_gpus and option.setup.micro > 1 and "deepspeed.train_micro_batch_size_per_gpu" not in keys:
        micro = _micro_option(option.setup, pinned)
        out.append(
            _Option(
                f"{option.change}, {micro.change}",
                option.sets + micro.sets,
                micro.setup,
                adds_gpus=True,
            )
        )
    return out


def _as_suggestion(option: _Option, model: Any) -> Suggestion:
    return Suggestion(option.change, tuple(f"{k}={v}" for k, v in option.sets), estimate(option.setup, model))


def render_not_estimated(plan: Plan, reason: str, output_format: str) -> str:
    """`satc plan` for a model satc cannot estimate: the reason and the batch, no number."""
    ds = plan.deepspeed_config if isinstance(plan.deepspeed_config, dict) else None
    batch = None
    if ds is not None:
        micro, gas = ds.get("train_micro_batch_size_per_gpu"), ds.get("gradient_accumulation_steps")
        dp = plan.topology.data_parallel_size
        if isinstance(micro, int) and isinstance(gas, int):
            batch = {"global": micro * gas * dp, "micro": micro, "grad_accum": gas, "data_parallel": dp}
    if output_format == "json":
        doc = {"memory": {"estimated": False, "reason": reason}, "batch": batch}
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"
    lines = [f"memory: not estimated ({reason})"]
    if batch is not None:
        lines.append(
            f"batch: global {batch['global']} = micro {batch['micro']} x grad_accum {batch['grad_accum']} "
            f"x dp {batch['data_parallel']}"
        )
    return "\n".join(lines) + "\n"


def report(plan: Plan, verify: Verify | None = None, keeps_batch: bool = False) -> Report:
    """The estimate and, when it does not fit, the changes that would help.  With
    `verify`, an option is printed only if the compiled result passes every rule the
    launch will meet (satc's, DeepSpeed's and SAT's start-up rules: Z1, B1, M21, ...).
    `keeps_batch`: the global batch is kept across topologies (launch.global_batch_size,
    or a committed bundle that `satc compile BUNDLE --set ...` retargets)."""
    base = setup(plan)
    model = sizes.read(plan.model_config, plan.data_config)
    current = estimate(base, model)
    if current.fits is not False:
        return Report(plan, current, ())
    data = plan.data_config if isinstance(plan.data_config, dict) else {}
    ds = plan.deepspeed_config if isinstance(plan.deepspeed_config, dict) else {}
    pinned = keeps_batch or plan.launch.get("global_batch_size") is not None

    def accepted(option: _Option) -> _Option | None:
        """The option, or its first variant, that lowers the peak and compiles."""
        for variant in _variants(option, base, pinned):
            if estimate(variant.setup, model).total >= current.total:
                return None
            if verify is None or not verify(tuple(f"{k}={v}" for k, v in variant.sets)):
                return variant
        return None  # would not compile (or would crash at start-up: Z1, Z3, B1, ...)

    singles = [
        option
        for option in map(accepted, _candidates(base, pinned, ds, data.get("target") in PIXEL_DATASETS))
        if option is not None
    ]
    same_gpus = [o for o in singles if not o.adds_gpus]
    more_gpus = len(same_gpus) < len(singles)
    options = list(singles)
    if len(same_gpus) > 1:
        name = "all of the above except more GPUs" if more_gpus else "all of the above"
        combined = accepted(_combined(base, same_gpus, name))
        options += [combined] if combined else []
    if more_gpus and len(singles) > 1:
        here = estimate(_combined(base, same_gpus, "").setup, model) if same_gpus else None
        if here is None or not here.fits:  # more GPUs only where the GPUs at hand cannot do it
            combined = accepted(_combined(base, singles, "all of the above"))
            options += [combined] if combined else []
    # A combination that saves nothing over what is already listed is noise.
    best = current.total
    kept: list[_Option] = []
    for option in options:
        total = estimate(option.setup, model).total
        if option in singles or total < best:
            kept.append(option)
        best = min(best, total)
    suggestions = [_annotated(option, base, model) for option in kept]
    return Report(plan, current, tuple(suggestions), _advice(current, suggestions))


def _annotated(option: _Option, s: Setup, model: Any) -> Suggestion:
    """An option that adds GPUs says so when its other settings fit on the GPUs at hand."""
    suggestion = _as_suggestion(option, model)
    if not option.adds_gpus:
        return suggestion
    here = estimate(with_changes(option.setup, data_parallel=s.data_parallel, world=s.world), model)
    if here.fits:
        note = (
            f"not needed: without the extra GPUs these settings fit on the {s.world} GPU(s) "
            f"at hand ({here.per_gpu_gib:.1f} GiB)"
        )
        return Suggestion(suggestion.change, suggestion.overrides, suggestion.estimate, note)
    return suggestion


def _advice(current: Estimate, suggestions: list[Suggestion]) -> tuple[str, ...]:
    """When no option fits, say so plainly, with what dominates the best of them."""
    if any(item.estimate.fits for item in suggestions):
        return ()
    best = min((item.estimate for item in suggestions), key=lambda e: e.total, default=current)
    largest = sorted(best.components.items(), key=lambda kv: kv[1], reverse=True)[:3]
    parts = ", ".join(f"{name} {value / GIB:.1f} GiB" for name, value in largest)
    lines = [
        f"nothing satc can set fits on {current.setup.gpu_gib:g} GiB: the best option needs "
        f"{best.per_gpu_gib:.1f} GiB ({parts})"
    ]
    vae = best.components.get("vae_encode_peak", 0) + best.components.get("vae_reserved_after_encode", 0)
    if vae and vae >= max(best.components.values()):
        lines.append(
            f"the VAE encoding ({vae / GIB:.1f} GiB at micro-batch {best.setup.micro}) is the largest part: "
            "encode the videos ahead of time (a dataset that yields latents, with model.latent_input: "
            "true; CogVideoX's SFTDataset yields frames), train on fewer or smaller frames "
            "(data.params.video_size, max_num_frames), or use a larger card"
        )
    return tuple(lines)


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
            "advice": list(result.advice),
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
        verdict = ("fits" if item.estimate.fits else "still too much") + (
            f"; {item.note}" if item.note else ""
        )
        lines.append(
            f"  option: {item.change}: {item.estimate.per_gpu_gib:.1f} GiB ({verdict})\n      "
            + " ".join(f"--set {o}" for o in item.overrides)
        )
    lines += [f"  {line}" for line in result.advice]
    b = result.batch
    lines.append(
        f"batch: global {b['global']} = micro {b['micro']} x grad_accum {b['grad_accum']} x dp {b['data_parallel']}"
    )
    lines.append("assumptions:")
    lines += [f"  - {item}" for item in e.assumptions]
    return "\n".join(lines) + "\n"
