"""Committed bundles on disk: their files, and the provenance that rebuilds them.

A bundle's args.json records its inputs relative to the bundle directory and the
`--set` overrides verbatim, so any committed bundle can be recompiled without the
user repeating its command line (`satc check -o DIR`, `satc check --all`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import files

ARGS = "args.json"
_FORMAT_PREFIX = "satc.args/"
# Directories never searched for bundles: VCS data, environments, caches, satc's own
# temporaries (".satc-tmp-*" start with a dot too).
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "site-packages"})


class UnreadableBundle(Exception):
    """A committed bundle whose args.json cannot say how it was built (a hand edit)."""


@dataclass(frozen=True)
class Recipe:
    """What rebuilds a bundle: configs (paths usable from the cwd) and overrides."""

    configs: tuple[str, ...]
    overrides: tuple[str, ...]
    project: str | None = None  # the project folder that judged it, usable from the cwd
    project_files: tuple[tuple[str, str], ...] = ()  # (label, sha256) of each file it read
    # (name, version) of each installed package whose code judged it (SAT, DeepSpeed)
    project_packages: tuple[tuple[str, str | None], ...] = ()


def read_files(directory: Path) -> dict[str, bytes]:
    """Every entry directly inside ``directory`` ({} when it does not exist).

    Anything that is not a regular file reads as b"" under its name, so a stray
    subdirectory is still reported as an unexpected entry."""
    if not directory.is_dir():
        return {}
    found: dict[str, bytes] = {}
    for entry in sorted(directory.iterdir()):
        try:
            # A pipe or device reads as b"" (never opened); a huge file as its first bytes:
            # either way it differs from what satc writes.
            found[entry.name] = files.read_regular(entry, files.MAX_JSON_BYTES, truncate=True)
        except OSError:
            found[entry.name] = b""
    return found


def lost_executable_bit(directory: Path, names: Iterable[str]) -> list[str]:
    """Those of ``names`` (scripts satc writes executable) that the owner cannot run."""
    return sorted(
        name
        for name in names
        if (directory / name).is_file() and not (directory / name).stat().st_mode & stat.S_IXUSR
    )


def read_document(directory: Path) -> dict[str, Any]:
    path = directory / ARGS
    try:
        document = files.load_json(files.read_regular(path, files.MAX_JSON_BYTES))
    except FileNotFoundError:
        raise UnreadableBundle(f"{path} does not exist") from None
    except OSError as exc:
        raise UnreadableBundle(f"{path} cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UnreadableBundle(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not str(document.get("format", "")).startswith(_FORMAT_PREFIX):
        raise UnreadableBundle(f'{path} is not a satc args.json (no "format": "satc.args/...")')
    return document


def recipe(directory: Path, document: dict[str, Any]) -> Recipe:
    """The configs and overrides recorded in ``document``, paths made usable from the cwd."""
    provenance = document.get("provenance")
    inputs = provenance.get("inputs") if isinstance(provenance, dict) else None
    overrides = provenance.get("overrides") if isinstance(provenance, dict) else None
    if (
        not isinstance(inputs, list)
        or not inputs
        or not all(isinstance(i, dict) and isinstance(i.get("path"), str) for i in inputs)
        or not isinstance(overrides, list)
        or not all(isinstance(o, str) for o in overrides)
    ):
        raise UnreadableBundle(
            f"{directory / ARGS}: provenance.inputs / provenance.overrides are missing or malformed"
        )
    configs = tuple(_from_cwd(directory, item["path"]) for item in inputs)
    project = provenance.get("project") if isinstance(provenance, dict) else None
    folder = project.get("path") if isinstance(project, dict) else None
    read = project.get("files") if isinstance(project, dict) else None
    recorded = tuple(
        (item["path"], item["sha256"])
        for item in (read if isinstance(read, list) else [])
        if isinstance(item, dict)
        and isinstance(item.get("path"), str)
        and isinstance(item.get("sha256"), str)
    )
    listed = project.get("packages") if isinstance(project, dict) else None
    versions = tuple(
        (item["name"], item.get("version"))
        for item in (listed if isinstance(listed, list) else [])
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    )
    return Recipe(
        configs,
        tuple(overrides),
        _from_cwd(directory, folder) if isinstance(folder, str) else None,
        recorded,
        versions,
    )


def _from_cwd(directory: Path, recorded: str) -> str:
    # Recorded paths are relative to the bundle's real location (pipeline.relative_to_bundle).
    # Relative to the cwd, never absolute: check's output is the same in every checkout.
    return os.path.relpath(os.path.realpath(os.path.join(os.path.realpath(directory), recorded)))


def _has_marker(path: Path) -> bool:
    """Whether ``path`` reads as a satc args.json: the format marker in its first 64 KiB.

    By text, not by parsing, so a hand edit that breaks the JSON still marks a bundle
    (whose damage `check` reports as drift) rather than a stranger's directory."""
    try:
        head = files.read_regular(path, 65536, truncate=True)
    except OSError:
        return False
    return f'"{_FORMAT_PREFIX}'.encode() in head


def not_a_bundle(directory: Path) -> str | None:
    """Why ``directory`` is no satc bundle to check from its own records; None when it is."""
    if not directory.exists():
        return "no such directory"
    if not directory.is_dir():
        return "not a directory"
    path = directory / ARGS
    if not path.exists():
        return f"not a satc bundle (no {ARGS})"
    if not files.is_regular(path):
        return f"not a satc bundle (its {ARGS} is not a regular file)"
    if not os.access(path, os.R_OK):
        return f"cannot read its {ARGS} (permission denied)"
    if not _has_marker(path):
        return f'not a satc bundle (its {ARGS} has no "format": "{_FORMAT_PREFIX}...")'
    return None


def find_bundles(root: Path) -> list[Path]:
    """Every directory under ``root`` holding a satc args.json (see _has_marker), sorted."""
    found: list[Path] = []
    for current, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        if ARGS in names and _has_marker(Path(current) / ARGS):
            found.append(Path(current))
    return sorted(found)
