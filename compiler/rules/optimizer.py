"""O1, O2: `deepspeed.optimizer` and `deepspeed.scheduler` against what will really be built.

DeepSpeed reads `type` and passes `params` as keyword arguments to a constructor it
picks at `deepspeed.initialize` (SAT does the same for `sat.*` optimizers).  A typo in
either is found on the GPU node, after the queue: an assertion for the name, a
TypeError for a key, a ValueError (or a crash at the first step) for a value.  The
constructors and their parameters are read from the installed DeepSpeed, torch and SAT
by tools/optimizer_schema.py into the schema; this module only reads that table.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .. import resources
from ..suggest import closest
from .work import Work

# DeepSpeed lower-cases these names; shown in the spelling its docs use.
_SHOWN = {
    "adam": "Adam",
    "adamw": "AdamW",
    "adagrad": "Adagrad",
    "lamb": "Lamb",
    "lion": "Lion",
    "muadam": "MuAdam",
    "muadamw": "MuAdamW",
    "musgd": "MuSGD",
    "muon": "Muon",
}
_TYPES = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "string": "a string",
    "array": "a list",
    "null": "null",
}


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, Any], dict[str, Any]]:
    section = resources.schema()["properties"]["deepspeed"]["properties"]
    return section["optimizer"]["x-satc-optimizers"], section["scheduler"]["x-satc-schedulers"]


def o1_optimizer(work: Work) -> None:
    """O1: the optimizer `type` names one DeepSpeed, torch or SAT builds; its `params`
    are keyword arguments of that constructor, with values it accepts."""
    section = _section(work, "optimizer")
    if section is None:
        return
    name, params = section
    table, _ = _tables()
    entry: dict[str, Any] | None
    refused: dict[str, str] = {}
    if name.startswith("sat."):
        entry = table["sat"].get(name)
        if entry is None:
            guess = closest(name, table["sat"])
            _unknown_type(work, "optimizer", f"{name!r} is not an optimizer SAT can import", guess)
            return
    elif name.lower() in table["deepspeed"]:
        builds = table["deepspeed"][name.lower()]["builds"]
        if builds is None:  # built by mup, or split between two optimizers (muon)
            return
        entry = builds[_build_of(work, params)]
        refused = table["refused_params"]
    elif name in table["torch"]:
        entry, refused = table["torch"][name], table["refused_params"]
    else:
        names = [*(_SHOWN.get(n, n) for n in table["deepspeed"]), *table["torch"], *table["sat"]]
        _unknown_type(
            work, "optimizer", f"{name!r} is not a supported DeepSpeed optimizer", closest(name, names)
        )
        return
    _check_params(work, "optimizer", entry, params, refused)
    _check_zero(work, entry)


def _check_zero(work: Work, entry: dict[str, Any]) -> None:
    """ZeRO asserts at deepspeed.initialize on an optimizer it was not tested with,
    unless the config allows it."""
    ds = work.deepspeed or {}
    zero = ds.get("zero_optimization")
    stage = zero.get("stage", 0) if isinstance(zero, dict) else 0
    if not isinstance(stage, int) or stage < 1 or entry.get("zero_tested", True):
        return
    if ds.get("zero_allow_untested_optimizer") is True:
        return
    work.error(
        "deepspeed.optimizer.type",
        f"ZeRO stage {stage} refuses {entry['class']}: DeepSpeed asserts on an optimizer ZeRO "
        "was not tested with (You are using an untested ZeRO Optimizer)",
        "add deepspeed.zero_allow_untested_optimizer: true, or use Adam, AdamW, Adagrad or Lion",
    )


def o2_scheduler(work: Work) -> None:
    """O2: the scheduler `type` names one of DeepSpeed's lr_schedules or a
    torch.optim.lr_scheduler class; its `params` are that constructor's arguments."""
    section = _section(work, "scheduler")
    if section is None:
        return
    name, params = section
    _, table = _tables()
    entry = table["deepspeed"].get(name) or table["torch"].get(name)
    if entry is None:
        guess = closest(name, [*table["deepspeed"], *table["torch"]])
        _unknown_type(work, "scheduler", f"DeepSpeed does not recognize LR scheduler {name!r}", guess)
        return
    _check_params(work, "scheduler", entry, params, {})


