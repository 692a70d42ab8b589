"""Paths into a config tree: ('deepspeed', 'optimizer', 'params', 'betas', 0)."""

from __future__ import annotations

from typing import Any

Path = tuple[str | int, ...]


def value_at(tree: Any, path: Path) -> tuple[bool, Any]:
    """(True, value) when ``path`` exists in ``tree``, else (False, None)."""
    node = tree
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def yaml_text(value: Any) -> str:
    """A value as the user wrote it in YAML (true, null, 1e-05), not as Python prints it."""
    import json

    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
