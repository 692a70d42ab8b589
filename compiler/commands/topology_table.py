"""The rank layout of a plan: nodes x local ranks, with each rank's groups.

Mirrors what the launchers and the runtime do (R11/R12): a node holds a
consecutive block of ranks; model-parallel groups are consecutive blocks of mp
ranks, data-parallel groups stride by mp, context-parallel groups are consecutive
blocks of cp ranks.  With a sequence-parallel size sp (SP1, a project whose SAT's mpu
has one), data-parallel groups stride by mp x sp, a sequence-parallel group is every
mp-th rank of a block of mp x sp, and a sequence-data-parallel group every mp-th rank
of the world.  Users read it before queuing; tests compare launched ranks to it.

Every group is an arithmetic progression, so it is described by (start, step, size)
and never listed: a data-parallel group holds world/mp ranks, and listing one per
rank would grow with the square of the world (4,096 nodes x 64 GPUs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..plan import Topology

# Longer member lists are shown as their first two ranks and the last ("0,2..254").
LISTED = 8


@dataclass(frozen=True)
class Group:
    index: int
    start: int
    step: int
    size: int

    @property
    def members(self) -> range:
        return range(self.start, self.start + self.step * self.size, self.step)

    def text(self) -> str:
        members = self.members
        if self.size <= LISTED:
            shown = ",".join(map(str, members))
        elif self.step == 1:
            shown = f"{members[0]}..{members[-1]}"
        else:
            shown = f"{members[0]},{members[1]}..{members[-1]}"
        return f"{self.index}:[{shown}]"


@dataclass(frozen=True)
class Place:
    node: int
    local_rank: int
    rank: int
    model_parallel: Group
    data_parallel: Group
    context_parallel: Group
    # SP1 only (None without a sequence-parallel size).
    sequence_parallel: Group | None = None
    sequence_data_parallel: Group | None = None


def _block(topology: Topology) -> int:
    """Ranks per data-parallel position: mp, or mp x sp with sequence parallelism (SP1)."""
    return topology.model_parallel_size * (topology.sequence_parallel_size or 1)


def place(topology: Topology, rank: int) -> Place:
    mp, cp, dp = topology.model_parallel_size, topology.context_parallel_size, topology.data_parallel_size
    block, sp = _block(topology), topology.sequence_parallel_size
    return Place(
        node=rank // topology.gpus_per_node,
        local_rank=rank % topology.gpus_per_node,
        rank=rank,
        model_parallel=Group(rank // mp, rank - rank % mp, 1, mp),
        data_parallel=Group(rank % block, rank % block, block, dp),
        context_parallel=Group(rank // cp, rank - rank % cp, 1, cp),
        sequence_parallel=None
        if sp is None
        else Group((rank // block) * mp + rank % mp, rank - rank % block + rank % mp, mp, sp),
        sequence_data_parallel=None if sp is None else Group(rank % mp, rank % mp, mp, sp * dp),
    )


def layout(topology: Topology) -> Iterator[Place]:
    """Every rank's place, one at a time (a world of 262,144 ranks fits in memory)."""
    return (place(topology, rank) for rank in range(topology.world_size))


def _span(group: Group, per_node: int) -> tuple[int, int]:
    return group.members[0] // per_node, group.members[-1] // per_node


