"""Run group-building code for every rank of a topology in one process, and find hangs.

Each rank runs on torch's fake process-group backend (no peers, no network), so the
code under test is the real one: ``groups.create`` calls the real
``torch.distributed.new_group``, which validates the members and names the group
exactly as on a cluster.  A recorder notes every call.  ``find_hangs`` then replays
the recorded calls with torch's blocking rules: a group created with
``use_local_synchronization`` completes once all its members reached it under the
same name, any other ``new_group`` once every rank of the world reached it with the
same members.  A rank left waiting is a hang that would have cost a queue slot.

Linear in the world: torch's ``init_process_group`` and ``new_group`` cost O(world) per
rank (the world's rank table, the member list), so running them on every rank is
quadratic (582 s at 32,768 ranks).  Every rank runs the build; torch's own calls run on
the first and last ``REAL_RANKS`` ranks (every rank of a smaller world).  The other
ranks' members-only calls get torch's answer from `_LocalGroups`, which validates and
names a group as ``new_group`` does, once per distinct group, and is checked against
torch on every real rank.  A rank that makes any other call runs on torch.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from . import groups

# Group kinds in report order (the sequence-parallel ones only where a layout has them).
KINDS = groups.KINDS


@dataclass(frozen=True)
class Call:
    """One new_group call as a rank made it."""

    ranks: tuple[int, ...]
    local: bool  # use_local_synchronization: only members enter
    name: str | None  # torch's name for the group; None where the rank is not a member


@dataclass(frozen=True)
class RankRun:
    rank: int
    calls: tuple[Call, ...]
    # kind -> (members, rank in group as torch.distributed.get_rank(group) gives it)
    joined: Mapping[str, tuple[tuple[int, ...], int]]


@dataclass(frozen=True)
class Wait:
    """A rank stuck in a call: who never arrives there."""

    rank: int
    index: int  # position of the call in the rank's sequence (0-based)
    call: Call
    missing: tuple[int, ...]


@dataclass(frozen=True)
class Divergence:
    """Ranks whose call sequence has another shape than the most common one."""

    ranks: tuple[int, ...]
    calls: int
    common_calls: int
    index: int  # first differing call (0-based)
    call: Call | None  # theirs at that index (None: they made no more calls)
    common_call: Call | None


@dataclass
class Report:
    world_size: int
    runs: list[RankRun]
    seconds: float
    waits: list[Wait] = field(default_factory=list)
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.waits and not self.divergences


Build = Callable[[int], Mapping[str, Any]]


# Ranks at each end of the world that run torch's new_group themselves (a world of up
# to 64 runs on torch entirely).
REAL_RANKS = 32


class _NeedsTorch(Exception):
    """A rank made a call _LocalGroups does not model: run it on torch."""


@dataclass(frozen=True)
class _Group:
    """What a members-only new_group gave a rank without torch: its name and place."""

    members: tuple[int, ...]
    group_name: str
    rank: int


class _LocalGroups:
    """Interned members and torch's verdict on each members-only group, shared by all
    simulated ranks, so that no rank pays O(group size) for a group another rank made."""

    def __init__(self, world_size: int) -> None:
        self.world_size = world_size
        self.interned: dict[tuple[int, ...], tuple[int, ...]] = {}
        self._by_id: dict[int, tuple[Any, tuple[int, ...]]] = {}
        self._positions: dict[int, tuple[tuple[int, ...], dict[int, int]]] = {}
        self._joined: dict[int, tuple[tuple[int, ...], str]] = {}
        self._names: dict[tuple[int, int], str] = {}
        self._calls: dict[tuple[int, bool, str | None], Call] = {}
        self._valid: dict[int, tuple[int, ...]] = {}

    def members(self, ranks: Any) -> tuple[int, ...]:
        """``ranks`` sorted and interned; a tuple seen before costs O(1)."""
        if ranks is None:
            ranks = range(self.world_size)
        known = self._by_id.get(id(ranks))
        if known is not None and known[0] is ranks:
            return known[1]
        members = tuple(sorted(ranks))
        members = self.interned.setdefault(members, members)
        if isinstance(ranks, tuple):  # immutable, and kept alive here: safe to know by id
            self._by_id[id(ranks)] = (ranks, members)
        return members

    def call(self, members: tuple[int, ...], local: bool, name: str | None) -> Call:
        key = (id(members), local, name)
        found = self._calls.get(key)
        if found is None:
            found = self._calls[key] = Call(members, local, name)
        return found

    def position(self, members: tuple[int, ...], rank: int) -> int | None:
        found = self._positions.get(id(members))
        if found is None:
            found = self._positions[id(members)] = (members, {r: i for i, r in enumerate(members)})
        return found[1].get(rank)

    def name(self, members: tuple[int, ...], held: int) -> str:
        """torch's _hash_ranks_to_str: the members and how many groups the rank holds."""
        key = (id(members), held)
        found = self._names.get(key)
        if found is None:
            joined = self._joined.get(id(members))
            if joined is None:
                joined = self._joined[id(members)] = (members, "_".join(map(str, members)))
            unique = f"{joined[1]}_{held}"
            found = self._names[key] = hashlib.sha1(unique.encode(), usedforsecurity=False).hexdigest()
        return found

    def new_group(self, members: tuple[int, ...], rank: int, held: int) -> _Group | None:
        """new_group(members, use_local_synchronization=True) on ``rank``, as torch does it."""
        position = self.position(members, rank)
        if position is None:
            return None  # torch returns before it looks at the list
        if id(members) not in self._valid:
            self._validate(members)
            self._valid[id(members)] = members
        return _Group(members, self.name(members, held), position)

    def _validate(self, members: tuple[int, ...]) -> None:
        if len(set(members)) != len(members):
            raise ValueError(f"ranks list must not contain duplicate entries, got {list(members)}")
        if len(members) > self.world_size:
            raise ValueError(
                "the new group's world size should be less or equal to the world size set by init_process_group"
            )
        if members[0] < 0 or members[-1] >= self.world_size:
            bad = members[0] if members[0] < 0 else members[-1]
            raise ValueError(
                f"Rank {bad} is out of range. Valid ranks are 0 to {self.world_size - 1} "
                f"(world_size={self.world_size})"
            )


