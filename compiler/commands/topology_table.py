"""The rank layout of a plan as a table: nodes x local ranks, with each rank's groups.

Mirrors what the launchers and the runtime do (SPEC R11/R12): a node holds a
consecutive block of ranks; model-parallel groups are consecutive blocks of mp
ranks, data-parallel groups stride by mp, context-parallel groups are consecutive
blocks of cp ranks.  Users read it before queuing; tests compare launched ranks to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..plan import Topology


@dataclass(frozen=True)
class Place:
    node: int
    local_rank: int
    rank: int
    model_parallel: tuple[int, ...]
    data_parallel: tuple[int, ...]
    context_parallel: tuple[int, ...]


def layout(topology: Topology) -> list[Place]:
    world = topology.world_size
    mp, cp = topology.model_parallel_size, topology.context_parallel_size
    places = []
    for rank in range(world):
        mp_start, cp_start = rank - rank % mp, rank - rank % cp
        places.append(
            Place(
                node=rank // topology.gpus_per_node,
                local_rank=rank % topology.gpus_per_node,
                rank=rank,
                model_parallel=tuple(range(mp_start, mp_start + mp)),
                data_parallel=tuple(range(rank % mp, world, mp)),
                context_parallel=tuple(range(cp_start, cp_start + cp)),
            )
        )
    return places


def _group(members: tuple[int, ...], size: int) -> str:
    return f"{members[0] // size if size else 0}:[{','.join(map(str, members))}]"


def table(topology: Topology, target: str) -> str:
    """A plain-text table; group columns read `index:[member ranks]`."""
    header = (
        f"world {topology.world_size} = {topology.nodes} node(s) x {topology.gpus_per_node} rank(s) "
        f"via {target}; model-parallel {topology.model_parallel_size}, data-parallel "
        f"{topology.data_parallel_size}, context-parallel {topology.context_parallel_size}"
    )
    rows = [("node", "local", "rank", "model-parallel", "data-parallel", "context-parallel")]
    for place in layout(topology):
        rows.append(
            (
                str(place.node),
                str(place.local_rank),
                str(place.rank),
                _group(place.model_parallel, topology.model_parallel_size),
                f"{place.rank % topology.model_parallel_size}:[{','.join(map(str, place.data_parallel))}]",
                _group(place.context_parallel, topology.context_parallel_size),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [header, ""]
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines) + "\n"
