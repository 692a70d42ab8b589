"""Which project modules a module imports: absolute and relative imports, with the
packages whose ``__init__`` an import runs on the way.

Only the project's own modules are followed (files of its entrypoint folder); SAT and
installed packages are left to the callers, which judge them by the names imported.  An
import whose first name is a module of the project but whose rest is not there is
*unresolved*: the callers treat the facts that depend on it as unknown.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from .sources import Module, Sources, absolute

# SAT is judged by the names imported from it (a vendored copy in the folder included).
NOT_FOLLOWED = frozenset({"sat"})
T = TypeVar("T")


class Unresolved(Exception):
    """A project import satc cannot follow (no such file, or a file it cannot parse)."""

    def __init__(self, dotted: str, missing: bool = True) -> None:
        super().__init__(dotted)
        # no such file: the import raises ImportError where it runs, so nothing after it
        # there runs either (a dead import inside a function of CogVideoX's own
        # sgm/modules/diffusionmodules/openaimodel.py:96)
        self.missing = missing


@dataclass(frozen=True)
class Imported:
    """One name an import statement binds: ``module`` is the project module it comes
    from (dotted; None for another package), ``name`` the attribute taken from it (None
    where the module object itself is bound), ``source`` the dotted module as written."""

    local: str
    module: str | None
    name: str | None
    source: str


def is_project(root: Path, dotted: str) -> bool:
    top = dotted.split(".", 1)[0]
    return top not in NOT_FOLLOWED and ((root / f"{top}.py").is_file() or (root / top).is_dir())


def load(sources: Sources, root: Path, dotted: str) -> Module | None:
    """The project module ``dotted``; None for a namespace package (a folder without
    ``__init__.py``: nothing runs); Unresolved where it is not there or cannot be parsed."""
    module = sources.module(dotted)
    if module is not None:
        return module
    path = root.joinpath(*dotted.split("."))
    if path.is_dir() and not (path / "__init__.py").exists():
        return None
    raise Unresolved(
        dotted, missing=not (path.with_suffix(".py").exists() or (path / "__init__.py").exists())
    )


def _packages(dotted: str) -> Iterator[str]:
    parts = dotted.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def memo(sources: Sources, what: str, node: object, compute: Callable[[], T]) -> T:
    """``compute()`` once per node and question (sources.memo)."""
    key = (what, id(node))
    found = sources.memo.get(key)
    if found is not None and found[0] is node:
        return cast(T, found[1])
    value = compute()
    sources.memo[key] = (node, value)
    return value


def statement(
    sources: Sources, root: Path, module: Module, node: ast.Import | ast.ImportFrom
) -> list[Imported]:
    """What one import statement binds, loading (and so checking) every project module
    it runs.  Raises Unresolved for a project import that cannot be followed."""

    def compute() -> list[Imported] | Unresolved:
        try:
            return _statement(sources, root, module, node)
        except Unresolved as error:
            return error

    found = memo(sources, "import", node, compute)
    if isinstance(found, Unresolved):
        raise found
    return found


def _statement(
    sources: Sources, root: Path, module: Module, node: ast.Import | ast.ImportFrom
) -> list[Imported]:
    bound: list[Imported] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if not is_project(root, alias.name):
                bound.append(Imported(alias.asname or alias.name.split(".")[0], None, None, alias.name))
                continue
            for package in _packages(alias.name):
                load(sources, root, package)
            if alias.asname:
                bound.append(Imported(alias.asname, alias.name, None, alias.name))
            else:
                # binds the top package; what the code reaches through it is ``alias.name``
                bound.append(Imported(alias.name.split(".")[0], alias.name, None, alias.name))
        return bound
    if node.level:
        parts = module.name.split(".")[: None if module.label.endswith("__init__.py") else -1]
        if len(parts) < node.level:
            # above the folder, or a script's relative import (the interpreter refuses
            # it): satc cannot say what it would be.
            raise Unresolved(f"{'.' * node.level}{node.module or ''}")
    base = absolute(module, node)
    if not base or not (node.level or is_project(root, base)):
        return [Imported(a.asname or a.name, None, a.name, base) for a in node.names]
    if not is_project(root, base):
        raise Unresolved(base)
    for package in _packages(base):
        load(sources, root, package)
    for alias in node.names:
        if alias.name == "*":
            bound.append(Imported("*", base, None, base))
            continue
        submodule = f"{base}.{alias.name}"
        if sources.module(submodule) is not None:
            bound.append(Imported(alias.asname or alias.name, submodule, None, base))
        else:
            bound.append(Imported(alias.asname or alias.name, base, alias.name, base))
    return bound


def imports(tree: ast.AST, sources: Sources | None = None) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, and whether it is inside a function (it runs only if the
    function does; one that fails raises there, and nothing after it in the function runs)."""
    if sources is not None:
        return memo(sources, "imports", tree, lambda: list(_imports(tree)))
    return list(_imports(tree))


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    # An import is a statement: only the statement lists are walked, not the expressions.
    pending: list[tuple[ast.AST, bool]] = [(tree, False)]
    while pending:
        node, inside = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, inside
            continue
        nested = inside or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, name, None)
            if isinstance(children, list):
                pending.extend((child, nested) for child in reversed(children))


def closure(sources: Sources, root: Path, script: str) -> list[Module]:
    """The script's module and every project module it imports, transitively (imports
    anywhere in a module: a function's own import included).  Raises Unresolved."""
    start = load(sources, root, script[: -len(".py")] if script.endswith(".py") else script)
    if start is None:
        raise Unresolved(script)
    found: dict[str, Module] = {start.name: start}
    pending = [start]
    while pending:
        module = pending.pop()
        for node, inside in imports(module.tree, sources):
            try:
                binds = statement(sources, root, module, node)
            except Unresolved as error:
                if inside and error.missing:
                    continue  # fails when its function runs: nothing there reads on
                raise
            for bound in binds:
                if bound.module is None:
                    continue
                names = [*_packages(bound.source), *_packages(bound.module)]
                if bound.name is not None:
                    names.append(f"{bound.module}.{bound.name}")
                for dotted in names:
                    if dotted in found:
                        continue
                    loaded = sources.module(dotted)
                    if loaded is not None:
                        found[dotted] = loaded
                        pending.append(loaded)
    return [found[name] for name in sorted(found)]
