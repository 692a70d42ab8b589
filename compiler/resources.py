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
