"""Generic checks of `model:` and `data:` trees against the generated target parameters.

Every mapping with a `target` is built by CogVideoX's `instantiate_from_config`
(`target(**params)`); `schemas/models.json` says what each known target accepts,
generated from the real code by tools/model_schema.py.  These checks know no model
family: a user's own model gets exactly these.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...errors import Problem, dotted
from ...load import LoadedConfig
from ...project import select
from ...project.schema import models as project_models
from ...suggest import closest, typo_of
from ...tree import value_at, yaml_text
from ..work import where

Path = tuple[str | int, ...]
BUILDER_KEYS = ("target", "params")


@dataclass(frozen=True)
class Node:
    """One `target`/`params` mapping in the tree, with the target that builds it."""

    path: Path
    target: str
    params: dict[str, Any]
    parent: str | None  # the enclosing target (or the engine, for model.*_config)
    parent_path: Path
    item_keys: tuple[str, ...] = ()  # keys the parent reads beside target/params


def _short(target: str) -> str:
    return target.rsplit(".", 1)[-1]


def problem(
    config: LoadedConfig,
    path: Path,
    rule: str,
    message: str,
    hint: str | None = None,
    severity: str = "error",
) -> Problem:
    """A located model problem; the rule id ends the message so docs/model-rules.md finds it."""
    return Problem(
        where(config, path),
        dotted(path),
        f"{message} [{rule}]",
        severity="warning" if severity == "warning" else "error",
        hint=hint,
    )


def _models(config: LoadedConfig) -> Any:
    """The engine and targets of the project ``config`` is compiled for."""
    return project_models(select.for_config(config))


def nodes(config: LoadedConfig) -> Iterator[Node]:
    """Every target node under `model:` and `data:`, outermost first."""
    models = _models(config)
    engine = (models["engine"] or {}).get("target")

    def walk(
        value: Any, path: Path, parent: tuple[str, Path] | None, item_keys: tuple[str, ...]
    ) -> Iterator[Node]:
        if isinstance(value, dict):
            here = parent
            keys: dict[str, list[str]] = {}
            target = value.get("target")
            if isinstance(target, str):
                params = value.get("params")
                yield Node(
                    path,
                    target,
                    params if isinstance(params, dict) else {},
                    parent[0] if parent else None,
                    parent[1] if parent else (),
                    item_keys,
                )
                here = (target, path)
                keys = models["targets"].get(target, {}).get("item_keys", {})
            for key, sub in value.items():
                if key == "target":
                    continue
                if key == "params" and isinstance(sub, dict):
                    for name, item in sub.items():
                        yield from walk(item, (*path, key, name), here, tuple(keys.get(name, ())))
                else:
                    yield from walk(sub, (*path, key), here, ())
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, (*path, index), parent, item_keys)

    tree = config.tree
    if isinstance(tree.get("model"), dict):
        yield from walk(tree["model"], ("model",), (engine, ("model",)) if engine else None, ())
    if isinstance(tree.get("data"), dict):
        yield from walk(tree["data"], ("data",), None, ())


def _child_key(path: Path) -> str | None:
    """The config key a node sits under (`pos_embed_config`), skipping list indices."""
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return None


def _child(config: LoadedConfig, node: Node) -> dict[str, Any]:
    """What the parent does when it builds this node: the keywords it passes itself."""
    models = _models(config)
    if node.parent is None:
        return {}
    parent = (
        models["engine"]
        if node.parent == (models["engine"] or {}).get("target")
        else models["targets"].get(node.parent)
    )
    child: dict[str, Any] = (parent or {}).get("children", {}).get(_child_key(node.path) or "", {})
    return child


def passed_by_parent(config: LoadedConfig, node: Node) -> tuple[list[str], str | None]:
    """Parameters the parent passes itself when it builds this node, and where."""
    child = _child(config, node)
    return list(child.get("passes", [])), child.get("source")


def _flow_hint(entry: dict[str, Any]) -> str:
    """Where **kwargs went: the classes that could have taken the key, in call order."""
    flow = entry.get("flow", [])
    return f"its keywords flow through {' -> '.join(_short(step) for step in flow)}" if flow else ""


def _unknown_hint(node: Node, guess: str | None, params: list[str]) -> str | None:
    """Did-you-mean, and the whole list when it is short (a typo can be closer to a wrong name)."""
    listing = f"valid: {', '.join(sorted(params))}" if len(params) <= 12 else ""
    if guess:
        mean = f"did you mean {dotted((*node.path, 'params', guess))}?"
        return f"{mean} ({listing})" if listing else mean
    return listing or None


_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "true or false"),
    ((int, float), "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "a mapping"),
)


def _kind(value: Any) -> tuple[type | tuple[type, ...], str] | None:
    for kind, name in _KINDS:
        if isinstance(value, kind):
            return kind, name
    return None


def _wrong_type(default: Any, value: Any) -> str | None:
    """What the default's type says the value should be, when the value is not that."""
    expected = _kind(default)
    if expected is None or value is None:
        return None
    kind, name = expected
    if kind is bool and value in (0, 1):
        return None  # Python takes 0 and 1 for a flag
    if isinstance(value, list | dict) and kind not in (list, dict):
        # A scalar default does not make a list wrong: classes widen one
        # (`if isinstance(transformer_depth, int): transformer_depth = [...] * n`).
        return None
    bad_bool = isinstance(value, bool) and kind is not bool
    return name if bad_bool or not isinstance(value, kind) else None


