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

A project may vendor a SAT whose mpu adds sequence parallelism (SP1, docs/runtime-groups.md):
its ``initialize_model_parallel(mp, sp)`` keeps three more groups (sequence-parallel,
sequence-data-parallel, data-broadcast) and lays the data-parallel groups out over
``mp x sp``.  ``check_sat`` tells the two mpu flavours apart by the globals SAT's own
setter assigns; the bundle's ``topology.sequence_parallel_size`` says how many ranks
share a sequence.

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
KINDS = (
    "data_parallel",
    "model_parallel",
    "context_parallel",
    "sequence_parallel",
    "data_broadcast",
    "sequence_data_parallel",
    "node",
)

# What SAT 0.4.x's sat/mpu/initialize.py keeps: the globals initialize_model_parallel
# and destroy_model_parallel assign, which every get_* function reads.
SAT_GLOBALS = {
    "data_parallel": "_DATA_PARALLEL_GROUP",
    "model_parallel": "_MODEL_PARALLEL_GROUP",
    "node": "_NODE_GROUP",
}
# What a SAT whose mpu adds sequence parallelism keeps (SP1): its
# initialize_model_parallel(model_parallel_size_, sequence_parallel_size_, ...) assigns
# these six (zai-org/SCAIL 563652d, sat/mpu/initialize.py); its destroy_model_parallel
# resets only the first three.
SEQUENCE_SAT_GLOBALS = {
    **SAT_GLOBALS,
    "sequence_parallel": "_SEQUENCE_PARALLEL_GROUP",
    "data_broadcast": "_DATA_BROADCAST_GROUP",
    "sequence_data_parallel": "_SEQUENCE_DATA_PARALLEL_GROUP",
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
    # SP1, only where the bundle has a sequence-parallel size (else None).
    sequence_parallel_size: int | None = None
    sequence_parallel: tuple[int, ...] | None = None
    data_broadcast: tuple[int, ...] | None = None
    sequence_data_parallel: tuple[int, ...] | None = None

    @property
    def sequence_data_parallel_is_data_parallel(self) -> bool:
        """SP1: at sequence-parallel size 1, SAT hands out the data-parallel group itself."""
        return self.sequence_parallel_size == 1

    def to_create(self) -> list[tuple[str, tuple[int, ...]]]:
        """(kind, members) of each new_group call this rank makes, in KINDS order."""
        calls = []
        for kind in KINDS:
            members: tuple[int, ...] | None = getattr(self, kind)
            if members is None or (kind == "context_parallel" and self.context_parallel_is_model_parallel):
                continue
            if kind == "sequence_data_parallel" and self.sequence_data_parallel_is_data_parallel:
                continue
            calls.append((kind, members))
        return calls


def context_parallel_size(model_parallel_size: int) -> int:
    """R12: the model-parallel group when mp <= 2, else pairs of consecutive ranks."""
    return min(model_parallel_size, 2)


def layout(
    rank: int,
    world_size: int,
    model_parallel_size: int,
    local_world_size: int,
    sequence_parallel_size: int | None = None,
) -> Layout:
    """R11 as SAT computes it (mp clamped to the world, dp strides by mp, node blocks of
    LOCAL_WORLD_SIZE) and R12 as CogVideoX does, for one rank; with a sequence-parallel
    size, SP1 as a SAT with a sequence-parallel mpu computes it (dp strides by mp x sp)."""
    if not 0 <= rank < world_size:
        raise TopologyError(f"rank {rank} is outside a world of {world_size}")
    mp = min(model_parallel_size, world_size)
    if mp < 1 or world_size % mp:
        raise TopologyError(
            f"model-parallel size {model_parallel_size} does not divide world size {world_size}"
        )
    if local_world_size < 1:
        raise TopologyError(f"LOCAL_WORLD_SIZE {local_world_size} must be at least 1")
    sp = None if sequence_parallel_size is None else max(sequence_parallel_size, 1)
    if sp is not None and world_size % (mp * sp):
        raise TopologyError(
            f"world size {world_size} is not a multiple of model-parallel {mp} x "
            f"sequence-parallel {sp} = {mp * sp} (SP1: world = data x sequence x model parallel)"
        )
    cp = context_parallel_size(mp)
    node_start = rank - rank % local_world_size
    has_node = node_start + local_world_size <= world_size
    sequence = {} if sp is None else _sequence_members(rank, world_size, mp, sp)
    return Layout(
        rank=rank,
        world_size=world_size,
        data_parallel=_members(rank % (mp * (sp or 1)), world_size, mp * (sp or 1)),
        model_parallel=_block(rank, mp),
        context_parallel=_block(rank, cp),
        node=_members(node_start, node_start + local_world_size, 1) if has_node else None,
        context_parallel_is_model_parallel=mp <= 2,
        sequence_parallel_size=sp,
        **sequence,
    )


def _sequence_members(rank: int, world_size: int, mp: int, sp: int) -> dict[str, tuple[int, ...]]:
    """SP1 for one rank: a block of mp x sp consecutive ranks shares one batch (the
    data-broadcast group); inside it, the ranks of one model-parallel position (every
    mp-th) split the sequence; across blocks, every mp-th rank of the world reduces
    gradients together (sequence-data-parallel: sp x dp ranks)."""
    block = mp * sp
    start = rank - rank % block
    return {
        "sequence_parallel": _members(start + rank % mp, start + block, mp),
        "data_broadcast": _members(start, start + block, 1),
        "sequence_data_parallel": _members(rank % mp, world_size, mp),
    }


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
    # SP1 only (None without a sequence-parallel size).
    sequence_parallel: Any = None
    data_broadcast: Any = None
    sequence_data_parallel: Any = None


def create(plan: Layout, timeout: timedelta | None) -> Groups:
    """This rank's groups, each entered by its members only."""
    made = {kind: create_one(members, timeout) for kind, members in plan.to_create()}
    if plan.context_parallel_is_model_parallel:
        made["context_parallel"] = made["model_parallel"]
    if plan.sequence_data_parallel_is_data_parallel:
        made["sequence_data_parallel"] = made["data_parallel"]
    return Groups(
        layout=plan,
        data_parallel=made["data_parallel"],
        model_parallel=made["model_parallel"],
        context_parallel=made["context_parallel"],
        node=made.get("node"),
        sequence_parallel=made.get("sequence_parallel"),
        data_broadcast=made.get("data_broadcast"),
        sequence_data_parallel=made.get("sequence_data_parallel"),
    )


def check_sat(initialize: ModuleType) -> dict[str, str]:
    """The globals satc fills in this SAT's mpu (``SAT_GLOBALS`` or, for a SAT whose mpu
    adds sequence parallelism, ``SEQUENCE_SAT_GLOBALS``); refuse any other mpu.

    Read from the bytecode of SAT's own setters and getters, so a SAT that adds, renames
    or drops a group fails here, on every rank alike, instead of in a get_* call hours
    later.
    """
    setter = getattr(initialize, SAT_SETTERS[0], None)
    assigned = _assigned_globals(setter) if callable(setter) else None
    flavour = next((f for f in (SAT_GLOBALS, SEQUENCE_SAT_GLOBALS) if set(f.values()) == assigned), None)
    where = f"{initialize.__name__}.{{}} ({getattr(initialize, '__file__', '?')})"
    supported = (
        f"satc.runtime fills exactly {sorted(SAT_GLOBALS.values())} (SwissArmyTransformer 0.4.x) "
        f"or {sorted(SEQUENCE_SAT_GLOBALS.values())} (a SAT whose mpu adds sequence "
        f"parallelism, SP1)"
    )
    if flavour is None:
        found = "missing" if assigned is None else f"assigns {sorted(assigned)}"
        raise RuntimeConfigError(
            f"{where.format(SAT_SETTERS[0])} {found}; {supported}. This SwissArmyTransformer "
            f"keeps its model-parallel groups differently: install the version satc supports "
            f"(SwissArmyTransformer 0.4.x) or a satc that knows this one"
        )
    filled = set(flavour.values())
    destroy = getattr(initialize, SAT_SETTERS[1], None)
    reset = _assigned_globals(destroy) if callable(destroy) else None
    if reset is not None and flavour == SEQUENCE_SAT_GLOBALS:
        # The sequence-parallel SAT's destroy resets only the three groups SAT 0.4.x has,
        # and a fork's may reset state that is no group (Kaleido's FSDP2 device mesh).
        reset = {name for name in reset if name.endswith("_GROUP")}
    if reset is None or not set(SAT_GLOBALS.values()) <= reset <= filled:
        found = "missing" if reset is None else f"assigns {sorted(reset)}"
        raise RuntimeConfigError(
            f"{where.format(SAT_SETTERS[1])} {found}; {supported}. This SwissArmyTransformer "
            f"keeps its model-parallel groups differently: install the version satc supports "
            f"(SwissArmyTransformer 0.4.x) or a satc that knows this one"
        )
    # A group global no function of the module ever assigns stays None under SAT's own
    # setup too (the sequence-parallel SAT's GQA getters read one): satc leaves it alike.
    assigned_anywhere = set().union(
        *(_assigned_globals(f) for f in vars(initialize).values() if _defined_in(f, initialize))
    )
    for name, function in sorted(vars(initialize).items()):
        if not (name.startswith("get_") and callable(function)):
            continue
        unknown = (_read_groups(function) - filled) & assigned_anywhere
        if unknown:
            raise RuntimeConfigError(
                f"{initialize.__name__}.{name} reads {sorted(unknown)}, which satc.runtime does "
                f"not fill (it fills {sorted(filled)}): install the SwissArmyTransformer "
                f"version satc supports (0.4.x) or a satc that knows this one"
            )
    return dict(flavour)


def _defined_in(function: Any, module: ModuleType) -> bool:
    return (
        callable(function)
        and getattr(function, "__module__", None) == module.__name__
        and hasattr(function, "__code__")
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


def publish(groups: Groups, mpu_initialize: ModuleType, sat_globals: dict[str, str] = SAT_GLOBALS) -> None:
    """Hand the groups to SAT's mpu, satc's context_parallel and CogVideoX's sgm.util."""
    for kind, name in sat_globals.items():
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
    rank: int,
    world_size: int,
    model_parallel_size: int,
    local_world_size: int,
    timeout: timedelta,
    sequence_parallel_size: int | None = None,
) -> Layout:
    """init()'s group step: create this rank's groups and publish them (R11, R12, D7, SP1).

    Groups SAT's mpu already holds (created before init()) are kept when their
    members are the compiled ones.
    """
    from sat import mpu
    from sat.mpu import initialize as mpu_initialize

    sat_globals = check_sat(mpu_initialize)
    sequence = sat_globals == SEQUENCE_SAT_GLOBALS
    if not sequence and (sequence_parallel_size or 1) > 1:
        raise RuntimeConfigError(
            f"the bundle has topology.sequence_parallel_size {sequence_parallel_size}, but the "
            f"SwissArmyTransformer imported here ({getattr(mpu_initialize, '__file__', '?')}) "
            f"has no sequence-parallel groups (SP1): run from the project folder whose vendored "
            f"sat/ the bundle was compiled for, or compile with sequence_parallel_size 1"
        )
    # A sequence-parallel SAT builds its groups at size 1 when the project sets none.
    sp = (sequence_parallel_size or 1) if sequence else None
    plan = layout(rank, world_size, model_parallel_size, local_world_size, sp)
    if not mpu.model_parallel_is_initialized():
        publish(create(plan, timeout), mpu_initialize, sat_globals)
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
    return dist.new_group(members, timeout=timeout, use_local_synchronization=True)


def _check_existing(mpu: ModuleType, plan: Layout) -> None:
    import torch.distributed as dist

    kinds = ["model_parallel", "data_parallel"]
    if plan.sequence_parallel_size is not None:
        kinds += ["sequence_parallel", "sequence_data_parallel"]
    found = {
        kind: tuple(sorted(dist.get_process_group_ranks(getattr(mpu, f"get_{kind}_group")())))
        for kind in kinds
    }
    want = {kind: getattr(plan, kind) for kind in kinds}
    if found != want:
        raise TopologyError(
            f"sat.mpu already holds groups {found} on rank {plan.rank}, but the bundle gives "
            f"{want} (R11, SP1); SAT cannot change them in one process"
        )
