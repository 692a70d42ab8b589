"""Shared shape of satc's reviewed key lists (`satc.accept_warnings`, `satc.trust`).

Both are lists of dotted keys in a config layer; an entry covers its key and every key
below it, and an entry that covers no problem is itself a warning, so a list never
outlives the problems it was written for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import Problem
from .load import LoadedConfig


def covers(entry: str, key: str) -> bool:
    return key == entry or key.startswith((f"{entry}.", f"{entry}["))


def entries(tree: dict[str, Any], name: str) -> list[str]:
    """The string entries of `satc.<name>` (anything else is the schema's to refuse)."""
    section = tree.get("satc")
    given = section.get(name) if isinstance(section, dict) else None
    return [item for item in given if isinstance(item, str)] if isinstance(given, list) else []


def stale(config: LoadedConfig, name: str, matched: Iterable[Problem], what: str) -> list[Problem]:
    """A warning for each entry of `satc.<name>` that covers none of `matched`."""
    keys = [problem.key for problem in matched]
    return [
        Problem(
            config.locate(("satc", name, index)),
            f"satc.{name}[{index}]",
            f"{entry}: no {what}",
            severity="warning",
            hint=f"remove it from satc.{name}",
        )
        for index, entry in enumerate(entries(config.tree, name))
        if not any(covers(entry, key) for key in keys)
    ]
