"""Whether the project's code reopens ``args.base`` file by file after ``get_args``.

CogVideoX's entrypoints reopen ``args.base`` only to merge it again (``training_config.yaml``)
or to keep the list (``args.log_config``): one merged file stands for the inputs.  A fork
may index that list by position -- LV-Robotics-Lab/LayerFlow (0a8a65c) keeps
``args.log_config`` from ``for config in args.base`` (sat/test_video.py:223) and reads
``args.log_config[1]['args']['specific_iteration']`` (sat/deepspeed_test.py:94-99): with one
merged file that is an IndexError.  Such a project gets the layers themselves (the bundle
keeps a frozen copy of each input, in order), and the ``args:`` keys its code reads from a
layer are keys the project defines, not unknown ones.

A text scan of the entrypoint folder's scripts and the project modules they import; the
files that lead to a finding are recorded (``satc check`` re-hashes them).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from .sources import Sources, literal, walk
from .sources import parse as sources_parse

BASE = "base"


def _is_args_attr(node: ast.AST, names: set[str]) -> str | None:
    """``args.<name>`` (any object: ``self.args.log_config`` too) with name in ``names``."""
    if not (isinstance(node, ast.Attribute) and node.attr in names):
        return None
    owner = node.value
    named = (
        owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
    )
    return node.attr if named.endswith("args") else None


def _iterates_base(node: ast.AST) -> bool:
    return _is_args_attr(node, {BASE}) is not None


def _per_layer_names(tree: ast.AST) -> set[str]:
    """Attributes that hold one entry per ``args.base`` file: ``args.log_config = configs``
    where ``configs`` is filled in ``for config in args.base`` or built by a comprehension."""
    filled: set[str] = set()
    for node in walk(tree):
        if isinstance(node, ast.For) and _iterates_base(node.iter):
            for inner in walk(node):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute)
                    and inner.func.attr == "append"
                    and isinstance(inner.func.value, ast.Name)
                ):
                    filled.add(inner.func.value.id)
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.ListComp)
            and any(_iterates_base(g.iter) for g in node.value.generators)
        ):
            filled |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    out: set[str] = set()
    for node in walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        value = node.value
        from_layers = (isinstance(value, ast.Name) and value.id in filled) or (
            isinstance(value, ast.ListComp) and any(_iterates_base(g.iter) for g in value.generators)
        )
        if from_layers:
            out |= {t.attr for t in node.targets if isinstance(t, ast.Attribute)}
    return out


def _layer_index(node: ast.AST, names: set[str]) -> int | None:
    """``args.log_config[1]`` -> 1."""
    if isinstance(node, ast.Subscript) and _is_args_attr(node.value, names):
        ok, index = literal(node.slice)
        if ok and isinstance(index, int) and not isinstance(index, bool):
            return index
    return None


def _args_of_layer(node: ast.AST, names: set[str]) -> bool:
    """``args.log_config[1]['args']``."""
    if isinstance(node, ast.Subscript) and _layer_index(node.value, names) is not None:
        ok, key = literal(node.slice)
        return ok and key == "args"
    return False


def _keys_read(tree: ast.AST, names: set[str]) -> dict[str, int]:
    """The ``args:`` keys read or written in a layer: ``[...]['args']['key']``,
    ``'key' in [...]['args']``, ``[...]['args'].get('key')`` -> {key: line}."""
    out: dict[str, int] = {}
    for node in walk(tree):
        key: Any = None
        if isinstance(node, ast.Subscript) and _args_of_layer(node.value, names):
            ok, key = literal(node.slice)
        elif (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.In | ast.NotIn)
            and _args_of_layer(node.comparators[0], names)
        ):
            ok, key = literal(node.left)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and _args_of_layer(node.func.value, names)
        ):
            ok, key = literal(node.args[0])
        if isinstance(key, str):
            out.setdefault(key, node.lineno)  # type: ignore[attr-defined]
    return out


def _spells(text: str, names: set[str]) -> bool:
    """Whether the text may hold an attribute ``.name`` of one of ``names``."""
    return any(re.search(rf"\.\s*{re.escape(name)}\b", text) for name in names)


def _imported_project_modules(tree: ast.AST, sources: Sources) -> list[str]:
    names = []
    for node in walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    root = sources.root
    return [n for n in names if root is not None and (root / f"{n.replace('.', '/')}.py").is_file()]


def read(sources: Sources, entrypoints: tuple[str, ...]) -> dict[str, Any] | None:
    """{"source": "file:line" of the first positional read, "args_keys": {key: "file:line"}},
    or None when no code of the project indexes args.base's files by position."""
    root = sources.root
    if root is None:
        return None
    parsed: dict[str, tuple[str, str, ast.AST]] = {}  # module -> (label, text, tree)

    def parse(module: str) -> None:
        if module in parsed or len(parsed) >= 32:
            return
        path = root / f"{module.replace('.', '/')}.py"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        sources.scanned.add(path)
        try:
            tree = sources_parse(text, str(path))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        parsed[module] = (path.relative_to(root).as_posix(), text, tree)
        if module in scripts:
            for name in _imported_project_modules(tree, sources):
                parse(name)

    scripts = {name[: -len(".py")] for name in entrypoints if name.endswith(".py")}
    for name in sorted(scripts):
        parse(name)
    if not any("base" in text for _, text, _ in parsed.values()):
        return None
    # What the walks below look for is spelled ``.base`` / ``.<name>`` in the text: a module
    # without it is not walked (most are not).
    names = {BASE}
    for _, text, tree in parsed.values():
        if _spells(text, {BASE}):
            names |= _per_layer_names(tree)
    first: tuple[str, int] | None = None
    keys: dict[str, str] = {}
    used: list[str] = []
    for module in sorted(parsed):
        label, text, tree = parsed[module]
        if not _spells(text, names):
            continue
        lines = [
            n.lineno
            for n in walk(tree)
            if isinstance(n, ast.Subscript) and _layer_index(n, names) is not None
        ]
        if not lines:
            continue
        used.append(module)
        if first is None or (label, min(lines)) < first:
            first = (label, min(lines))
        for key, line in _keys_read(tree, names).items():
            keys.setdefault(key, f"{label}:{line}")
    if first is None:
        return None
    # the files that decided it: re-hashed by `satc check`, keyed in the cache
    per_layer = {
        m for m in parsed if _spells(parsed[m][1], {BASE}) and _per_layer_names(parsed[m][2]) - {BASE}
    }
    for module in {*used, *per_layer}:
        sources.read(root / f"{module.replace('.', '/')}.py")
    return {"source": f"{first[0]}:{first[1]}", "args_keys": dict(sorted(keys.items()))}
