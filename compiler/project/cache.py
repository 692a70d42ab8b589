"""Content-keyed cache of a project's facts, so a repeat compile reads nothing again.

One file per (project folder, SAT location, reader version) under
``$SATC_CACHE_DIR``, ``$XDG_CACHE_HOME/satc`` or ``~/.cache/satc``.  It holds the facts
and every file they were read from with its sha256; it is reused only while every one of
those files still has the same content (an unchanged size and mtime skips re-hashing,
anything else is hashed again).  Targets not described yet are added to it.  Writes are
atomic; a cache folder that cannot be written is silently not used.  The payload is plain
data written with ``marshal`` (several times faster to load than JSON, which matters on
the path a repeat compile takes); the Python version is part of the key.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

VERSION = "satc.project-cache/3"


def directory() -> Path:
    given = os.environ.get("SATC_CACHE_DIR")
    if given:
        return Path(given)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "satc"


@lru_cache(maxsize=1)
def reader_version() -> str:
    """A digest of the reader's own code: facts written by another satc are not reused."""
    digest = hashlib.sha256(f"{VERSION} {sys.version_info[:2]} {marshal.version}".encode())
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    snapshot = here.parent.parent / "schemas" / "sat-snapshot.json"
    if snapshot.is_file():
        digest.update(snapshot.read_bytes())
    return digest.hexdigest()[:16]


def path_for(key: str) -> Path:
    return directory() / f"project-{hashlib.sha256(key.encode()).hexdigest()[:24]}.bin"


def _stat(path: Path | str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def record(paths: dict[str, Path], digests: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for label, path in sorted(paths.items()):
        stat = _stat(path)
        out.append(
            {
                "label": label,
                "path": str(path),
                "sha256": digests[label],
                "size": stat[0] if stat else -1,
                "mtime_ns": stat[1] if stat else -1,
            }
        )
    return out


def scanned(paths: Iterable[Path], recorded: set[str]) -> list[dict[str, Any]]:
    """Entries for the files a reader scanned without finding a fact in them (those not
    already in ``recorded``, a set of paths): an edit there can add one, so they are
    re-hashed like the files the facts came from."""
    out = []
    for path in sorted(paths):
        if str(path) in recorded:
            continue
        stat = _stat(path)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            continue
        size, mtime_ns = stat if stat else (-1, -1)
        out.append(
            {
                "label": f"(scanned) {path}",
                "path": str(path),
                "sha256": digest,
                "size": size,
                "mtime_ns": mtime_ns,
            }
        )
    return out


def modules_in(folder: Path | str) -> list[str]:
    """The ``.py`` files directly in a folder: an entrypoint added beside the others may
    name another engine.  (The folder's mtime would also change with every bundle or log
    written there, so the listing itself is compared.)"""
    try:
        with os.scandir(folder) as listing:
            return sorted(e.name for e in listing if e.name.endswith(".py"))
    except OSError:
        return []


def still_valid(
    files: Sequence[dict[str, Any]], absent: Sequence[str] = (), listed: Sequence[dict[str, Any]] = ()
) -> bool:
    for folder in listed:
        if modules_in(folder["path"]) != folder["modules"]:
            return False
    for name in absent:
        if os.path.exists(name):
            return False
    for entry in files:
        path = entry["path"]
        stat = _stat(path)
        if stat is None:
            return False
        if stat == (entry["size"], entry["mtime_ns"]):
            continue
        try:
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
        except OSError:
            return False
        if digest != entry["sha256"]:
            return False
    return True


def load(key: str) -> dict[str, Any] | None:
    try:
        data = marshal.loads(path_for(key).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("version") != reader_version() or data.get("key") != key:
        return None
    if not still_valid(data.get("files", []), data.get("absent", []), data.get("folders", [])):
        return None
    return data


def store(key: str, payload: dict[str, Any]) -> None:
    """Write atomically (a temporary file renamed over the old one); never fail."""
    import tempfile  # only a compile that read the project writes (a repeat one does not)

    data = {"version": reader_version(), "key": key, **payload}
    target = path_for(key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        payload_bytes = marshal.dumps(data)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".project-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(payload_bytes)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, TypeError, ValueError):
        return