def _siblings(config: LoadedConfig, node: Node) -> list[Problem]:
    """Keys beside `target` and `params`: ignored by instantiate_from_config, or (in an
    `emb_models` item) read by the parent under their own names."""
    found: list[Problem] = []
    allowed = sorted(node.item_keys or BUILDER_KEYS)
    _, value = value_at(config.tree, node.path)
    for key in value if isinstance(value, dict) else ():
        if key in allowed:
            continue
        guess = closest(str(key), allowed)
        path = (*node.path, key)
        if node.item_keys:
            found.append(
                problem(
                    config,
                    path,
                    "M6",
                    f"{_short(node.parent or '')} never reads this key of an item of {_child_key(node.path[:-1])}",
                    f"did you mean {guess}?" if guess else f"valid keys: {', '.join(allowed)}",
                )
            )
        else:
            found.append(
                problem(
                    config,
                    path,
                    "M5",
                    "instantiate_from_config reads only target and params here; this key is ignored",
                    f"did you mean {guess}?" if guess else "move it under params",
                    "error" if guess else "warning",
                )
            )
    return found


# Packages satc reads where they are installed (and, for SAT and DeepSpeed, from its snapshot).
_READ_WHERE_INSTALLED = ("torch", "deepspeed", "sat")


def _unknown_target(config: LoadedConfig, node: Node) -> Problem | None:
    project = select.for_config(config)
    why = project.unresolved.get(node.target, {})
    external = why.get("kind") == "external"
    if external and node.target.split(".", 1)[0] in _READ_WHERE_INSTALLED:
        # torch on a compile-only install: a machine with it installed reads the class
        # and accepts the target silently, so this one does too.
        return None
    # A class in a package satc does not read is no typo of one of the project's: a
    # did-you-mean would name an unrelated class (torch.nn.Identity -> IdentityGuider).
    # Unless the package's own name is a near miss of one of the project's modules
    # (dit_video_conact -> dit_video_concat): that is a typo of a module, not a package.
    known = sorted(set(_models(config)["targets"]) | set(project.target_names))
    if external:
        top = node.target.split(".", 1)[0]
        tops = sorted({name.split(".", 1)[0] for name in known} - {top})
        if closest(top, tops) is None:
            known = []
    guess = closest(node.target, known)
    if guess is None:
        short = closest(_short(node.target), [_short(k) for k in known])
        guess = next((k for k in known if _short(k) == short), None) if short else None
    if project.origin == "scanned" and why.get("kind") == "broken":
        # The file is there but does not parse: the model build's import fails on it.
        return problem(
            config,
            (*node.path, "target"),
            "M2",
            f"target {node.target!r}: its module does not parse ({why.get('detail')}), so importing it "
            "fails when the model is built",
            f"fix the syntax error there (python -m py_compile {str(why.get('detail')).split(':', 1)[0]} shows it)",
        )
    if project.origin == "scanned" and why.get("kind") in ("missing_module", "missing_name"):
        # The project and the SAT it imports have no such module or name: the model
        # build's import fails (get_obj_from_str).
        return problem(
            config,
            (*node.path, "target"),
            "M2",
            f"unknown target {node.target!r}: {why.get('detail') or 'no such class in the project'}",
            f"did you mean {guess}?" if guess else "name a class the project or its SAT defines",
        )
    return problem(
        config,
        (*node.path, "target"),
        "M2",
        f"unknown target {node.target!r}: satc cannot check its params",
        f"did you mean {guess}?" if guess else "fine for your own class; satc checks only known targets",
        "warning",
    )


