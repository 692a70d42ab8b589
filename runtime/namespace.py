"""Bundle + this process's environment -> the argparse.Namespace CogVideoX's get_args returns.

Pure: no torch, no sockets, no writes.  Per-process fields follow the reference
(seed/000: get_args and initialize_distributed) with the live values of D9.
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

from .bundle import Bundle
from .environment import ProcessEnv
from .launch_time import launch_time_args


def master_addr(bundle: Bundle, proc: ProcessEnv) -> str:
    """MASTER_ADDR, else the compiled launch.master_addr, else SLURM's first host."""
    return proc.master_addr or bundle.launch.get("master_addr") or proc.allocation_host or "localhost"


def master_port(bundle: Bundle, proc: ProcessEnv) -> str | None:
    """MASTER_PORT, else the compiled launch.master_port; None: init() picks one (1 rank)."""
    if proc.master_port:
        return proc.master_port
    port = bundle.launch.get("master_port")
    return None if port is None else str(port)


def data_parallel_rank(bundle: Bundle, rank: int) -> int:
    """R11: data-parallel groups are ranks i, i+mp, ...; a rank's index in its group.
    SP1: with sequence parallelism they stride by mp x sp."""
    topology = bundle.topology
    return rank // (topology.model_parallel_size * (topology.sequence_parallel_size or 1))


def seed_offset(bundle: Bundle, rank: int) -> int:
    """What the project's get_args adds to the seed on ``rank`` (args.json's seed_rule,
    absent for CogVideoX's: the data-parallel rank)."""
    rule = bundle.document.get("seed_rule", "data_parallel_rank")
    if rule == "global_rank":
        return rank
    if rule == "none" or (
        rule == "data_parallel_rank_unless_inference" and bundle.args.get("mode") == "inference"
    ):
        return 0
    return data_parallel_rank(bundle, rank)


def per_process_fields(bundle: Bundle, proc: ProcessEnv) -> dict[str, Any]:
    """The fields get_args fills per rank: R9 (ranks, device), R10 (master), R14 (seed)."""
    args = bundle.args
    local_rank = args.get("local_rank")
    if local_rank is None:
        local_rank = proc.local_rank
    device = args.get("device", -1)
    if device == -1:
        device = "cpu" if bundle.device == "cpu" else local_rank
    seed = args.get("seed")
    if seed is not None:
        seed = seed + seed_offset(bundle, proc.rank)
    return {
        "cuda": bundle.device == "cuda",
        "rank": proc.rank,
        "world_size": proc.world_size,
        "local_rank": local_rank,
        "device": device,
        "master_ip": master_addr(bundle, proc),
        "master_port": master_port(bundle, proc),
        "seed": seed,
    }


def _integer_keys(trees: dict[str, Any], paths: list[list[str]]) -> None:
    """The keys the configs wrote as integers (``{9: 0}``), ints again as OmegaConf had
    them: args.json can hold only text keys, so the bundle lists where they were
    (``int_keys``, compiler/render.py).  In place."""
    for path in sorted(paths, key=len, reverse=True):  # inner first: outer keys are text still
        node: Any = trees
        for part in path[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, dict) and path[-1] in node:
            items = [(int(key) if key == path[-1] else key, value) for key, value in node.items()]
            if all(isinstance(key, int) for key, _ in items):
                items.sort()  # args.json sorts keys as text ("49" < "9"): numbers in order
            node.clear()
            node.update(items)


def build_namespace(bundle: Bundle, proc: ProcessEnv) -> argparse.Namespace:
    """Every frozen arg, the config trees as CogVideoX expects them, per-process fields."""
    from omegaconf import OmegaConf

    trees: dict[str, Any] = {"args": copy.deepcopy(dict(bundle.args))}
    for section in ("model_config", "data_config"):
        trees[section] = copy.deepcopy(bundle.document.get(section))
    _integer_keys(trees, bundle.document.get("int_keys") or [])
    namespace = argparse.Namespace(**trees["args"])
    # The reference sets these attributes only when the configs had the section.
    for section in ("model_config", "data_config"):
        if trees[section] is not None:
            setattr(namespace, section, OmegaConf.create(trees[section]))
    # The project's own sections, on the attribute its loader sets, as it sets them: an
    # OmegaConf tree unless it converts them to plain objects.
    for dest, entry in sorted((bundle.document.get("sections") or {}).items()):
        value = copy.deepcopy(entry.get("tree"))
        if entry.get("converts") == "omegaconf" and isinstance(value, dict | list):
            value = OmegaConf.create(value)
        setattr(namespace, dest, value)
    for name, value in per_process_fields(bundle, proc).items():
        setattr(namespace, name, value)
    vars(namespace).update(launch_time_args(bundle))
    # Absolute files that exist wherever the bundle is: CogVideoX reopens args.base from the
    # launch directory (log_config, training_config.yaml), on every node; a project that
    # indexes the list gets the inputs one by one.
    namespace.base = [str(path) for path in bundle.base_files]
    return namespace
