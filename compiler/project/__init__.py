"""The project satc compiles for, read statically (facts.py)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from .builtin import builtin_project
from .facts import Project


def find_root(cwd: str, entrypoint: str | None = None) -> str | None:
    """The entrypoint folder: ``cwd`` when it holds the project's ``arguments.py``."""
    del entrypoint
    return cwd if os.path.isfile(os.path.join(cwd, "arguments.py")) else None


def read_project(root: str | None, targets: Iterable[str]) -> Project:
    """The facts of the project at ``root``; the built-in profile for None."""
    del targets
    if root is None:
        return builtin_project()
    return builtin_project()


__all__ = ["Project", "builtin_project", "find_root", "read_project"]
