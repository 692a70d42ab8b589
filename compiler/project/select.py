"""Which project a config is compiled for, and its facts, read once per process.

The project is, in order: ``satc compile --project DIR``; ``satc.project: DIR`` in a
config (relative to the file that sets it); the entrypoint folder the compile runs in
(``find_root``).  Without one, the built-in profile judges the config and the command
line says so once (a note, not a warning: ``--strict`` passes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem
from ..load import LoadedConfig
from . import answer_entry, find_root, read_project
from .facts import Project

NO_PROJECT_NOTE = (
    "note: no project found here (no arguments.py in the current directory): satc judges "
    "this config by its built-in CogVideoX profile. Run satc from your entrypoint folder, "
    "or point it at the project with --project DIR or satc.project: DIR"
)


@dataclass(frozen=True)
class Where:
    root: str | None  # absolute; None: the built-in profile
    how: str  # "--project", "satc.project", "cwd" (or below it: the configs' folder) or "none"


def targets_in(tree: Any) -> tuple[str, ...]:
    """Every dotted `target:` name the configs hold, sorted (the reader describes them)."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            target = node.get("target")
            if isinstance(target, str):
                yield target
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return tuple(sorted(set(walk(tree))))


def _checked_dir(path: str, problem_at: Any, key: str) -> str:
    real = os.path.realpath(path)
    if not os.path.isdir(real):
        raise ConfigError(
            [
                Problem(
                    problem_at,
                    key,
                    f"the project folder {path!r} does not exist or is not a directory",
                    hint="name the folder that holds the project's entrypoint and arguments.py",
                )
            ]
        )
    return real


def where(config: LoadedConfig) -> Where:
    if config.project_dir is not None:
        return Where(_checked_dir(config.project_dir, None, "--project"), "--project")
    satc = config.tree.get("satc")
    given = satc.get("project") if isinstance(satc, dict) else None
    if isinstance(given, str) and given:
        location = config.locate(("satc", "project"))
        base = os.path.dirname(location.label) if location is not None and location.line else "."
        return Where(_checked_dir(os.path.join(base, given), location, "satc.project"), "satc.project")
    launch = config.tree.get("launch")
    entrypoint = launch.get("entrypoint") if isinstance(launch, dict) else None
    cwd = Path(os.getcwd())
    root = find_root(cwd, entrypoint if isinstance(entrypoint, str) else None)
    if root is None:
        root = _holding_configs(cwd, [item.label for item in config.inputs])
    return Where(os.path.realpath(root), "cwd") if root is not None else Where(None, "none")


def _holding_configs(cwd: Path, labels: list[str]) -> Path | None:
    """The one folder below ``cwd`` that holds arguments.py and every input config: a
    README that runs ``python flashvideo/dist_inf_text_file.py --base
    flashvideo/configs/stage1.yaml`` from the repository root (FoundationVision/FlashVideo
    8de4ae2, inf_270_1080p.sh) names the project by where its configs are."""
    found: set[Path] = set()
    for label in labels:
        folder = (cwd / label).parent.resolve()
        while folder != cwd.resolve() and cwd.resolve() in folder.parents:
            if (folder / "arguments.py").is_file():
                found.add(folder)
                break
            folder = folder.parent
        else:
            return None
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=16)
def _read(root: str | None, targets: tuple[str, ...]) -> Project:
    return read_project(root, targets)


def for_config(config: LoadedConfig) -> Project:
    """The project that judges ``config``: located and read once per config object."""
    cached: Project | None = config.__dict__.get("_project")
    if cached is None:
        cached = _read(where(config).root, targets_in(config.tree))
        object.__setattr__(config, "_project", cached)
    return cached


def entry_fact(config: LoadedConfig, question: str) -> bool | None:
    """An answer about the launched script's own code (facts.Project.entry_facts), read the
    first time a rule asks it; None where satc cannot tell (the built-in profile included)."""
    project = for_config(config)
    if question not in project.entry_facts:
        project = answer_entry(project, question)
        object.__setattr__(config, "_project", project)
    asked: set[str] | None = config.__dict__.get("_asked")
    if asked is None:
        asked = set()
        object.__setattr__(config, "_asked", asked)
    asked.add(question)  # the bundle records the files that answered it
    return project.entry_facts.get(question)


def files_used(config: LoadedConfig) -> set[str] | None:
    """The project files the facts judging ``config`` came from: the read every config
    uses, its targets' descriptions, the entry questions its rules asked (None: not known,
    every file read)."""
    project = for_config(config)
    if not project.base_files:
        return None
    used = set(project.base_files)
    for target in targets_in(config.tree):
        used.update(project.target_files.get(target, ()))
    for question in config.__dict__.get("_asked", ()):
        used.update(project.entry_files.get(question, ()))
    return used


def note(config: LoadedConfig) -> str | None:
    """The one line a compile prints when no project was found."""
    return NO_PROJECT_NOTE if for_config(config).origin == "builtin" and where(config).how == "none" else None
