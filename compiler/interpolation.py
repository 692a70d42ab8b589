"""Check ``${...}`` interpolations before OmegaConf resolves them.

OmegaConf resolves lazily and without limits: a cycle or a missing key only fails
when touched, and a 290-byte "string bomb" (``k2: ${k1}${k1}`` ...) ran 83 s
(RELIABILITY.md).  We size every interpolated value first, so cycles, missing keys,
disallowed resolvers and runaway sizes become located errors before anything runs.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import Problem, dotted

Path = tuple[str | int, ...]

MAX_RESOLVED_CHARS = 1_000_000  # one value
MAX_TOTAL_CHARS = 20_000_000  # all values: 1,000 keys x ${a 1 MB value} is a bomb too
_REFERENCE = re.compile(r"(?<!\\)\$\{([^${}]*)\}")
_NESTED = re.compile(r"(?<!\\)\$\{")


class _Cycle(Exception):
    def __init__(self, path: Path) -> None:
        self.path = path


def _parse_reference(text: str, owner: Path) -> Path | None:
    """'a.b[0]' / '.x' / '..x' -> an absolute path; None when it is malformed."""
    text = text.strip()
    depth = len(text) - len(text.lstrip("."))
    if depth:
        base = owner[: len(owner) - depth]
        if depth > len(owner):
            return None
        text = text[depth:]
    else:
        base = ()
    parts: list[str | int] = []
    for part in re.split(r"\.|\[|\]", text):
        if part == "":
            continue
        parts.append(int(part) if part.isdigit() else part)
    return (*base, *parts)


def _lookup(tree: Any, path: Path) -> tuple[bool, Any]:
    node = tree
    for part in path:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            return False, None
        node = node[part]
    return True, node


def check(tree: dict[str, Any], where: Any) -> list[Problem]:
    """Every problem the interpolations of ``tree`` would cause; ``where(path)`` locates."""
    problems: list[Problem] = []
    sizes: dict[Path, int] = {}
    visiting: set[Path] = set()
    total = [0]

    def size(value: Any, path: Path) -> int:
        if path in sizes:
            return sizes[path]
        if path in visiting:
            raise _Cycle(path)
        visiting.add(path)
        try:
            if isinstance(value, dict):
                total = 2 + sum(size(v, (*path, k)) for k, v in value.items())
            elif isinstance(value, list):
                total = 2 + sum(size(v, (*path, i)) for i, v in enumerate(value))
            elif isinstance(value, str):
                total = string_size(value, path)
            else:
                total = len(str(value))
        finally:
            visiting.discard(path)
        sizes[path] = total
        return total

    def string_size(value: str, path: Path) -> int:
        if value == "???":
            raise _Missing(path)
        rest = _REFERENCE.sub("", value)
        total = len(rest)
        opened = _NESTED.search(rest)
        if opened and "}" in rest[opened.end() :]:
            raise _Bad(path, "nested interpolations (${a.${b}}) are not supported")
        if opened:
            raise _Bad(path, "an interpolation opens with ${ but never closes; expected ${key}")
        for match in _REFERENCE.finditer(value):
            inner = match.group(1)
            if ":" in inner:
                raise _Bad(path, _resolver_message(inner.split(":", 1)[0].strip()))
            if not inner.strip(".").strip():
                raise _Bad(path, f"interpolation ${{{inner}}} names no key; expected ${{key}}")
            target = _parse_reference(inner, path[:-1])
            found, node = _lookup(tree, target) if target is not None else (False, None)
            if not found or target is None:
                raise _Bad(path, f"interpolation ${{{inner}}} points at a key that does not exist")
            total += size(node, target)
            if total > MAX_RESOLVED_CHARS:
                raise _Bad(
                    path,
                    f"interpolations expand to more than {MAX_RESOLVED_CHARS:,} characters",
                )
        return total

    def visit(value: Any, path: Path) -> None:
        if total[0] > MAX_TOTAL_CHARS:
            return  # reported once, where the budget ran out
        if isinstance(value, dict):
            for key, child in value.items():
                visit(child, (*path, key))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                visit(child, (*path, index))
        elif isinstance(value, str) and ("${" in value or value == "???"):
            try:
                total[0] += size(value, path)
                if total[0] > MAX_TOTAL_CHARS:
                    raise _Bad(
                        path,
                        f"interpolations in this config expand to more than "
                        f"{MAX_TOTAL_CHARS:,} characters in all",
                    )
            except _Cycle as cycle:
                problems.append(
                    Problem(
                        where(path),
                        dotted(path),
                        f"interpolation cycle through {dotted(cycle.path)}",
                        hint="a value cannot depend on itself",
                    )
                )
            except _Missing as missing:
                problems.append(
                    Problem(
                        where(missing.path),
                        dotted(missing.path),
                        "required value (???) was never set",
                        hint=f"set it in a later config or with --set {dotted(missing.path)}=...",
                    )
                )
            except _Bad as bad:
                problems.append(Problem(where(bad.path), dotted(bad.path), bad.message))

    visit(tree, ())
    unique = {(p.key, p.message): p for p in problems}
    return list(unique.values())


class _Missing(Exception):
    def __init__(self, path: Path) -> None:
        self.path = path


class _Bad(Exception):
    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message


def _resolver_message(name: str) -> str:
    if name == "oc.env":
        return (
            "${oc.env:...} is not allowed: the bundle is committed, so the variable's value "
            "would be frozen into git; list the variable's name in launch.env_passthrough "
            "and read it at run time"
        )
    return (
        f"resolver {name!r} is not allowed: satc freezes plain values; only ${{key}} "
        "interpolations are resolved"
    )
