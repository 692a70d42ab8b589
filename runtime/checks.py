"""Live environment vs compiled topology, before any collective: a mismatch is an error
that names both values, never a hang at the rendezvous."""

from __future__ import annotations

import argparse

from .bundle import Bundle
from .environment import ProcessEnv
from .errors import TopologyError


def _recompile_hint(bundle: Bundle) -> str:
    launch_sh = bundle.path.parent / "launch.sh"
    return (
        f"start the job with {launch_sh} (it launches the compiled topology) or recompile "
        f"with launch.nodes / launch.gpus_per_node matching how you launch"
    )


def check_topology(bundle: Bundle, proc: ProcessEnv) -> None:
    """World size, ranks per node and parallel sizes of this launch against the bundle."""
    topo = bundle.topology
    where = f"{proc.dialect} environment"
    compiled = f"{topo.nodes} node(s) x {topo.gpus_per_node} rank(s)"
    if proc.world_size != topo.world_size:
        raise TopologyError(
            f"world size mismatch: the {where} has {proc.source('world_size')}="
            f"{proc.world_size}, but {bundle.path} was compiled for world_size "
            f"{topo.world_size} ({compiled}); {_recompile_hint(bundle)}"
        )
    if proc.local_world_size is not None and proc.local_world_size != topo.gpus_per_node:
        raise TopologyError(
            f"ranks-per-node mismatch: the {where} has {proc.source('local_world_size')}="
            f"{proc.local_world_size}, but {bundle.path} was compiled for gpus_per_node "
            f"{topo.gpus_per_node} ({compiled}); {_recompile_hint(bundle)}"
        )
    if proc.rank >= proc.world_size:
        raise TopologyError(
            f"{proc.source('rank')}={proc.rank} is not below the world size {proc.world_size}"
        )
    local_world = proc.local_world_size or topo.gpus_per_node
    if proc.local_rank >= local_world:
        raise TopologyError(
            f"{proc.source('local_rank')}={proc.local_rank} is not below the {local_world} "
            f"rank(s) per node of {bundle.path}"
        )
    mp = bundle.args.get("model_parallel_size")
    if mp != topo.model_parallel_size:
        raise TopologyError(
            f"{bundle.path}: args.model_parallel_size={mp} but topology.model_parallel_size="
            f"{topo.model_parallel_size}; recompile the bundle"
        )
    for name, size in (("model", topo.model_parallel_size), ("context", topo.context_parallel_size)):
        if proc.world_size % size:
            raise TopologyError(f"{name}-parallel size {size} does not divide world size {proc.world_size}")
    if topo.sequence_parallel_size is not None:
        sp = bundle.args.get("sequence_parallel_size")
        # SAT's mpu takes max(sp, 1): a compiled 0 runs as 1.
        effective = max(sp, 1) if type(sp) is int else sp
        if effective != topo.sequence_parallel_size:
            raise TopologyError(
                f"{bundle.path}: args.sequence_parallel_size={sp} but topology."
                f"sequence_parallel_size={topo.sequence_parallel_size}; recompile the bundle"
            )
        block = topo.model_parallel_size * topo.sequence_parallel_size
        if proc.world_size % block:
            raise TopologyError(
                f"model-parallel {topo.model_parallel_size} x sequence-parallel "
                f"{topo.sequence_parallel_size} = {block} does not divide world size {proc.world_size} (SP1)"
            )


def check_device(bundle: Bundle, namespace: argparse.Namespace, cuda_devices: int) -> None:
    """R9 on GPUs: one visible device per local rank; training needs device == local_rank."""
    if bundle.device != "cuda":
        return
    if cuda_devices == 0:
        raise TopologyError(
            f"{bundle.path} was compiled for launch.device cuda but this process sees no "
            f"CUDA device; compile with launch.device: cpu to run on CPU (gloo)"
        )
    if isinstance(namespace.device, int) and namespace.device >= cuda_devices:
        raise TopologyError(
            f"rank {namespace.rank} needs cuda:{namespace.device} but only {cuda_devices} "
            f"CUDA device(s) are visible (CUDA_VISIBLE_DEVICES?)"
        )
    if namespace.mode != "inference" and namespace.device != namespace.local_rank:
        raise TopologyError(
            f"args.device={namespace.device} differs from LOCAL_RANK {namespace.local_rank}; "
            f"only inference may pin another device (use CUDA_VISIBLE_DEVICES instead)"
        )
