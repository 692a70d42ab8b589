"""The job's process groups (R11, R12, D7): each rank creates only the groups it is in.

SAT's ``mpu.initialize_model_parallel`` and CogVideoX's context-parallel setup call
``torch.distributed.new_group`` for every group of the job on every rank, so start-up
cost grows with the world.  Here a rank creates its own data-parallel, model-parallel,
context-parallel and node group, with ``use_local_synchronization=True``: a
non-member never enters the call, and torch names each group from its members and
from how many groups the rank already has.  Every rank creates the same kinds in the
same order (``KINDS``), so the members of a group agree on its name without any
world-wide step: 3 calls per rank (4 when mp > 2), whatever the world size.

Then SAT's ``mpu`` globals, satc's ``context_parallel`` and, when importable,
CogVideoX's ``sgm.util`` receive these groups: the same members and group ranks
SAT and CogVideoX would have produced, so their ``get_*`` functions work unchanged.

``layout`` is pure and imports nothing; ``create`` is what ``init()`` and
``satc dryrun`` run.
"""

from __future__ import annotations

import dis
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

from . import context_parallel
from .errors import RuntimeConfigError, TopologyError

# Creation order, the same on every rank.  torch's hashed group name counts the groups
# a rank already has, so members of one group must have created equally many before
# it; node comes last because it is the one group a rank may lack (when
# LOCAL_WORLD_SIZE does not divide the world, SAT leaves the tail without one).
KINDS = ("data_parallel", "model_parallel", "context_parallel", "node")

# What SAT 0.4.x's sat/mpu/initialize.py keeps: the globals initialize_model_parallel
# and destroy_model_parallel assign, which every get_* function reads.
SAT_GLOBALS = {
    "data_parallel": "_DATA_PARALLEL_GROUP",
    "model_parallel": "_MODEL_PARALLEL_GROUP",
    "node": "_NODE_GROUP",
}
SAT_SETTERS = ("initialize_model_parallel", "destroy_model_parallel")


@dataclass(frozen=True)
class Layout:
    """The members (global ranks, ascending) of one rank's groups."""

    rank: int
    world_size: int
    data_parallel: tuple[int, ...]
    model_parallel: tuple[int, ...]
    context_parallel: tuple[int, ...]
    node: tuple[int, ...] | None
    # R12: at mp <= 2 the VAE shares the model-parallel group instead of a new one.
    context_parallel_is_model_parallel: bool

    def to_create(self) -> list[tuple[str, tuple[int, ...]]]:
        """(kind, members) of each new_group call this rank makes, in KINDS order."""
        calls = []
        for kind in KINDS:
            members: tuple[int, ...] | None = getattr(self, kind)
            if members is None or (kind == "context_parallel" and self.context_parallel_is_model_parallel):
                continue
            calls.append((kind, members))
        return calls


def context_parallel_size(model_parallel_size: int) -> int:
    """R12: the model-parallel group when mp <= 2, else pairs of consecutive ranks."""
    return min(model_parallel_size, 2)


def layout(rank: int, world_size: int, model_parallel_size: int, local_world_size: int) -> Layout:
    """R11 as SAT computes it (mp clamped to the world, dp strides by mp, node blocks of
    LOCAL_WORLD_SIZE) and R12 as CogVideoX does, for one rank."""
    if not 0 <= rank < world_size:
        raise TopologyError(f"rank {rank} is outside a world of {world_size}")
    mp = min(model_parallel_size, world_size)
    if mp < 1 or world_size % mp:
        raise TopologyError(
            f"model-parallel size {model_parallel_size} does not divide world size {world_size}"
        )
    if local_world_size < 1:
        raise TopologyError(f"LOCAL_WORLD_SIZE {local_world_size} must be at least 1")
    cp = context_parallel_size(mp)
    node_start = rank - rank % local_world_size
    has_node = node_start + local_world_size <= world_size
    return Layout(
        rank=rank,
        world_size=world_size,
        data_parallel=_members(rank % mp, world_size, mp),
        model_parallel=_block(rank, mp),
        context_parallel=_block(rank, cp),
        node=_members(node_start, node_start + local_world_size, 1) if has_node else None,
        context_parallel_is_model_parallel=mp <= 2,
    )


def _block(rank: int, size: int) -> tuple[int, ...]:
    start = rank - rank % size
    return _members(start, start + size, 1)


@functools.lru_cache(maxsize=1 << 17)
def _members(start: int, stop: int, step: int) -> tuple[int, ...]:
    """One tuple per group, shared by every rank that asks: the dry run builds every
    rank's layout in one process, and a world-sized tuple per rank made it quadratic."""
    return tuple(range(start, stop, step))


@dataclass(frozen=True)
class Groups:
    """This rank's process groups (``node`` is None for a rank SAT gives none)."""

    layout: Layout
    data_parallel: Any
    model_parallel: Any
    context_parallel: Any
    node: Any


def create(plan: Layout, timeout: timedelta | None) -> Groups:
    """This rank's groups, each entered by its members only."""
    made = {kind: create_one(members, timeout) for kind, members in plan.to_create()}
    if plan.context_parallel_is_model_parallel:
        made["context_parallel"] = made["model_parallel"]
    return Groups(
        layout=plan,
        data_parallel=made["data_parallel"],
        model_parallel=made["model_parallel"],
        context_parallel=made["context_parallel"],
        node=made.get("node"),
    )


