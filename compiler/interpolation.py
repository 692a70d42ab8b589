"""Check ``${...}`` interpolations before OmegaConf resolves them.

OmegaConf resolves lazily and without limits: a cycle or a missing key only fails
when touched, and a 290-byte "string bomb" (``k2: ${k1}${k1}`` ...) ran 83 s
(RELIABILITY.md).  We size every interpolated value first, so cycles, missing keys,
disallowed resolvers and runaway sizes become located errors before anything runs.

Strings are split by OmegaConf's own grammar, never by a regex of ours: an escaped
backslash (``\\\\${oc.env:X}``) before a live resolver, relative keys and keys that
look like numbers mean exactly what OmegaConf makes of them
(tests/test_interpolation_omegaconf.py compares the two).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import Problem, dotted

Path = tuple[str | int, ...]

MAX_RESOLVED_CHARS = 1_000_000  # one value
MAX_TOTAL_CHARS = 20_000_000  # all values: 1,000 keys x ${a 1 MB value} is a bomb too
_OPENED = re.compile(r"\$\{")


class _Cycle(Exception):
    def __init__(self, path: Path) -> None:
        self.path = path


@dataclass(frozen=True)
class _Reference:
    """One ``${...}`` node interpolation: how many leading dots, then its key parts."""

    dots: int
    parts: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class _Parsed:
    literal: int  # characters of plain text the value keeps
    references: tuple[_Reference, ...]


def _parse(value: str, path: Path) -> _Parsed:
    """Split a string the way OmegaConf's own grammar does (its parser, not a regex):
    ``\\${`` is a literal ``${``, but ``\\\\${x}`` is a backslash and a live ``${x}``."""
    from omegaconf import grammar_parser
    from omegaconf.errors import GrammarParseError
    from omegaconf.grammar.gen.OmegaConfGrammarLexer import OmegaConfGrammarLexer as Lexer

    # omegaconf 2.4 vendors its ANTLR runtime (no `antlr4` package is installed with it).
    from omegaconf.vendor.antlr4 import Token  # type: ignore[attr-defined]

    try:
        tree = grammar_parser.parse(value, lexer_mode="DEFAULT_MODE")
    except GrammarParseError:
        raise _Bad(path, _syntax_message(value)) from None
    literal = 0
    references: list[_Reference] = []
    for child in _children(tree):
        for piece in _children(child) if type(child).__name__ == "TextContext" else [child]:
            kind = type(piece).__name__
            if kind == "InterpolationContext":
                references.append(_reference(piece, path))
            elif kind == "TerminalNodeImpl":
                text = piece.getText()
                if piece.symbol.type == Token.EOF:
                    continue
                # Two backslashes before `${` stand for one; `\${` is a literal `${`.
                if piece.symbol.type == Lexer.ESC:
                    literal += len(text) // 2
                else:
                    literal += len(text) - (piece.symbol.type == Lexer.ESC_INTER)
            else:
                raise _Bad(path, f"unsupported value syntax {piece.getText()!r}")
    return _Parsed(literal, tuple(references))


def _children(node: Any) -> list[Any]:
    return list(node.getChildren()) if hasattr(node, "getChildren") else []


def _reference(interpolation: Any, path: Path) -> _Reference:
    (node,) = _children(interpolation)
    text = node.getText()
    if type(node).__name__ == "InterpolationResolverContext":
        name = next(c.getText() for c in _children(node) if type(c).__name__ == "ResolverNameContext")
        raise _Bad(path, _resolver_message(name))
    dots = 0
    parts: list[str] = []
    for child in _children(node)[1:-1]:  # between `${` and `}`
        if type(child).__name__ == "ConfigKeyContext":
            if any(type(c).__name__ == "InterpolationContext" for c in _children(child)):
                raise _Bad(path, "nested interpolations (${a.${b}}) are not supported")
            parts.append(child.getText())
        elif child.getText() == "." and not parts:
            dots += 1
    if not parts:
        raise _Bad(path, f"interpolation {text} names no key; expected ${{key}}")
    return _Reference(dots, tuple(parts), text)


def _syntax_message(value: str) -> str:
    opened = [match.start() for match in _OPENED.finditer(value)]
    if opened and "}" not in value[opened[-1] :]:
        return "an interpolation opens with ${ but never closes; expected ${key}"
    if "${}" in value:
        return "interpolation ${} names no key; expected ${key}"
    return "invalid interpolation syntax; expected ${key}, ${.sibling} or ${..parent_key}"


def _target(reference: _Reference, owner: Path) -> Path | None:
    """OmegaConf's addressing: ``${a.b}`` from the root; ``${.x}`` in the mapping that
    holds the value (``owner``), each further dot one level up; None above the root."""
    if not reference.dots:
        return reference.parts
    up = reference.dots - 1
    if up > len(owner):
        return None
    return (*owner[: len(owner) - up], *reference.parts)


def _lookup(tree: Any, path: Path) -> tuple[bool, Any]:
    """A key is a string in a mapping (even "0") and an index in a list, as in OmegaConf."""
    node = tree
    for part in path:
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _normal(path: Path, tree: Any) -> Path:
    """``path`` with list positions as ints, so each node has one name for the cycle check."""
    normal: list[str | int] = []
    node = tree
    for part in path:
        if isinstance(node, list):
            normal.append(int(part))
            node = node[int(part)]
        else:
            normal.append(str(part))
            node = node[str(part)]
    return tuple(normal)


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
        if "${" not in value:
            return len(value)
        parsed = _parse(value, path)
        total = parsed.literal
        for reference in parsed.references:
            target = _target(reference, path[:-1])
            found, node = _lookup(tree, target) if target is not None else (False, None)
            if not found or target is None:
                raise _Bad(path, f"interpolation {reference.text} points at a key that does not exist")
            total += size(node, _normal(target, tree))
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


def frozen_problems(resolved: Any, where: Any, path: Path = ()) -> list[Problem]:
    """Values that still read ``${`` after resolving (an escaped ``\\${x}``, or a key that
    pointed at one).  The bundle would hold a live interpolation that the runtime's
    OmegaConf resolves again, at run time and from its environment: refuse it."""
    if isinstance(resolved, dict):
        return [p for key, value in resolved.items() for p in frozen_problems(value, where, (*path, key))]
    if isinstance(resolved, list):
        return [p for i, value in enumerate(resolved) for p in frozen_problems(value, where, (*path, i))]
    if isinstance(resolved, str) and "${" in resolved:
        return [
            Problem(
                where(path),
                dotted(path),
                "resolves to a text holding `${`, which the bundle would keep as a live "
                "interpolation (OmegaConf resolves it again when the runtime loads it)",
                hint="satc freezes plain values: drop the `${`, or split `$` and `{` apart",
            )
        ]
    return []
