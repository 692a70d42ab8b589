"""Template placeholders left in a config (`load: "{your CogVideoX SAT folder}/transformer"`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .models.targets import problem
from .work import Work

Path = tuple[str | int, ...]
# `{...}` that is no `${...}` interpolation and reads like words a user was meant to
# replace: CogVideoX's configs and README use `{your CogVideoX SAT folder}`,
# `{absolute_path/to/your}` and `{your_CogVideoX-2b-sat_path}`.
_PLACEHOLDER = re.compile(r"(?<!\$)\{([^{}]*)\}")
_WORDY = re.compile(r"\s|your|path|folder|dir", re.IGNORECASE)
# The README's sft.yaml: `train_data: [ "your train data path" ]`.
_PROSE = re.compile(r"\byour\b.*\b(path|folder|dir|directory|file)\b", re.IGNORECASE)
SECTIONS = ("args", "model", "data", "launch")


def _strings(node: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))


def m26_placeholders(work: Work) -> None:
    """M26: a placeholder left in a path fails only on the cluster, when the job opens it
    (the official sft.yaml and inference.yaml ship `load: "{your CogVideoX SAT folder}/..."`).
    An arg that `launch.args_from_env` defers is read at launch time: its value is dropped."""
    deferred = {("args", dest) for dest in work.launch.get("args_from_env") or {}}
    for section in SECTIONS:
        for path, text in _strings(work.config.tree.get(section), (section,)):
            if path[:2] in deferred:
                continue
            match = _PLACEHOLDER.search(text)
            if match and _WORDY.search(match.group(1)):
                found = match.group(0)
            elif _PROSE.search(text):
                found = text
            else:
                continue
            work.warnings.append(
                problem(
                    work.config,
                    path,
                    "M26",
                    f"placeholder {found!r} left in the value",
                    "replace it with the real path before launching",
                    "warning",
                )
            )
