"""Acknowledged warnings: `satc: {accept_warnings: [KEY, ...]}` in a config layer.

CogVideoX's official configs carry known, harmless mistakes that satc warns about on
every compile.  Listing their keys in a layer of one's own keeps those configs
unchanged, silences exactly those warnings (a key covers the keys below it) and
leaves `--strict` usable for everything else.  An entry that matches no warning is
itself a warning, so a list never outlives the problems it was written for.
"""

from __future__ import annotations

from typing import Any

from .errors import Problem
from .load import LoadedConfig


def _covers(entry: str, key: str) -> bool:
    return key == entry or key.startswith((f"{entry}.", f"{entry}["))


def accepted_keys(tree: dict[str, Any]) -> list[str]:
    section = tree.get("satc") or {}
    return list(section.get("accept_warnings") or [])


def split(
    config: LoadedConfig, warnings: tuple[Problem, ...]
) -> tuple[tuple[Problem, ...], tuple[Problem, ...]]:
    """(warnings still shown, warnings accepted); stale entries join the shown ones."""
    entries = accepted_keys(config.tree)
    shown = [w for w in warnings if not any(_covers(entry, w.key) for entry in entries)]
    accepted = [w for w in warnings if w not in shown]
    for index, entry in enumerate(entries):
        if not any(_covers(entry, w.key) for w in warnings):
            shown.append(
                Problem(
                    config.locate(("satc", "accept_warnings", index)),
                    f"satc.accept_warnings[{index}]",
                    f"{entry}: no warning to accept",
                    severity="warning",
                    hint="remove it from satc.accept_warnings",
                )
            )
    return tuple(sorted(shown, key=Problem.sort_key)), tuple(accepted)
