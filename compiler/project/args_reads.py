"""The ``args.<name>`` a project's entry folder reads without its parser declaring it.

Where the project's ``process_config_to_args`` sets every ``args:`` key as given (no
``hasattr`` guard), a key its parser never declares still reaches the namespace, and the
project's scripts may read it: SanGilbert/CogVideo@58f6a87 sets ``save_total_limit`` from
its sft.yaml (sat/arguments.py:268-269) and reads it in sat/train_video.py:150.  Such a name
is a setting of the project.  Read from the syntax tree of the ``*.py`` files of the
entrypoint folder (the scripts that run get_args and their helpers beside them): a read is
``args.x`` in a load context or ``getattr(args, "x")``, never a comment or a string.  A name
code assigns (``args.x = ...``, ``setattr(args, "x", ...)``) is the code's, not a setting:
the project's own scripts, and the SAT it imports (SAT's training loop sets
``args.iteration``, sat/training/deepspeed_training.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

from .sources import Sources, parse, walk

# SAT is read by text (hundreds of files; only assignments matter, and a comment that looks
# like one can only drop a candidate, never add a false setting).
_SAT_ASSIGNED = re.compile(
    r"\bargs\.([A-Za-z_]\w*)\s*(?:[-+*/|&]?=(?!=))|setattr\(\s*args\s*,\s*[\"'](\w+)[\"']"
)


def _literal_name(call: ast.Call) -> str | None:
    """``getattr(args, "x")`` / ``setattr(args, "x", v)`` -> "x"."""
    if (
        len(call.args) >= 2
        and isinstance(call.args[0], ast.Name)
        and call.args[0].id == "args"
        and isinstance(call.args[1], ast.Constant)
        and isinstance(call.args[1].value, str)
    ):
        return call.args[1].value
    return None


def _uses(tree: ast.AST) -> tuple[list[tuple[int, int, str]], set[str]]:
    """([(line, column, name)] of reads, {names assigned}) of ``args`` in one module."""
    reads: list[tuple[int, int, str]] = []
    assigned: set[str] = set()
    for node in walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "args":
            if isinstance(node.ctx, ast.Load):
                reads.append((node.lineno, node.col_offset, node.attr))
            else:
                assigned.add(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = _literal_name(node)
            if name is None:
                continue
            if node.func.id == "getattr":
                reads.append((node.lineno, node.col_offset, name))
            elif node.func.id == "setattr":
                assigned.add(name)
    return sorted(reads), assigned


def _parsed(path: Path, text: str) -> ast.AST | None:
    try:
        return parse(text, str(path))  # shared with the read's other scans of the file
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the project's own run fails first; no setting is read from it


def _sat_assigned(sources: Sources, sat_dir: Path, names: set[str]) -> set[str]:
    """Those of ``names`` the SAT the project imports assigns on args itself."""
    found: set[str] = set()
    for path in sorted(sat_dir.rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        here = {a or b for a, b in _SAT_ASSIGNED.findall(text)} & (names - found)
        if here:
            found |= here
            sources.read(path)  # what decided it: re-hashed by `satc check`
    return found


def undeclared_reads(
    sources: Sources, root: Path, declared: Iterable[str], sat_dir: Path | None = None
) -> dict[str, str] | None:
    """{name: "file:line" of its first read} for names no argument declares and no code
    assigns; None if none."""
    known = set(declared)
    reads: dict[str, str] = {}
    assigned: set[str] = set()
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "args" not in text:
            continue
        tree = _parsed(path, text)
        if tree is None:
            continue
        file_reads, file_assigned = _uses(tree)
        assigned |= file_assigned
        found = False
        for line, _, name in file_reads:
            if name in known or name.startswith("_") or name in reads:
                continue
            reads[name] = f"{sources.label(path)}:{line}"
            found = True
        if found:
            sources.read(path)  # what decided it: re-hashed by `satc check`
    kept = {name: where for name, where in sorted(reads.items()) if name not in assigned}
    if kept and sat_dir is not None:
        by_sat = _sat_assigned(sources, sat_dir, set(kept))
        kept = {name: where for name, where in kept.items() if name not in by_sat}
    return kept or None
