"""The project satc compiles for, read statically into :mod:`.facts` records.

``read_project(root, targets)`` reads the entrypoint folder ``root`` (its ``arguments.py``
parser, the SAT it imports, DeepSpeed's config arguments, its sections and ``get_args``
rules, its engine and every class a ``target:`` names) without importing any of it, and
caches the result by content.  ``root=None`` is satc's built-in profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import cache, sat_source, serial
from .facts import Project

if TYPE_CHECKING:
    from .sources import Sources

__all__ = ["Project", "answer_entry", "find_root", "locate_file", "read_project"]


def find_root(cwd: Path, entrypoint: str | None) -> Path | None:
    """The folder holding the entrypoint: ``cwd`` when it has ``arguments.py``, else the
    entrypoint's folder (relative to ``cwd``) when that has one, else the folder of the
    ``arguments`` module the entrypoint imports ``get_args`` from by a package path, else
    None."""
    if (cwd / "arguments.py").is_file():
        return cwd.resolve()
    if entrypoint:
        folder = (cwd / entrypoint).parent
        if (folder / "arguments.py").is_file():
            return folder.resolve()
        return _imported_parser(cwd, cwd / entrypoint) or _path_parser(cwd / entrypoint)
    return None


# ``sys.path.append(os.path.join(os.path.dirname(__file__), "../pkg/models/x"))``, then
# ``from arguments import ...``.
_PATH_ADDED = re.compile(
    r"sys\.path\.(?:append|insert)\((?:\s*0\s*,)?\s*os\.path\.join\(\s*os\.path\.dirname\(\s*"
    r"(?:os\.path\.(?:abspath|realpath)\(\s*)?__file__\s*\)?\s*\)\s*,\s*[\"']([^\"']+)[\"']\s*\)\s*\)"
)
_FROM_ARGUMENTS = re.compile(r"^[ \t]*from[ \t]+arguments[ \t]+import\b", re.M)


def _path_parser(script: Path) -> Path | None:
    """A script that puts the project's folder on ``sys.path`` itself and imports its
    ``arguments``: VideoVerses/VideoTuna 0d49a54
    scripts/inference_cogVideo_sat_refactor.py:26-29 adds
    ``../videotuna/models/cogvideo_sat``.  Only the one script is read."""
    try:
        text = script.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not _FROM_ARGUMENTS.search(text):
        return None
    for match in _PATH_ADDED.finditer(text):
        folder = script.parent / match.group(1)
        if (folder / "arguments.py").is_file():
            return folder.resolve()
    return None


# ``from pkg.models.cogvideox.arguments import get_args`` (one name of several, or in
# parentheses across lines).
_GET_ARGS_FROM = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]*\(?[\w\s,]*?\bget_args\b", re.M)


def _imported_parser(cwd: Path, script: Path) -> Path | None:
    """A script outside the project's folder that imports the parser as a module of an
    installed checkout: camenduru/FasterCache fab32c1 runs ``python
    scripts/cogvideox/fastercache_sample_cogvideox.py`` from the root of a ``pip install -e
    .`` checkout, and that script imports ``fastercache.models.cogvideox.arguments``
    (line 19).  Resolved as Python does: from the script's folder (``sys.path[0]``), then
    from the folder the command runs in.  Only the one script is read."""
    try:
        text = script.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for match in _GET_ARGS_FROM.finditer(text):
        parts = match.group(1).split(".")
        if len(parts) < 2 or parts[-1] != "arguments":
            continue
        for base in (script.parent, cwd):
            folder = base.joinpath(*parts[:-1])
            if (folder / "arguments.py").is_file():
                return folder.resolve()
    return None


def _key(root: Path) -> tuple[str, str, Path | None]:
    where, sat_dir = sat_source.locate(root)
    return f"{root}\0{where}\0{sat_dir}", where, sat_dir


def _payload(
    project: Project, sources: Sources, requested: list[str], old: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    files = cache.record(sources.paths, sources.files)
    files += cache.scanned(sources.scanned, {f["path"] for f in files})
    if old:
        seen = {f["label"] for f in files}
        files += [f for f in old if f["label"] not in seen]
    absent = sorted(str(p) for p in sources.absent if not p.exists())
    root = Path(project.root) if project.root else None
    folders = [{"path": str(root), "modules": cache.modules_in(root)}] if root else []
    return {
        "project": serial.to_json(project),
        "requested": sorted(requested),
        "files": sorted(files, key=lambda f: f["label"]),
        "absent": absent,
        "folders": folders,
    }


def read_project(
    root: str | Path | None, targets: Iterable[str], *, use_cache: bool = True, siblings: bool = False
) -> Project:
    """Everything satc knows about the code that will run a config (see facts.Project).
    ``siblings``: describe every class of the targets' modules too (``satc schema`` offers
    them to an editor); a compile describes only what its configs name."""
    targets = list(targets)
    project = _read_project(root, targets, use_cache=use_cache)
    more = sorted(set(project.target_names) - set(project.targets) - set(project.unresolved))
    if siblings and more:
        project = _read_project(root, [*targets, *more], use_cache=use_cache)
    return project


def _read_project(root: str | Path | None, targets: Iterable[str], *, use_cache: bool) -> Project:
    if root is None:
        from .builtin import builtin_project

        profile: Project = builtin_project()
        return profile
    folder = Path(root).resolve()
    wanted = sorted(set(targets))
    key, _, _ = _key(folder)
    data = cache.load(key) if use_cache else None
    if data is not None:
        project = serial.from_json(data["project"])
        missing = sorted(set(wanted) - set(data["requested"]))
        if not missing:
            return project
    # The reader (ast walks of the project's code) is imported only when the cache misses.
    from . import reader

    if data is not None:
        project, sources = reader.add_targets(project, missing)
        requested = sorted(set(data["requested"]) | set(missing))
        payload = _payload(project, sources, requested, data["files"])
        payload["absent"] = sorted(set(payload["absent"]) | set(data.get("absent", [])))
        cache.store(key, payload)
        return project
    project, sources, _ = reader.read(folder, wanted)
    if use_cache:
        cache.store(key, _payload(project, sources, wanted))
    return project


def answer_entry(project: Project, question: str) -> Project:
    """``project`` with an entry-script question answered (facts.Project.entry_facts), kept
    in the cache with the rest of its facts; the built-in profile answers none."""
    if project.root is None or project.origin != "scanned" or question in project.entry_facts:
        return project
    folder = Path(project.root)
    key, _, _ = _key(folder)
    data = cache.load(key)
    cached = serial.from_json(data["project"]) if data is not None else None
    if cached is not None and question in cached.entry_facts:  # another compile asked it since
        return replace(
            project,
            entry_facts=MappingProxyType(dict(sorted({**project.entry_facts, **cached.entry_facts}.items()))),
            entry_files=MappingProxyType(dict(sorted({**project.entry_files, **cached.entry_files}.items()))),
            files=tuple(sorted({**dict(project.files), **dict(cached.files)}.items())),
        )
    from . import reader

    project, sources = reader.add_entry_facts(project, [question])
    if data is not None and cached is not None:
        # onto what the cache holds (it may describe more targets than this compile asked)
        stored = replace(
            cached,
            entry_facts=MappingProxyType(
                dict(sorted({**cached.entry_facts, question: project.entry_facts[question]}.items()))
            ),
            entry_files=MappingProxyType(
                dict(sorted({**cached.entry_files, question: project.entry_files[question]}.items()))
            ),
            files=tuple(sorted({**dict(cached.files), **sources.files}.items())),
        )
        payload = _payload(stored, sources, data["requested"], data["files"])
        payload["absent"] = sorted(set(payload["absent"]) | set(data.get("absent", [])))
        cache.store(key, payload)
    return project


def locate_file(project: Project, label: str) -> Path | None:
    """The file a ``Project.files`` label names on this machine (``satc check`` re-hashes
    it): relative to the project, else in the installed package it belongs to."""
    if project.root is None:
        return None
    local = Path(project.root) / label
    if local.is_file():
        return local
    from .sources import installed

    site = installed(label.split("/", 1)[0])
    if site is not None and (site / label).is_file():
        return site / label
    return None
