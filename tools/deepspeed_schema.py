"""Generate the JSON Schema (draft 2020-12) fragment for the ``deepspeed:`` section.

Dev-time generator: ``build()`` imports DeepSpeed 0.19.8 and introspects the
pydantic models and key constants it really parses, so the fragment tracks what
``deepspeed.runtime.config.DeepSpeedConfig`` (and ``deepspeed.initialize``) read.
The returned dict is plain JSON data and self-contained (no ``$ref``), so it can
be embedded anywhere inside ``schemas/satc.schema.json``.

    python tools/deepspeed_schema.py > deepspeed.fragment.json

Conventions in the fragment (satc reads the ``x-satc-*`` annotations):

* ``{"x-satc-misplaced": "fp16.loss_scale"}`` -- a key DeepSpeed silently ignores
  at this level but reads at the given dotted path.  satc makes it an error when the
  run would differ (the home section is in effect and the value is not what DeepSpeed
  uses there: its ``default`` or the home key's own value), a warning otherwise.
* ``"default"`` on a field -- DeepSpeed's default, where plain JSON can state it.
* ``"deprecated": true`` + ``"x-satc-deprecated": "<replacement>"`` -- a key
  DeepSpeed still accepts but deprecates.
* ``"x-satc-removed": "<message>"`` on a ``{"not": {}}`` schema -- a key
  DeepSpeed 0.19.8 rejects with ``DeepSpeedConfigError`` (it is an error).

Types are strict: booleans are ``boolean``, counts ``integer``, ratios
``number``; size-like integers that DeepSpeed parses with pydantic (so ``4e7``
works) are ``{"type": "number", "multipleOf": 1, "minimum": 0}``.  The string
``"auto"`` (a HF-Trainer placeholder; DeepSpeed's pydantic models silently drop
it and fall back to the default) is accepted nowhere, not even inside free-form
sections.
"""

from __future__ import annotations

import ast
import contextlib
import enum
import inspect
import json
import re
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import optimizer_schema  # noqa: E402

DEEPSPEED_VERSION = "0.19.8"

# How deep the inline "no 'auto' anywhere" guard reaches into free-form sections
# (no $ref, so the fragment stays self-contained when embedded).
_NO_AUTO_DEPTH = 4

# Section fields that are too generic to be reported as "misplaced" when they show
# up at the top level (several sections have them, or they mean nothing on their own).
_MISPLACED_STOPLIST = frozenset({"enabled", "type", "params", "profile", "debug", "verbose"})

# Sections whose field names, found at the top level, are reported as misplaced.
_MISPLACED_SECTIONS = (
    "fp16",
    "bf16",
    "zero_optimization",
    "activation_checkpointing",
    "flops_profiler",
    "comms_logger",
    "aio",
    "checkpoint",
    "data_types",
)

# Extra top-level spellings that DeepSpeed reads under another name.
_MISPLACED_RENAMED = {
    # HF / older docs spell it like this; DeepSpeed reads checkpoint.load_universal.
    "load_universal_checkpoint": "checkpoint.load_universal",
}

# Integer fields (beyond those DeepSpeed declares with its ``pp_int`` large-number
# marker) that are byte/element sizes or thresholds parsed by pydantic, so that
# scientific notation (a float such as 1e7) is accepted by DeepSpeed.
_EXTRA_SIZE_LIKE = frozenset({("CompileConfig", "free_activation_threshold")})

_DTYPE_SHORT = ["fp32", "fp16", "bf16"]


# --------------------------------------------------------------------------------------
# small helpers


def _plain_default(value: Any) -> Any:
    """A field's default as JSON (a bool, number or string), or None when it has none
    that plain JSON can state (None, a factory, a model, an enum, "auto")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # pp_int is an int subclass
    if isinstance(value, float):
        return value
    if isinstance(value, str) and not isinstance(value, enum.Enum) and value != "auto":
        return value
    return None


# --------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Collapse a docstring into one short line (first sentence, no RST markup)."""
    text = re.sub(r"\s*https?://\S+", "", text)
    text = re.sub(r":any:`([^`]*)`", r"\1", text)
    text = text.replace("``", "`")
    text = " ".join(text.split())
    m = re.search(r"(?<=[.!?])\s+(?=[A-Z(])", text)
    if m and m.start() >= 20:
        text = text[: m.start()]
    return text.strip()


def _no_auto(depth: int = _NO_AUTO_DEPTH) -> dict[str, Any]:
    """Inline, bounded-depth schema: no value (nested too) may be the string 'auto'."""
    node: dict[str, Any] = {"not": {"const": "auto"}}
    if depth > 0:
        child = _no_auto(depth - 1)
        node["additionalProperties"] = child
        node["items"] = child
    return node


def _free_object(description: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "description": description}
    schema["additionalProperties"] = _no_auto()
    return schema


def _closed(description: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "properties": properties,
    }
    schema.update(extra)
    return schema


def _p(schema: dict[str, Any], description: str) -> dict[str, Any]:
    out = dict(schema)
    out["description"] = description
    return out


