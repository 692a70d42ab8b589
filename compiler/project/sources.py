"""Module name -> parsed source file, the way the project's own imports would find it.

Nothing is imported: files are read and parsed with ``ast``.  The project's folder comes
first (its entrypoints run from there, so ``sgm.util`` is ``<root>/sgm/util.py``); ``sat``
comes from the SAT the project really imports (vendored beside it, else the installed
one); ``deepspeed`` and ``torch`` from their installed source.  Every file read is
recorded with its content hash, so the facts can be cached and a bundle can say which
code judged it.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# External packages read from their installed source; anything else outside the project
# (omegaconf, einops, ...) is not read: a name from there stays a dotted string.
INSTALLED = ("deepspeed", "torch")

_PARSED = [0]  # files parsed by this process: tests use it to prove a cache hit parses nothing


def parse_count() -> int:
    return _PARSED[0]


def installed(name: str) -> Path | None:
    """The folder holding an installed top-level package (``find_spec`` on a top-level name
    locates it without executing it).  The folder satc runs in is not searched: ``python -m
    satc`` puts it on ``sys.path`` and the ``satc`` command does not, and a ``sat/`` that
    happens to sit there is not what the project's interpreter imports (sat_source.py finds
    a SAT vendored in or beside the project)."""
    here = {"", os.getcwd()}
    saved = sys.path[:]
    sys.path[:] = [entry for entry in saved if entry not in here]  # editable installs' finders still run
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    finally:
        sys.path[:] = saved
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).parent


@dataclass
class Module:
    name: str
    label: str  # file as messages show it: relative to the project, or to site-packages
    tree: ast.Module
    text: str = ""

    # Built on first use: name resolution asks a module for them hundreds of times.
    _classes: dict[str, ast.ClassDef] | None = field(default=None, init=False, repr=False, compare=False)
    _functions: dict[str, ast.FunctionDef] | None = field(default=None, init=False, repr=False, compare=False)

    def classes(self) -> dict[str, ast.ClassDef]:
        if self._classes is None:
            self._classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        return self._classes

    def functions(self) -> dict[str, ast.FunctionDef]:
        if self._functions is None:
            self._functions = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        return self._functions


@dataclass
class Sources:
    """Parsed modules of one project, and the record of every file read."""

    root: Path | None
    sat_parent: Path | None  # the folder holding the ``sat`` package the project imports
    sat_vendored: bool = False  # that SAT is the project's own copy (labels relative to the project)
    # SAT's classes as the bundled snapshot describes them, for a machine without SAT's source
    snapshot_targets: dict[str, Any] = field(default_factory=dict)
    # Names known without reading them (torch.nn.Module takes no keywords)
    opaque: frozenset[str] = frozenset()
    cache: dict[str, Module | None] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # label -> sha256
    paths: dict[str, Path] = field(default_factory=dict)  # label -> file
    # Files looked for in the project and not found: one appearing later changes the facts
    absent: set[Path] = field(default_factory=set)
    # Files scanned for a fact that was not there: no fact comes from them (the bundle does
    # not list them), but an edit may put one there, so the cache re-hashes them.
    scanned: set[Path] = field(default_factory=set)
    broken: dict[str, str] = field(default_factory=dict)  # label -> why it could not be parsed
    # Facts derived from one parsed node, by (what, id(node)): the node is kept beside its
    # facts, so an id reused by another object never matches.  Every entry script asks again.
    memo: dict[tuple[str, int], tuple[Any, Any]] = field(default_factory=dict)
    _installed: dict[str, Path | None] = field(default_factory=dict)
    _tracking: list[set[str]] = field(default_factory=list)
    _package_bases: dict[str, Path | None] = field(default_factory=dict)

    def module(self, name: str) -> Module | None:
        if name not in self.cache:
            self.cache[name] = self._load(name)
        found = self.cache[name]
        if found is not None and self._tracking:
            for touched in self._tracking:
                touched.add(found.label)
        return found

    @contextlib.contextmanager
    def tracking(self) -> Iterator[set[str]]:
        """The labels of the files a part of a read uses (loaded or already parsed): what a
        bundle records for the facts it was judged by, whatever an earlier compile cached."""
        touched: set[str] = set()
        self._tracking.append(touched)
        try:
            yield touched
        finally:
            self._tracking.pop()

    def installed_dir(self, top: str) -> Path | None:
        if top == "sat":
            return self.sat_parent
        if top not in self._installed:
            self._installed[top] = installed(top)
        return self._installed[top]

    def _roots(self, top: str) -> list[Path]:
        if top == "sat" or top in INSTALLED:
            where = self.installed_dir(top)
            return [where] if where else []
        if self.root is None:
            return []
        if top not in self._package_bases:
            self._package_bases[top] = _package_base(self.root, top)
        base = self._package_bases[top]
        return [self.root, base] if base is not None else [self.root]

    def _file(self, name: str) -> Path | None:
        parts = name.split(".")
        if not all(parts):
            return None
        roots = self._roots(parts[0])
        for base_dir in roots:
            base = base_dir.joinpath(*parts)
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
        if parts[0] not in INSTALLED:
            for base_dir in roots:
                base = base_dir.joinpath(*parts)
                self.absent |= {base.with_suffix(".py"), base / "__init__.py"}
        return None

    def label(self, path: Path) -> str:
        """A file as messages name it: relative to the project when it is the project's
        (or vendored beside it), else relative to the installed site folder."""
        if self.root is not None and self.sat_parent is not None and self.sat_vendored:
            try:
                path.relative_to(self.sat_parent)
            except ValueError:
                pass
            else:
                return _relative(path, self.root)
        if self.root is not None:
            try:
                return path.relative_to(self.root).as_posix()
            except ValueError:
                pass
            # A module of the package the project lies in, outside its folder: relative too,
            # so the bundle names no absolute path (``../../utils/x.py``).
            for base in self._package_bases.values():
                if base is not None and path.is_relative_to(base):
                    return _relative(path, self.root)
        for where in [self.sat_parent, *self._installed.values()]:
            if where is not None:
                try:
                    return path.relative_to(where).as_posix()
                except ValueError:
                    continue
        return path.as_posix()

    def read(self, path: Path) -> str:
        data = path.read_bytes()
        label = self.label(path)
        self.files[label] = hashlib.sha256(data).hexdigest()
        self.paths[label] = path
        for touched in self._tracking:
            touched.add(label)
        return data.decode("utf-8", errors="replace")

    def _load(self, name: str) -> Module | None:
        path = self._file(name)
        if path is None:
            return None
        try:
            text = self.read(path)
        except OSError:
            return None
        try:
            tree = parse(text, str(path))
        except SyntaxError as error:
            # a NUL byte or a bad encoding has no line
            at = f"{self.label(path)}:{error.lineno}" if error.lineno else self.label(path)
            self.broken[self.label(path)] = f"{at}: {error.msg}"
            return None
        except (ValueError, RecursionError, MemoryError) as error:
            self.broken[self.label(path)] = f"{self.label(path)}: {type(error).__name__}"
            return None
        _PARSED[0] += 1
        return Module(name, self.label(path), tree, text)


def _package_base(root: Path, top: str) -> Path | None:
    """Where ``top.x.y`` is imported from when the project folder lies inside the package
    ``top`` (its targets and imports name the package's full path:
    ``fastercache.models.cogvideox.dit_video_concat.DiffusionTransformer`` for a project in
    ``<checkout>/fastercache/models/cogvideox``, camenduru/FasterCache fab32c1): the folder
    above the nearest ancestor named ``top``.  A few path checks, no scan."""
    for folder in [root, *root.parents][:6]:
        if folder.name == top and folder.parent != folder:
            return folder.parent
    return None


def _relative(path: Path, root: Path) -> str:
    """``../modules/SwissArmyTransformer/sat/...`` for a SAT vendored beside the project."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        pass
    parts_root = root.parts
    parts = path.parts
    common = 0
    while common < min(len(parts_root), len(parts)) and parts_root[common] == parts[common]:
        common += 1
    return "/".join([".."] * (len(parts_root) - common) + list(parts[common:]))


