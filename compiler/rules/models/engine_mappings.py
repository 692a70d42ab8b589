"""M29: a `model:` key the project's engine indexes as a mapping must be one.

CogVideoX's engine reads ``network_config = model_config.get("network_config")`` and then
writes ``network_config["params"]["dtype"]`` (``diffusion_video.py:33,74``): a number,
text, list or null there is a ``TypeError`` when the model is built, after every rank has
started.  The reader records each such subscript (the engine's ``children``), so the
check follows the project's own engine; an engine that indexes nothing gets none.
``--set KEY=null`` removes KEY (compiler/load.py), so removing ``model`` or one of those
keys that way is refused as ``--set args.X=null`` is where the default would not run.
"""

from __future__ import annotations

from typing import Any

from ...errors import SET_RANK, Location, Problem
from ...load import LoadedConfig
from ...project import select
from ...project.schema import models as project_models
from ...tree import yaml_text
from .targets import problem

# instantiate_from_config's text values that build nothing (sgm/util.py:258-261)
_MARKERS = ("__is_first_stage__", "__is_unconditional__")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {yaml_text(value)}"


def _removed(config: LoadedConfig, key: str) -> tuple[int, str] | None:
    """(index, label) of the `--set key=null` that removed ``key``, if the last --set of it did."""
    last = None
    for index, override in enumerate(config.overrides):
        if override.key == key:
            last = (index, override.label) if index in config.nulls else None
    return last


def check(config: LoadedConfig) -> list[Problem]:
    engine = project_models(select.for_config(config))["engine"]
    children = (engine or {}).get("children") or {}
    if not children and not (engine or {}).get("builds"):
        return []
    owner = f"{engine['target'].rsplit('.', 1)[-1]} ({engine['source']})"
    found: list[Problem] = []
    model = config.tree.get("model")
    if not isinstance(model, dict):
        where = _removed(config, "model")
        if where is not None:
            key, child = next(iter(sorted(children.items())))
            index, label = where
            return [
                Problem(
                    Location(rank=SET_RANK + index, label=label),
                    "model",
                    f"null removes the model section, but {owner} reads model.{key} and indexes "
                    f"{_read(engine, key, child)}: None there is a TypeError when the model is built [M29]",
                    hint="delete --set model=null; remove single keys with --set model.KEY=null",
                )
            ]
        return []
    unguarded = set(engine.get("builds_unguarded") or ())
    for key, where in sorted((engine.get("builds") or {}).items()):
        value = model.get(key)
        if key in children:
            continue
        if key not in model:
            removed = _removed(config, f"model.{key}") if key in unguarded else None
            if removed is not None:
                found.append(_null_removes(removed, key, f"{owner} {_how(key, where)}, unconditionally"))
            continue
        # text may be one of instantiate_from_config's markers and null may be guarded, except
        # where the engine builds the key whenever it is built (builds_unguarded)
        crashes = isinstance(value, bool | int | float | list) or (
            key in unguarded and (value is None or (isinstance(value, str) and value not in _MARKERS))
        )
        if not crashes:
            continue
        found.append(
            problem(
                config,
                ("model", key),
                "M29",
                f"{owner} {_how(key, where)}: {_kind(value)} is not a mapping with a target, "
                "an error when the model is built",
                f"give model.{key} a mapping with target and params"
                + ("" if key in unguarded else ", or delete it"),
            )
        )
    for key, child in sorted(children.items()):
        read = _read(engine, key, child)
        if key in model:
            value = model[key]
            if isinstance(value, dict):
                continue
            found.append(
                problem(
                    config,
                    ("model", key),
                    "M29",
                    f"{owner} indexes {read}: {_kind(value)} is not a mapping, a TypeError when "
                    "the model is built",
                    f"give model.{key} a mapping with target and params, as the project's configs do",
                )
            )
            continue
        where = _removed(config, f"model.{key}")
        if where is not None:
            found.append(_null_removes(where, key, f"{owner} reads it and indexes {read}"))
    return found


def _null_removes(removed: tuple[int, str], key: str, what: str) -> Problem:
    """A `--set model.KEY=null` that removed a key the engine cannot do without."""
    index, label = removed
    return Problem(
        Location(rank=SET_RANK + index, label=label),
        f"model.{key}",
        f"null removes model.{key}, but {what}: None there is a TypeError when the model is built [M29]",
        hint=f"delete --set model.{key}=null",
    )


def _how(key: str, where: str) -> str:
    """Where the engine builds the key: in its own body, or in a method it hands it to."""
    if where.startswith("self."):
        return f"hands model.{key} to {where}"
    return f"builds model.{key} with instantiate_from_config ({where})"


def _read(engine: dict[str, Any], key: str, child: dict[str, Any]) -> str:
    return f'model.{key}["params"] ({child.get("source", engine["source"])})'
