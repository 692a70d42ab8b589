"""One static read of a project's tree into :class:`~.facts.Project` (no cache here)."""

from __future__ import annotations

import hashlib
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


def _deepspeed_installed() -> bool:
    return sources_module.installed("deepspeed") is not None


def _verified(top: tuple[str, ...], sources: Sources) -> bool:
    """Whether the installed files the snapshot was made from (those under the packages
    ``top``) are here byte for byte: then its facts are what reading them would give, and
    they are recorded as read."""
    files = {label: digest for label, digest in snapshot().get("files", {}).items() if label.startswith(top)}
    if not files:
        return False
    found: dict[str, Path] = {}
    for label, digest in files.items():
        site = sources.installed_dir(label.split("/", 1)[0])
        if site is None:
            return False
        path = site / label
        try:
            data = path.read_bytes()
        except OSError:
            return False
        if hashlib.sha256(data).hexdigest() != digest:
            return False
        found[label] = path
    for label, path in found.items():
        sources.files[label] = files[label]
        sources.paths[label] = path
    return True


def open_sources(root: Path) -> tuple[Sources, str, Path | None, set[str]]:
    """The project's sources, where its SAT is, and which packages the snapshot stands for
    ("sat", "deepspeed"): those without source here, and installed ones identical to what
    the snapshot was made from (their facts are then not read again)."""
    where, sat_dir = sat_source.locate(root)
    sources = Sources(
        root,
        sat_dir.parent if sat_dir else None,
        sat_vendored=where == "vendored",
        opaque=classes.CLOSED_BASES,
    )
    standing: set[str] = set()
    if where == "snapshot" or (where == "installed" and _verified(("sat/", "torch/"), sources)):
        standing.add("sat")
    if not _deepspeed_installed() or _verified(("deepspeed/",), sources):
        standing.add("deepspeed")
    known = snapshot()
    if "sat" in standing:
        sources.snapshot_targets = dict(known.get("targets", {}))
    names = {n for n in known.get("argument_functions", {}) if n.split(".")[0] in standing}
    sources.opaque = frozenset(classes.CLOSED_BASES | names | set(sources.snapshot_targets))
    return sources, where, sat_dir, standing


def _functions_snapshot(standing: set[str]) -> Mapping[str, Any]:
    """Argument functions the snapshot stands for (see open_sources)."""
    known = snapshot().get("argument_functions", {})
    return {name: entries for name, entries in known.items() if name.split(".")[0] in standing}


def read(root: Path, targets: Iterable[str]) -> tuple[Project, Sources, dict[str, Any]]:
    """The facts, the sources they came from, and what the cache needs to redo a part."""
    sources_module.forget()
    sources, where, sat_dir, standing = open_sources(root)
    surface, found = parser_surface.read(sources, _functions_snapshot(standing))
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
            mpu_parameters=tuple(pinned.get("mpu_parameters", ())),
        )
    else:
        assert sat_dir is not None
        if "sat" in standing:
            pinned = snapshot().get("sat", {})
            dims, mpu_where = tuple(pinned["mpu_dimensions"]), pinned["mpu_source"]
            mpu_names = tuple(pinned.get("mpu_parameters", ()))
        else:
            dims, mpu_where, mpu_names = sat_source.mpu_dimensions(sources)
        sat = Sat(
            where=where,
            path=sources.label(sat_dir / "__init__.py").rsplit("/", 1)[0]
            if where == "vendored"
            else str(sat_dir),
            version=sat_source.version(sat_dir),
            mpu_dimensions=dims,
            mpu_source=mpu_where,
            mpu_parameters=mpu_names,
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
    sources, _, _, _ = open_sources(Path(project.root))
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
