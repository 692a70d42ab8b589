"""The one place that knows where satc's templates and schemas live."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


def schema_text() -> str:
    return resources.files("satc.schemas").joinpath("satc.schema.json").read_text("utf-8")


def template_text(name: str) -> str:
    return resources.files("satc.templates").joinpath(name).read_text("utf-8")


def template_names() -> list[str]:
    """Every launch script template, sorted: what a launch.env name must not collide with."""
    folder = resources.files("satc.templates")
    return sorted(item.name for item in folder.iterdir() if item.name.endswith(".sh.j2"))


@lru_cache(maxsize=1)
def models() -> dict[str, Any]:
    """The parameters of every known `target`, generated from CogVideoX's and SAT's code
    by tools/model_schema.py."""
    text = resources.files("satc.schemas").joinpath("models.json").read_text("utf-8")
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