def _passed_twice(config: LoadedConfig, node: Node, key: str, passed_at: str | None) -> Problem:
    parent_params = _models(config)["targets"].get(node.parent or "", {}).get("params", {})
    overwrites = bool(_child(config, node).get("overwrites"))
    effect = "your value is replaced" if overwrites else "TypeError (multiple values) when the model is built"
    return problem(
        config,
        (*node.path, "params", key),
        "M4",
        f"{_short(node.parent or '')} passes {key} to {_short(node.target)} itself ({passed_at}): {effect}",
        f"set {dotted((*node.parent_path, 'params', key))} instead"
        if key in parent_params
        else "delete it: the parent computes it",
        # A dict entry the parent overwrites is lost silently; a keyword it passes
        # explicitly beside **params is a crash when the model is built.
        "warning" if overwrites else "error",
    )


def _typed(config: LoadedConfig, node: Node, key: str, param: dict[str, Any]) -> Problem | None:
    expected = _wrong_type(param["default"], node.params[key]) if "default" in param else None
    if expected is None:
        return None
    return problem(
        config,
        (*node.path, "params", key),
        "M8",
        f"expected {expected} (the default of {_short(param['from'])}.{key} is {yaml_text(param['default'])}, "
        f"{param['source']}), got {yaml_text(node.params[key])}",
        f"write {expected}",
    )


def _text_as_number(config: LoadedConfig, node: Node, key: str, entry: dict[str, Any]) -> list[Problem]:
    """M8 where there is no default to compare with: text where the class's code uses the
    value as a number (``torch.nn.Conv2d(in_channels, ...)``), also for the keys of a
    mapping it spreads into another class (``Encoder(**ddconfig)``)."""
    use = entry.get("uses", {}).get(key, {})
    value = node.params[key]
    owner = _short(entry["params"][key].get("from", node.target))
    found: list[Problem] = []
    if isinstance(value, str) and "numeric" in use:
        found.append(
            problem(
                config,
                (*node.path, "params", key),
                "M8",
                f"expected a number: {owner} uses {key} as one ({use['numeric']}), got {yaml_text(value)}",
                "write a number, without quotes or units",
            )
        )
    if isinstance(value, dict):
        for item, where in sorted(use.get("items_numeric", {}).items()):
            if isinstance(value.get(item), str):
                found.append(
                    problem(
                        config,
                        (*node.path, "params", key, item),
                        "M8",
                        f"expected a number: {owner} spreads {key} into a class that uses {item} as one "
                        f"({where}), got {yaml_text(value[item])}",
                        "write a number, without quotes or units",
                    )
                )
    return found


def _unknown_param(
    config: LoadedConfig, node: Node, entry: dict[str, Any], key: str, settable: list[str]
) -> Problem:
    path = (*node.path, "params", key)
    guess = typo_of(str(key), settable)
    if "swallows" in entry:
        return problem(
            config,
            path,
            "M7",
            f"ignored by {node.target}: {entry['swallows']}",
            f"did you mean {dotted((*node.path, 'params', guess))}?" if guess else "delete it",
            "warning",
        )
    flow = _flow_hint(entry)
    where = f"{_short(node.target)} ({entry['source']}) takes no parameter {key!r}"
    return problem(
        config,
        path,
        "M1",
        f"unknown parameter of {node.target}: {where}" + (f"; {flow}" if flow else ""),
        _unknown_hint(node, guess, settable),
    )


