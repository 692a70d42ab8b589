"""The built-in profile: the project satc assumes when it finds none.

A compile run outside any project folder (the README's ``make example`` from satc's own
checkout, say) is judged against CogVideoX's ``sat/`` folder at commit e519ece, as
recorded in satc's committed, generated data (``schemas/satc.schema.json``'s ``args``
section and ``schemas/models.json``).  The facts are the same records the static reader
produces (``tools/builtin_profile.py`` runs that reader on the CogVideoX tree), so every
stage consumes one shape.
"""

from __future__ import annotations

import json
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from .. import resources
from .facts import Argument, GetArgs, Project, Sat, Section

LABEL = "CogVideoX sat/ at e519ece (satc's built-in profile)"
_ARGUMENTS_FILE = "arguments.py"

_TYPES = {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _argument(dest: str, schema: dict[str, Any]) -> Argument:
    """An argparse record from the generated schema of one dest (its action and type)."""
    types = [t for t in _types(schema) if t != "null"]
    nargs: str | None = None
    action = "store"
    kind: str | None = None
    if "array" in types:
        nargs = "+" if schema.get("minItems") else "*"
        kind = _TYPES.get(_types(schema.get("items", {}))[0] if schema.get("items") else "")
    elif types == ["boolean"]:
        action = "store_false" if schema.get("default") is True else "store_true"
    elif types:
        kind = _TYPES.get(types[0])
    elif "enum" in schema:
        nargs = "?"  # iterable_dataset: nargs='?' with const=True
    choices = schema.get("enum")
    return Argument(
        dest=dest,
        flags=("--" + dest.replace("_", "-"),),
        action=action,
        type=kind,
        nargs=nargs,
        default=schema.get("default"),
        default_expr=None,
        const=True if nargs == "?" else None,
        choices=tuple(choices) if choices and action == "store" else None,
        help=schema.get("description", ""),
        group=schema.get("x-satc-group", ""),
        source=_ARGUMENTS_FILE,
    )


def _section(name: str, kind: str, dest: str | None, converts: str) -> Section:
    return Section(name, kind, dest, converts, f"{_ARGUMENTS_FILE}:process_config_to_args")


@lru_cache(maxsize=1)
def builtin_project() -> Project:
    """The built-in profile: ``schemas/builtin_project.json`` (tools/builtin_profile.py)."""
    from importlib import resources as files

    from .serial import from_json

    text = files.files("satc.schemas").joinpath("builtin_project.json").read_text("utf-8")
    return from_json(json.loads(text))


def legacy_profile() -> Project:
    """The same profile from the older generated data (the args schema and models.json),
    for comparison in tests."""
    schema = resources.schema()
    arguments = {
        dest: _argument(dest, sub) for dest, sub in sorted(schema["properties"]["args"]["properties"].items())
    }
    models = resources.models()
    targets = dict(models["targets"])
    # dit_video_concat.py:695 at e519ece: `reduce(mul, patch_size[1:])` (the reader's
    # `uses` fact, which models.json predates).
    network = "dit_video_concat.DiffusionTransformer"
    targets[network] = {**targets[network], "uses": {"patch_size": {"indexed": "dit_video_concat.py:695"}}}
    sections = {
        "args": _section("args", "namespace", None, "object"),
        "model": _section("model", "attribute", "model_config", "omegaconf"),
        "deepspeed": _section("deepspeed", "attribute", "deepspeed_config", "object"),
        "data": _section("data", "attribute", "data_config", "omegaconf"),
    }
    get_args = GetArgs(
        source=f"{_ARGUMENTS_FILE}:58",
        args_assignment="hasattr",
        seed_rule="data_parallel_rank",
        model_parallel="model_parallel_size",
        context_parallel="cogvideox",
    )
    return Project(
        root=None,
        origin="builtin",
        label=LABEL,
        arguments=MappingProxyType(arguments),
        sections=MappingProxyType(sections),
        get_args=get_args,
        sat=Sat(where="snapshot", path="sat", version=None),
        engine=models["engine"],
        targets=MappingProxyType(targets),
        files=(),
    )
