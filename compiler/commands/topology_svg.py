"""The rank layout as a picture: nodes x GPUs, coloured by group, one panel per kind.

Plain SVG text (no plotting library): rows are nodes, columns local ranks, and each
cell takes the colour of the rank's model-, data- or context-parallel group.  A
model-parallel group that crosses a node boundary is outlined in red.  Large worlds
show their first MAX_NODES nodes: the layout repeats node by node (R11/R12).
"""

from __future__ import annotations

from html import escape

from ..plan import Topology
from .topology_table import Place, header, place

MAX_NODES = 64
CELL = 14
GAP = 24
KINDS = (
    ("model-parallel", "model_parallel"),
    ("data-parallel", "data_parallel"),
    ("context-parallel", "context_parallel"),
)


def _colour(index: int) -> str:
    """Neighbouring groups get distant hues (golden angle), in three lightness bands."""
    hue = (index * 137.508) % 360
    lightness = (45, 60, 75)[index // 3 % 3]
    return f"hsl({hue:.1f},65%,{lightness}%)"


def _group(where: Place, attribute: str) -> int:
    group = getattr(where, attribute)
    index: int = group.index
    return index


def render_svg(topology: Topology, target: str) -> str:
    shown = min(topology.nodes, MAX_NODES)
    per_node = topology.gpus_per_node
    # Panels at least as wide as their labels; the picture at least as wide as its title
    # (about 6.5 px per character at 11-12 px sans-serif).
    panel_w, panel_h = max(per_node * CELL, 150), shown * CELL
    left, top = 48, 56
    title = header(topology, target)
    if shown < topology.nodes:
        title += f" (first {shown} of {topology.nodes} nodes; the pattern repeats)"
    legend = "colour = group index; red outline = a model-parallel group that spans nodes; hover a cell for its rank"
    width = max(left + len(KINDS) * (panel_w + GAP), left + int(max(len(title), len(legend)) * 6.5))
    height = top + panel_h + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="16" font-size="12">{escape(title)}</text>',
    ]
    for node in range(shown):
        y = top + node * CELL + CELL - 3
        out.append(f'<text x="{left - 6}" y="{y}" text-anchor="end">{node}</text>')
    for panel, (label, attribute) in enumerate(KINDS):
        x0 = left + panel * (panel_w + GAP)
        out.append(f'<text x="{x0}" y="{top - 22}">{label} groups</text>')
        out.append(
            f'<text x="{x0}" y="{top - 8}" fill="#555">rows: nodes; columns: GPU 0..{per_node - 1}</text>'
        )
        for node in range(shown):
            for local in range(per_node):
                where = place(topology, node * per_node + local)
                group = _group(where, attribute)
                members = where.model_parallel.members
                crosses = attribute == "model_parallel" and members[0] // per_node != members[-1] // per_node
                stroke = ' stroke="red" stroke-width="2"' if crosses else ' stroke="white" stroke-width="0.5"'
                out.append(
                    f'<rect x="{x0 + local * CELL}" y="{top + node * CELL}" width="{CELL}" height="{CELL}" '
                    f'fill="{_colour(group)}"{stroke}><title>rank {where.rank} (node {node}, GPU {local}): '
                    f"{label} group {group}</title></rect>"
                )
    legend_y = top + panel_h + 24
    out.append(f'<text x="{left}" y="{legend_y}" fill="#555">{legend}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