def _built_from_mapping(config: LoadedConfig, node: Node) -> bool:
    """Whether the parent takes this node out of a mapping parameter itself
    (`modules.get("pos_embed_config", ...)`, CogView3's DiT) and builds it with keywords
    the facts do not list: what it passes is unknown, so a missing one is no error."""
    entry = _models(config)["targets"].get(node.parent or "") or {}
    inside = node.path[len(node.parent_path) :]
    if len(inside) < 2 or inside[0] != "params" or not isinstance(inside[1], str):
        return False
    space = entry.get("namespaces", {}).get(inside[1])
    known = entry.get("children", {}).get(_child_key(node.path) or "")
    return bool(space) and bool(set(space.get("reads", ())) & _MAPPING_METHODS) and known is None


def _missing(config: LoadedConfig, node: Node, entry: dict[str, Any], passed: list[str]) -> list[Problem]:
    models = _models(config)
    # Under a target satc does not know, what the parent passes its children is unknown too.
    if (
        node.parent is not None
        and node.parent != (models["engine"] or {}).get("target")
        and node.parent not in models["targets"]
    ):
        return []
    if _built_from_mapping(config, node):
        return []
    params_path = (*node.path, "params")
    where = params_path if params_path in config.origin else (*node.path, "target")
    missing = [
        (key, param)
        for key, param in sorted(entry["params"].items())
        if param.get("required") and key not in node.params and key not in passed
    ]
    untraced = _untraced(config, node)
    if missing and untraced:
        # The parent builds a config with keywords satc cannot attribute to a key: it may
        # pass these itself, so their absence is no certain crash.
        return [
            problem(
                config,
                where,
                "M3",
                f"{node.target} needs {', '.join(key for key, _ in missing)}, which this config does not set; "
                f"satc could not trace what {_short(node.parent or '')} passes it ({', '.join(untraced)})",
                f"add them under {dotted(params_path)} unless {_short(node.parent or '')} passes them",
                "warning",
            )
        ]
    return [
        problem(
            config,
            where,
            "M3",
            f"missing required parameter {key!r} of {node.target} ({param['source']})",
            f"add {dotted((*params_path, key))}",
        )
        for key, param in missing
    ]


def _untraced(config: LoadedConfig, node: Node) -> list[str]:
    """Where the parent builds a child config with keywords from a config satc could not
    name, when this node's key is not among the children it did trace."""
    models = _models(config)
    engine = models["engine"] or {}
    parent = engine if node.parent == engine.get("target") else models["targets"].get(node.parent or "")
    if not parent or (_child_key(node.path) or "") in parent.get("children", {}):
        return []
    return list(parent.get("untraced", []))


def _never_built(config: LoadedConfig, node: Node) -> Problem | None:
    """M5 (warning): a config in a mapping parameter (`modules.lora_config`) that the parent
    never builds, where satc traced every child it builds: nothing instantiates it, so what
    it would need is no crash and what it sets is ignored (harshit810/cogVideoFinetuning's
    DiffusionTransformer dropped CogVideoX's LoRA block; its configs keep lora_config)."""
    entry = _models(config)["targets"].get(node.parent or "")
    inside = node.path[len(node.parent_path) :]
    if not entry or entry.get("untraced") or entry.get("open") or len(inside) != 3:
        return None
    if inside[0] != "params" or not all(isinstance(part, str) for part in inside[1:]):
        return None
    mapping, key = str(inside[1]), str(inside[2])
    built = entry.get("children", {})
    if mapping not in entry.get("params", {}) or key in built or _built_from_mapping(config, node):
        return None
    builds = ", ".join(sorted(built)) or "none"
    return problem(
        config,
        node.path,
        "M5",
        f"{_short(node.parent or '')} never builds {mapping}.{key} (it builds: {builds}): "
        "this config is ignored",
        f"delete it, or build it in {_short(node.parent or '')} ({entry['source']})",
        "warning",
    )


def check_node(config: LoadedConfig, node: Node) -> list[Problem]:
    unbuilt = _never_built(config, node)
    if unbuilt is not None:
        return [unbuilt]
    found = _siblings(config, node)
    entry = _models(config)["targets"].get(node.target)
    if entry is None:
        unknown = _unknown_target(config, node)
        return [*found, unknown] if unknown is not None else found
    params = entry["params"]
    passed, passed_at = passed_by_parent(config, node)
    settable = [name for name in params if name not in passed]
    for key in node.params:
        if key in passed:
            found.append(_passed_twice(config, node, key, passed_at))
        elif key in params:
            typed = _typed(config, node, key, params[key])
            found.extend([typed] if typed else _text_as_number(config, node, key, entry))
        elif "open" not in entry:
            found.append(_unknown_param(config, node, entry, key, settable))
    found.extend(_missing(config, node, entry, passed))
    found.extend(_namespaces(config, node, entry))
    found.extend(_heads(config, node, entry))
    return found


