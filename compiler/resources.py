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


def editor_schema_text() -> str:
    """What `satc schema` prints: satc's schema with the generated model knowledge."""
    from .rules.models.editor import editor_schema

    return json.dumps(editor_schema(schema(), models()), indent=2, allow_nan=False) + "\n"