@contextmanager
def _recording(
    calls: list[Call], members_of: dict[int, tuple[int, ...]], shared: _LocalGroups, rank: int | None
) -> Iterator[None]:
    """Wrap torch.distributed.new_group, which SAT, CogVideoX and satc all call by that
    name, and note each call with the name torch gave the group.  ``rank`` None: torch
    runs (and its names are checked against _LocalGroups); else _LocalGroups answers."""
    import torch.distributed as dist

    original = dist.new_group
    held = [1]  # groups the rank holds: the default one

    def new_group(ranks: Any = None, *args: Any, **kwargs: Any) -> Any:
        members = shared.members(ranks)
        local = bool(kwargs.get("use_local_synchronization"))
        if rank is not None:
            if not local:
                raise _NeedsTorch
            group: Any = shared.new_group(members, rank, held[0])
        else:
            group = original(ranks, *args, **kwargs)
        member = group is not None and group is not dist.GroupMember.NON_GROUP_MEMBER
        name = group.group_name if member else None
        if member:
            if rank is None and local and name != shared.name(members, held[0]):
                raise RuntimeError(
                    f"satc's dry run names group {members[:4]}... {shared.name(members, held[0])}, "
                    f"torch names it {name}: the dry run no longer models this torch's new_group"
                )
            held[0] += 1
            # torch holds the same list (get_process_group_ranks rebuilds it per call).
            members_of[id(group)] = members
        calls.append(shared.call(members, local, name))
        return group

    dist.new_group = new_group
    try:
        yield
    finally:
        dist.new_group = original


def simulate(world_size: int, build: Build, ranks: Iterable[int] | None = None) -> Report:
    """``build(rank)`` on a fake process group of ``world_size`` for each rank; it
    returns its groups by kind (a value may be None for a rank outside that kind)."""
    started = time.perf_counter()
    shared = _LocalGroups(world_size)
    on_torch = False  # set once a rank needed torch: the build is not members-only
    runs = []
    for rank in range(world_size) if ranks is None else ranks:
        real = on_torch or rank < REAL_RANKS or rank >= world_size - REAL_RANKS
        run = None if real else _without_torch(rank, build, shared)
        if run is None:
            on_torch = on_torch or not real
            run = _on_torch(rank, world_size, build, shared)
        runs.append(run)
    return Report(world_size, runs, time.perf_counter() - started)


def _without_torch(rank: int, build: Build, shared: _LocalGroups) -> RankRun | None:
    """The rank's build with _LocalGroups for new_group; None when it needs torch."""
    calls: list[Call] = []
    members_of: dict[int, tuple[int, ...]] = {}
    try:
        with _recording(calls, members_of, shared, rank):
            made = build(rank)
    except _NeedsTorch:
        return None
    joined = {}
    for kind, group in made.items():
        if group is None:
            continue
        if not isinstance(group, _Group):  # a group torch made (WORLD): ask torch
            return None
        joined[kind] = (group.members, group.rank)
    return RankRun(rank, tuple(calls), joined)


def _on_torch(rank: int, world_size: int, build: Build, shared: _LocalGroups) -> RankRun:
    import torch.distributed as dist
    from torch.testing._internal.distributed.fake_pg import FakeStore

    dist.init_process_group("fake", store=FakeStore(), rank=rank, world_size=world_size)
    calls: list[Call] = []
    members_of: dict[int, tuple[int, ...]] = {}
    try:
        with _recording(calls, members_of, shared, None):
            made = build(rank)
        joined = {}
        for kind, group in made.items():
            if group is None or group is dist.GroupMember.NON_GROUP_MEMBER:
                continue
            if id(group) not in members_of:  # a group made before build, e.g. WORLD
                members_of[id(group)] = shared.members(tuple(dist.get_process_group_ranks(group)))
            joined[kind] = (members_of[id(group)], dist.get_rank(group))
    finally:
        dist.destroy_process_group()
    return RankRun(rank, tuple(calls), joined)


