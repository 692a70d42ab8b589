"""satc explain: each value of a plan with its final source and what it replaced.

A value comes from one of: a config file (file:line:col), a `--set`, a default
(the project's argparse default with its file:line, satc's launch default, a DeepSpeed preset) or a derivation
rule of docs/rules.md (R*/D*) with its inputs.  When a rule changed a value the configs
set, both are shown; the earlier layers a value overrode are listed too.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, Location, Problem
from ..load import LoadedConfig
from ..plan import Derivation, Plan
from ..project import select
from ..resources import schema
from ..rules.models.cogvideox import checks_for as model_checks
from ..rules.models.targets import parameter_of
from ..rules.resume import unset_default
from ..suggest import closest
from .summary import describe, precision

# Plan sections a key may start with, and the config section each one comes from.
CONFIG_SECTION = {
    "args": "args",
    "deepspeed": "deepspeed",
    "launch": "launch",
    "model": "model",
    "data": "data",
    "topology": None,
}
# Short keys (`lr`) are looked up in these sections, in this order.
SHORT_KEY_SECTIONS = ("args", "deepspeed", "topology", "launch")
# Topology sizes copied from the launch section or args (no rule computes them).
COPIED = {
    "topology.nodes": "launch.nodes",
    "topology.gpus_per_node": "launch.gpus_per_node",
    "topology.model_parallel_size": "args.model_parallel_size",
}
# Values set by satc without a rule of their own.
RECORDED = {
    "args.base": "the input configs, relative to the bundle (CogVideoX's --base)",
    "args.deepspeed_config": "the emitted DeepSpeed config (see the deepspeed.* keys)",
}
# Rules that set a value whatever the configs say (B1 derives the accumulation from the
# pinned global batch): they are the source even when a config happens to agree.
DECIDES = frozenset({"B1"})
SUMMARY_KEYS = (
    "args.mode",
    "args.fp16",
    "args.bf16",
    "args.zero_stage",
    "deepspeed.train_micro_batch_size_per_gpu",
    "deepspeed.gradient_accumulation_steps",
    "deepspeed.train_batch_size",
    "topology.world_size",
    "topology.model_parallel_size",
    "topology.data_parallel_size",
    "topology.context_parallel_size",
    "launch.target",
    "launch.device",
)
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# The whole grammar: name ('.' name | '[' digits ']')*.  parse_key alone would
# silently skip what it cannot read (`args..lr` -> args.lr), so keys are checked first.
_KEY = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[\d+\])*")

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Source:
    kind: str  # "file", "set", "default", "rule", "copy" (topology sizes) or "recorded"
    where: str  # file:line:col, "--set KEY", the default's name, or the rule (R6, D4 ...)
    reason: str = ""
    inputs: tuple[tuple[str, Any, str], ...] = ()  # (key, value, its short source)

    def as_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"kind": self.kind, "where": self.where}
        if self.reason:
            item["reason"] = self.reason
        if self.inputs:
            item["inputs"] = [{"key": k, "value": v, "source": s} for k, v, s in self.inputs]
        return item


@dataclass(frozen=True)
class Explanation:
    key: str
    value: Any
    source: Source
    given: Source | None = None  # where the configs set it, when a rule then had the last word
    given_value: Any = None
    overrode: tuple[str, ...] = ()  # earlier layers that set it
    earlier_rules: tuple[Derivation, ...] = ()
    checks: tuple[str, ...] = ()  # model rules that read this value (docs/model-rules.md)

    def as_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "key": self.key,
            "value": self.value,
            "source": self.source.as_dict(),
            "overrode": list(self.overrode),
        }
        if self.given is not None:
            item["given"] = {**self.given.as_dict(), "value": self.given_value}
        if self.earlier_rules:
            item["earlier_rules"] = [{"rule": d.rule, "reason": d.reason} for d in self.earlier_rules]
        if self.checks:
            item["checked_by"] = list(self.checks)
        return item


def parse_key(key: str) -> Path:
    """'deepspeed.optimizer.params.betas[0]' -> ('deepspeed', 'optimizer', ..., 'betas', 0)."""
    parts: list[str | int] = []
    for name, index in _PART.findall(key):
        parts.append(int(index) if index else name)
    return tuple(parts)


def malformed(key: str) -> str | None:
    """Why ``key`` is not a well-formed dotted key, or None when it is."""
    if _KEY.fullmatch(key):
        return None
    if not key.strip("."):
        return "empty key"
    if key.count("[") != key.count("]") or re.search(r"\[[^\]]*\[|\][^\[]*\]", key):
        return "unbalanced brackets"
    if re.search(r"\[(?!\d+\])", key):
        return "an index must be a non-negative integer, as in betas[0]"
    if key.startswith(".") or key.endswith(".") or ".." in key:
        return "empty segment (a leading, trailing or doubled '.')"
    return "malformed key; keys look like args.lr or deepspeed.optimizer.params.betas[0]"


def _repaired(key: str) -> str:
    """``key`` with empty segments and stray brackets dropped: a did-you-mean candidate."""
    text = ""
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", key):
        if index:
            text += f"[{index}]" if text else ""
        else:
            text += f".{name}" if text else name
    return text


def _section_values(plan: Plan) -> dict[str, Any]:
    return {
        "args": dict(plan.args),
        "deepspeed": plan.deepspeed_config,
        "topology": plan.topology.as_dict(),
        "launch": dict(plan.launch),
        "model": plan.model_config,
        "data": plan.data_config,
    }


def _lookup(node: Any, path: Path) -> tuple[bool, Any]:
    for part in path:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            return False, None
        node = node[part]
    return True, node


def _config_path(path: Path) -> Path | None:
    section = CONFIG_SECTION.get(str(path[0]))
    return (section, *path[1:]) if section else None


def _location_source(location: Location) -> Source:
    label = str(location)
    return Source("set" if label.startswith("--set ") else "file", label)


def _argument_of(config: LoadedConfig, path: tuple[str | int, ...]) -> list[str]:
    """For an `args` key: the project's argument that reads it, and where."""
    if len(path) != 2 or path[0] != "args" or not isinstance(path[1], str):
        return []
    argument = select.for_config(config).arguments.get(path[1])
    if argument is None:
        return []
    return [f"the project's parser: {', '.join(argument.flags) or argument.dest}, {argument.source}"]


