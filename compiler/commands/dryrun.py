"""`satc dryrun`: every rank's process groups, built by the runtime's own code in one process.

Imports torch (through satc.runtime.dryrun) when it runs, which is why the CLI imports
this module only inside the command: compile, check, explain and schema stay torch-free.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

KIND_TITLES = {
    "data_parallel": "data-parallel",
    "model_parallel": "model-parallel",
    "context_parallel": "context-parallel",
    "sequence_parallel": "sequence-parallel",
    "data_broadcast": "data-broadcast",
    "sequence_data_parallel": "sequence-data-parallel",
    "node": "node",
}
# Shown only for a bundle with a sequence-parallel size (SP1).
SEQUENCE_KINDS = ("sequence_parallel", "data_broadcast", "sequence_data_parallel")


@dataclass(frozen=True)
class Scenario:
    bundle: str
    world_size: int
    nodes: int
    gpus_per_node: int
    model_parallel_size: int
    context_parallel_size: int
    sequence_parallel_size: int | None = None

    @property
    def data_parallel_size(self) -> int:
        return self.world_size // (self.model_parallel_size * (self.sequence_parallel_size or 1))

    @property
    def kinds(self) -> tuple[str, ...]:
        if self.sequence_parallel_size is None:
            return tuple(kind for kind in KIND_TITLES if kind not in SEQUENCE_KINDS)
        return tuple(KIND_TITLES)


class DryRunError(Exception):
    """The bundle cannot be read, or --world does not fit its topology."""


# launch.nodes' maximum in schemas/satc.schema.json: a larger --world ran for minutes, in GBs.
MAX_NODES = 4096


def scenario(bundle: str, world: int | None) -> Scenario:
    """The bundle's topology, or the same layout per node at ``world`` ranks."""
    from ...runtime import groups
    from ...runtime.bundle import read_bundle
    from ...runtime.errors import BundleError

    try:
        topology = read_bundle(Path(bundle)).topology
    except BundleError as exc:
        raise DryRunError(str(exc)) from None
    size = topology.world_size if world is None else world
    per_node, mp, sp = topology.gpus_per_node, topology.model_parallel_size, topology.sequence_parallel_size
    # SP1: the world must also hold whole blocks of mp x sp ranks.
    block = mp * (sp or 1)
    factors = f"args.model_parallel_size ({mp})" + (
        "" if sp is None else f" x args.sequence_parallel_size ({sp}) = {block}"
    )
    if size < 1 or size % per_node or size % block:
        raise DryRunError(
            f"--world {size}: expected a multiple of launch.gpus_per_node ({per_node}) and of "
            f"{factors}, e.g. --world {_next_multiple(max(size, 1), per_node, block)}"
        )
    if size // per_node > MAX_NODES:
        raise DryRunError(
            f"--world {size}: {size // per_node} nodes of {per_node}; launch.nodes is at most "
            f"{MAX_NODES} (satc compile refuses more), e.g. --world {_largest_fit(MAX_NODES * per_node, per_node, block)}"
        )
    return Scenario(bundle, size, size // per_node, per_node, mp, groups.context_parallel_size(mp), sp)


def _largest_fit(size: int, *factors: int) -> int:
    """The largest world <= size that every factor divides (at least their lcm)."""
    lcm = math.lcm(*factors)
    return max(size // lcm, 1) * lcm


def _next_multiple(size: int, *factors: int) -> int:
    """The smallest world >= size that every factor divides."""
    lcm = math.lcm(*factors)
    return -(-size // lcm) * lcm


def run(plan: Scenario) -> Any:
    """Simulate every rank with satc.runtime's group code; returns a checked report."""
    try:
        import torch.distributed  # noqa: F401
        import torch.testing._internal.distributed.fake_pg  # noqa: F401
    except ImportError as exc:
        raise DryRunError(
            f"the dry run runs torch.distributed's own code and needs torch with its fake "
            f"process group ({exc}); install the runtime's dependencies (pip install torch)"
        ) from None
    from ...runtime import dryrun

    build = dryrun.satc_build(
        plan.world_size,
        plan.model_parallel_size,
        plan.gpus_per_node,
        timedelta(seconds=60),
        plan.sequence_parallel_size,
    )
    return dryrun.check(dryrun.simulate(plan.world_size, build))


def _step(members: tuple[int, ...]) -> int | None:
    """The common difference of an arithmetic run of more than two members."""
    if len(members) < 3:
        return None
    step = members[1] - members[0]
    return step if all(b - a == step for a, b in zip(members, members[1:], strict=False)) else None


def span(members: tuple[int, ...]) -> str:
    """Members compactly: [0-7] for a block, [1,5,...,4093] for a stride."""
    step = _step(members)
    if step == 1:
        return f"[{members[0]}-{members[-1]}]"
    if step is not None and len(members) > 3:
        return f"[{members[0]},{members[1]},...,{members[-1]}]"
    return "[" + ",".join(map(str, members)) + "]"


def _call_text(call: Any) -> str:
    if call is None:
        return "no call (its sequence ended)"
    how = "members only" if call.local else "every rank"
    return f"new_group({span(call.ranks)}, {how})"


def verdict(plan: Scenario, report: Any) -> list[str]:
    counts = sorted({len(run.calls) for run in report.runs})
    local = all(call.local for run in report.runs for call in run.calls)
    lines = [
        f"dry run of {plan.bundle}: world {plan.world_size} = {plan.nodes} node(s) x "
        f"{plan.gpus_per_node}; model-parallel {plan.model_parallel_size}, data-parallel "
        f"{plan.data_parallel_size}, context-parallel {plan.context_parallel_size}"
        + (
            ""
            if plan.sequence_parallel_size is None
            else f", sequence-parallel {plan.sequence_parallel_size}, sequence-data-parallel "
            f"{plan.world_size // plan.model_parallel_size}"
        ),
        f"{len(report.runs)} rank(s) built their groups with satc.runtime.groups on torch's fake "
        "process group",
        f"new_group calls per rank: {'/'.join(map(str, counts))}"
        + (", each entered by the group's members only" if local else ""),
    ]
    for wait in report.waits[:10]:
        lines.append(
            f"HANG: rank {wait.rank} waits in call {wait.index + 1}, {_call_text(wait.call)}, "
            f"for rank(s) {span(wait.missing)} that never reach it"
        )
    if len(report.waits) > 10:
        lines.append(f"HANG: {len(report.waits) - 10} more rank(s) wait")
    for div in report.divergences:
        lines.append(
            f"DIFFERS: rank(s) {span(div.ranks)} make {div.calls} call(s), the others "
            f"{div.common_calls}; call {div.index + 1} is {_call_text(div.call)} where the others "
            f"make {_call_text(div.common_call)}"
        )
    if report.ok:
        lines.append("ok: every group completes and every rank's sequence has the same shape")
    return lines


def render_text(plan: Scenario, report: Any, quiet: bool) -> str:
    lines = verdict(plan, report)
    if not quiet:
        titles = [KIND_TITLES[kind] for kind in plan.kinds]
        rows = [["rank", "node", "calls", *titles]]
        for run in report.runs:
            cells = [str(run.rank), str(run.rank // plan.gpus_per_node), str(len(run.calls))]
            for kind in plan.kinds:
                joined = run.joined.get(kind)
                cells.append("-" if joined is None else f"{joined[1]}@{span(joined[0])}")
            rows.append(cells)
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines.append("")
        lines.append("each group reads rank-in-group@[members]")
        lines.extend(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
        )
    return "\n".join(lines) + "\n"


def _members_json(members: tuple[int, ...]) -> Any:
    """A list, or python's range(start, stop, step) for an arithmetic run of more than 8."""
    step = _step(members)
    if step is not None and len(members) > 8:
        return {"start": members[0], "stop": members[-1] + 1, "step": step}
    return list(members)


def _call_json(call: Any) -> Any:
    if call is None:
        return None
    return {"ranks": _members_json(call.ranks), "members_only": call.local, "name": call.name}


def render_json(plan: Scenario, report: Any) -> str:
    document = {
        "bundle": plan.bundle,
        "world_size": plan.world_size,
        "nodes": plan.nodes,
        "gpus_per_node": plan.gpus_per_node,
        "model_parallel_size": plan.model_parallel_size,
        "context_parallel_size": plan.context_parallel_size,
        **(
            {}
            if plan.sequence_parallel_size is None
            else {"sequence_parallel_size": plan.sequence_parallel_size}
        ),
        "ok": report.ok,
        "ranks": [
            {
                "rank": run.rank,
                "calls": [_call_json(call) for call in run.calls],
                "groups": {
                    kind: {"ranks": _members_json(members), "rank": rank}
                    for kind, (members, rank) in sorted(run.joined.items())
                },
            }
            for run in report.runs
        ],
        "hangs": [
            {"rank": w.rank, "call": w.index, "waiting_in": _call_json(w.call), "missing": list(w.missing)}
            for w in report.waits
        ],
        "divergences": [
            {
                "ranks": list(d.ranks),
                "calls": d.calls,
                "common_calls": d.common_calls,
                "first_difference": d.index,
                "theirs": _call_json(d.call),
                "common": _call_json(d.common_call),
            }
            for d in report.divergences
        ],
    }
    return json.dumps(document, indent=1, sort_keys=True) + "\n"
