"""Resolve stage: a validated tree -> a frozen Plan, by the rules R1-R8, D1-D8 (docs/rules.md)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import MappingProxyType
from typing import Any

from . import resources, rules, trust
from .errors import ConfigError
from .load import LoadedConfig
from .plan import Derivation, Plan, Topology
from .project import select
from .project.builtin import builtin_project
from .project.facts import Project
from .project.schema import args_defaults
from .rules.get_args import SEED_RULES


def _defaults(section: str) -> dict[str, Any]:
    properties = resources.schema()["properties"][section]["properties"]
    return {name: copy.deepcopy(sub["default"]) for name, sub in properties.items() if "default" in sub}


# Dests satc computes itself (the schema's x-satc-computed).
COMPUTED = tuple(
    name
    for name, sub in resources.schema()["properties"]["args"]["properties"].items()
    if "x-satc-computed" in sub
)


def _default_reason(project: Project, name: str) -> str:
    argument = project.arguments.get(name)
    if argument is None:
        return "satc's default"
    return f"the project's argparse default, {argument.source}"


def _injected(project: Project, work: rules.Work, model_config: Any) -> Any:
    """G5: values the project's get_args copies from args into `model_config`, as the
    namespace its get_args produces holds them."""
    injects = project.get_args.injects_model_config
    if not injects or not isinstance(model_config, dict):
        return model_config
    for dest, spec in sorted(injects.items()):
        origin, source = str(spec.get("from", "")), spec.get("source", project.get_args.source)
        name = origin.removeprefix("args.")
        if origin.startswith("args.") and name in work.args:
            node = model_config
            *parents, leaf = dest.split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    node[part] = {}  # OmegaConf creates the path the assignment names
                node = node[part]
            node[leaf] = copy.deepcopy(work.args[name])
            work.derivations.append(
                Derivation(
                    f"model.{dest}", "G5", f"the project's get_args copies args.{name} here ({source})"
                )
            )
        else:
            work.warn(
                "model",
                f"the project's get_args sets model_config.{dest} = {origin} ({source}): satc cannot "
                "reproduce it [G5]",
                "check the compiled model_config against the project's own get_args",
            )
    return model_config


def _layer_only(project: Any, name: str) -> bool:
    """A key the project's code reads from args.base's files but its loader does not set on
    the namespace (``if hasattr(args, key)``): the layers carry it, args does not."""
    layers = project.get_args.base_layers or {}
    return (
        name in layers.get("args_keys", {})
        and name not in project.arguments
        and project.get_args.args_assignment == "hasattr"
    )


def _dropped_model_copy(project: Any, name: str, tree: dict[str, Any]) -> bool:
    """An args key the loader drops (validate warned: it repeats a model: key)."""
    model = tree.get("model")
    return (
        name not in project.arguments
        and project.get_args.args_assignment == "hasattr"
        and isinstance(model, dict)
        and name in model
    )


def resolve(
    config: LoadedConfig,
    input_names: tuple[str, ...] = (),
    observe: Callable[[rules.Rule, rules.Work], AbstractContextManager[Any]] | None = None,
) -> Plan:
    """Apply every rule; raise ConfigError with all rule violations together.  ``observe``
    (compiler/hidden.py) wraps each rule's run, to see what it reads and reports."""
    tree = config.tree
    project = select.for_config(config)
    argparse_defaults = args_defaults(project)
    section = tree.get("args")
    given = {
        name: copy.deepcopy(value)
        for name, value in (section if isinstance(section, dict) else {}).items()
        if not (name in COMPUTED and value in (None, {}, []))  # validate warned: satc computes it
        and not _layer_only(project, name)
        and not _dropped_model_copy(project, name, tree)
    }
    if project.origin != "builtin" and project.get_args.args_assignment == "hasattr":
        # `if hasattr(args, key)` drops what the parser does not declare: a later
        # CogVideoX's argument in an older tree's config (validate warned) is not in its
        # namespace, and no rule judges a value the project never sees.
        later = builtin_project().arguments
        given = {
            name: value for name, value in given.items() if name in argparse_defaults or name not in later
        }
    args = {**argparse_defaults, **given}
    launch = {**_defaults("launch"), **copy.deepcopy(tree.get("launch") or {})}
    work = rules.Work(config=config, args=args, launch=launch, input_names=input_names)
    defaults = [
        Derivation(f"args.{name}", "default", _default_reason(project, name))
        for name in args
        if ("args", name) not in config.origin
    ]
    for rule in rules.ORDER:
        if observe is None:
            rule(work)
        else:
            with observe(rule, work):
                rule(work)
        # Later rules need a valid topology.  An observed run (hidden.py) goes on past
        # errors of other rules, which it drops when they read a refused key.
        if rule is rules.TOPOLOGY_GATE and (work.errors if observe is None else not work.topology):
            break
    if work.errors:
        refused, trusted = trust.split(config, work.errors)
        if refused:
            # Every problem at once: the warnings found so far (a model-family rule beside
            # an error) belong to the same fix-up pass.
            raise ConfigError(refused + work.warnings + trusted)
        work.warnings.extend(trusted)  # satc.trust: reviewed, recorded in provenance
    model_config = copy.deepcopy(tree.get("model"))
    model_config = _injected(project, work, model_config)
    return Plan(
        args=MappingProxyType(copy.deepcopy(work.args)),
        model_config=model_config,
        data_config=copy.deepcopy(tree.get("data")),
        deepspeed_config=copy.deepcopy(work.deepspeed),
        topology=Topology(**work.topology),
        launch=MappingProxyType(copy.deepcopy(work.launch)),
        derivations=tuple(defaults + work.derivations),
        warnings=tuple(work.warnings),
        seed_rule=project.get_args.seed_rule
        if project.get_args.seed_rule in SEED_RULES
        else "data_parallel_rank",
        sections=_own_sections(project, tree),
        data_checks=tuple(work.data_checks),
    )


# Sections the plan already carries in fields of their own.
_CARRIED = ("model_config", "data_config", "deepspeed_config")


def _own_sections(project: Project, tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The project's own top-level sections its loader moves onto an args attribute
    (``args.pose_config = config.pop("pose")``), as that attribute: {dest: {"tree", "converts"}}."""
    out: dict[str, dict[str, Any]] = {}
    for name, section in sorted(project.sections.items()):
        if section.kind != "attribute" or not section.dest or section.dest in _CARRIED:
            continue
        if name in tree:
            out[section.dest] = {"tree": copy.deepcopy(tree[name]), "converts": section.converts}
    return out
