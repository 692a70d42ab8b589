"""Rules that decide the DeepSpeed config: R4, R5 (presets), R6 (a given section wins), R8, D3."""

from __future__ import annotations

import copy
from typing import Any

from .. import presets
from ..errors import DERIVED_RANK, SET_RANK
from ..plan import Derivation
from ..project import select
from ..tree import yaml_text
from .work import Work


def _given_config(work: Work) -> Any:
    """The DeepSpeed config an inference run's get_args sees: the `deepspeed:` section, else
    what `args.deepspeed_config` holds (CogView3 writes `{}`; rules/inputs.py keeps it)."""
    section = work.config.tree.get("deepspeed")
    if section is not None:
        return section
    args = work.config.tree.get("args")
    return args.get("deepspeed_config") if isinstance(args, dict) else None


def r4_deepspeed_by_mode(work: Work) -> None:
    """R4: every mode but inference trains with DeepSpeed."""
    if work.training:
        work.derive(
            "args.deepspeed", True, "R4", f"mode {work.args['mode']!r} trains with DeepSpeed", "args.mode"
        )
    section = work.config.tree.get("deepspeed")
    if not work.training and work.args["deepspeed"]:
        # Only where the project's own get_args dies on it (an unbound local, read by
        # compiler/project/unbound.py): a fork that binds it first runs the launch.
        given = _given_config(work) is not None
        crashes = select.for_config(work.config).get_args.deepspeed_inference or {}
        crash = crashes.get("config" if given else "no_config")
        if crash is not None:
            work.error(
                "args.deepspeed",
                "deepspeed: true in inference mode [R4]",
                f"the project's get_args fails on this combination ({crash}: UnboundLocalError); "
                "remove args.deepspeed"
                + ("" if given or "config" in crashes else ", or give a deepspeed section"),
            )
    if not work.training and section is not None and not work.args["deepspeed"]:
        work.warn("deepspeed", "the deepspeed section is not used in inference mode")


def r5_choose_preset(work: Work) -> None:
    """R5: training without a `deepspeed:` section starts from SAT's preset for zero_stage."""
    section = work.config.tree.get("deepspeed")
    if not work.training:
        # deepspeed: true in inference that R4 let through: the project's get_args runs its
        # DeepSpeed block, whose "override args" branch reads the given section (R6).
        given = _given_config(work)
        if work.args["deepspeed"] and isinstance(given, dict):
            work.given_deepspeed = given
        return
    if section is None:
        stage = work.args["zero_stage"]
        work.deepspeed = presets.preset(stage)
        origin = "satc's ZeRO-3 preset" if stage == 3 else f"SAT's deepspeed_zero{stage}.json"
        work.derivations.append(
            Derivation("deepspeed", "R5", f"no deepspeed section: {origin}", ("args.zero_stage",))
        )
    else:
        work.given_deepspeed = section
        work.deepspeed = copy.deepcopy(section)


def r8_activation_checkpointing(work: Work) -> None:
    """R8: deepspeed_activation_checkpointing follows checkpoint_activations."""
    if work.args["deepspeed"]:
        value = bool(work.args["checkpoint_activations"])
        work.derive(
            "args.deepspeed_activation_checkpointing",
            value,
            "R8",
            f"checkpoint_activations is {str(value).lower()}",
            "args.checkpoint_activations",
        )


def r5_args_into_preset(work: Work) -> None:
    """R5: with a preset, args win: precision, micro-batch, accumulation, lr, weight decay."""
    if work.deepspeed is None or work.given_deepspeed is not None:
        return
    args = work.args
    if args["fp16"]:
        work.derive("deepspeed.fp16.enabled", True, "R5", "args.fp16 is set", "args.fp16")
    elif args["bf16"]:
        work.derive("deepspeed.bf16.enabled", True, "R5", "args.bf16 is set", "args.bf16")
        work.derive("deepspeed.fp16.enabled", False, "R5", "args.bf16 is set", "args.bf16")
    else:
        work.derive(
            "deepspeed.fp16.enabled", False, "R5", "neither fp16 nor bf16 set", "args.fp16", "args.bf16"
        )
    for ds_key, arg in (
        ("train_micro_batch_size_per_gpu", "batch_size"),
        ("gradient_accumulation_steps", "gradient_accumulation_steps"),
        ("optimizer.params.lr", "lr"),
        ("optimizer.params.weight_decay", "weight_decay"),
    ):
        work.derive(f"deepspeed.{ds_key}", args[arg], "R5", f"from args.{arg}", f"args.{arg}")