def check_sat(initialize: ModuleType) -> None:
    """Refuse a SAT whose mpu keeps other globals than the ones satc fills.

    Read from the bytecode of SAT's own setters and getters, so a SAT that adds, renames
    or drops a group fails here, on every rank alike, instead of in a get_* call hours
    later.
    """
    expected = set(SAT_GLOBALS.values())
    for name in SAT_SETTERS:
        function = getattr(initialize, name, None)
        assigned = _assigned_globals(function) if callable(function) else None
        if assigned != expected:
            found = "missing" if assigned is None else f"assigns {sorted(assigned)}"
            raise RuntimeConfigError(
                f"{initialize.__name__}.{name} ({getattr(initialize, '__file__', '?')}) {found}; "
                f"satc.runtime fills exactly {sorted(expected)}. This SwissArmyTransformer keeps "
                f"its model-parallel groups differently: install the version satc supports "
                f"(SwissArmyTransformer 0.4.x) or a satc that knows this one"
            )

    for name, function in sorted(vars(initialize).items()):
        if not (name.startswith("get_") and callable(function)):
            continue
        unknown = _read_groups(function) - expected
        if unknown:
            raise RuntimeConfigError(
                f"{initialize.__name__}.{name} reads {sorted(unknown)}, which satc.runtime does "
                f"not fill (it fills {sorted(expected)}): install the SwissArmyTransformer "
                f"version satc supports (0.4.x) or a satc that knows this one"
            )


def _assigned_globals(function: Callable[..., Any]) -> set[str]:
    return {ins.argval for ins in dis.get_instructions(function) if ins.opname == "STORE_GLOBAL"}


def _read_groups(function: Callable[..., Any]) -> set[str]:
    """Module-level group globals a getter reads (``_SOMETHING_GROUP``)."""
    return {
        ins.argval
        for ins in dis.get_instructions(function)
        if ins.opname == "LOAD_GLOBAL"
        and str(ins.argval).startswith("_")
        and str(ins.argval).endswith("_GROUP")
    }


def publish(groups: Groups, mpu_initialize: ModuleType) -> None:
    """Hand the groups to SAT's mpu, satc's context_parallel and CogVideoX's sgm.util."""
    for kind, name in SAT_GLOBALS.items():
        setattr(mpu_initialize, name, getattr(groups, kind))
    _publish_context_parallel(len(groups.layout.context_parallel), groups.context_parallel)


def _publish_context_parallel(size: int, group: Any) -> None:
    if not context_parallel.is_context_parallel_initialized():
        context_parallel.set_context_parallel_group(size, group)
    _publish_to_sgm(size, context_parallel.get_context_parallel_group())


def _publish_to_sgm(size: int, group: Any) -> None:
    """CogVideoX's VAE reads its group from `sgm.util`: fill it too when that is importable,
    so the one-line swap get_args -> init() leaves the VAE code untouched."""
    import importlib.util

    if importlib.util.find_spec("sgm") is None:
        return
    try:
        import sgm.util
    except ImportError:
        return
    if not sgm.util.is_context_parallel_initialized():
        sgm.util.set_context_parallel_group(size, group)


def initialize(
    rank: int, world_size: int, model_parallel_size: int, local_world_size: int, timeout: timedelta
) -> Layout:
    """init()'s group step: create this rank's groups and publish them (R11, R12, D7).

    Groups SAT's mpu already holds (created before init()) are kept when their
    members are the compiled ones.
    """
    from sat import mpu
    from sat.mpu import initialize as mpu_initialize

    check_sat(mpu_initialize)
    plan = layout(rank, world_size, model_parallel_size, local_world_size)
    if not mpu.model_parallel_is_initialized():
        publish(create(plan, timeout), mpu_initialize)
        return plan
    _check_existing(mpu, plan)
    if plan.context_parallel_is_model_parallel:
        group = mpu.get_model_parallel_group()
    elif context_parallel.is_context_parallel_initialized():
        group = context_parallel.get_context_parallel_group()
    else:
        group = create_one(plan.context_parallel, timeout)
    _publish_context_parallel(len(plan.context_parallel), group)
    return plan


def create_one(members: tuple[int, ...], timeout: timedelta | None) -> Any:
    """One group, entered by its members only."""
    import torch.distributed as dist

    # The tuple itself, not a copy: torch sorts it into its own list, and the dry run
    # knows a group it has seen by the tuple's identity (a copy per rank is O(world)).
    return dist.new_group(members, timeout=timeout, use_local_synchronization=True)  # type: ignore[arg-type]


def _check_existing(mpu: ModuleType, plan: Layout) -> None:
    import torch.distributed as dist

    found = {
        kind: tuple(sorted(dist.get_process_group_ranks(getter())))
        for kind, getter in (
            ("model_parallel", mpu.get_model_parallel_group),
            ("data_parallel", mpu.get_data_parallel_group),
        )
    }
    want = {"model_parallel": plan.model_parallel, "data_parallel": plan.data_parallel}
    if found != want:
        raise TopologyError(
            f"sat.mpu already holds groups {found} on rank {plan.rank}, but the bundle gives "
            f"{want} (R11); SAT cannot change them in one process"
        )
