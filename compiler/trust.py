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

from . import key_list
from .errors import Problem
from .load import LoadedConfig

_OWN = ("launch", "deepspeed", "satc")


def entries(tree: dict[str, Any]) -> list[str]:
    return key_list.entries(tree, "trust")


def _trustable(problem: Problem) -> bool:
    head = problem.key.split(".", 1)[0].split("[", 1)[0]
    return bool(head) and head not in _OWN and not problem.key.startswith("--")


def split(config: LoadedConfig, errors: list[Problem]) -> tuple[list[Problem], list[Problem]]:
    """(errors still refused, trusted ones as warnings)."""
    listed = entries(config.tree)
    refused: list[Problem] = []
    trusted: list[Problem] = []
    for error in errors:
        entry = next((e for e in listed if key_list.covers(e, error.key)), None)
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
    return key_list.stale(config, "trust", trusted, "error to trust")
