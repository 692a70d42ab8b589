"""Resolve stage: a validated tree -> a frozen Plan, by the rules R1-R8, D1-D8 (docs/rules.md)."""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

from . import resources, rules
from .errors import ConfigError
from .load import LoadedConfig
from .plan import Derivation, Plan, Topology
from .project import select
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
    return f"the project's argparse default ({argument.source})"


def resolve(config: LoadedConfig, input_names: tuple[str, ...] = ()) -> Plan:
    """Apply every rule; raise ConfigError with all rule violations together."""
    tree = config.tree
    project = select.for_config(config)
    argparse_defaults = args_defaults(project)
    given = {
        name: copy.deepcopy(value)
        for name, value in (tree.get("args") if isinstance(tree.get("args"), dict) else {}).items()
        if not (name in COMPUTED and value in (None, {}, []))  # validate warned: satc computes it
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
        rule(work)
        if work.errors and rule is rules.TOPOLOGY_GATE:
            break  # later rules need a valid topology
    if work.errors:
        raise ConfigError(work.errors)
    return Plan(
        args=MappingProxyType(copy.deepcopy(work.args)),
        model_config=copy.deepcopy(tree.get("model")),
        data_config=copy.deepcopy(tree.get("data")),
        deepspeed_config=copy.deepcopy(work.deepspeed),
        topology=Topology(**work.topology),
        launch=MappingProxyType(copy.deepcopy(work.launch)),
        derivations=tuple(defaults + work.derivations),
        warnings=tuple(work.warnings),
        seed_rule=project.get_args.seed_rule
        if project.get_args.seed_rule in SEED_RULES
        else "data_parallel_rank",
    )
