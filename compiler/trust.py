"""Trusted keys: `satc: {trust: [KEY, ...]}`, the reviewed escape for a project where
satc is wrong about the code.

satc reads a project statically and may misjudge code it cannot follow.  A user who has
checked the project's code lists the keys in a layer of their own; an error at a listed
key (or below it) that judges the config by the project's code (args, model, data and
the project's own sections) is printed as a warning instead, and the keys are recorded
in `provenance.trusted` of the bundle, so a reviewer sees them.  satc's own sections
(launch, deepspeed, satc) cannot be trusted away.  An entry that matches no error is a
warning, so a list never outlives the problems it was written for.
"""

from __future__ import annotations

from typing import Any

from .errors import Problem
from .load import LoadedConfig

_OWN = ("launch", "deepspeed", "satc")


def entries(tree: dict[str, Any]) -> list[str]:
    section = tree.get("satc")
    given = section.get("trust") if isinstance(section, dict) else None
    return [item for item in given if isinstance(item, str)] if isinstance(given, list) else []


def _covers(entry: str, key: str) -> bool:
    return key == entry or key.startswith((f"{entry}.", f"{entry}["))


def _trustable(problem: Problem) -> bool:
    head = problem.key.split(".", 1)[0].split("[", 1)[0]
    return bool(head) and head not in _OWN and not problem.key.startswith("--")


def split(config: LoadedConfig, errors: list[Problem]) -> tuple[list[Problem], list[Problem]]:
    """(errors still refused, trusted ones as warnings)."""
    listed = entries(config.tree)
    refused: list[Problem] = []
    trusted: list[Problem] = []
    for error in errors:
        entry = next((e for e in listed if _covers(e, error.key)), None)
        if entry is None or error.severity != "error" or not _trustable(error):
            refused.append(error)
            continue
        trusted.append(
            Problem(
                error.location,
                error.key,
                f"trusted (satc.trust: {entry}): {error.message}",
                severity="warning",
                hint=error.hint,
            )
        )
    return refused, trusted


def stale(config: LoadedConfig, trusted: list[Problem]) -> list[Problem]:
    """A warning for each entry that covered no error."""
    found = []
    for index, entry in enumerate(entries(config.tree)):
        if not any(_covers(entry, problem.key) for problem in trusted):
            found.append(
                Problem(
                    config.locate(("satc", "trust", index)),
                    f"satc.trust[{index}]",
                    f"{entry}: no error to trust",
                    severity="warning",
                    hint="remove it from satc.trust",
                )
            )
    return found