def _bool(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


def _int(description: str, minimum: int | None = None, nullable: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ["integer", "null"] if nullable else "integer"}
    if minimum is not None:
        out["minimum"] = minimum
    out["description"] = description
    return out


def _size(description: str, minimum: int = 0) -> dict[str, Any]:
    return {"type": "number", "multipleOf": 1, "minimum": minimum, "description": description}


def _str(description: str, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ["string", "null"] if nullable else "string"}
    out.update(extra)
    out["description"] = description
    return out


def _enum(values: list[Any], description: str, nullable: bool = False) -> dict[str, Any]:
    vals = list(values) + ([None] if nullable else [])
    return {"enum": vals, "description": description}


def _ci_enum(values: list[str]) -> list[str]:
    """DeepSpeed upper- or lower-cases some enum strings; accept the usual spellings."""
    out: list[str] = []
    for v in values:
        for s in (v.lower(), v.capitalize(), v.upper()):
            if s not in out:
                out.append(s)
    return out


# --------------------------------------------------------------------------------------
# pydantic introspection
# --------------------------------------------------------------------------------------


def _field_docs(model: Any) -> dict[str, str]:
    """Attribute docstrings (the string statement right after a field) of a model + bases."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not hasattr(cls, "model_fields") or cls.__module__.startswith("pydantic"):
            continue
        try:
            src = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            continue
        tree = ast.parse(src)
        cls_node = next(n for n in tree.body if isinstance(n, ast.ClassDef))
        body = cls_node.body
        used: set[int] = set()
        for i, stmt in enumerate(body):
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            name = stmt.target.id
            nxt = body[i + 1] if i + 1 < len(body) else None
            if _is_str_stmt(nxt):
                docs[name] = nxt.value.value  # type: ignore[union-attr]
                used.add(i + 1)
                continue
            # A docstring placed *before* the field (after another field's docstring).
            prev = body[i - 1] if i >= 1 else None
            if _is_str_stmt(prev) and (i - 1) not in used:
                docs[name] = prev.value.value  # type: ignore[union-attr]
        # Field(description=...) as a fallback.
        for name, info in getattr(cls, "model_fields", {}).items():
            if info.description and name not in docs:
                docs[name] = info.description
    return docs


def _is_str_stmt(node: Any) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


class _Skip(Exception):
    """A field whose type cannot be written in a JSON/YAML config (torch.dtype, object...)."""


def _annotation_schema(ann: Any, ctx: _Ctx, owner: str, field: str) -> dict[str, Any]:
    from pydantic import BaseModel

    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Union:
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) != 1:
            raise _Skip(f"{owner}.{field}: union {ann!r} needs an override")
        inner = _annotation_schema(non_none[0], ctx, owner, field)
        return _nullable(inner)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is list:
        item = _annotation_schema(args[0], ctx, owner, field) if args else {"type": "string"}
        return {"type": "array", "items": item}
    if origin is dict:
        return {"type": "object", "additionalProperties": _no_auto()}
    if ann is bool:
        return {"type": "boolean"}
    if ann is int:
        return {"type": "integer"}
    if ann is float:
        return {"type": "number"}
    if ann is str:
        return {"type": "string"}
    if ann is list:
        return {"type": "array", "items": {"type": "string"}}
    if ann is dict:
        return {"type": "object", "additionalProperties": _no_auto()}
    if isinstance(ann, type) and issubclass(ann, Path):
        return {"type": "string", "minLength": 1}
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        values: list[Any] = []
        for member in ann:
            if member.value not in values:
                values.append(member.value)
        kinds = {type(v) for v in values}
        if kinds == {str}:
            return {"type": "string", "enum": values}
        return {"enum": values}
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ctx.model(ann)
    raise _Skip(f"{owner}.{field}: {ann!r} is not expressible in JSON")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    out = dict(schema)
    if "enum" in out:
        out["enum"] = list(out["enum"]) + [None]
    elif isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _apply_bounds(schema: dict[str, Any], metadata: list[Any], integral: bool) -> None:
    import annotated_types as at

    for m in metadata:
        if isinstance(m, at.Gt):
            if integral:
                schema["minimum"] = int(m.gt) + 1  # type: ignore[call-overload]
            else:
                schema["exclusiveMinimum"] = m.gt
        elif isinstance(m, at.Ge):
            schema["minimum"] = m.ge
        elif isinstance(m, at.Lt):
            schema["exclusiveMaximum"] = m.lt
        elif isinstance(m, at.Le):
            schema["maximum"] = m.le


class _Ctx:
    """Holds the per-model overrides and records what was skipped/deprecated."""

    def __init__(
        self,
        overrides: dict[tuple[str, str], dict[str, Any]],
        descriptions: dict[tuple[str, str], str],
        deprecated_text: dict[tuple[str, str], str],
        skip: set[tuple[str, str]],
    ) -> None:
        self.overrides = overrides
        self.descriptions = descriptions
        self.deprecated_text = deprecated_text
        self.skip = skip
        self.skipped: list[str] = []

    def model(self, model: Any, description: str | None = None) -> dict[str, Any]:
        from deepspeed.runtime.config_utils import pp_int

        owner = model.__name__
        docs = _field_docs(model)
        props: dict[str, Any] = {}
        spellings: dict[str, list[str]] = {}
        replaced_by: list[tuple[str, str]] = []
        for name, info in model.model_fields.items():
            key = (owner, name)
            if info.exclude or key in self.skip:
                self.skipped.append(f"{owner}.{name}")
                continue
            override = self.overrides.get(key, {})
            if {"type", "enum", "const"} & override.keys():
                schema = dict(override)
            else:
                try:
                    schema = _annotation_schema(info.annotation, self, owner, name)
                except _Skip:
                    self.skipped.append(f"{owner}.{name}")
                    continue
                size_like = isinstance(info.default, pp_int) or key in _EXTRA_SIZE_LIKE
                if schema.get("type") == "integer" and size_like:
                    schema = {"type": "number", "multipleOf": 1, "minimum": 0}
                    _apply_bounds(schema, info.metadata, integral=True)
                else:
                    integral = schema.get("type") in ("integer", ["integer", "null"])
                    _apply_bounds(schema, info.metadata, integral=integral)
                schema.update(override)
            desc = self.descriptions.get(key) or (_clean(docs[name]) if name in docs else None)
            if not desc:
                raise RuntimeError(f"no description for {owner}.{name}")
            schema["description"] = desc
            default = _plain_default(info.default)
            if default is not None:
                # satc reads it to tell a misplaced key that changes the run from one that does not.
                schema["default"] = default
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if extra.get("deprecated"):
                schema["deprecated"] = True
                schema["x-satc-deprecated"] = self.deprecated_text.get(key) or str(extra.get("new_param"))
                new = str(extra.get("new_param"))
                if new in model.model_fields and extra.get("set_new_param", True):
                    replaced_by.append((name, new))
            names = [info.alias or name]
            props[names[0]] = schema
            if info.alias and info.alias != name:
                # populate_by_name=True: the pydantic field name is accepted too.
                twin = dict(schema)
                twin["description"] = f"Same as `{info.alias}` (pydantic field-name spelling)."
                props[name] = twin
                names.append(name)
            spellings[name] = names
        out: dict[str, Any] = {"type": "object"}
        if description:
            out["description"] = description
        out["additionalProperties"] = False
        out["properties"] = props
        rules: list[dict[str, Any]] = []
        # pydantic rejects an alias given together with its field name ...
        for names in spellings.values():
            if len(names) == 2:
                rules.append(
                    {
                        "not": {"required": names},
                        "description": f"`{names[0]}` and `{names[1]}` are the same setting.",
                    }
                )
        # ... and DeepSpeed asserts when a deprecated key comes with its replacement.
        for old, new in replaced_by:
            for x in spellings[old]:
                for y in spellings[new]:
                    rules.append(
                        {
                            "not": {"required": [x, y]},
                            "description": f"Deprecated `{x}` cannot be given together with `{y}`.",
                            # compile's hint: the key to remove (validate.py, _rule_problem)
                            "x-satc-remove": x,
                        }
                    )
        if rules:
            out["allOf"] = rules
        return out


# --------------------------------------------------------------------------------------
# the fragment
# --------------------------------------------------------------------------------------


def _import_deepspeed() -> Any:
    # DeepSpeed's logger writes to stdout; keep stdout clean for the JSON output.
    with contextlib.redirect_stdout(sys.stderr):
        import deepspeed
        import deepspeed.runtime.config
    return deepspeed


def build() -> dict[str, Any]:
    """Return the JSON Schema fragment for the ``deepspeed:`` section."""
    ds = _import_deepspeed()
    if ds.__version__ != DEEPSPEED_VERSION:
        raise RuntimeError(
            f"tools/deepspeed_schema.py targets DeepSpeed {DEEPSPEED_VERSION}, found {ds.__version__}"
        )
    with contextlib.redirect_stdout(sys.stderr):
        return _build()


def _build() -> dict[str, Any]:
    from deepspeed.comm.config import CommsLoggerConfig
    from deepspeed.compile.config import CompileConfig
    from deepspeed.inference.config import WeightQuantConfig
    from deepspeed.monitor.config import CometConfig, CSVConfig, TensorBoardConfig, WandbConfig
    from deepspeed.runtime import config as rc
    from deepspeed.runtime import constants as C
    from deepspeed.runtime.model_checkpointing import constants as CK
    from deepspeed.runtime.precision_config import DeepSpeedBF16Config, DeepSpeedFP16Config
    from deepspeed.runtime.swap_tensor import constants as AIO
    from deepspeed.runtime.tensor_parallel.config import TPTrainingConfig
    from deepspeed.runtime.zero.config import DeepSpeedZeroConfig
    from deepspeed.utils.config import DeepSpeedThroughputTimerConfig
    from deepspeed.utils.logging import log_levels

    dtype_aliases: list[str] = []
    for member in rc.DtypeEnum:
        for v in member._all_values:
            if isinstance(v, str) and v not in dtype_aliases:
                dtype_aliases.append(v)

    overrides: dict[tuple[str, str], dict[str, Any]] = {
        # 'auto' is ZenFlow's default; omit the key for it (DeepSpeed drops 'auto' anyway).
        ("ZenFlowConfig", "select_strategy"): {"enum": ["step", "epoch"]},
        ("ZenFlowConfig", "select_interval"): {"type": "integer", "minimum": 1},
        ("ZenFlowConfig", "update_interval"): {"type": "integer", "minimum": 1},
        ("ZenFlowConfig", "full_warm_up_rounds"): {"minimum": 0},
        ("DeepSpeedZeroConfig", "legacy_stage1"): {"type": "boolean", "const": False},
        ("DeepSpeedFP16Config", "loss_scale"): {"minimum": 0},
        ("DeepSpeedFP16Config", "initial_scale_power"): {"minimum": 0},
        ("DeepSpeedFP16Config", "loss_scale_window"): {"minimum": 1},
        ("DeepSpeedFP16Config", "hysteresis"): {"minimum": 1},
        ("DeepSpeedFP16Config", "min_loss_scale"): {"minimum": 1},
        ("CometConfig", "mode"): {"enum": ["get", "create", "get_or_create", None]},
        ("CometConfig", "samples_log_interval"): {"minimum": 1},
        ("TPTrainingConfig", "autotp_size"): {"minimum": 0},
        ("TPConfig", "tp_size"): {"minimum": 1},
        ("TPConfig", "tp_grain_size"): {"minimum": 1},
        ("HybridEngineConfig", "inference_tp_size"): {"minimum": 1},
        ("HybridEngineConfig", "tp_gather_partition_size"): {"minimum": 1},
        ("WeightQuantConfig", "num_bits"): {"minimum": 1},
        ("WeightQuantConfig", "q_groups"): {"minimum": 1},
    }
    descriptions: dict[tuple[str, str], str] = {
        ("CometConfig", "mode"): (
            "How the Comet experiment is started: get, create or get_or_create (default)."
        ),
        ("CommsLoggerConfig", "enabled"): "Enable the communication logger.",
        ("CommsLoggerConfig", "prof_all"): "Profile all communication operations.",
        (
            "CommsLoggerConfig",
            "prof_ops",
        ): "Names of the communication ops to profile when prof_all is false.",
        ("CommsLoggerConfig", "verbose"): "Log every communication op immediately.",
        ("CommsLoggerConfig", "debug"): "Append the caller function name to each logged op.",
        ("HybridEngineConfig", "enabled"): "Enable the hybrid (training + generation) engine.",
        ("HybridEngineConfig", "max_out_tokens"): "Maximum number of generated tokens.",
        ("HybridEngineConfig", "inference_tp_size"): "Tensor-parallel degree used for generation.",
        (
            "HybridEngineConfig",
            "release_inference_cache",
        ): "Release the inference KV cache after generation.",
        ("HybridEngineConfig", "pin_parameters"): "Pin parameters in memory during generation.",
        (
            "HybridEngineConfig",
            "tp_gather_partition_size",
        ): "Partition size for gathering tensor-parallel weights.",
        ("HybridEngineConfig", "enable_cuda_graph"): "Capture generation with CUDA graphs.",
        (
            "TPConfig",
            "tp_size",
        ): "Number of devices to split the model across using tensor parallelism.",
        (
            "TPTrainingConfig",
            "injection_policy_tuple",
        ): "Injection policy tuple (not expressible in JSON).",
        (
            "TPTrainingConfig",
            "vocab_parallel_ce_backend",
        ): "Cross-entropy backend for a vocabulary-parallel LM head.",
        ("WeightQuantConfig", "enabled"): "Enable weight quantization.",
        ("WeightQuantConfig", "num_bits"): "Number of bits per quantized weight.",
        ("WeightQuantConfig", "q_type"): "Quantization type (symmetric or asymmetric).",
        ("WeightQuantConfig", "q_groups"): "Number of quantization groups.",
        (
            "WeightQuantConfig",
            "quantized_initialization",
        ): "Quantize weights at initialization (free-form options).",
        (
            "WeightQuantConfig",
            "post_init_quant",
        ): "Quantize weights after initialization (free-form options).",
        ("DeepSpeedZeroConfig", "pipeline_loading_checkpoint"): (
            "Whether to force checkpoint loading in pipeline mode (ZeRO stage 3 only)."
        ),
        ("ZenFlowConfig", "select_strategy"): (
            'Strategy for selecting important gradient indices; omit for "auto".'
        ),
        ("ZenFlowConfig", "select_interval"): (
            'Interval at which to reselect important gradient indices; omit for "auto".'
        ),
        ("ZenFlowConfig", "update_interval"): (
            'Interval for applying accumulated unimportant gradients; omit for "auto".'
        ),
        ("DeepSpeedZeroConfig", "legacy_stage1"): (
            "Legacy ZeRO stage 1; removed since DeepSpeed 0.5.9 (true raises at engine start)."
        ),
        ("DeepSpeedZeroLeafModuleConfig", "classes"): (
            "Fully qualified class names of modules treated as ZeRO-3 leaf modules."
        ),
        ("DeepSpeedZeroLeafModuleConfig", "names"): "Module names treated as ZeRO-3 leaf modules.",
        ("DeepSpeedZeroLeafModuleConfig", "name_suffixes"): (
            "Module name suffixes treated as ZeRO-3 leaf modules."
        ),
        (
            "DeepSpeedZeroConfig",
            "leaf_module",
        ): "Modules that ZeRO-3 treats as leaf modules (no hooks inside).",
    }
    deprecated_text = {
        (
            "DeepSpeedZeroConfig",
            "cpu_offload",
        ): 'delete it when false (the default); true means zero_optimization.offload_optimizer: {device: "cpu"}',
        (
            "DeepSpeedZeroConfig",
            "cpu_offload_param",
        ): 'delete it when false (the default); true means zero_optimization.offload_param: {device: "cpu"}',
        ("DeepSpeedZeroConfig", "cpu_offload_use_pin_memory"): (
            "zero_optimization.offload_param.pin_memory / zero_optimization.offload_optimizer.pin_memory"
        ),
        ("DeepSpeedZeroConfig", "stage3_gather_fp16_weights_on_model_save"): (
            "zero_optimization.stage3_gather_16bit_weights_on_model_save"
        ),
    }
    skip = {
        ("TPTrainingConfig", "dtype"),  # torch.dtype instance, set programmatically
        ("TPTrainingConfig", "injection_policy_tuple"),  # Python tuple of classes
        ("TPConfig", "mpu"),
        ("TPConfig", "tp_group"),
    }
    ctx = _Ctx(overrides, descriptions, deprecated_text, skip)

    # ---- zero_optimization --------------------------------------------------------
    zero = ctx.model(
        DeepSpeedZeroConfig,
        "ZeRO memory optimizations (DeepSpeedZeroConfig). The legacy boolean form is not accepted.",
    )
    zero["properties"]["stage"] = {
        "type": "integer",
        "enum": [0, 1, 2, 3],
        "description": zero["properties"]["stage"]["description"],
    }
    for key, message in rc._REMOVED_ZERO_CONFIG_KEYS.items():
        zero["properties"][key] = {
            "not": {},
            "description": "Removed in DeepSpeed 0.19: " + _clean(message),
            "x-satc-removed": message,
        }
    zero_rules = zero.setdefault("allOf", [])
    zero_rules.append(
        {
            "if": {
                "required": ["compute_grad_norm"],
                "properties": {"compute_grad_norm": {"const": False}},
            },
            "then": {"required": ["stage"], "properties": {"stage": {"enum": [1, 2]}}},
            "description": "compute_grad_norm=false is supported only with ZeRO stage 1 or 2.",
        }
    )
    zero_rules.append(
        {
            "if": {
                "required": ["offload_optimizer"],
                "properties": {
                    "offload_optimizer": {
                        "type": "object",
                        "required": ["ratio"],
                        "properties": {"ratio": {"exclusiveMaximum": 1}},
                    }
                },
            },
            "then": {"required": ["stage"], "properties": {"stage": {"const": 3}}},
            "description": "Partial optimizer offloading (offload_optimizer.ratio < 1) needs ZeRO stage 3.",
        }
    )

    # ---- precision -----------------------------------------------------------------
    fp16 = ctx.model(DeepSpeedFP16Config, "FP16 mixed precision and (dynamic) loss scaling.")
    bf16 = ctx.model(DeepSpeedBF16Config, "BFLOAT16 mixed precision.")
    bfloat16 = dict(bf16)
    bfloat16["description"] = "Old name of `bf16` (only read when `bf16` is absent)."
    bfloat16["deprecated"] = True
    bfloat16["x-satc-deprecated"] = "bf16"

    torch_autocast = _closed(
        "PyTorch autocast (torch.autocast) mixed precision.",
        {
            "enabled": _bool("Enable torch.autocast for the forward pass."),
            "dtype": _enum(dtype_aliases, "Autocast dtype (a DeepSpeed DtypeEnum spelling, e.g. bfloat16)."),
            "lower_precision_safe_modules": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "description": "Fully qualified module classes whose parameters may be cast to the lower precision.",
            },
        },
    )

    # ---- optimizer / scheduler -------------------------------------------------------
    optimizer = _closed(
        "Optimizer built by DeepSpeed (or, for `sat.*` types, by SAT).",
        {
            "type": _str(
                "Optimizer name: a DeepSpeed optimizer (Adam, AdamW, Lamb, ...), a torch.optim "
                "class, or a SAT `sat.ops.*` optimizer.",
                minLength=1,
            ),
            "params": _free_object("Keyword arguments for the optimizer constructor."),
            "legacy_fusion": _bool("Use the legacy fused-optimizer code path."),
        },
    )
    # What each `type` builds and which `params` its constructor takes (rule O1 reads it).
    optimizer["x-satc-optimizers"], schedulers = optimizer_schema.build()
    scheduler = _closed(
        "Learning-rate scheduler built by DeepSpeed.",
        {
            "type": _str(
                "Scheduler name: a deepspeed.runtime.lr_schedules class (WarmupLR, WarmupDecayLR, "
                "WarmupCosineLR, OneCycle, LRRangeTest) or a torch.optim.lr_scheduler class.",
                minLength=1,
            ),
            "params": _free_object("Keyword arguments for the scheduler constructor."),
        },
    )
    scheduler["x-satc-schedulers"] = schedulers

    # ---- activation checkpointing / profiling / logging ---------------------------------
    activation_checkpointing = _closed(
        "DeepSpeed activation checkpointing (deepspeed.checkpointing).",
        {
            "partition_activations": _bool("Partition checkpointed activations across model-parallel GPUs."),
            "contiguous_memory_optimization": _bool("Copy partitioned activations into a contiguous buffer."),
            "cpu_checkpointing": _bool("Offload partitioned activations to CPU."),
            "number_checkpoints": _int(
                "Total number of activation checkpoints (for contiguous memory).",
                minimum=1,
                nullable=True,
            ),
            "synchronize_checkpoint_boundary": _bool("Synchronize at each checkpoint boundary."),
            "profile": _bool("Log forward/backward time of each checkpointed function."),
        },
    )
    flops_profiler = _closed(
        "DeepSpeed flops profiler.",
        {
            "enabled": _bool("Enable the flops profiler (also turns on wall_clock_breakdown)."),
            "recompute_fwd_factor": _p(
                {"type": "number", "minimum": 0},
                "Fraction of the forward pass recomputed (activation checkpointing).",
            ),
            "profile_step": _int("Training step at which to profile.", minimum=1),
            "module_depth": _int("Depth of the model tree to report (-1 = all).", minimum=-1),
            "top_modules": _int("Number of top modules to report per depth.", minimum=1),
            "detailed": _bool("Print the detailed per-module profile."),
            "output_file": _str("File to write the profile to (stdout when null).", nullable=True),
        },
    )
    comms_logger = ctx.model(CommsLoggerConfig, "Communication op logger.")
    tensorboard = ctx.model(TensorBoardConfig, "TensorBoard monitor.")
    wandb = ctx.model(WandbConfig, "Weights & Biases monitor.")
    csv_monitor = ctx.model(CSVConfig, "CSV file monitor.")
    comet = ctx.model(CometConfig, "Comet monitor.")
    timers = _closed(
        "DeepSpeed timers.",
        {"throughput": ctx.model(DeepSpeedThroughputTimerConfig, "Throughput timer.")},
    )

    # ---- I/O, checkpointing, data types ---------------------------------------------------
    aio = _closed(
        "Asynchronous I/O (libaio / GDS) settings for NVMe offload and swapping.",
        {
            AIO.AIO_BLOCK_SIZE: _int("I/O block size in bytes.", minimum=1),
            AIO.AIO_QUEUE_DEPTH: _int("I/O queue depth.", minimum=1),
            AIO.AIO_INTRA_OP_PARALLELISM: _int("Number of threads per I/O operation.", minimum=1),
            AIO.AIO_SINGLE_SUBMIT: _bool("Submit I/O requests one at a time instead of in batches."),
            AIO.AIO_OVERLAP_EVENTS: _bool("Overlap I/O submission and completion."),
            AIO.AIO_USE_GDS: _bool("Use NVIDIA GPUDirect Storage (CUDA only)."),
        },
    )
    checkpoint = _closed(
        "Checkpoint saving/loading behaviour.",
        {
            CK.CHECKPOINT_TAG_VALIDATION: _enum(
                _ci_enum(CK.CHECKPOINT_TAG_VALIDATION_MODES),
                "Check that the checkpoint tag is identical on all ranks (Ignore, Warn or Fail).",
            ),
            C.LOAD_UNIVERSAL_CHECKPOINT: _bool("Load a universal (parallelism-agnostic) checkpoint."),
            C.USE_NODE_LOCAL_STORAGE_CHECKPOINT: _bool(
                "Every node saves its checkpoint part to node-local storage."
            ),
            C.CHECKPOINT_PARALLEL_WRITE: _closed(
                "Parallel checkpoint writing.",
                {
                    C.CHECKPOINT_PARALLEL_WRITE_PIPELINE_STAGE: _bool(
                        "Write pipeline-stage checkpoints in parallel."
                    )
                },
            ),
            CK.CHECKPOINT_SERIALIZATION: _bool("Use torch serialization for checkpoints."),
            CK.CHECKPOINT_WRITER: _closed(
                "Checkpoint writer engine.",
                {
                    CK.CHECKPOINT_WRITER_TYPE: _enum(
                        _ci_enum(CK.CHECKPOINT_WRITER_TYPES),
                        "Writer implementation (mock, python or fast).",
                    ),
                    CK.CHECKPOINT_IO_BUFFER_SIZE: _int("I/O buffer size in bytes.", minimum=1),
                    CK.CHECKPOINT_IO_BUFFER_DOUBLE: _bool("Use double buffering for I/O."),
                    CK.CHECKPOINT_IO_STATISTICS: _bool("Show I/O statistics."),
                    CK.CHECKPOINT_DATA_PARALLEL: _enum(
                        _ci_enum(CK.CHECKPOINT_DATA_PARALLEL_UNITS),
                        "Unit of data-parallel checkpoint writing (replica, socket or machine).",
                        nullable=True,
                    ),
                    CK.CHECKPOINT_WRITER_DECOUPLED: _bool("Decouple writing from training."),
                    CK.CHECKPOINT_IO_MULTIPLIER: _int("I/O parallelism multiplier.", minimum=1),
                },
            ),
        },
    )
    data_types = _closed(
        "Data types used for gradient accumulation, parameters and buffers.",
        {
            C.GRAD_ACCUM_DTYPE: _enum(
                _DTYPE_SHORT, "Gradient accumulation dtype (model dtype when null).", nullable=True
            ),
            C.PARAM_DTYPE: _enum(
                _DTYPE_SHORT,
                "Parameter dtype; must match the enabled fp16/bf16 mode.",
                nullable=True,
            ),
            C.BUFFER_DTYPE: _enum(
                _DTYPE_SHORT,
                "Buffer dtype (buffers keep their loaded dtype when null).",
                nullable=True,
            ),
            C.KEEP_IN_FP32_MODULES: {
                "type": "array",
                "items": {"type": "string"},
                "description": "Name patterns of modules whose buffers stay fp32 under fp16/bf16 "
                '(omit for "auto": the model\'s _keep_in_fp32_modules).',
            },
        },
    )

    # ---- engines / parallelism ---------------------------------------------------------
    hybrid_engine = ctx.model(rc.HybridEngineConfig, "Hybrid engine (RLHF training + generation).")
    compile_cfg = ctx.model(CompileConfig, "torch.compile / DeepCompile settings.")
    tensor_parallel = ctx.model(TPTrainingConfig, "Automatic tensor parallelism (AutoTP) for training.")
    weight_quantization = ctx.model(WeightQuantConfig, "Weight quantization.")
    pipeline = _closed(
        "Pipeline-parallel engine settings (only used with a PipelineModule).",
        {
            "stages": _int(
                "Number of pipeline stages (informational; the PipelineModule decides).", minimum=1
            ),
            "partition": _str(
                "Layer partitioning method (informational; the PipelineModule decides).",
                minLength=1,
            ),
            "seed_layers": _bool("Use a different random seed per layer (informational)."),
            "activation_checkpoint_interval": _int(
                "Checkpoint activations every N layers (0 = off).", minimum=0
            ),
            "pipe_partitioned": _bool("Partition activations sent between pipeline stages."),
            "grad_partitioned": _bool("Partition gradients sent between pipeline stages."),
            "use_reentrant": _bool("Use reentrant activation checkpointing."),
        },
    )

    comm_dtype = _DTYPE_SHORT

    props: dict[str, Any] = {
        C.TRAIN_BATCH_SIZE: _int(
            "Global batch size: micro batch x gradient accumulation x data-parallel size.",
            minimum=1,
        ),
        C.TRAIN_MICRO_BATCH_SIZE_PER_GPU: _int("Batch size processed by one GPU in one step.", minimum=1),
        C.GRADIENT_ACCUMULATION_STEPS: _int("Number of steps to accumulate gradients over.", minimum=1),
        C.MANAGED_GRADIENT_ACCUMULATION: _bool(
            "DeepSpeed tracks micro-steps and steps on the accumulation boundary (false: the client does)."
        ),
        C.STEPS_PER_PRINT: _int("Print progress every N steps (null: never).", minimum=1, nullable=True),
        C.DUMP_STATE: _bool("Print the DeepSpeed state after initialization."),
        C.DISABLE_PYTHON_GC: _bool("Disable automatic Python cyclic garbage collection during training."),
        C.DISABLE_ALLGATHER: _bool("Disable allgather (use broadcast)."),
        C.COMMUNICATION_DATA_TYPE: _enum(
            comm_dtype, "Data type for gradient communication (null: derived).", nullable=True
        ),
        C.SEQ_PARALLEL_COMMUNICATION_DATA_TYPE: _enum(
            comm_dtype, "Gradient communication data type for sequence parallelism.", nullable=True
        ),
        C.PRESCALE_GRADIENTS: _bool("Scale gradients before allreduce."),
        C.GRADIENT_PREDIVIDE_FACTOR: _p(
            {"type": "number", "exclusiveMinimum": 0},
            "Divide gradients by this factor before allreduce.",
        ),
        C.GRADIENT_ALLREDUCE_OP: _enum(
            list(C.GRADIENT_ALLREDUCE_OP_SUPPORTED),
            "Gradient reduction across data-parallel ranks (mean or sum).",
        ),
        "zero_optimization": zero,
        "activation_checkpointing": activation_checkpointing,
        "comms_logger": comms_logger,
        "tensorboard": tensorboard,
        "wandb": wandb,
        "csv_monitor": csv_monitor,
        "comet": comet,
        C.GRADIENT_CLIPPING: _p({"type": "number", "minimum": 0}, "Gradient norm clipping (0 disables)."),
        C.FP16: fp16,
        C.BFLOAT16: bf16,
        C.BFLOAT16_OLD: bfloat16,
        C.TORCH_AUTOCAST: torch_autocast,
        C.OPTIMIZER: optimizer,
        C.SCHEDULER: scheduler,
        C.ZERO_ALLOW_UNTESTED_OPTIMIZER: _bool("Allow ZeRO with an optimizer DeepSpeed has not tested."),
        C.ZERO_FORCE_DS_CPU_OPTIMIZER: _bool(
            "Force DeepSpeed's CPU optimizer when offloading the optimizer."
        ),
        "flops_profiler": flops_profiler,
        C.WALL_CLOCK_BREAKDOWN: _bool("Print forward/backward/step timing breakdowns."),
        C.MEMORY_BREAKDOWN: _bool("Print memory usage breakdowns."),
        "autotuning": _free_object("DeepSpeed autotuner settings (launcher-side, free-form)."),
        C.USE_DATA_BEFORE_EXPERT_PARALLEL: _bool(
            "Create data-parallel groups before expert-parallel groups."
        ),
        "hybrid_engine": hybrid_engine,
        "pipeline": pipeline,
        "data_efficiency": _free_object(
            "Data efficiency library (data sampling, curriculum learning, random-LTD), free-form."
        ),
        C.CHECKPOINT: checkpoint,
        C.DATA_TYPES: data_types,
        AIO.AIO: aio,
        C.DATALOADER_DROP_LAST: _bool("Drop the last incomplete batch of the DeepSpeed dataloader."),
        C.LOG_LEVEL: _enum(sorted(log_levels), "DeepSpeed logger level.", nullable=True),
        "datastates_ckpt": _free_object("DataStates asynchronous checkpointing (free-form)."),
        "weight_quantization": weight_quantization,
        "compile": compile_cfg,
        "timers": timers,
        "tensor_parallel": tensor_parallel,
        rc.EXPERT_PARALLEL: _free_object("AutoEP expert parallelism for MoE models (free-form)."),
        C.VOCABULARY_SIZE: _int("Vocabulary size (only checked for tensor-core alignment).", minimum=1),
        "sequence_parallel_size": _int(
            "Sequence-parallel degree (read by deepspeed.initialize for the device mesh).",
            minimum=1,
        ),
        "data_parallel_size": _int(
            "Data-parallel degree (read by deepspeed.initialize for the device mesh).", minimum=1
        ),
        "allgather_size": {
            "type": "number",
            "multipleOf": 1,
            "minimum": 0,
            "description": "Legacy allgather size, only read with the legacy boolean zero_optimization form.",
            "deprecated": True,
            "x-satc-deprecated": "zero_optimization.allgather_bucket_size",
        },
    }
    for key, message in rc._REMOVED_TOP_LEVEL_CONFIG_KEYS.items():
        props[key] = {
            "not": {},
            "description": "Removed in DeepSpeed 0.19: " + _clean(message),
            "x-satc-removed": message,
        }

    # ---- misplaced keys -------------------------------------------------------------------
    owners: dict[str, list[str]] = {}
    for section in _MISPLACED_SECTIONS:
        for name, sub in props[section]["properties"].items():
            if "x-satc-removed" in sub:
                continue
            owners.setdefault(name, []).append(section)
    misplaced: dict[str, str] = {}
    for name, sections in owners.items():
        if name in props or name in _MISPLACED_STOPLIST or len(sections) != 1:
            continue
        misplaced[name] = f"{sections[0]}.{name}"
    for name, target in _MISPLACED_RENAMED.items():
        if name not in props:
            misplaced[name] = target
    for name in sorted(misplaced):
        props[name] = {"x-satc-misplaced": misplaced[name]}

    def enabled_true() -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["enabled"],
            "properties": {"enabled": {"const": True}},
        }

    def zero_stage_in(stages: list[int]) -> dict[str, Any]:
        return {
            "required": ["zero_optimization"],
            "properties": {
                "zero_optimization": {
                    "required": ["stage"],
                    "properties": {"stage": {"enum": stages}},
                }
            },
        }

    def flag_true(section: str, flag: str) -> dict[str, Any]:
        return {
            "required": [section],
            "properties": {
                section: {
                    "type": "object",
                    "required": [flag],
                    "properties": {flag: {"const": True}},
                }
            },
        }

    rules: list[dict[str, Any]] = [
        {
            "not": {
                "required": ["fp16", "bf16"],
                "properties": {"fp16": enabled_true(), "bf16": enabled_true()},
            },
            "description": "fp16 and bf16 cannot both be enabled.",
        },
        {
            "not": {
                "required": [C.GRADIENT_ALLREDUCE_OP, "zero_optimization"],
                "properties": {
                    C.GRADIENT_ALLREDUCE_OP: {"const": "sum"},
                    "zero_optimization": {
                        "required": ["stage"],
                        "properties": {"stage": {"const": 3}},
                    },
                },
            },
            "description": "gradient_allreduce_op 'sum' is not supported with ZeRO stage 3.",
        },
        {
            "if": flag_true("fp16", "fp16_master_weights_and_grads"),
            "then": zero_stage_in([1, 2, 3]),
            "description": "fp16.fp16_master_weights_and_grads needs ZeRO stage 1, 2 or 3.",
        },
        {
            "if": flag_true("bf16", "bf16_master_weights_and_grads"),
            "then": zero_stage_in([1, 2, 3]),
            "description": "bf16.bf16_master_weights_and_grads needs ZeRO stage 1, 2 or 3.",
        },
        {
            "if": flag_true("bf16", "bf16_optimizer_states"),
            "then": {
                "allOf": [
                    zero_stage_in([1, 2, 3]),
                    flag_true("bf16", "bf16_master_weights_and_grads"),
                ]
            },
            "description": "bf16.bf16_optimizer_states needs ZeRO stage 1-3 and bf16_master_weights_and_grads.",
        },
    ]

    fragment: dict[str, Any] = {
        "type": "object",
        "description": f"DeepSpeed {DEEPSPEED_VERSION} configuration (the dict passed to deepspeed.initialize).",
        "x-satc-deepspeed-version": DEEPSPEED_VERSION,
        "additionalProperties": False,
        "properties": props,
        "allOf": rules,
    }
    _check(fragment)
    ordered: dict[str, Any] = json.loads(json.dumps(fragment, sort_keys=True))
    return ordered


def _check(fragment: dict[str, Any]) -> None:
    """Generator self-checks: every property is described; no 'auto' slipped into an enum."""

    def walk(schema: Any, path: str) -> None:
        if isinstance(schema, dict):
            for name, sub in schema.get("properties", {}).items():
                here = f"{path}.{name}" if path else name
                if "x-satc-misplaced" not in sub and not sub.get("description"):
                    raise RuntimeError(f"{here}: no description")
                walk(sub, here)
            if "auto" in schema.get("enum", []) or schema.get("const") == "auto":
                raise RuntimeError(f"{path}: accepts 'auto'")

    walk(fragment, "")


if __name__ == "__main__":
    json.dump(build(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
