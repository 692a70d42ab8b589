"""The arguments each entry script reads: what a rule guarding a script's own code looks for.

A CogVideoX rule about a flag only its sampling script branches on (``if
args.image2video:``, sample_video.py:160) guards that script's code: a project's other
script that never reads the flag (Metalicana/DiTCtrl 1b91ee4, sat/sample_video_i2v.py
always conditions on the image) runs the same config without it.

Static and on the safe side: the parser's arguments among the attribute names and string
constants of the script and of every project module it imports, transitively (absolute and
relative imports, the packages' ``__init__`` on the way: a helper two imports away, or a
package re-exporting CogVideoX's ``sampling_main``, reads the flag for it).  An argument
listed may not be read; one absent is read by none of them.  A script with a project import
satc cannot follow is left out: its reads are unknown.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from pathlib import Path

from . import imports
from .sources import Module, Sources, walk


def read(
    sources: Sources, root: Path, entrypoints: tuple[str, ...], arguments: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """{script: sorted arguments it or the project modules it imports may read}; a script
    that cannot be followed is left out (unknown: the rules judge it as they would without this)."""
    declared = set(arguments)
    found: dict[str, tuple[str, ...]] = {}
    for script in entrypoints:
        try:
            modules = imports.closure(sources, root, script)
        except imports.Unresolved:
            continue  # a module satc cannot read: the script's reads are unknown
        names: set[str] = set()
        for module in modules:
            names |= imports.memo(sources, "names", module.tree, functools.partial(_names, module.tree))
        found[script] = tuple(sorted(names & declared))
    return found


def _names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            names.add(node.value)  # getattr(args, "x"), vars(args)["x"]
    return names


def sets_true(
    sources: Sources, root: Path, entrypoints: tuple[str, ...], arguments: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """{script: arguments it sets to a literal True itself before any code of the project
    runs}: CogVideoX's ``__main__`` with ``args.image2video = True`` before
    ``sampling_main(...)``.  Only an unconditional assignment in the module's statements (or
    its ``if __name__ == "__main__":`` block), before the first call of a function of the
    script or of a project module other than ``get_args``, and the only write of that name
    anywhere the script imports (no other ``x.name = ...``, no ``setattr``/``vars`` by
    string); a script not listed sets none that satc is sure of."""
    declared = set(arguments)
    found: dict[str, tuple[str, ...]] = {}
    for script in entrypoints:
        try:
            modules = imports.closure(sources, root, script)
            own = imports.load(sources, root, script[: -len(".py")])
            if own is None:
                continue
            project = _project_names(sources, root, own)
        except imports.Unresolved:
            continue
        set_here: set[str] = set()
        namespaces: set[str] = set()  # names bound to what get_args returned
        for statement in _main_sequence(own.tree):
            receiver, name = _sets_true(statement)
            if name is not None:
                if receiver in namespaces:
                    set_here.add(name)
                continue
            if _calls(statement, project):
                break
            namespaces |= _binds_namespace(statement, namespaces)
        if not set_here & declared:
            continue
        writes: dict[str, int] = {}
        for module in modules:
            for node in walk(module.tree):
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
                    writes[node.attr] = writes.get(node.attr, 0) + 1
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    writes[node.value] = writes.get(node.value, 0) + 2  # by string: unknown
        sure = sorted(n for n in set_here & declared if writes.get(n) == 1)
        if sure:
            found[script] = tuple(sure)
    return found


def _project_names(sources: Sources, root: Path, module: Module) -> set[str]:
    """Names the script binds to its own functions or to project code, but ``get_args``."""
    names = {
        n.name
        for n in module.tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    for node, _ in imports.imports(module.tree):
        try:
            bound = imports.statement(sources, root, module, node)
        except imports.Unresolved:
            continue  # inside a function (closure() refused the others): it fails there
        names |= {b.local for b in bound if b.module is not None}
    return names - {"get_args"}


def _main_sequence(tree: ast.Module) -> list[ast.stmt]:
    statements: list[ast.stmt] = []
    for statement in tree.body:
        if isinstance(statement, ast.If) and _is_main_test(statement.test):
            statements.extend(statement.body)
        else:
            statements.append(statement)
    return statements


def _is_main_test(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _binds_namespace(statement: ast.stmt, namespaces: set[str]) -> set[str]:
    """The names ``statement`` binds to get_args' namespace (``args = get_args(...)``) or
    to one built from it (``args = argparse.Namespace(**vars(args), ...)``)."""
    if not isinstance(statement, ast.Assign):
        return set()
    from_namespace = any(
        (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name | ast.Attribute)
            and _called(n.func) == "get_args"
        )
        or (isinstance(n, ast.Name) and n.id in namespaces)
        for n in ast.walk(statement.value)
    )
    return {t.id for t in statement.targets if isinstance(t, ast.Name)} if from_namespace else set()


def _called(func: ast.Name | ast.Attribute) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr


def _sets_true(statement: ast.stmt) -> tuple[str | None, str | None]:
    """(``args``, ``name``) of ``args.name = True``."""
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(target := statement.targets[0], ast.Attribute)
        and isinstance(target.value, ast.Name)
        and isinstance(statement.value, ast.Constant)
        and statement.value.value is True
    ):
        return target.value.id, target.attr
    return None, None


def _calls(statement: ast.stmt, project: set[str]) -> bool:
    """Whether the statement calls a function of the script or of the project (a ``def``
    only defines one: its decorators and bases are what runs)."""
    parts: list[ast.AST] = [statement]
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        parts = [
            *statement.decorator_list,
            *getattr(statement, "bases", []),
            *getattr(statement, "keywords", []),
        ]
    for node in (n for part in parts for n in ast.walk(part)):
        if isinstance(node, ast.Call):
            func = node.func
            while isinstance(func, ast.Attribute):
                func = func.value
            if isinstance(func, ast.Name) and func.id in project:
                return True
    return False
