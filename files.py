"""Reading what satc is pointed at: regular files only, bounded, never blocking.

A FIFO where a config or an args.json should be blocks `open()` until a writer comes
(forever), `/dev/zero` reads until memory runs out, and a symlink can lead to either.
Every file satc reads goes through `read_regular`: opened without blocking, checked
to be a regular file on the open descriptor (no race with a swap), read up to a limit.
JSON is parsed with a bound on nesting, so a 100,000-level array is an error, not a
RecursionError deep in a later walk.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_JSON_BYTES = 64 * 1024 * 1024  # the largest CogVideoX args.json is ~10 kB
# A bundle nests as deep as its configs (at most 32 levels) plus a few sections.
MAX_JSON_DEPTH = 64


class NotRegularFile(OSError):
    """A pipe, device, socket or directory where a file was expected."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(f"is {kind}, not a regular file")
        self.filename = os.fspath(path)
        self.kind = kind
        self.strerror = self.args[0]

    def __str__(self) -> str:  # not OSError's "[Errno None] None: 'path'"
        return str(self.args[0])


class TooLarge(OSError):
    def __init__(self, path: str | os.PathLike[str], limit: int) -> None:
        super().__init__(f"is larger than {limit:,} bytes")
        self.filename = os.fspath(path)
        self.limit = limit
        self.strerror = self.args[0]

    def __str__(self) -> str:
        return str(self.args[0])


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular(path: str | os.PathLike[str], limit: int, *, truncate: bool = False) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed).  Over ``limit``
    bytes: the first ``limit`` when ``truncate``, else TooLarge.  Raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, _kind(mode))
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        if not truncate:
            raise TooLarge(path, limit)
        data = data[:limit]
    return data


def is_regular(path: Path) -> bool:
    """Whether ``path`` is (or links to) a regular file; never opens it."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def json_depth(value: Any) -> int:
    """How deeply the arrays and objects of a parsed JSON value nest (without recursing)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def load_json(data: bytes | str) -> Any:
    """Parse JSON; ValueError (a JSONDecodeError where it has a position) for anything
    that is not JSON satc could have written: bad UTF-8, bad syntax, too deep."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value
