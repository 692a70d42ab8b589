"""The VAE's context-parallel groups (R12), with the names of CogVideoX's `sgm.util`.

VAE code switches one import (`from sgm.util import ...` ->
`from satc.runtime.context_parallel import ...`).  Semantics match sgm.util:
rank in group = global rank % size, group index = global rank // size.  The one
difference is D7: `initialize_context_parallel` creates the rank's own group with
``use_local_synchronization=True``, which only its members enter; sgm.util enters
plain `new_group` for the groups up to its own and stops, which desynchronises
group names on later ranks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

_CONTEXT_PARALLEL_GROUP: Any = None
_CONTEXT_PARALLEL_SIZE: int | None = None
_CONTEXT_PARALLEL_RANKS: tuple[int, ...] | None = None


def is_context_parallel_initialized() -> bool:
    return _CONTEXT_PARALLEL_GROUP is not None


def set_context_parallel_group(size: int, group: Any) -> None:
    """Use an existing group (R12: the model-parallel group when mp <= 2)."""
    import torch.distributed as dist

    global _CONTEXT_PARALLEL_GROUP, _CONTEXT_PARALLEL_SIZE, _CONTEXT_PARALLEL_RANKS
    _CONTEXT_PARALLEL_GROUP = group
    _CONTEXT_PARALLEL_SIZE = size
    _CONTEXT_PARALLEL_RANKS = tuple(dist.get_process_group_ranks(group))


def initialize_context_parallel(context_parallel_size: int, timeout: timedelta | None = None) -> None:
    """This rank's block of ``context_parallel_size`` consecutive ranks (D7: only its
    members create it, so no rank waits on groups it is not in)."""
    import torch.distributed as dist

    global _CONTEXT_PARALLEL_GROUP, _CONTEXT_PARALLEL_SIZE, _CONTEXT_PARALLEL_RANKS
    assert _CONTEXT_PARALLEL_GROUP is None, "context parallel group is already initialized"
    rank = dist.get_rank()
    world_size = dist.get_world_size()
    if world_size % context_parallel_size:
        raise ValueError(
            f"context-parallel size {context_parallel_size} does not divide world size {world_size}"
        )
    start = rank - rank % context_parallel_size
    ranks = list(range(start, start + context_parallel_size))
    _CONTEXT_PARALLEL_GROUP = dist.new_group(ranks, timeout=timeout, use_local_synchronization=True)
    _CONTEXT_PARALLEL_RANKS = tuple(ranks)
    _CONTEXT_PARALLEL_SIZE = context_parallel_size


def get_context_parallel_group() -> Any:
    assert _CONTEXT_PARALLEL_GROUP is not None, "context parallel group is not initialized"
    return _CONTEXT_PARALLEL_GROUP


def get_context_parallel_world_size() -> int:
    assert _CONTEXT_PARALLEL_SIZE is not None, "context parallel size is not initialized"
    return _CONTEXT_PARALLEL_SIZE


def get_context_parallel_rank() -> int:
    import torch.distributed as dist

    return int(dist.get_rank()) % get_context_parallel_world_size()


def get_context_parallel_group_rank() -> int:
    import torch.distributed as dist

    return int(dist.get_rank()) // get_context_parallel_world_size()


def get_context_parallel_group_ranks() -> tuple[int, ...]:
    """Global ranks of this rank's context-parallel group (satc addition)."""
    assert _CONTEXT_PARALLEL_RANKS is not None, "context parallel group is not initialized"
    return _CONTEXT_PARALLEL_RANKS