def satc_build(
    world_size: int,
    model_parallel_size: int,
    local_world_size: int,
    timeout: timedelta,
    sequence_parallel_size: int | None = None,
) -> Build:
    """What init() runs on each rank (groups.create over groups.layout)."""

    def build(rank: int) -> Mapping[str, Any]:
        plan = groups.layout(rank, world_size, model_parallel_size, local_world_size, sequence_parallel_size)
        made = groups.create(plan, timeout)
        return {kind: getattr(made, kind) for kind in KINDS}

    return build


def check(report: Report) -> Report:
    """Fill the report's waits (hangs) and divergences (differently shaped sequences)."""
    report.waits = find_hangs(report.runs, report.world_size)
    report.divergences = find_divergences(report.runs)
    return report


def find_hangs(runs: list[RankRun], world_size: int) -> list[Wait]:
    """Replay every rank's calls with torch's blocking rules; return where ranks stay.

    Linear in the number of (call, participant) pairs: each arrival is counted once.
    """
    by_rank = {run.rank: run.calls for run in runs}
    everyone = tuple(range(world_size))
    same = _Canonical()
    position = dict.fromkeys(by_rank, 0)
    global_index = dict.fromkeys(by_rank, 0)
    arrived: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    pending = deque(by_rank)

    def key_of(rank: int, call: Call) -> tuple[tuple[Any, ...], tuple[int, ...]]:
        if call.local:
            return ("local", call.name, same.key(call.ranks)), call.ranks
        # torch numbers these groups by a per-process counter: the n-th global call of
        # every rank must be the same group.
        return ("global", global_index[rank], same.key(call.ranks)), everyone

    while pending:
        rank = pending.popleft()
        calls = by_rank[rank]
        if position[rank] >= len(calls):
            continue
        call = calls[position[rank]]
        if call.local and call.name is None:  # a non-member's local call returns at once
            position[rank] += 1
            pending.append(rank)
            continue
        key, participants = key_of(rank, call)
        arrived[key].add(rank)
        if len(arrived[key]) < len(participants):
            continue
        for member in participants:
            position[member] += 1
            if not call.local:
                global_index[member] += 1
            pending.append(member)
    waits = []
    for rank, calls in by_rank.items():
        if position[rank] < len(calls):
            call = calls[position[rank]]
            key, participants = key_of(rank, call)
            missing = tuple(r for r in participants if r not in arrived[key])
            waits.append(Wait(rank, position[rank], call, missing))
    return waits


class _Canonical:
    """Equal member tuples -> one small key, hashing each distinct tuple object once (a
    tuple does not cache its hash: keying by a world-sized tuple per rank is quadratic)."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[tuple[int, ...], int]] = {}
        self._by_value: dict[tuple[int, ...], int] = {}

    def key(self, members: tuple[int, ...]) -> int:
        known = self._by_id.get(id(members))
        if known is not None and known[0] is members:
            return known[1]
        key = self._by_value.setdefault(members, len(self._by_value))
        self._by_id[id(members)] = (members, key)
        return key


def _shape(call: Call, same: _Canonical) -> tuple[Any, ...]:
    """What must agree across ranks: a global call's members, a local call's size and
    the rank's place in it."""
    if not call.local:
        return ("global", same.key(call.ranks))
    return ("local", len(call.ranks), call.name is not None)


def find_divergences(runs: list[RankRun]) -> list[Divergence]:
    same = _Canonical()
    shapes = {run.rank: tuple(_shape(call, same) for call in run.calls) for run in runs}
    if not shapes:
        return []
    counts = Counter(shapes.values())
    common, _ = counts.most_common(1)[0]
    common_run = next(run for run in runs if shapes[run.rank] == common)
    classes: dict[tuple[Any, ...], list[RankRun]] = defaultdict(list)
    for run in runs:
        if shapes[run.rank] != common:
            classes[shapes[run.rank]].append(run)
    divergences = []
    for shape, members in classes.items():
        index = next(
            (i for i, (a, b) in enumerate(zip(shape, common, strict=False)) if a != b),
            min(len(shape), len(common)),
        )
        first = members[0]
        divergences.append(
            Divergence(
                ranks=tuple(run.rank for run in members),
                calls=len(first.calls),
                common_calls=len(common_run.calls),
                index=index,
                call=first.calls[index] if index < len(first.calls) else None,
                common_call=common_run.calls[index] if index < len(common_run.calls) else None,
            )
        )
    return sorted(divergences, key=lambda d: d.ranks)
