"""Content-keyed cache of a project's facts, so a repeat compile reads nothing again.

One JSON file per (project folder, SAT location, reader version) under
``$SATC_CACHE_DIR``, ``$XDG_CACHE_HOME/satc`` or ``~/.cache/satc``.  It holds the facts
and every file they were read from with its sha256; it is reused only while every one of
those files still has the same content (an unchanged size and mtime skips re-hashing,
anything else is hashed again).  Targets not described yet are added to it.  Writes are
atomic; a cache folder that cannot be written is silently not used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

VERSION = "satc.project-cache/1"


def directory() -> Path:
    given = os.environ.get("SATC_CACHE_DIR")
    if given:
        return Path(given)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "satc"


@lru_cache(maxsize=1)
def reader_version() -> str:
    """A digest of the reader's own code: facts written by another satc are not reused."""
    digest = hashlib.sha256(VERSION.encode())
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    snapshot = here.parent.parent / "schemas" / "sat-snapshot.json"
    if snapshot.is_file():
        digest.update(snapshot.read_bytes())
    return digest.hexdigest()[:16]


def path_for(key: str) -> Path:
    return directory() / f"project-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
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


def folders(paths: list[Path]) -> list[dict[str, Any]]:
    """Folders whose listing matters (a new module beside the entrypoints): their mtime."""
    out = []
    for path in paths:
        stat = _stat(path)
        out.append({"path": str(path), "mtime_ns": stat[1] if stat else -1})
    return out


def still_valid(
    files: list[dict[str, Any]], absent: list[str] = (), listed: list[dict[str, Any]] = ()
) -> bool:
    for folder in listed:
        stat = _stat(Path(folder["path"]))
        if stat is None or stat[1] != folder["mtime_ns"]:
            return False
    for name in absent:
        if os.path.exists(name):
            return False
    for entry in files:
        path = Path(entry["path"])
        stat = _stat(path)
        if stat is None:
            return False
        if stat == (entry["size"], entry["mtime_ns"]):
            continue
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return False
        if digest != entry["sha256"]:
            return False
    return True


def load(key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path_for(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != reader_version() or data.get("key") != key:
        return None
    if not still_valid(data.get("files", []), data.get("absent", []), data.get("folders", [])):
        return None
    return data


def store(key: str, payload: dict[str, Any]) -> None:
    """Write atomically (a temporary file renamed over the old one); never fail."""
    data = {"version": reader_version(), "key": key, **payload}
    target = path_for(key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".project-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, sort_keys=True, separators=(",", ":"))
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, TypeError, ValueError):
        return
