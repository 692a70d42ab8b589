"""One static read of a project's tree into :class:`~.facts.Project` (no cache here)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import classes, get_args, parser_surface, sat_source, sections
from . import sources as sources_module
from .facts import GetArgs, Project, Sat
from .sources import Sources

SNAPSHOT = "sat-snapshot.json"


@lru_cache(maxsize=1)
def snapshot() -> Mapping[str, Any]:
    """satc's bundled facts of the pinned SAT and DeepSpeed (tools/snapshot.py), for a
    compile-only install that has neither's source."""
    try:
        text = resources.files("satc.schemas").joinpath(SNAPSHOT).read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return {}
    return json.loads(text)


@lru_cache(maxsize=1)
def _deepspeed_installed() -> bool:
    from .sources import installed

    return installed("deepspeed") is not None


def open_sources(root: Path) -> tuple[Sources, str, Path | None]:
    where, sat_dir = sat_source.locate(root)
    sources = Sources(
        root,
        sat_dir.parent if sat_dir else None,
        sat_vendored=where == "vendored",
        opaque=classes.CLOSED_BASES,
    )
    if where == "snapshot":
        sources.snapshot_targets = dict(snapshot().get("targets", {}))
    return sources, where, sat_dir


def _functions_snapshot(where: str) -> Mapping[str, Any]:
    """Argument functions whose source is absent here: SAT's when there is no SAT source,
    DeepSpeed's when DeepSpeed is not installed."""
    known = snapshot().get("argument_functions", {})
    out = {}
    for name, entries in known.items():
        if (
            name.startswith("sat.")
            and where == "snapshot"
            or name.startswith("deepspeed")
            and not _deepspeed_installed()
        ):
            out[name] = entries
    return out


def read(root: Path, targets: Iterable[str]) -> tuple[Project, Sources, dict[str, Any]]:
    """The facts, the sources they came from, and what the cache needs to redo a part."""
    sources_module._WALKED.clear()
    sources, where, sat_dir = open_sources(root)
    surface, found = parser_surface.read(sources, _functions_snapshot(where))
    read_sections = sections.read(sources, found)
    facts = get_args.read(sources, found, read_sections)
    facts.unsupported[:0] = surface.unresolved
    second = get_args.second_stack(found, read_sections, surface.arguments)
    if where == "snapshot":
        pinned = snapshot().get("sat", {})
        sat = Sat(
            where="snapshot",
            path="satc:schemas/" + SNAPSHOT,
            version=pinned.get("version"),
            mpu_dimensions=tuple(pinned.get("mpu_dimensions", ("model", "data"))),
            mpu_source=pinned.get("mpu_source", ""),
        )
    else:
        assert sat_dir is not None
        dims, mpu_where = sat_source.mpu_dimensions(sources)
        sat = Sat(
            where=where,
            path=sources.label(sat_dir / "__init__.py").rsplit("/", 1)[0]
            if where == "vendored"
            else str(sat_dir),
            version=sat_source.version(sat_dir),
            mpu_dimensions=dims,
            mpu_source=mpu_where,
        )
    engine_found = classes.find_engine(sources)
    engine = classes.engine(sources, engine_found) if engine_found is not None else None
    wanted = sorted(set(targets))
    described = classes.describe_targets(sources, wanted)
    project = Project(
        root=str(root),
        origin="scanned",
        label=root.name if root.name != "sat" else f"{root.parent.name}/{root.name}",
        arguments=MappingProxyType(dict(surface.arguments)),
        sections=MappingProxyType(dict(read_sections.sections)),
        get_args=get_args.build(facts, found, read_sections, second),
        sat=sat,
        engine=engine,
        targets=MappingProxyType(described),
        files=tuple(sorted(sources.files.items())),
    )
    extra = {"requested": wanted}
    return project, sources, extra


def add_targets(project: Project, targets: Iterable[str]) -> tuple[Project, Sources]:
    """``project`` with more targets described (a cached project meeting new `target:`s)."""
    assert project.root is not None
    sources, _, _ = open_sources(Path(project.root))
    described = classes.describe_targets(sources, sorted(set(targets)))
    merged = {**project.targets, **described}
    files = dict(project.files)
    files.update(sources.files)
    return (
        Project(
            **{
                **project.__dict__,
                "targets": MappingProxyType(dict(sorted(merged.items()))),
                "files": tuple(sorted(files.items())),
            }
        ),
        sources,
    )


def empty_get_args() -> GetArgs:
    return GetArgs(
        source="",
        args_assignment="unknown",
        seed_rule="unknown",
        model_parallel="unknown",
        context_parallel="unknown",
    )