SAT_TRANSFORMER = "sat.model.transformer.BaseTransformer"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _heads(config: LoadedConfig, node: Node, entry: dict[str, Any]) -> list[Problem]:
    """M28: a class whose keywords reach SAT's BaseTransformer builds SAT's attention, which
    takes each head's width as ``divide(hidden_size, num_attention_heads)`` (an
    AssertionError from ensure_divisibility when the model is built) unless
    ``hidden_size_per_attention_head`` is given."""
    if SAT_TRANSFORMER not in entry.get("flow", ()):
        return []
    params = entry["params"]

    def given(key: str) -> Any:
        return node.params[key] if key in node.params else params.get(key, {}).get("default")

    if given("hidden_size_per_attention_head") is not None:
        return []
    hidden, heads = _int(given("hidden_size")), _int(given("num_attention_heads"))
    if hidden is None or heads is None or heads <= 0 or hidden % heads == 0:
        return []
    divisors = [d for d in range(1, hidden + 1) if hidden % d == 0]
    near = min(divisors, key=lambda d: (abs(d - heads), d))
    key = "num_attention_heads" if "num_attention_heads" in node.params else "hidden_size"
    return [
        problem(
            config,
            (*node.path, "params", key),
            "M28",
            f"hidden_size {hidden} does not split into {heads} attention heads: {_short(node.target)} builds "
            f"SAT's BaseTransformer ({_flow_hint(entry)}), whose attention divides hidden_size by "
            "num_attention_heads (AssertionError when the model is built)",
            f"use a num_attention_heads that divides {hidden}, such as {near}",
        )
    ]


_MAPPING_METHODS = {"get", "items", "keys", "values", "pop", "setdefault", "update"}


def _namespaces(config: LoadedConfig, node: Node, entry: dict[str, Any]) -> list[Problem]:
    """Parameters read as attributes (`transformer_args.checkpoint_activations`): a key
    nobody reads is silently dropped, so a typo there is an error."""
    found: list[Problem] = []
    for name, space in entry.get("namespaces", {}).items():
        given = node.params.get(name)
        if not isinstance(given, dict):
            continue
        reads = list(space["reads"])
        if set(reads) & _MAPPING_METHODS:
            continue  # read as a mapping (`modules.get("pos_embed_config", ...)`), not by attribute
        if space.get("open"):
            continue  # read through a table satc could not find: any key may be read
        for key in given:
            path = (*node.path, "params", name, key)
            if key in space["set_by_class"]:
                found.append(
                    problem(
                        config,
                        path,
                        "M6",
                        f"{_short(node.target)} overwrites {name}.{key} with its own {key}",
                        f"set {dotted((*node.path, 'params', key))} instead",
                        "warning",
                    )
                )
            elif key not in reads and _own_parameter(entry, name, key):
                found.append(_namespace_key_of_a_parameter(config, node, entry, name, key))
            elif key not in reads:
                guess = closest(str(key), reads)
                found.append(
                    problem(
                        config,
                        path,
                        "M6",
                        f"{_short(node.target)} and {_base_model(entry)} never read {name}.{key}: it would be ignored",
                        f"did you mean {dotted((*node.path, 'params', name, guess))}?" if guess else None,
                    )
                )
    return found


def _base_model(entry: dict[str, Any]) -> str:
    """The base class the network's arguments flow to: SAT's, or the project's own
    (suimuc/MTV_Framework keeps a BaseModel in mtv/sgm/models/base_model.py)."""
    flow = entry.get("flow") or []
    base = flow[1] if len(flow) > 1 else "sat."
    return "SAT's BaseModel" if base.startswith("sat.") else base


