"""Whether an entry script may run the network: sample with the engine or train with SAT.

hologerry/CogVideo@88c13d7 vae_video.py builds the engine for its conditioner and 3D VAE
only (encode_first_stage, decode_first_stage): fp16's overflow is the network's, so M16
is a warning there.  A relaxation, so satc must be sure: the code followed is the script's
own (all of it), the module-level code of every project module an import runs, and every
function or class of the project the followed code names (through imports, relative ones
and packages' re-exports included), transitively.  It runs the network where any of it

* uses ``.sample`` (or the engine's ``.sampler``/``.denoiser``) on anything but ``self``
  (``model.sample(...)``, ``fn = model.sample``, ``getattr(model, "sample")``), or names a
  method of a followed class that reaches ``self.sample`` (``log_video``);
* names ``training_main`` or imports ``sampling_main`` (under any alias), or star-imports
  SAT's training modules.

A project import satc cannot follow where it runs makes the script not network-free, but
one inside a function of a module that is not there: it raises ImportError where it runs,
so nothing after it runs there.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from . import imports
from .sources import Module, Sources, walk

RUNS = frozenset({"training_main", "sampling_main"})
SAMPLE = "sample"
# The engine's parts that run the network when called from outside it (its own methods use
# them as ``self.sampler``, ``self.denoiser``): a script calling them samples by hand.
NETWORK_PARTS = frozenset({"sampler", "denoiser"})


class _Runs(Exception):
    """The script may run the network."""


class _Walk:
    def __init__(self, sources: Sources, root: Path) -> None:
        self.sources = sources
        self.root = root
        self.done: set[tuple[str, str | None]] = set()  # (module, top-level name or None)
        self.pending: list[tuple[Module, ast.AST]] = []
        self.mentioned: set[str] = set()  # attributes used on anything but self
        self.reaches_sample: set[str] = {SAMPLE, *NETWORK_PARTS}

    def reach_module(self, dotted: str) -> None:
        module = imports.load(self.sources, self.root, dotted)
        if module is None or (dotted, None) in self.done:
            return
        self.done.add((dotted, None))
        for statement in module.tree.body:
            if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.pending.append((module, statement))

    def reach_all(self, dotted: str) -> None:
        self.reach_module(dotted)
        module = imports.load(self.sources, self.root, dotted)
        if module is not None:
            for statement in module.tree.body:
                if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    self.reach_name(module, statement.name)

    def reach_name(self, module: Module, name: str) -> None:
        """A top-level name of ``module``: its def or class, or what an import bound it to."""
        if (module.name, name) in self.done:
            return
        self.done.add((module.name, name))

        def compute() -> dict[str, list[ast.stmt]]:
            table: dict[str, list[ast.stmt]] = {}
            for s in module.tree.body:
                if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    table.setdefault(s.name, []).append(s)
            return table

        defined = imports.memo(self.sources, "defined", module.tree, compute).get(name, [])
        for statement in defined:
            self.pending.append((module, statement))
        bound = self._bindings(module).get(name, [])
        for target in bound:
            self.reach_imported(target)
        if not defined and not bound and "*" in self._bindings(module):
            for target in self._bindings(module)["*"]:
                if target.module is not None:
                    self.reach_all(target.module)

    def reach_imported(self, target: imports.Imported) -> None:
        if target.module is None:
            return
        self.reach_module(target.module)
        if target.name is None:
            self.reach_all(target.module)  # the module object itself: any of it may be used
            return
        module = imports.load(self.sources, self.root, target.module)
        if module is not None:
            self.reach_name(module, target.name)

    def _bindings(self, module: Module) -> dict[str, list[imports.Imported]]:
        def compute() -> dict[str, list[imports.Imported]]:
            table: dict[str, list[imports.Imported]] = {}
            for node, _ in imports.imports(module.tree, self.sources):
                try:
                    bound = imports.statement(self.sources, self.root, module, node)
                except imports.Unresolved:
                    continue  # judged where the statement is followed
                for target in bound:
                    table.setdefault(target.local, []).append(target)
            return table

        return imports.memo(self.sources, "bindings", module.tree, compute)

    def scan(self, module: Module, node: ast.AST) -> None:
        facts = imports.memo(self.sources, "network", node, lambda: _facts(self.sources, module, node))
        if facts.runs:
            raise _Runs
        for statement, inside in facts.imports:
            self._import(module, statement, inside)
        self.mentioned |= facts.mentioned
        self.reaches_sample |= facts.sampling
        if self.mentioned & self.reaches_sample:
            raise _Runs  # both only grow: no need to follow the rest
        for name in facts.loads:
            self.reach_name(module, name)

    def _import(self, module: Module, node: ast.Import | ast.ImportFrom, inside: bool) -> None:
        names = {alias.name for alias in node.names}
        if names & RUNS:
            raise _Runs
        source = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
        level = node.level if isinstance(node, ast.ImportFrom) else 0
        if "*" in names and not level and source.split(".")[:2] == ["sat", "training"]:
            raise _Runs
        try:
            bound = imports.statement(self.sources, self.root, module, node)
        except imports.Unresolved as error:
            if inside and error.missing:
                return  # raises ImportError where it runs: nothing after it there runs
            raise _Runs from None
        for target in bound:
            if target.module is not None:
                for package in _packages(target.source if target.name else target.module):
                    self.reach_module(package)
                if target.local == "*":
                    self.reach_all(target.module)


@dataclass(frozen=True)
class _Facts:
    """What one followed piece of code says, whichever script follows it."""

    runs: bool  # names training_main, or sampling_main as an attribute or a string
    imports: tuple[tuple[ast.Import | ast.ImportFrom, bool], ...]  # and whether inside a function
    mentioned: frozenset[str]  # attributes used on anything but self, and string constants
    loads: tuple[str, ...]  # names read
    sampling: frozenset[str]  # methods of its classes that reach self.sample


def _facts(sources: Sources, module: Module, node: ast.AST) -> _Facts:
    # inside a function of the module: the module's own walk says so for every piece of it
    inside = {id(n) for n, within in imports.imports(module.tree, sources) if within}
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []
    mentioned: set[str] = set()
    loads: dict[str, None] = {}
    sampling: set[str] = set()
    for child in walk(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            found.append((child, id(child) in inside))
        elif isinstance(child, ast.ClassDef):
            sampling |= _sampling_methods(child)
        elif isinstance(child, ast.Attribute):
            if child.attr in RUNS:
                return _Facts(True, (), frozenset(), (), frozenset())
            if not (isinstance(child.value, ast.Name) and child.value.id == "self"):
                mentioned.add(child.attr)
        elif isinstance(child, ast.Constant) and isinstance(child.value, str):
            if child.value in RUNS:
                return _Facts(True, (), frozenset(), (), frozenset())
            mentioned.add(child.value)  # getattr(model, "sample")
        elif isinstance(child, ast.Name):
            if child.id == "training_main":
                return _Facts(True, (), frozenset(), (), frozenset())
            if isinstance(child.ctx, ast.Load):
                loads[child.id] = None
    return _Facts(False, tuple(found), frozenset(mentioned), tuple(loads), frozenset(sampling))


def _packages(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)]


def _sampling_methods(cls: ast.ClassDef) -> set[str]:
    """The methods of ``cls`` that reach ``self.sample`` through ``self.x`` calls."""
    methods = {s.name: s for s in cls.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
    uses = {
        name: {
            n.attr
            for n in walk(method)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"
        }
        for name, method in methods.items()
    }
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, used in uses.items():
            if name not in found and name != SAMPLE and (SAMPLE in used or used & found):
                found.add(name)
                changed = True
    return found


def network_free(sources: Sources, root: Path, script: str) -> bool:
    """Whether satc is sure the script never samples with the engine nor trains."""
    walk = _Walk(sources, root)
    try:
        own = imports.load(sources, root, script[: -len(".py")])
        if own is None:
            return False
        walk.done.add((own.name, None))
        walk.pending.append((own, own.tree))
        while walk.pending:
            module, node = walk.pending.pop()
            walk.scan(module, node)
    except (_Runs, imports.Unresolved, RecursionError):
        return False
    return not (walk.mentioned & walk.reaches_sample)
