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
from pathlib import Path

from . import imports
from .sources import Module, Sources

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
        self.bindings: dict[str, dict[str, list[imports.Imported]]] = {}
        self.defined: dict[str, dict[str, list[ast.stmt]]] = {}

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
        if module.name not in self.defined:
            self.defined[module.name] = {}
            for s in module.tree.body:
                if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    self.defined[module.name].setdefault(s.name, []).append(s)
        defined = self.defined[module.name].get(name, [])
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
        if module.name not in self.bindings:
            table: dict[str, list[imports.Imported]] = {}
            for node, _ in imports.imports(module.tree):
                try:
                    bound = imports.statement(self.sources, self.root, module, node)
                except imports.Unresolved:
                    continue  # judged where the statement is followed
                for target in bound:
                    table.setdefault(target.local, []).append(target)
            self.bindings[module.name] = table
        return self.bindings[module.name]

    def scan(self, module: Module, node: ast.AST) -> None:
        inside = {id(n) for n, within in imports.imports(node) if within}
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)}
        for child in ast.walk(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                self._import(module, child, id(child) in inside)
            elif isinstance(child, ast.ClassDef):
                self.reaches_sample |= _sampling_methods(child)
            elif isinstance(child, ast.Attribute):
                if child.attr in RUNS:
                    raise _Runs
                if not (isinstance(child.value, ast.Name) and child.value.id == "self"):
                    self.mentioned.add(child.attr)
            elif isinstance(child, ast.Constant) and isinstance(child.value, str):
                if child.value in RUNS:
                    raise _Runs
                self.mentioned.add(child.value)  # getattr(model, "sample")
            elif isinstance(child, ast.Name):
                if child.id == "training_main":
                    raise _Runs
                if isinstance(child.ctx, ast.Load):
                    self.reach_name(module, child.id)

    def _import(self, module: Module, node: ast.Import | ast.ImportFrom, inside: bool) -> None:
        names = {alias.name for alias in node.names}
        if names & RUNS:
            raise _Runs
        source = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
        if "*" in names and not node.level and source.split(".")[:2] == ["sat", "training"]:
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


def _packages(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)]


def _sampling_methods(cls: ast.ClassDef) -> set[str]:
    """The methods of ``cls`` that reach ``self.sample`` through ``self.x`` calls."""
    methods = {s.name: s for s in cls.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
    uses = {
        name: {
            n.attr
            for n in ast.walk(method)
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
