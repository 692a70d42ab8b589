"""Acknowledged warnings: `satc: {accept_warnings: [KEY, ...]}` in a config layer.

CogVideoX's official configs carry known, harmless mistakes that satc warns about on
every compile.  Listing their keys in a layer of one's own keeps those configs
unchanged, silences exactly those warnings (a key covers the keys below it) and
leaves `--strict` usable for everything else.  An entry that matches no warning is
itself a warning, so a list never outlives the problems it was written for.
"""

from __future__ import annotations

from typing import Any

from . import key_list
from .errors import Problem
from .load import LoadedConfig


def accepted_keys(tree: dict[str, Any]) -> list[str]:
    return key_list.entries(tree, "accept_warnings")


def split(
    config: LoadedConfig, warnings: tuple[Problem, ...]
) -> tuple[tuple[Problem, ...], tuple[Problem, ...]]:
    """(warnings still shown, warnings accepted); stale entries join the shown ones."""
    entries = accepted_keys(config.tree)
    shown = [w for w in warnings if not any(key_list.covers(e, w.key) for e in entries)]
    accepted = [w for w in warnings if w not in shown]
    shown += key_list.stale(config, "accept_warnings", warnings, "warning to accept")
    return tuple(sorted(shown, key=Problem.sort_key)), tuple(accepted)