def _section(work: Work, kind: str) -> tuple[str, dict[str, Any]] | None:
    """(type, params) when the emitted DeepSpeed config builds one; shapes the schema
    refuses (a non-string type, a list of params) are its errors, not ours."""
    if work.deepspeed is None or not work.training:
        return None
    section = work.deepspeed.get(kind)
    if not isinstance(section, dict) or not isinstance(section.get("type"), str):
        return None
    params = section.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        return None
    return section["type"], params


def _build_of(work: Work, params: dict[str, Any]) -> str:
    """Which constructor DeepSpeed's engine calls: torch's with `torch_adam`, its CPU
    kernels when ZeRO offloads the optimizer (zero_use_cpu_optimizer), else the fused one."""
    if params.get("torch_adam") is True:
        return "torch"
    zero = (work.deepspeed or {}).get("zero_optimization")
    if isinstance(zero, dict):
        offload = zero.get("offload_optimizer")
        if isinstance(offload, dict) and offload.get("device") in ("cpu", "nvme"):
            return "cpu"
        if zero.get("cpu_offload") is True:  # the deprecated spelling of the same
            return "cpu"
    return "fused"


def _unknown_type(work: Work, kind: str, message: str, guess: str | None) -> None:
    hint = f"did you mean {guess}?" if guess else "satc schema lists the names under deepspeed." + kind
    work.error(f"deepspeed.{kind}.type", message, hint)


def _check_params(
    work: Work, kind: str, entry: dict[str, Any], params: dict[str, Any], refused: dict[str, str]
) -> None:
    known: dict[str, Any] = entry["params"]
    owner = entry["class"]
    for key in sorted(params, key=str):
        where: tuple[str, ...] = ("deepspeed", kind, "params", key)
        dotted = f"deepspeed.{kind}.params.{key}"
        if key in refused:
            work.error(dotted, refused[key], None, *where)
        elif key not in known:
            if entry["open"]:
                continue
            guess = closest(str(key), known)
            hint = f"did you mean {guess}?" if guess else f"{owner} takes: {', '.join(sorted(known))}"
            work.error(dotted, f"{owner} has no parameter {key!r}", hint, *where)
        else:
            problem = _mismatch(params[key], known[key])
            if problem:
                work.error(dotted, f"{problem} ({owner})", None, *where)
    for key in entry["required"]:
        if key not in params:
            where = (
                ("deepspeed", kind, "params")
                if work.given("deepspeed", kind, "params")
                else ("deepspeed", kind)
            )
            work.error(
                f"deepspeed.{kind}.params.{key}",
                f"{owner} needs {key}: DeepSpeed calls it without, and the constructor fails",
                f"set deepspeed.{kind}.params.{key}",
                *where,
            )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


def _shown(value: Any) -> str:
    kind = _kind(value)
    return {
        "array": f"a list of {len(value) if isinstance(value, list) else 0}",
        "object": "a mapping",
        "null": "null",
        "boolean": f"boolean {str(value).lower()}",
        "number": f"float {value!r}",
    }.get(kind, f"{kind} {value!r}")


def _mismatch(value: Any, schema: dict[str, Any]) -> str | None:
    """What is wrong with ``value`` under the small schema subset the table uses."""
    if "enum" in schema and value not in schema["enum"]:
        return f"expected one of {', '.join(map(repr, schema['enum']))}, found {_shown(value)}"
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        kind = _kind(value)
        fits = kind in allowed or (kind == "integer" and "number" in allowed)
        if not fits:
            expected = " or ".join(_TYPES.get(t, t) for t in allowed)
            return f"expected {expected}, found {_shown(value)}"
    if isinstance(value, list):
        size = len(value)
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is not None and low == high and size != low:
            return f"expected a list of {low} values, found {size}"
        for index, item in enumerate(value):
            problem = _mismatch(item, schema.get("items", {}))
            if problem:
                return f"item {index}: {problem}"
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"must be at least {schema['minimum']}, found {value!r}"
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return f"must be greater than {schema['exclusiveMinimum']}, found {value!r}"
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            return f"must be less than {schema['exclusiveMaximum']}, found {value!r}"
    return None
