"""The rank layout of a plan: nodes x local ranks, with each rank's groups.

Mirrors what the launchers and the runtime do (R11/R12): a node holds a
consecutive block of ranks; model-parallel groups are consecutive blocks of mp
ranks, data-parallel groups stride by mp, context-parallel groups are consecutive
blocks of cp ranks.  Users read it before queuing; tests compare launched ranks to it.

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


def place(topology: Topology, rank: int) -> Place:
    mp, cp, dp = topology.model_parallel_size, topology.context_parallel_size, topology.data_parallel_size
    return Place(
        node=rank // topology.gpus_per_node,
        local_rank=rank % topology.gpus_per_node,
        rank=rank,
        model_parallel=Group(rank // mp, rank - rank % mp, 1, mp),
        data_parallel=Group(rank % mp, rank % mp, mp, dp),
        context_parallel=Group(rank // cp, rank - rank % cp, 1, cp),
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
    return (
        f"world {topology.world_size} = {topology.nodes} node(s) x {topology.gpus_per_node} rank(s) "
        f"via {target}; model-parallel {topology.model_parallel_size}, data-parallel "
        f"{topology.data_parallel_size}, context-parallel {topology.context_parallel_size}"
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
    mp = topology.model_parallel_size
    # A node's ranks reach every data-parallel group index (rank % mp) once it holds mp ranks.
    dp_first, dp_last = (0, mp - 1) if per_node >= mp else (first.rank % mp, last.rank % mp)
    spans = [_span(first.model_parallel, per_node), _span(last.model_parallel, per_node)]
    crossing = [f"{a}-{b}" for a, b in dict.fromkeys(spans) if a != b]
    return (
        str(node),
        _indexes(first.rank, last.rank),
        _indexes(first.model_parallel.index, last.model_parallel.index)
        + (f" ! spans nodes {','.join(crossing)}" if crossing else ""),
        _indexes(dp_first, dp_last) if dp_first <= dp_last else f"{dp_first}..{mp - 1},0..{dp_last}",
        _indexes(first.context_parallel.index, last.context_parallel.index),
    )


def compact(topology: Topology, target: str) -> Iterator[str]:
    """One line per node: its ranks and the indexes of the groups they belong to."""
    mp, cp, dp = topology.model_parallel_size, topology.context_parallel_size, topology.data_parallel_size
    yield header(topology, target)
    warning = span_warning(topology)
    if warning:
        yield warning
    yield (
        f"group k holds ranks: model-parallel k*{mp}..k*{mp}+{mp - 1}; data-parallel k, k+{mp}, .. "
        f"({dp} ranks); context-parallel k*{cp}..k*{cp}+{cp - 1}"
    )
    yield ""
    heads = ("node", "ranks", "model-parallel", "data-parallel", "context-parallel")
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
    return (
        str(where.node),
        str(where.local_rank),
        str(where.rank),
        where.model_parallel.text() + ("!" if crosses else ""),
        where.data_parallel.text(),
        where.context_parallel.text(),
    )


def full(topology: Topology, target: str) -> Iterator[str]:
    """One line per rank; group columns read `index:[member ranks]`."""
    yield header(topology, target)
    warning = span_warning(topology)
    if warning:
        yield warning
    yield ""
    heads = ("node", "local", "rank", "model-parallel", "data-parallel", "context-parallel")
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