def _r6_replace(work: Work, arg: str, value: Any, source: str, reason: str) -> None:
    """Set args.<arg> from the DeepSpeed section, saying so when the user gave another
    value: a --set that R6 would discard is an error (D2 promises --set wins), a file
    value that CogVideoX silently replaces is a warning."""
    given = work.config.origin.get(("args", arg))
    if given is not None and work.args[arg] != value:
        theirs, ours = work.args[arg], value
        if SET_RANK <= given.rank < DERIVED_RANK:
            work.error(
                f"args.{arg}",
                f"--set args.{arg}={yaml_text(theirs)} would be replaced by {source} "
                f"({yaml_text(ours)}): with a deepspeed section, DeepSpeed's value wins (R6)",
                f"set {source} instead",
            )
        else:
            work.warn(
                f"args.{arg}",
                f"{yaml_text(theirs)} is replaced by {source} ({yaml_text(ours)}): with a "
                "deepspeed section, DeepSpeed's value wins (R6)",
                f"remove args.{arg}, or change {source}",
            )
    work.derive(f"args.{arg}", value, "R6", reason, source)


def r6_deepspeed_section_wins(work: Work) -> None:
    """R6: with a `deepspeed:` section, the DeepSpeed config decides these args."""
    ds = work.given_deepspeed
    if ds is None:
        return
    for precision in ("fp16", "bf16"):
        block = ds.get(precision)
        if isinstance(block, dict) and "enabled" not in block:
            work.error(
                f"deepspeed.{precision}",
                "has no `enabled` key",
                f"CogVideoX's get_args reads deepspeed.{precision}.enabled; add enabled: true or false",
            )
        enabled = bool(isinstance(block, dict) and block.get("enabled"))
        _r6_replace(
            work,
            precision,
            enabled,
            f"deepspeed.{precision}.enabled",
            f"deepspeed.{precision}.enabled is {str(enabled).lower()}",
        )
    if "train_micro_batch_size_per_gpu" in ds:
        _r6_replace(
            work,
            "batch_size",
            ds["train_micro_batch_size_per_gpu"],
            "deepspeed.train_micro_batch_size_per_gpu",
            "from deepspeed.train_micro_batch_size_per_gpu",
        )
    gas = ds.get("gradient_accumulation_steps")
    _r6_replace(
        work,
        "gradient_accumulation_steps",
        gas,
        "deepspeed.gradient_accumulation_steps",
        "from deepspeed.gradient_accumulation_steps"
        if gas is not None
        else "deepspeed section has no gradient_accumulation_steps: None, as CogVideoX sets it",
    )
    params = (ds.get("optimizer") or {}).get("params") or {}
    for name in ("lr", "weight_decay"):
        if name in params:
            _r6_replace(
                work,
                name,
                params[name],
                f"deepspeed.optimizer.params.{name}",
                f"from deepspeed.optimizer.params.{name}",
            )
    if work.args["fp16"] and work.args["bf16"]:
        work.error(
            "deepspeed.bf16.enabled", "both fp16.enabled and bf16.enabled are true", "choose one precision"
        )


def d3_zero_stage_sync(work: Work) -> None:
    """D3: args.zero_stage always equals the emitted zero_optimization.stage."""
    if work.deepspeed is None:
        return
    stage = (work.deepspeed.get("zero_optimization") or {}).get("stage", 0)
    if work.given("args", "zero_stage") and work.args["zero_stage"] != stage:
        work.error(
            "args.zero_stage",
            f"args.zero_stage is {work.args['zero_stage']} but the deepspeed section runs ZeRO stage {stage}",
            "set deepspeed.zero_optimization.stage (or drop args.zero_stage)",
        )
        return
    if work.args["zero_stage"] != stage:
        work.derive(
            "args.zero_stage",
            stage,
            "D3",
            f"zero_optimization.stage of the DeepSpeed config is {stage}",
            "deepspeed.zero_optimization.stage",
        )


# SAT hands an optimizer whose type starts with "sat." to deepspeed.initialize as a
# callable (sat/training/deepspeed_training.py): DeepSpeed calls it a client optimizer.
_CLIENT_PREFIX = "sat."


