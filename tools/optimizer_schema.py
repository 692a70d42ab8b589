"""What `deepspeed.optimizer` and `deepspeed.scheduler` really build, read from the installed code.

Dev-time only (imports DeepSpeed, torch and SAT); ``tools/deepspeed_schema.py`` embeds
the result in ``schemas/satc.schema.json`` as ``x-satc-optimizers`` and
``x-satc-schedulers``, and ``compiler/rules/optimizer.py`` reads it at compile time
without importing any of them.

The names and the constructor each name reaches follow DeepSpeed 0.19.8 and SAT:

* ``type`` starting with ``sat.``: SAT imports it and passes it to ``deepspeed.initialize``
  as a client optimizer, called with ``params`` as keyword arguments
  (``sat/training/deepspeed_training.py``).
* a name in ``deepspeed.runtime.config.DEEPSPEED_OPTIMIZERS`` (any case): built by
  ``DeepSpeedEngine._configure_basic_optimizer``, whose constructor depends on ZeRO's
  optimizer offload (CPU kernels) and on ``torch_adam``; the keys the engine pops before
  calling it are accepted, the keyword arguments it passes itself are not.
* anything else: ``getattr(torch.optim, type)`` (exact case).

Schedulers: DeepSpeed's ``lr_schedules`` classes, else ``torch.optim.lr_scheduler``.

Each constructor becomes ``{"class", "params": {name: schema}, "required": [...],
"open": bool}`` from its ``__init__`` signature: annotations and defaults give the JSON
types, parameters without a default are required, ``**kwargs`` leaves it open.  The
value bounds below are the validations those constructors (or their first step) do.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from typing import Any

# Arguments the callers pass positionally themselves: the parameters / the optimizer.
_POSITIONAL = {"self", "params", "model_params", "optimizer"}

# torch.optim validates these in every constructor ("Invalid learning rate", "Invalid
# epsilon value", "Invalid weight_decay value", "Invalid beta parameter at index i");
# DeepSpeed's fused kernels unpack exactly two betas at the first step.
_OPTIMIZER_BOUNDS: dict[str, dict[str, Any]] = {
    "lr": {"minimum": 0},
    "eps": {"minimum": 0},
    "weight_decay": {"minimum": 0},
    "betas": {"items": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}},
}

# DeepSpeed's lr_schedules raise ValueError for these at construction.
_SCHEDULER_BOUNDS: dict[tuple[str, str], dict[str, Any]] = {
    ("WarmupLR", "warmup_num_steps"): {"type": "integer", "minimum": 1},
    ("WarmupDecayLR", "warmup_num_steps"): {"type": "integer", "minimum": 1},
    ("WarmupCosineLR", "warmup_num_steps"): {"type": "integer", "minimum": 1},
    ("LRRangeTest", "lr_range_test_step_size"): {"type": "integer", "minimum": 1},
    ("OneCycle", "cycle_first_step_size"): {"type": "number", "exclusiveMinimum": 0},
    ("OneCycle", "cycle_second_step_size"): {"type": ["number", "null"], "minimum": 0},
    # Any other warmup_type is replaced by "log" with only a log line: a typo that trains
    # with another schedule than the one written.
    ("WarmupLR", "warmup_type"): {"enum": ["log", "linear"]},
    ("WarmupDecayLR", "warmup_type"): {"enum": ["log", "linear"]},
    ("WarmupCosineLR", "warmup_type"): {"enum": ["log", "linear"]},
}

# Keys DeepSpeed's engine pops from the optimizer params before the constructor call.
_POPPED_TYPES = {
    "adam_w_mode": {"type": "boolean"},
    "torch_adam": {"type": "boolean"},
    "fp32_optimizer_states": {"type": "boolean"},
    "foreach": {"type": ["boolean", "null"]},
}

# DeepSpeed refuses this in every optimizer it builds (_configure_basic_optimizer).
REFUSED_BY_DEEPSPEED = {
    "max_grad_norm": "DeepSpeed refuses it as an optimizer parameter; use deepspeed.gradient_clipping",
}

# DeepSpeed optimizers built from another package (mup) or with keys split between two
# optimizers (muon): their names are checked, their params are not.
_UNCHECKED = {"muadam", "muadamw", "musgd", "muon"}


def _text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", None) or str(annotation)


def _param_schema(owner: str, parameter: inspect.Parameter) -> dict[str, Any]:
    """JSON types from the annotation, else from the default (ints widen to numbers:
    `weight_decay=0` takes 0.01)."""
    ann = _text(parameter.annotation).replace("typing.", "")
    default = parameter.default
    has_default = default is not inspect.Parameter.empty
    nullable = (has_default and default is None) or "None" in ann or "Optional" in ann
    schema: dict[str, Any] = {}
    if ann == "bool" or ann.startswith("bool |") or isinstance(default, bool):
        schema["type"] = "boolean"
    elif isinstance(default, tuple) and default and all(isinstance(x, int | float) for x in default):
        schema = {
            "type": "array",
            "minItems": len(default),
            "maxItems": len(default),
            "items": {"type": "number"},
        }
    elif ann == "int":
        schema["type"] = "integer"
    elif ann.startswith("float") or isinstance(default, float) or (isinstance(default, int) and not ann):
        schema["type"] = "number"
    elif ann == "str" or isinstance(default, str):
        schema["type"] = "string"
    if nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    shown = "required" if not has_default else f"default {default!r}"
    schema["description"] = f"`{parameter.name}` of {owner} ({shown})."
    return schema


def constructor(
    cls: Any, label: str, exclude: tuple[str, ...] = (), extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The keyword arguments ``cls(...)`` takes, less ``exclude`` (passed by the caller),
    plus ``extra`` (keys the caller pops before the call)."""
    params: dict[str, Any] = {}
    required: list[str] = []
    open_ = False
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name in _POSITIONAL or name in exclude:
            continue
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            open_ = True
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        params[name] = _param_schema(label, parameter)
        if parameter.default is inspect.Parameter.empty:
            required.append(name)
    for name in extra:
        params.setdefault(
            name,
            {**_POPPED_TYPES[name], "description": f"`{name}`: read by DeepSpeed before it builds {label}."},
        )
    return {"class": label, "params": params, "required": required, "open": open_}


