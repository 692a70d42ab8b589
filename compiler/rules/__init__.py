"""The derivation rules, one small function each, named after the rule it implements.

Every rule reads and writes a `Work` (the plan being built) and records why it set a
value, so `satc explain` can tell the user. Modules group the rules by concern; `ORDER`
is the one place that says in which order they run.
"""

from __future__ import annotations

from collections.abc import Callable

from . import (
    batch,
    data_paths,
    deepspeed,
    get_args,
    inputs,
    iterations,
    launch,
    launch_time,
    layers,
    optimizer,
    placeholders,
    precision,
    resume,
    sat_import,
    seed,
    slurm,
    topology,
)
from .models import cogvideox
from .work import Work

Rule = Callable[[Work], None]

# The order of CogVideoX's get_args: presets before R3/R7, R7 before R6 (so a given
# DeepSpeed section overrides the auto-fp16), topology before the batch triad.
ORDER: tuple[Rule, ...] = (
    iterations.r1_iterations,
    iterations.r2_data_weights,
    deepspeed.r4_deepspeed_by_mode,
    deepspeed.r5_choose_preset,
    precision.r3_exclusive_precision,
    precision.r7_auto_fp16,
    deepspeed.r8_activation_checkpointing,
    deepspeed.r5_args_into_preset,
    deepspeed.r6_deepspeed_section_wins,
    deepspeed.d3_zero_stage_sync,
    optimizer.o1_optimizer,
    optimizer.o2_scheduler,
    launch.entrypoint_by_mode,  # before G1/G2: they judge the script a rank starts
    sat_import.v1_vendored_sat_incomplete,
    get_args.g1_project_get_args,
    cogvideox.cogvideox_parallel_rules,
    topology.r11_r12_topology,
    get_args.g6_world_division,
    batch.b1_global_batch,
    batch.d4_batch_triad,
    seed.d5_seed,
    topology.d8_cpu_backend,
    topology.r9_device,
    launch.launch_rendezvous,
    iterations.t1_training_data,
    data_paths.t2_data_paths,
    launch.launch_environment,
    launch_time.l1_args_from_env,
    resume.c1_resume,
    slurm.slurm_resources,
    inputs.record_inputs,
    layers.l1_shadowed_layer,
    placeholders.m26_placeholders,
    deepspeed.o1_offload_client_optimizer,  # after the topology gate: reported with the rest
    deepspeed.mk1_misplaced_keys,
    deepspeed.z3_sat_model_under_zero3,
    cogvideox.cogvideox_rules,
)

# Later rules read the topology: stop after it when it is invalid.
TOPOLOGY_GATE: Rule = topology.r11_r12_topology

__all__ = ["ORDER", "TOPOLOGY_GATE", "Rule", "Work"]
