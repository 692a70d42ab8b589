"""Layers that shadow each other: a config file none of whose values survive the merge."""

from __future__ import annotations

from ..errors import SET_RANK, Location, Problem, dotted
from ..tree import value_at
from .work import Work


def l1_shadowed_layer(work: Work) -> None:
    """S1: a file all of whose values are overridden by later layers does nothing; it is
    almost always a layer-order mistake (later files win, as in OmegaConf.merge)."""
    config = work.config
    mappings = _mappings(work)
    surviving = {loc.rank for path, loc in config.origin.items() if path not in mappings}
    replaced: dict[int, list[tuple[Location, tuple[str | int, ...], Location]]] = {}
    for path, earlier in config.overridden.items():
        final = config.origin.get(path)
        for location in earlier:
            # Only files shadowing files: a --set overriding a file is what --set is for.
            if final is not None and location.rank < SET_RANK and final.rank < SET_RANK:
                replaced.setdefault(location.rank, []).append((location, path, final))
    for rank, items in sorted(replaced.items()):
        if rank in surviving:
            continue
        first, path, final = min(items, key=lambda item: item[0])
        name = dotted(path)
        work.warnings.append(
            Problem(
                first,
                name,
                f"every value in this file is overridden by later layers (e.g. {name} by {final}) [S1]",
                severity="warning",
                hint="check the order of the configs: later files win; put this one last if it should win",
            )
        )


def _mappings(work: Work) -> set[tuple[str | int, ...]]:
    """Paths whose value is a mapping: they record the first file that opened them, not a value."""
    return {path for path in work.config.origin if isinstance(value_at(work.config.tree, path)[1], dict)}