@dataclass(frozen=True)
class Found:
    module: Module
    node: ast.ClassDef | ast.FunctionDef
    # The subclass a classmethod inherited from this class runs for: what ``cls`` names there.
    bound: Found | None = None

    @property
    def dotted(self) -> str:
        return f"{self.module.name}.{self.node.name}"

    def line(self, node: ast.AST | None = None) -> str:
        return f"{self.module.label}:{(node or self.node).lineno}"  # type: ignore[attr-defined]


def absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    is_package = module.label.endswith("__init__.py")
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, *([node.module] if node.module else [])])


def resolve_name(
    sources: Sources,
    module: Module,
    name: str,
    depth: int = 0,
    local: Sequence[ast.stmt] | None = None,
) -> Found | str | None:
    """A (possibly dotted) name as seen from ``module`` (and from the import statements of
    the function it is used in, ``local``): a class or function found in source, the
    dotted name of something outside what we read, or None."""
    if depth > 12:
        return None
    head, _, rest = name.partition(".")
    if not rest and local is None:
        if head in module.classes():
            return Found(module, module.classes()[head])
        if head in module.functions():
            return Found(module, module.functions()[head])
    statements = local if local is not None else module.tree.body
    for stmt in statements:
        if isinstance(stmt, ast.ImportFrom):
            source = absolute(module, stmt)
            for alias in stmt.names:
                if alias.name == "*" and not rest:
                    other = sources.module(source)
                    if other is not None:
                        found = resolve_name(sources, other, head, depth + 1)
                        if isinstance(found, Found):
                            return found
                elif (alias.asname or alias.name) == head:
                    target = f"{source}.{alias.name}" + (f".{rest}" if rest else "")
                    return resolve_dotted(sources, target, depth + 1)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                bound = alias.asname or alias.name.split(".")[0]
                if bound == head:
                    full = (alias.name if alias.asname else head) + (f".{rest}" if rest else "")
                    return resolve_dotted(sources, full, depth + 1)
    if local is not None:
        return resolve_name(sources, module, name, depth + 1)
    # A module-level alias (``AliasNet = DiffusionTransformer``, ``Net = dit.Net``) names
    # the class it is bound to; the last binding is the one an import sees.
    for stmt in reversed(module.tree.body):
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == head for t in stmt.targets
        ):
            value = dotted_name(stmt.value)
            if value and value.split(".")[0] != head:
                return resolve_name(sources, module, value + (f".{rest}" if rest else ""), depth + 1)
            return None
    return None


