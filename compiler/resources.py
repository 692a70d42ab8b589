"""The one place that knows where satc's templates and schemas live."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

# satc's package folder: its data files are plain files beside its modules (a wheel and
# an editable install both lay them out so).  Read with open(), not importlib.resources,
# whose import (zipfile, tempfile, its readers) was a tenth of a repeat compile.
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def data_text(folder: str, name: str) -> str:
    """The text of ``satc/<folder>/<name>``."""
    with open(os.path.join(PACKAGE, folder, name), encoding="utf-8") as handle:
        return handle.read()


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


def schema_text() -> str:
    return data_text("schemas", "satc.schema.json")


def template_text(name: str) -> str:
    return data_text("templates", name)


def template_names() -> list[str]:
    """Every launch script template, sorted: what a launch.env name must not collide with."""
    return sorted(name for name in os.listdir(os.path.join(PACKAGE, "templates")) if name.endswith(".sh.j2"))


@lru_cache(maxsize=1)
def snapshot() -> dict[str, Any]:
    """satc's bundled facts of the pinned SAT and DeepSpeed (tools/snapshot.py), for a
    compile-only install that has neither's source."""
    try:
        text = data_text("schemas", "sat-snapshot.json")  # project/reader.py: SNAPSHOT
    except OSError:
        return {}
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=1)
def models() -> dict[str, Any]:
    """The parameters of every known `target`, generated from CogVideoX's and SAT's code
    by tools/model_schema.py."""
    text = data_text("schemas", "models.json")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def editor_schema_text(project: Any = None) -> str:
    """What `satc schema` prints: the schema of configs for ``project`` (a facts.Project;
    None: the built-in profile) with its model knowledge."""
    from .project.builtin import builtin_project
    from .project.schema import config_schema
    from .rules.models.editor import editor_schema

    project = project if project is not None else builtin_project()
    known: dict[str, Any] = {"engine": project.engine, "targets": dict(project.targets)}
    if project.origin == "builtin":  # where the official configs put each target
        known["official_positions"] = models()["official_positions"]
        known["official_targets"] = models()["official_targets"]
    text = json.dumps(editor_schema(config_schema(project), known), indent=2, allow_nan=False)
    return text + "\n"
