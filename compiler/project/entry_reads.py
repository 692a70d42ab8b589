"""The arguments each entry script reads: what a rule guarding a script's own code looks for.

A CogVideoX rule about a flag only its sampling script branches on (``if
args.image2video:``, sample_video.py:160) guards that script's code: a project's other
script that never reads the flag (Metalicana/DiTCtrl 1b91ee4, sat/sample_video_i2v.py
always conditions on the image) runs the same config without it.

Answered one question at a time, when a rule asks it (facts.Project.entry_facts), for the
launched script only.  Static and on the safe side: an argument counts as read where its
name is an attribute or a string constant in the script or in a project module it imports,
transitively (absolute and relative imports, the packages' ``__init__`` on the way: a
helper two imports away, or a package re-exporting CogVideoX's ``sampling_main``, reads the
flag for it); a module whose text never spells the name is not walked.  A script with a
project import satc cannot follow gets None: its reads are unknown.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from pathlib import Path

from . import imports, network_use
from .sources import Module, Sources, walk


def answer(sources: Sources, root: Path, question: str, arguments: Iterable[str]) -> bool | None:
    """One entry-script question (facts.Project.entry_facts): ``reads:<script>:<argument>``,
    ``sets:<script>:<argument>`` or ``free:<script>``."""
    kind, _, rest = question.partition(":")
    if kind == "free":
        return network_use.network_free(sources, root, rest)
    script, _, name = rest.partition(":")
    if name not in set(arguments):
        return False  # not an argument of the project: neither read nor set as one
    if kind == "reads":
        return reads(sources, root, script, name)
    if kind == "sets":
        return sets_true(sources, root, script, name)
    raise ValueError(f"no such entry question: {question!r}")


def reads(sources: Sources, root: Path, script: str, name: str) -> bool | None:
    """Whether the script, or a project module it imports (transitively), may read the
    argument ``name``; None where a project import cannot be followed (unknown)."""
    try:
        own = imports.load(sources, root, script[: -len(".py")])
    except imports.Unresolved:
        return None
    if own is None:
        return None
    # The script itself first: where it reads the name, its imports need not be followed.
    if _mentions(sources, own, name):
        return True
    try:
        modules = imports.closure(sources, root, script)
    except imports.Unresolved:
        return None  # a module satc cannot read: the script's reads are unknown
    return any(_mentions(sources, module, name) for module in modules)


def _mentions(sources: Sources, module: Module, name: str) -> bool:
    # The text first: a module whose source never spells the name cannot read it (most
    # modules, and the walk of a whole module is the expensive part).
    if module.text and name not in module.text:
        return False
    return name in imports.memo(sources, "names", module.tree, functools.partial(_names, module.tree))


def _names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            names.add(node.value)  # getattr(args, "x"), vars(args)["x"]
    return names


def sets_true(sources: Sources, root: Path, script: str, name: str) -> bool:
    """Whether the script sets the argument ``name`` to a literal True itself before any
    code of the project runs: CogVideoX's ``__main__`` with ``args.image2video = True``
    before ``sampling_main(...)``.  Only an unconditional assignment in the module's
    statements (or its ``if __name__ == "__main__":`` block), before the first call of a
    function of the script or of a project module other than ``get_args``, and the only
    write of that name anywhere the script imports (no other ``x.name = ...``, no
    ``setattr``/``vars`` by string); False where satc is not sure."""
    try:
        own = imports.load(sources, root, script[: -len(".py")])
        if own is None:
            return False
        project = _project_names(sources, root, own)
    except imports.Unresolved:
        return False
    set_here = False
    namespaces: set[str] = set()  # names bound to what get_args returned
    for statement in _main_sequence(own.tree):
        receiver, target = _sets_true(statement)
        if target is not None:
            if receiver in namespaces and target == name:
                set_here = True
            continue
        if _calls(statement, project):
            break
        namespaces |= _binds_namespace(statement, namespaces)
    if not set_here:
        return False
    try:
        modules = imports.closure(sources, root, script)
    except imports.Unresolved:
        return False
    writes = 0
    for module in modules:
        if module.text and name not in module.text:
            continue
        for node in walk(module.tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == name
                and isinstance(node.ctx, ast.Store | ast.Del)
            ):
                writes += 1
            elif isinstance(node, ast.Constant) and node.value == name:
                writes += 2  # by string: unknown
    return writes == 1


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