def _bounded(entry: dict[str, Any], bounds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    for name, bound in bounds.items():
        if name in entry["params"]:
            entry["params"][name].update(bound)
            if name == "betas" and entry["params"][name].get("type") is None:
                entry["params"][name].update(type="array", minItems=2, maxItems=2)
    return entry


def _qualified(cls: Any) -> str:
    module = cls.__module__
    for public in ("deepspeed.ops.adam", "deepspeed.ops.lamb", "deepspeed.ops.lion", "deepspeed.ops.adagrad"):
        if module.startswith(public):
            module = public
    if module.startswith("torch.optim"):
        module = "torch.optim" if "lr_scheduler" not in module else "torch.optim.lr_scheduler"
    return f"{module}.{cls.__name__}"


def _entry(cls: Any, exclude: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> dict[str, Any]:
    return _zero(_bounded(constructor(cls, _qualified(cls), exclude, extra), _OPTIMIZER_BOUNDS), cls)


def _zero(entry: dict[str, Any], cls: Any) -> dict[str, Any]:
    """Whether ZeRO takes it without `zero_allow_untested_optimizer` (DeepSpeedEngine.
    _do_optimizer_sanity_check asserts otherwise, at deepspeed.initialize)."""
    from deepspeed.runtime.zero.utils import ZERO_SUPPORTED_OPTIMIZERS

    entry["zero_tested"] = cls in ZERO_SUPPORTED_OPTIMIZERS
    return entry


def _deepspeed_optimizers() -> dict[str, Any]:
    """name (lower case, as DeepSpeedConfig lower-cases it) -> the constructor per build."""
    import torch
    from deepspeed.ops.adagrad import DeepSpeedCPUAdagrad
    from deepspeed.ops.adam import DeepSpeedCPUAdam, FusedAdam
    from deepspeed.ops.lamb import FusedLamb
    from deepspeed.ops.lion import DeepSpeedCPULion, FusedLion
    from deepspeed.runtime.config import DEEPSPEED_OPTIMIZERS

    # Keys _configure_basic_optimizer / get_optimizer_configuration pop before the call.
    popped = ("adam_w_mode", "torch_adam", "fp32_optimizer_states")
    adam = {
        "fused": _entry(FusedAdam, exclude=("adam_w_mode",), extra=popped),
        "cpu": _entry(DeepSpeedCPUAdam, exclude=("adamw_mode", "fp32_optimizer_states"), extra=popped),
    }
    known: dict[str, Any] = {
        "adam": {
            "builds": {
                **adam,
                "torch": _entry(torch.optim.Adam, exclude=("foreach",), extra=(*popped, "foreach")),
            }
        },
        "adamw": {
            "builds": {
                **adam,
                "torch": _entry(torch.optim.AdamW, exclude=("foreach",), extra=(*popped, "foreach")),
            }
        },
        "adagrad": {"builds": {"fused": _entry(torch.optim.Adagrad), "cpu": _entry(DeepSpeedCPUAdagrad)}},
        "lamb": {"builds": {"fused": _entry(FusedLamb), "cpu": _entry(FusedLamb)}},
        "lion": {"builds": {"fused": _entry(FusedLion), "cpu": _entry(DeepSpeedCPULion)}},
    }
    for name in _UNCHECKED:
        known[name] = {"builds": None}
    if set(known) != set(DEEPSPEED_OPTIMIZERS):
        raise RuntimeError(
            f"DeepSpeed's optimizers changed: {sorted(set(DEEPSPEED_OPTIMIZERS) ^ set(known))}"
        )
    return dict(sorted(known.items()))


def _torch_optimizers() -> dict[str, Any]:
    import torch

    out = {}
    for name in sorted(dir(torch.optim)):
        cls = getattr(torch.optim, name)
        if (
            isinstance(cls, type)
            and issubclass(cls, torch.optim.Optimizer)
            and cls is not torch.optim.Optimizer
        ):
            out[name] = _entry(cls)
    return out


def _sat_optimizers() -> dict[str, Any]:
    """`sat.*` names SAT can import: sat.ops' lazy table and the modules it names."""
    import importlib

    import sat.ops
    import torch

    out = {}
    for name, module in sorted(sat.ops.avaliable_ops.items()):
        try:
            cls = getattr(importlib.import_module(module), name)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer):
            entry = _zero(_bounded(constructor(cls, f"{module}.{name}"), _OPTIMIZER_BOUNDS), cls)
            out[f"sat.ops.{name}"] = entry
            out[f"{module}.{name}"] = entry
    return out


def _schedulers() -> dict[str, Any]:
    import torch
    from deepspeed.runtime import lr_schedules

    deepspeed = {}
    for name in sorted(lr_schedules.VALID_LR_SCHEDULES):
        entry = constructor(getattr(lr_schedules, name), f"deepspeed.runtime.lr_schedules.{name}")
        for param, schema in entry["params"].items():
            # _format_param takes one value per parameter group as well as one for all.
            if schema.get("type") in ("number", ["number", "null"]) and ("lr" in param or "mom" in param):
                schema["type"] = [
                    *([schema["type"]] if isinstance(schema["type"], str) else schema["type"]),
                    "array",
                ]
                schema["items"] = {"type": "number"}
        for (owner, param), bound in _SCHEDULER_BOUNDS.items():
            if owner == name:
                if param not in entry["params"]:
                    raise RuntimeError(f"{name} has no parameter {param} any more")
                entry["params"][param].update(bound)
        deepspeed[name] = entry
    torch_side = {}
    base = torch.optim.lr_scheduler.LRScheduler
    for name in sorted(dir(torch.optim.lr_scheduler)):
        cls = getattr(torch.optim.lr_scheduler, name)
        if name.startswith("_") or not isinstance(cls, type) or cls is base:
            continue
        if issubclass(cls, base) or name == "ReduceLROnPlateau":
            torch_side[name] = constructor(cls, f"torch.optim.lr_scheduler.{name}")
    return {"deepspeed": deepspeed, "torch": torch_side}


def build() -> tuple[dict[str, Any], dict[str, Any]]:
    """(x-satc-optimizers, x-satc-schedulers)."""
    with contextlib.redirect_stdout(sys.stderr):
        optimizers = {
            "deepspeed": _deepspeed_optimizers(),
            "torch": _torch_optimizers(),
            "sat": _sat_optimizers(),
            "refused_params": REFUSED_BY_DEEPSPEED,
        }
        schedulers = _schedulers()
    return optimizers, schedulers