def _offload_key(zero: dict[str, Any]) -> tuple[str, ...] | None:
    """The key that offloads the optimizer to the CPU or NVMe (DeepSpeed's
    zero_use_cpu_optimizer), or None when nothing does."""
    offload = zero.get("offload_optimizer")
    if isinstance(offload, dict):
        return ("offload_optimizer",) if offload.get("device") in ("cpu", "nvme") else None
    if zero.get("cpu_offload") is True:  # deprecated spelling of offload_optimizer: {device: cpu}
        return ("cpu_offload",)
    return None


def o1_offload_client_optimizer(work: Work) -> None:
    """Z1: ZeRO-Offload with SAT's own optimizer never starts.  DeepSpeed's
    _configure_optimizer raises ZeRORuntimeException ("You are using ZeRO-Offload with a
    client provided optimizer") unless zero_force_ds_cpu_optimizer is false; and with it
    false on cuda, sat.ops.FusedEmaAdam (a CUDA kernel) would step the offloaded states
    on the CPU.  A DeepSpeed optimizer type (AdamW) runs as DeepSpeedCPUAdam instead."""
    ds = work.deepspeed
    if not work.training or not isinstance(ds, dict):
        return
    zero = ds.get("zero_optimization")
    optimizer = ds.get("optimizer")
    kind = optimizer.get("type") if isinstance(optimizer, dict) else None
    if not isinstance(zero, dict) or not (isinstance(kind, str) and kind.startswith(_CLIENT_PREFIX)):
        return
    key = _offload_key(zero)
    if key is None:
        return
    forced = ds.get("zero_force_ds_cpu_optimizer", True) is not False
    if not forced and work.launch.get("device") == "cpu":
        return  # satc's cpu runtime replaces FusedEmaAdam with a plain-torch optimizer (D8)
    dotted_key = "deepspeed.zero_optimization." + ".".join(key)
    reason = (
        "DeepSpeed refuses a client optimizer with ZeRO-Offload (ZeRORuntimeException: You are "
        "using ZeRO-Offload with a client provided optimizer)"
        if forced
        else f"{kind} is a CUDA kernel and the offloaded optimizer states live on the CPU"
    )
    work.error(
        dotted_key,
        f"offloads the optimizer, but deepspeed.optimizer.type {kind} reaches DeepSpeed as a "
        f"client optimizer (SAT passes sat.* optimizers itself): {reason} [Z1]",
        "set deepspeed.optimizer.type: AdamW (DeepSpeed runs it as DeepSpeedCPUAdam on the "
        f"offloaded states), or remove {dotted_key}",
    )


def mk1_misplaced_keys(work: Work) -> None:
    """MK1: a DeepSpeed key where DeepSpeed never reads it, which would change the run
    (docs/rules.md, "Misplaced DeepSpeed keys"): an error, reported with the other rules'."""
    from ..validate import misplaced_deepspeed_errors

    work.errors.extend(misplaced_deepspeed_errors(work.config))


# CogVideoX's training script: SAT builds the model in it (sat.model.base_model.get_model).
_SAT_TRAINING_ENTRYPOINTS = frozenset({"train_video.py"})


def z3_sat_model_under_zero3(work: Work) -> None:
    """Z3: SAT builds its model inside deepspeed.zero.Init() at ZeRO stage 3
    (sat/model/base_model.py get_model, check_if_zero3).  zero.Init wraps every module's
    __init__ as `wrapper(module, *args, **kwargs)`, and SAT's ColumnParallelLinear takes a
    `module=` keyword: every rank dies with "TypeError: ColumnParallelLinear.__init__() got
    multiple values for argument 'module'" before the first step."""
    ds = work.deepspeed
    zero = ds.get("zero_optimization") if isinstance(ds, dict) else None
    stage = zero.get("stage", 0) if isinstance(zero, dict) else 0
    if not (work.training and isinstance(stage, int) and stage >= 3):
        return
    entrypoint = str(work.launch.get("entrypoint") or "").rsplit("/", 1)[-1]
    if entrypoint not in _SAT_TRAINING_ENTRYPOINTS or work.config.tree.get("model") is None:
        return  # another entrypoint builds its own model
    key = "deepspeed.zero_optimization.stage" if work.given("deepspeed") else "args.zero_stage"
    work.error(
        key,
        f"ZeRO stage {stage}: SAT builds the model inside deepspeed.zero.Init, where its "
        "ColumnParallelLinear fails (TypeError: got multiple values for argument 'module') "
        f"on every rank before the first step [Z3]",
        "use ZeRO stage 2 (with the optimizer offloaded, deepspeed.optimizer.type: AdamW, "
        "if it does not fit: satc plan shows the options)",
    )