def spanning_model_parallel(topology: Topology) -> int:
    """How many model-parallel groups cross a node boundary (their traffic leaves the node)."""
    mp, per_node = topology.model_parallel_size, topology.gpus_per_node
    if per_node % mp == 0:
        return 0
    groups = topology.world_size // mp
    return sum(1 for k in range(groups) if (k * mp) // per_node != (k * mp + mp - 1) // per_node)


def header(topology: Topology, target: str) -> str:
    sequence = (
        ""
        if topology.sequence_parallel_size is None
        else f", sequence-parallel {topology.sequence_parallel_size}, sequence-data-parallel "
        f"{topology.sequence_data_parallel_size}"
    )
    return (
        f"world {topology.world_size} = {topology.nodes} node(s) x {topology.gpus_per_node} rank(s) "
        f"via {target}; model-parallel {topology.model_parallel_size}, data-parallel "
        f"{topology.data_parallel_size}, context-parallel {topology.context_parallel_size}" + sequence
    )


def span_warning(topology: Topology) -> str | None:
    spanning = spanning_model_parallel(topology)
    if not spanning:
        return None
    groups = topology.world_size // topology.model_parallel_size
    return (
        f"warning: {spanning} of {groups} model-parallel group(s) span nodes "
        f"(model_parallel_size {topology.model_parallel_size}, gpus_per_node "
        f"{topology.gpus_per_node}): their every-layer traffic leaves the node; marked '!' below.\n"
        "    hint: choose a model_parallel_size that divides gpus_per_node"
    )


def _lines(rows: Iterator[tuple[str, ...]], widths: list[int]) -> Iterator[str]:
    for row in rows:
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()


def _indexes(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}..{last}"


def _node_row(topology: Topology, node: int) -> tuple[str, ...]:
    per_node = topology.gpus_per_node
    first, last = place(topology, node * per_node), place(topology, node * per_node + per_node - 1)
    block = _block(topology)
    # A node's ranks reach every data-parallel group index (rank % block) once it holds block ranks.
    dp_first, dp_last = (0, block - 1) if per_node >= block else (first.rank % block, last.rank % block)
    spans = [_span(first.model_parallel, per_node), _span(last.model_parallel, per_node)]
    crossing = [f"{a}-{b}" for a, b in dict.fromkeys(spans) if a != b]
    row = (
        str(node),
        _indexes(first.rank, last.rank),
        _indexes(first.model_parallel.index, last.model_parallel.index)
        + (f" ! spans nodes {','.join(crossing)}" if crossing else ""),
        _indexes(dp_first, dp_last) if dp_first <= dp_last else f"{dp_first}..{block - 1},0..{dp_last}",
        _indexes(first.context_parallel.index, last.context_parallel.index),
    )
    if topology.sequence_parallel_size is None:
        return row
    return (*row, _sequence_indexes(topology, node * per_node, per_node))


def _sequence_indexes(topology: Topology, first: int, count: int) -> str:
    """The sequence-parallel groups (SP1) that ranks first..first+count-1 belong to: whole
    blocks of mp x sp ranks hold mp groups each, so the indexes form at most a few runs."""
    indexes = sorted({_sequence_index(topology, rank) for rank in range(first, first + count)})
    runs: list[list[int]] = []
    for index in indexes:
        if runs and index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ",".join(_indexes(a, b) for a, b in runs)


def _sequence_index(topology: Topology, rank: int) -> int:
    mp = topology.model_parallel_size
    return (rank // _block(topology)) * mp + rank % mp


def compact(topology: Topology, target: str) -> Iterator[str]:
    """One line per node: its ranks and the indexes of the groups they belong to."""
    mp, cp, dp = topology.model_parallel_size, topology.context_parallel_size, topology.data_parallel_size
    yield header(topology, target)
    warning = span_warning(topology)
    if warning:
        yield warning
    block, sp = _block(topology), topology.sequence_parallel_size
    yield (
        f"group k holds ranks: model-parallel k*{mp}..k*{mp}+{mp - 1}; data-parallel k, k+{block}, .. "
        f"({dp} ranks); context-parallel k*{cp}..k*{cp}+{cp - 1}"
        + (
            ""
            if sp is None
            else f"; sequence-parallel (k//{mp})*{block} + k%{mp}, +{mp}, .. ({sp} ranks); "
            f"sequence-data-parallel k, k+{mp}, .. ({topology.sequence_data_parallel_size} ranks), "
            f"k < {mp} (SP1)"
        )
    )
    yield ""
    heads: tuple[str, ...] = ("node", "ranks", "model-parallel", "data-parallel", "context-parallel")
    if sp is not None:
        heads += ("sequence-parallel",)
    widths = [len(head) for head in heads]
    # Widths from the widest rows (the last node has the largest numbers), so the
    # table streams without holding every row.
    for node in {0, topology.nodes - 1}:
        widths = [max(w, len(cell)) for w, cell in zip(widths, _node_row(topology, node), strict=True)]
    rows = (_node_row(topology, node) for node in range(topology.nodes))
    yield from _lines(iter([heads]), widths)
    yield from _lines(rows, widths)


def _rank_row(topology: Topology, where: Place) -> tuple[str, ...]:
    crosses = len(set(_span(where.model_parallel, topology.gpus_per_node))) > 1
    row = (
        str(where.node),
        str(where.local_rank),
        str(where.rank),
        where.model_parallel.text() + ("!" if crosses else ""),
        where.data_parallel.text(),
        where.context_parallel.text(),
    )
    if where.sequence_parallel is None or where.sequence_data_parallel is None:
        return row
    return (*row, where.sequence_parallel.text(), where.sequence_data_parallel.text())


def full(topology: Topology, target: str) -> Iterator[str]:
    """One line per rank; group columns read `index:[member ranks]`."""
    yield header(topology, target)
    warning = span_warning(topology)
    if warning:
        yield warning
    yield ""
    heads: tuple[str, ...] = ("node", "local", "rank", "model-parallel", "data-parallel", "context-parallel")
    if topology.sequence_parallel_size is not None:
        heads += ("sequence-parallel", "sequence-data-parallel")
    widths = [len(head) for head in heads]
    last = topology.world_size - 1
    for rank in dict.fromkeys((0, topology.gpus_per_node - 1, last, max(0, last - 1))):
        widths = [
            max(w, len(cell))
            for w, cell in zip(widths, _rank_row(topology, place(topology, rank)), strict=True)
        ]
    yield from _lines(iter([heads]), widths)
    yield from _lines((_rank_row(topology, where) for where in layout(topology)), widths)


def table(topology: Topology, target: str) -> str:
    """The full per-rank table as one text (explain --topology)."""
    return "\n".join(full(topology, target)) + "\n"