def resolve_in(sources: Sources, module: Module, func: ast.FunctionDef, name: str) -> Found | str | None:
    """A name used inside ``func``: its own ``import`` statements first (``import deepspeed``
    inside ``get_args``), then the module's."""
    imports = [n for n in walk(func) if isinstance(n, ast.Import | ast.ImportFrom)]
    return resolve_name(sources, module, name, local=imports)


def resolve_dotted(sources: Sources, dotted: str, depth: int = 0) -> Found | str | None:
    """``sgm.modules.GeneralConditioner`` -> where it is defined (re-exports followed)."""
    if dotted in sources.opaque:
        return dotted
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sources.module(".".join(parts[:cut]))
        if module is not None:
            found = resolve_name(sources, module, ".".join(parts[cut:]), depth + 1)
            return found if found is not None else dotted
    return dotted


def literal(node: ast.expr | None) -> tuple[bool, Any]:
    """A JSON-able literal value of an expression, if it is one."""
    if node is None:
        return False, None
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    if isinstance(value, tuple):
        value = list(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False, None
    return True, value


_WALKED: dict[int, tuple[ast.AST, list[ast.AST]]] = {}


# Fields that never hold a node a reader looks for: names and numbers, and the shared
# expression-context and operator instances (``ctx``, ``op``, ``ops``), which readers only
# test through their parent (``isinstance(node.ctx, ast.Store)``).  About a third of an
# expression's nodes are contexts, and every reader loops over each walk.
_LEAF_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "module", "level", "kind", "conversion", "is_async", "simple"}
    | {"type_comment", "tag"}
)
_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _child_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    fields = _FIELDS.get(kind)
    if fields is None:
        leaf = _LEAF_FIELDS | ({"value"} if kind is ast.Constant else set())
        fields = _FIELDS[kind] = tuple(f for f in kind._fields if f not in leaf)
    return fields


