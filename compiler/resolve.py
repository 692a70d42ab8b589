"""Resolve stage: a validated tree -> a frozen Plan, by the rules of SPEC R1-R8, D1-D8."""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

from . import resources, rules
from .errors import ConfigError
from .load import LoadedConfig
from .plan import Derivation, Plan, Topology

# The order of CogVideoX's get_args: presets before R3/R7, R7 before R6 (so a given
# DeepSpeed section overrides the auto-fp16), topology before the batch triad.
RULES = (
    rules.r1_iterations,
    rules.r2_data_weights,
    rules.r4_deepspeed_by_mode,
    rules.r5_choose_preset,
    rules.r3_exclusive_precision,
    rules.r7_auto_fp16,
    rules.r8_activation_checkpointing,
    rules.r5_args_into_preset,
    rules.r6_deepspeed_section_wins,
    rules.d3_zero_stage_sync,
    rules.r11_r12_topology,
    rules.d4_batch_triad,
    rules.d5_seed,
    rules.d8_cpu_backend,
    rules.r9_device,
    rules.launch_rendezvous,
    rules.launch_environment,
    rules.record_inputs,
)


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
    for rule in RULES:
        rule(work)
        if work.errors and rule is rules.r11_r12_topology:
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
    )
