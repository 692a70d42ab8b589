"""Resolve stage: a validated tree -> a frozen Plan, by the rules R1-R8, D1-D8 (docs/rules.md)."""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

from . import resources, rules
from .errors import ConfigError
from .load import LoadedConfig
from .plan import Derivation, Plan, Topology


def _defaults(section: str) -> dict[str, Any]:
    properties = resources.schema()["properties"][section]["properties"]
    return {name: copy.deepcopy(sub["default"]) for name, sub in properties.items() if "default" in sub}


def resolve(config: LoadedConfig, input_names: tuple[str, ...] = ()) -> Plan:
    """Apply every rule; raise ConfigError with all rule violations together."""
    tree = config.tree
    args = {**_defaults("args"), **copy.deepcopy(tree.get("args") or {})}
    launch = {**_defaults("launch"), **copy.deepcopy(tree.get("launch") or {})}
    work = rules.Work(config=config, args=args, launch=launch, input_names=input_names)
    defaults = [
        Derivation(f"args.{name}", "default", "SAT's argparse default")
        for name in args
        if ("args", name) not in config.origin
    ]
    for rule in rules.ORDER:
        rule(work)
        if work.errors and rule is rules.TOPOLOGY_GATE:
            break  # later rules need a valid topology
    if work.errors:
        # Every problem at once: the warnings found so far (a model-family rule beside an
        # error) belong to the same fix-up pass.
        raise ConfigError(work.errors + work.warnings)
    return Plan(
        args=MappingProxyType(copy.deepcopy(work.args)),
        model_config=copy.deepcopy(tree.get("model")),
        data_config=copy.deepcopy(tree.get("data")),
        deepspeed_config=copy.deepcopy(work.deepspeed),
        topology=Topology(**work.topology),
        launch=MappingProxyType(copy.deepcopy(work.launch)),
        derivations=tuple(defaults + work.derivations),
        warnings=tuple(work.warnings),
    )