class Explainer:
    """Answers `where did KEY come from` for one compiled plan."""

    def __init__(self, config: LoadedConfig, plan: Plan) -> None:
        self.config = config
        self.plan = plan
        self.values = _section_values(plan)
        self.rules: dict[str, list[Derivation]] = {}
        for derivation in plan.derivations:
            self.rules.setdefault(derivation.key, []).append(derivation)

    def value(self, path: Path) -> tuple[bool, Any]:
        found = self._plan_value(path)
        if not found[0]:
            default = self._unset_default(_dotted(path)) if path else None
            if default is not None:
                return True, default[0]
        return found

    def _plan_value(self, path: Path) -> tuple[bool, Any]:
        if not path or str(path[0]) not in self.values:
            return False, None
        return _lookup(self.values[str(path[0])], path[1:])

    def resolve_keys(self, key: str) -> list[str]:
        """A dotted key, or a short one (`lr`, `train_batch_size`) -> full keys that exist."""
        reason = malformed(key)
        if reason:
            raise self._malformed(key, reason)
        path = parse_key(key)
        if path and str(path[0]) in CONFIG_SECTION:
            if not self.value(path)[0]:
                raise self._unset(key) if _in_schema(path) else self._unknown(key)
            return [key]
        found = [f"{section}.{key}" for section in SHORT_KEY_SECTIONS if self.value((section, *path))[0]]
        if not found:  # a leaf name anywhere: `betas`, `stage`
            found = [name for name in self._all_keys() if name.endswith(f".{key}")]
        if not found:
            raise self._unknown(key)
        return found

    def _malformed(self, key: str, reason: str) -> ConfigError:
        # Suggest what the key reads as without its stray characters, if that exists.
        repaired = _repaired(key)
        guess = None
        if repaired and repaired not in CONFIG_SECTION:  # a bare section is no suggestion
            try:
                guess = self.resolve_keys(repaired)[0]
            except ConfigError:
                guess = self._guess(repaired)
        hint = f"did you mean {guess}?" if guess else "keys look like args.lr or deepspeed.train_batch_size"
        return ConfigError([Problem(None, key or "''", f"malformed key: {reason}", hint=hint)])

    def _all_keys(self) -> list[str]:
        names: list[str] = []
        for section in CONFIG_SECTION:
            values = self.values[section]
            if isinstance(values, dict):
                names += [f"{section}.{name}" for name in _flat_keys(values)]
        return names

    def _guess(self, key: str) -> str | None:
        """The existing key ``key`` most likely meant."""
        names = self._all_keys()
        section, _, rest = key.partition(".")
        inside = [n[len(section) + 1 :] for n in names if n.startswith(f"{section}.")]
        inside += sorted(set(_schema_keys(section)) - set(inside))  # keys a plan may leave unset
        guess = closest(rest, inside) if rest and inside else None
        if guess:
            return f"{section}.{guess}"
        return closest(key, names) or closest(key, [n.rpartition(".")[2] for n in names])

    def _unset_default(self, key: str) -> tuple[Any, str, str, tuple[str, ...]] | None:
        if not self.plan.training:
            return None
        total = (self.plan.deepspeed_config or {}).get("train_batch_size")
        return unset_default(key, dict(self.plan.args), dict(self.plan.launch), total)

    def _unset(self, key: str) -> ConfigError:
        # A key of satc's schema that this plan leaves unset: naming another key that
        # happens to exist would send the user to the wrong value.
        return ConfigError(
            [
                Problem(
                    None,
                    key,
                    "not set in this plan: satc knows the key, but no config or rule gave it a value",
                    hint=f"set it in a config or with --set {key}=VALUE and compile again",
                )
            ]
        )

    def _unknown(self, key: str) -> ConfigError:
        guess = self._guess(key)
        return ConfigError(
            [
                Problem(
                    None,
                    key,
                    "no such key in the compiled plan",
                    hint=f"did you mean {guess}?"
                    if guess
                    else "keys look like args.lr or deepspeed.train_batch_size",
                )
            ]
        )

    def short_source(self, key: str) -> str:
        source = self.explain(key, nested=True).source
        if source.kind == "rule":
            return f"rule {source.where}"
        return source.where

    def _rule_source(self, derivation: Derivation, nested: bool) -> Source:
        inputs = []
        # One level of inputs only: rules read each other (R5 <-> D3), so deeper is a cycle.
        for name in () if nested else derivation.inputs:
            found, value = self.value(parse_key(name))
            where = "absent" if not found else (self.short_source(name) if name != derivation.key else "")
            inputs.append((name, value if found else None, where))
        return Source("rule", derivation.rule, derivation.reason, tuple(inputs))

    def explain(self, key: str, nested: bool = False) -> Explanation:
        found = self._explain(key, nested)
        path = parse_key(found.key)
        checks = tuple(
            _argument_of(self.config, path)
            + parameter_of(self.config, path)
            + model_checks(found.key, self.config.tree)
        )
        return dataclasses.replace(found, checks=checks) if checks else found

    def _explain(self, key: str, nested: bool = False) -> Explanation:
        path = parse_key(key)
        default = None if self._plan_value(path)[0] else self._unset_default(key)
        if default is not None:  # unset, yet its default decides what a start does
            value, rule, reason, inputs = default
            return Explanation(key, value, self._rule_source(Derivation(key, rule, reason, inputs), nested))
        _, value = self.value(path)
        config_path = _config_path(path)
        origin = self.config.origin.get(config_path) if config_path else None
        overrode = tuple(str(loc) for loc in self.config.overridden.get(config_path or (), ()))
        rules = [d for d in self.rules.get(key, []) if d.rule != "default"]
        if rules:
            last = rules[-1]
            earlier = tuple(rules[:-1])
            if origin is not None:
                given_found, given_value = _lookup(self.config.tree, config_path or ())
                if given_found and _same(given_value, value) and last.rule not in DECIDES:
                    # The configs chose it; the rule only agreed (e.g. R4 on deepspeed: true).
                    return Explanation(
                        key, value, _location_source(origin), overrode=overrode, earlier_rules=tuple(rules)
                    )
                return Explanation(
                    key,
                    value,
                    self._rule_source(last, nested),
                    _location_source(origin),
                    given_value,
                    overrode,
                    earlier,
                )
            return Explanation(
                key, value, self._rule_source(last, nested), overrode=overrode, earlier_rules=earlier
            )
        if origin is not None:
            return Explanation(key, value, _location_source(origin), overrode=overrode)
        return Explanation(key, value, self._fallback(key, path, nested))

    def _given_whole(self, config_path: Path | None) -> Location | None:
        """The location of a list (or scalar) the key sits inside; mappings merge key by
        key, so an enclosing mapping's location says nothing about this key."""
        for end in range(len(config_path or ()) - 1, 0, -1):
            prefix = (config_path or ())[:end]
            if prefix in self.config.origin:
                found, value = _lookup(self.config.tree, prefix)
                if found and not isinstance(value, dict):
                    return self.config.origin[prefix]
        return None

    def _fallback(self, key: str, path: Path, nested: bool) -> Source:
        if key in COPIED:
            source = COPIED[key]
            inputs = (
                () if nested else ((source, self.value(parse_key(source))[1], self.short_source(source)),)
            )
            return Source("copy", source, f"copied from {source}", inputs)
        if key in RECORDED:
            return Source("recorded", "satc", RECORDED[key])
        located = self._given_whole(_config_path(path))
        if located is not None:
            return _location_source(located)
        for end in range(len(path) - 1, 0, -1):  # a whole section from a preset (R5)
            prefix = _dotted(path[:end])
            for derivation in reversed(self.rules.get(prefix, [])):
                return self._rule_source(derivation, nested)
        for derivation in self.rules.get(key, []):
            return Source("default", derivation.reason)
        if path[0] == "launch":
            return Source("default", "satc's launch default")
        return Source("default", "default")


