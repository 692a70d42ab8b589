"""Content-keyed results of pure compile steps, so a repeat compile skips their libraries.

A clean jsonschema verdict and a rendered launch template depend only on their inputs
(the schema and the tree; the template text and its context), on satc's code that drives
the library and on the library itself.  All of that goes into the key, so a stored result
is reused only for byte-identical inputs and unchanged code: importing jsonschema and
jinja2 (a good part of a compile's time) is then not needed at all.  Inputs ``marshal``
cannot encode are simply not memoised.  Entries live beside the project cache
(``project.cache.directory()``); a folder that cannot be written is silently not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from importlib.util import find_spec
from typing import Any

from .project import cache

FOLDER = "memo"


def _stamp(path: str | None) -> tuple[str, int, int]:
    if not path:
        return ("", -1, -1)
    try:
        st = os.stat(path)
    except OSError:
        return (path, -1, -1)
    return (path, st.st_size, st.st_mtime_ns)


def code_stamp(own_file: str, library: str) -> tuple[Any, ...]:
    """satc's module that drives ``library`` and the library's installed files (an
    upgrade rewrites them)."""
    try:
        spec = find_spec(library)
    except (ImportError, ValueError):
        spec = None
    origin = spec.origin if spec is not None else None
    folder = os.path.dirname(origin) if origin else None
    listed: list[tuple[str, int, int]] = []
    if folder:
        try:
            with os.scandir(folder) as entries:
                names = sorted(e.name for e in entries if e.name.endswith(".py"))
        except OSError:
            names = []
        listed = [_stamp(os.path.join(folder, name)) for name in names]
    return (cache.reader_version(), _stamp(own_file), tuple(listed))


def key(kind: str, stamp: tuple[Any, ...], *parts: Any) -> str | None:
    """The key of a result, or None where an input is not plain data."""
    try:
        data = marshal.dumps((kind, stamp, parts))
    except ValueError:
        return None
    return hashlib.sha256(data).hexdigest()


def _path(kind: str, digest: str) -> str:
    return os.path.join(cache.directory(), FOLDER, f"{kind}-{digest[:40]}")


def get(kind: str, digest: str | None) -> bytes | None:
    if digest is None:
        return None
    try:
        with open(_path(kind, digest), "rb") as handle:
            return handle.read()
    except OSError:
        return None


def put(kind: str, digest: str | None, value: bytes) -> None:
    """Written atomically (a temporary name renamed over); never fails."""
    if digest is None:
        return
    target = _path(kind, digest)
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(value)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
