"""Run group-building code for every rank of a topology in one process, and find hangs.

Each rank runs on torch's fake process-group backend (no peers, no network), so the
code under test is the real one: ``groups.create`` calls the real
``torch.distributed.new_group``, which validates the members and names the group
exactly as on a cluster.  A recorder notes every call.  ``find_hangs`` then replays
the recorded calls with torch's blocking rules: a group created with
``use_local_synchronization`` completes once all its members reached it under the
same name, any other ``new_group`` once every rank of the world reached it with the
same members.  A rank left waiting is a hang that would have cost a queue slot.
"""

from __future__ import annotations

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


@contextmanager
def _recording(
    calls: list[Call],
    members_of: dict[int, tuple[int, ...]],
    interned: dict[tuple[int, ...], tuple[int, ...]],
) -> Iterator[None]:
    """Wrap torch.distributed.new_group, which SAT, CogVideoX and satc all call by that
    name, and note each call with the name torch gave the group."""
    import torch.distributed as dist

    original = dist.new_group

    def new_group(ranks: Any = None, *args: Any, **kwargs: Any) -> Any:
        members = tuple(sorted(ranks)) if ranks is not None else tuple(range(dist.get_world_size()))
        members = interned.setdefault(members, members)
        group = original(ranks, *args, **kwargs)
        member = group is not None and group is not dist.GroupMember.NON_GROUP_MEMBER
        name = group.group_name if member else None
        if member:
            # torch holds the same list (get_process_group_ranks rebuilds it per call).
            members_of[id(group)] = members
        calls.append(Call(members, bool(kwargs.get("use_local_synchronization")), name))
        return group

    dist.new_group = new_group
    try:
        yield
    finally:
        dist.new_group = original


def simulate(world_size: int, build: Build, ranks: Iterable[int] | None = None) -> Report:
    """``build(rank)`` on a fake process group of ``world_size`` for each rank; it
    returns its groups by kind (a value may be None for a rank outside that kind)."""
    import torch.distributed as dist
    from torch.testing._internal.distributed.fake_pg import FakeStore

    started = time.perf_counter()
    interned: dict[tuple[int, ...], tuple[int, ...]] = {}
    runs = []
    for rank in range(world_size) if ranks is None else ranks:
        dist.init_process_group("fake", store=FakeStore(), rank=rank, world_size=world_size)
        calls: list[Call] = []
        members_of: dict[int, tuple[int, ...]] = {}
        try:
            with _recording(calls, members_of, interned):
                made = build(rank)
            joined = {}
            for kind, group in made.items():
                if group is None or group is dist.GroupMember.NON_GROUP_MEMBER:
                    continue
                if id(group) not in members_of:  # a group made before build, e.g. WORLD
                    members = tuple(dist.get_process_group_ranks(group))
                    members_of[id(group)] = interned.setdefault(members, members)
                joined[kind] = (members_of[id(group)], dist.get_rank(group))
        finally:
            dist.destroy_process_group()
        runs.append(RankRun(rank, tuple(calls), joined))
    return Report(world_size, runs, time.perf_counter() - started)


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
    position = dict.fromkeys(by_rank, 0)
    global_index = dict.fromkeys(by_rank, 0)
    arrived: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    pending = deque(by_rank)

    def key_of(rank: int, call: Call) -> tuple[tuple[Any, ...], tuple[int, ...]]:
        if call.local:
            return ("local", call.name, call.ranks), call.ranks
        # torch numbers these groups by a per-process counter: the n-th global call of
        # every rank must be the same group.
        return ("global", global_index[rank], call.ranks), everyone

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


def _shape(call: Call) -> tuple[Any, ...]:
    """What must agree across ranks: a global call's members, a local call's size and
    the rank's place in it."""
    if not call.local:
        return ("global", call.ranks)
    return ("local", len(call.ranks), call.name is not None)


def find_divergences(runs: list[RankRun]) -> list[Divergence]:
    shapes = {run.rank: tuple(_shape(call) for call in run.calls) for run in runs}
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