def _in_schema(path: Path) -> bool:
    """Whether ``path`` names a key of satc's own schema (section.key, or deeper)."""
    node: Any = schema()
    for part in path:
        if not isinstance(part, str) or not isinstance(node, dict):
            return False
        node = node.get("properties", {}).get(part)
        if node is None:
            return False
    return True


def _schema_keys(section: str) -> list[str]:
    """The keys satc's schema defines directly under ``section``."""
    node = schema().get("properties", {}).get(section, {})
    return list(node.get("properties", {})) if isinstance(node, dict) else []


def _flat_keys(values: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, value in values.items():
        keys.append(prefix + name)
        if isinstance(value, dict) and name != "deepspeed_config":
            keys += _flat_keys(value, f"{prefix}{name}.")
    return keys


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _same(first: Any, second: Any) -> bool:
    return json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(text) <= limit:
        return text
    if isinstance(value, dict):
        return f"{{... {len(value)} keys}}"
    if isinstance(value, list):
        return f"[... {len(value)} items]"
    return text[: limit - 3] + "..."


def _source_text(source: Source) -> str:
    if source.kind == "rule":
        return f"rule {source.where}: {source.reason}"
    if source.kind == "copy":
        return source.reason
    if source.kind == "recorded":
        return f"satc: {source.reason}"
    if source.kind == "default":
        return f"default ({source.where})"
    return source.where


def render_text(explanations: list[Explanation]) -> str:
    lines: list[str] = []
    for item in explanations:
        lines.append(f"{item.key} = {show(item.value)}")
        lines.append(f"  from {_source_text(item.source)}")
        for key, value, where in item.source.inputs:
            shown = "(absent)" if where == "absent" else show(value)
            lines.append(f"    {key} = {shown}" + (f"  ({where})" if where and where != "absent" else ""))
        if item.given is not None:
            lines.append(f"  replaced {show(item.given_value)} set at {item.given.where}")
        for derivation in item.earlier_rules:
            lines.append(f"  also rule {derivation.rule}: {derivation.reason}")
        if item.overrode:
            lines.append(f"  overrode {', '.join(item.overrode)}")
        for check in item.checks:
            lines.append(f"  checked by {check}")
    return "\n".join(lines) + "\n"


def render_summary(explainer: Explainer) -> str:
    plan = explainer.plan
    inputs = [item.label for item in explainer.config.inputs]
    inputs += [override.label for override in explainer.config.overrides]
    lines = [f"plan from {', '.join(inputs)}", describe(plan), "", "where the key values come from:"]
    rows = [(key, explainer.explain(key)) for key in SUMMARY_KEYS if explainer.value(parse_key(key))[0]]
    width = max(len(f"{key} = {show(item.value)}") for key, item in rows)
    for key, item in rows:
        left = f"{key} = {show(item.value)}"
        lines.append(f"  {left.ljust(width)}  {_source_text(item.source)}")
    return "\n".join(lines) + "\n"


def summary_document(explainer: Explainer) -> dict[str, Any]:
    plan = explainer.plan
    ds = plan.deepspeed_config
    return {
        "inputs": [item.label for item in explainer.config.inputs],
        "overrides": [f"{o.key}={o.value_text}" for o in explainer.config.overrides],
        "mode": plan.args["mode"],
        "precision": precision(plan.args),
        "zero_stage": plan.args["zero_stage"] if plan.training else None,
        "batch": None
        if ds is None
        else {
            "micro": ds.get("train_micro_batch_size_per_gpu"),
            "gradient_accumulation_steps": ds.get("gradient_accumulation_steps"),
            "data_parallel_size": plan.topology.data_parallel_size,
            "train_batch_size": ds.get("train_batch_size"),
        },
        "topology": plan.topology.as_dict(),
        "launch": {
            "target": plan.launch["target"],
            "device": plan.launch["device"],
            "entrypoint": plan.launch["entrypoint"],
        },
        "values": [
            explainer.explain(key).as_dict() for key in SUMMARY_KEYS if explainer.value(parse_key(key))[0]
        ],
    }


def render_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
