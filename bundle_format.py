"""The args.json contract shared by the compiler (writer) and the runtime (reader).

Kept at the package root, free of compiler and torch imports, so that the runtime can
verify a bundle without importing the compile path.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

FORMAT = "satc.args/1"
FORMAT_NAME, _, _major = FORMAT.partition("/")
FORMAT_MAJOR = int(_major)


def canonical_digest(document: dict[str, Any]) -> str:
    """`sha256:` of the compact, key-sorted JSON of ``document`` without its `digest`."""
    body = {key: value for key, value in document.items() if key != "digest"}
    compact = json.dumps(body, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(compact.encode("utf-8")).hexdigest()


def format_major(text: object) -> int | None:
    """The major version of a `satc.args/N` format string; None when it is not one."""
    if not isinstance(text, str):
        return None
    name, _, major = text.partition("/")
    if name != FORMAT_NAME or not major.isdigit():
        return None
    return int(major)