def children(node: ast.AST) -> list[ast.AST]:
    """``list(ast.iter_child_nodes(node))`` less the nodes no reader looks for (contexts,
    operators: ``_LEAF_FIELDS``), without its generator per node."""
    found: list[ast.AST] = []
    for name in _FIELDS.get(type(node)) or _child_fields(type(node)):
        value = getattr(node, name, None)
        if isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


def _breadth_first(node: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(node))`` without the ``_LEAF_FIELDS`` (same order otherwise), and
    without its generator and ``iter_child_nodes`` calls per node (the reader's largest
    cost after parsing)."""
    nodes = [node]
    append = nodes.append
    index = 0
    fields_of = _FIELDS
    while index < len(nodes):
        current = nodes[index]
        index += 1
        kind = type(current)
        fields = fields_of.get(kind)
        if fields is None:
            fields = _child_fields(kind)
        for name in fields:
            value = getattr(current, name, None)
            if value is None:
                continue
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        append(item)
            elif isinstance(value, ast.AST):
                append(value)
    return nodes


def walk(node: ast.AST) -> list[ast.AST]:
    """``ast.walk`` of a node, computed once: the class reader walks the same ``__init__``
    for every question it asks of it."""
    hit = _WALKED.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    nodes = _breadth_first(node)
    if len(_WALKED) > 20000:
        _WALKED.clear()
    _WALKED[id(node)] = (node, nodes)
    return nodes


def literal_lists(func: ast.AST) -> dict[str, list[Any]]:
    """The local names a function binds once, and only once, to a literal list
    (``names = ['a', 'b']; for name in names:``): a loop over one is a loop over that list."""
    bound: dict[str, list[Any]] = {}
    rebound: set[str] = set()
    for node in walk(func):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            ok, value = literal(node.value)
            if name in bound or not (ok and isinstance(value, list)):
                rebound.add(name)
            else:
                bound[name] = value
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and isinstance(node.target, ast.Name):
            rebound.add(node.target.id)
    return {name: value for name, value in bound.items() if name not in rebound}


_ORDERED: dict[int, tuple[ast.AST, list[ast.AST]]] = {}


def in_order(func: ast.AST) -> list[ast.AST]:
    """Every node under ``func`` in source order (``ast.walk`` is breadth-first)."""
    hit = _ORDERED.get(id(func))
    if hit is not None and hit[0] is func:
        return hit[1]
    nodes = [n for n in walk(func) if hasattr(n, "lineno")]
    ordered = sorted(nodes, key=lambda n: (n.lineno, n.col_offset))  # type: ignore[attr-defined]
    _ORDERED[id(func)] = (func, ordered)
    return ordered


_TREES: dict[tuple[str, str], ast.Module] = {}


def parse(text: str, filename: str) -> ast.Module:
    """``ast.parse(text, filename)``, once per file and text in a read: the entry-script
    scan, the base-layer scan and the class reader parse several of the same files (the
    entry scripts three times), and parsing is the largest part of a read.  The trees are
    only read, never changed (get_args.py rewrites a deep copy)."""
    key = (filename, text)
    tree = _TREES.get(key)
    if tree is None:
        tree = _TREES[key] = ast.parse(text, filename=filename)
    return tree


def forget() -> None:
    """Drop the walk and parse caches (one read's trees are not kept alive by the next)."""
    _WALKED.clear()
    _ORDERED.clear()
    _TREES.clear()


def dotted_name(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of names (what ``ast.unparse`` gives, without its cost)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))