def _own_parameter(entry: dict[str, Any], name: str, key: Any) -> bool:
    """Whether ``key``, unread in namespace ``name``, is a parameter the class takes itself
    (its signature or where its ``**kwargs`` flow): a sibling of ``name`` in ``params``."""
    return key != name and isinstance(entry.get("params", {}).get(key), dict)


def _namespace_key_of_a_parameter(
    config: LoadedConfig, node: Node, entry: dict[str, Any], name: str, key: str
) -> Problem:
    """suimuc/MTV_Framework@5704fe6 configs/cogvideox_5b.yaml:59 puts num_layers_dual under
    transformer_args; nothing reads it there, and the project's BaseTransformer takes it as
    a keyword (mtv/sgm/models/transformer.py:997) that reaches it from the network's own
    params.  The run uses that parameter's value: where it equals the ignored one nothing
    changes (a warning, as MK1 does for DeepSpeed's misplaced keys), else an error."""
    param = entry["params"][key]
    ignored = node.params[name][key]
    # A quoted number ('0.02') stands for the number: compared and suggested as one, unquoted.
    # (Not where the parameter's own default is text: there the quotes may be meant.)
    number = None if isinstance(param.get("default"), str) else _quoted_number(ignored)
    meant = ignored if number is None else number
    unquoted = "" if number is None else " (unquoted: a number, not text)"
    given = key in node.params
    uses = node.params[key] if given else param.get("default")
    known = given or "default" in param
    where = f"{_short(param.get('from') or node.target)}'s {key} ({param.get('source', '?')})"
    sibling = (*node.path, "params", key)
    if known and uses == meant:
        return problem(
            config,
            (*node.path, "params", name, key),
            "M6",
            f"{_short(node.target)} and {_base_model(entry)} never read {name}.{key}: ignored; the run takes "
            f"{where} from {dotted(sibling)}, {'given' if given else 'by default'} the same {yaml_text(uses)}",
            f"move it to {dotted(sibling)}{unquoted}" if not given else "delete it",
            "warning",
        )
    used = f"{'the' if given else 'its default'} {yaml_text(uses)}" if known else "another value"
    return problem(
        config,
        (*node.path, "params", name, key),
        "M6",
        f"{_short(node.target)} and {_base_model(entry)} never read {name}.{key}: the run uses {used} for "
        f"{where}, read from {dotted(sibling)}",
        f"set {dotted(sibling)}: {yaml_text(meant)} instead{unquoted}",
    )


def _quoted_number(value: Any) -> int | float | None:
    """The number a YAML string spells (``'0.02'``, ``"4"``), if it spells a finite one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def check_engine(config: LoadedConfig) -> list[Problem]:
    """`model:` itself is read key by key by CogVideoX's engine (when it configures one: it
    has a `network_config`): an unread key is ignored."""
    model = config.tree.get("model")
    if not isinstance(model, dict):
        return []
    engine = _models(config)["engine"]
    if engine is None:
        return []
    keys = engine["keys"]
    if "network_config" not in model:
        return []  # not CogVideoX's engine config: the model section of another SAT model
    found = []
    for key in model:
        if key in keys:
            continue
        guess = closest(str(key), list(keys))
        # A near miss of a key the engine reads is a typo that silently drops the setting.
        found.append(
            problem(
                config,
                ("model", key),
                "M5",
                f"{_short(engine['target'])} ({engine['source']}) never reads model.{key}: it is ignored",
                f"did you mean model.{guess}?" if guess else "delete it, or read it in your own engine",
                "error" if guess else "warning",
            )
        )
    return found


def check(config: LoadedConfig) -> list[Problem]:
    found = check_engine(config)
    for node in nodes(config):
        found.extend(check_node(config, node))
    return found


def parameter_of(config: LoadedConfig, path: Path) -> list[str]:
    """For `satc explain`: the class that takes a `params` key, and where in its code."""
    if len(path) < 2 or path[-2] != "params":
        return []
    for node in nodes(config):
        if node.path == path[:-2]:
            entry = _models(config)["targets"].get(node.target)
            param = (entry or {}).get("params", {}).get(path[-1])
            if param is None:
                return []
            owner = f"{param['from']}" + (f" (via {node.target})" if param["from"] != node.target else "")
            return [f"M1: a parameter of {owner}, {param['source']}"]
    return []
