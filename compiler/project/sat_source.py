"""Which SAT the project will import, and the parallel dimensions its ``mpu`` creates.

A SAT vendored in or beside the project (Tora keeps ``../modules/SwissArmyTransformer``
and installs it with ``pip -e``) wins over the installed ``sat``: it is the code that
runs.  The search is bounded in depth so a large tree costs a few directory listings.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from . import sources as _sources
from .sources import Sources, walk

VENDOR_DIR = "SwissArmyTransformer"
# How deep below the project (and below its parent) a vendored SwissArmyTransformer may sit.
DEPTH_INSIDE = 3
DEPTH_BESIDE = 2
SKIP = {"__pycache__", "node_modules", "configs", "assets", "outputs", "samples", "ckpts", "checkpoints"}


def _is_sat(folder: Path) -> bool:
    """A SAT package: an ``mpu`` beside its ``__init__.py`` (or, for a namespace package
    copied into a project, beside its ``arguments.py``)."""
    return ((folder / "__init__.py").is_file() or (folder / "arguments.py").is_file()) and (
        (folder / "mpu" / "__init__.py").is_file()
        or (folder / "mpu" / "initialize.py").is_file()
        or (folder / "mpu.py").is_file()
    )


def _search(base: Path, depth: int, skip: Path | None) -> Path | None:
    """``<base>/**/SwissArmyTransformer/sat``, at most ``depth`` folders down, breadth first
    and in name order so the answer is deterministic."""
    level = [str(base)]
    skipped = str(skip) if skip is not None else None
    for _ in range(depth + 1):
        following: list[str] = []
        for folder in level:
            try:
                with os.scandir(folder) as listing:
                    names = sorted(
                        e.name
                        for e in listing
                        if e.name[:1] != "." and e.name not in SKIP and e.is_dir(follow_symlinks=False)
                    )
            except OSError:
                continue
            for name in names:
                path = os.path.join(folder, name)
                if path == skipped:
                    continue
                if name == VENDOR_DIR and _is_sat(Path(path) / "sat"):
                    return Path(path) / "sat"
                following.append(path)
        level = following
    return None


def _another_project(folder: Path) -> bool:
    """A folder beside the project that is a checkout or project of its own (a ``.git``, or
    an entry folder's ``arguments.py``): a SAT inside it belongs to that one."""
    return (
        (folder / ".git").exists()
        or (folder / "arguments.py").is_file()
        or (folder / "sat" / "arguments.py").is_file()
    )


def _sat_distribution(folder: Path) -> bool:
    """A SAT source checkout under a name of its own beside the project, which the
    project's scripts ``pip install -e``: bilibili/Index-anisora 171fe63
    anisoraV1_train_gpu/script/gpu_run.sh installs ``swissarmytransformer-npu_t_sp`` (a SAT
    with sequence parallelism) and runs ``sat/train_video.py``.  Its ``setup.py`` beside a
    ``sat`` package with an ``mpu`` tells it from a sibling project (whose ``sat/`` is an
    entry folder)."""
    return (folder / "setup.py").is_file() and not (folder / "arguments.py").is_file()


def _beside(root: Path) -> Path | None:
    """A SAT beside the project in its own checkout (Tora's ``sat/`` and
    ``modules/SwissArmyTransformer``).  A project at the top of its checkout has nothing
    beside it: its parent holds other checkouts (Concat-ID's arguments.py sits at the top
    of its repository; a sibling project's vendored SAT is not the one it runs)."""
    if (root / ".git").exists():
        return None
    try:
        with os.scandir(root.parent) as listing:
            siblings = sorted(
                Path(entry.path)
                for entry in listing
                if entry.name[:1] != "." and entry.name not in SKIP and entry.is_dir(follow_symlinks=False)
            )
    except OSError:
        return None
    for path in siblings:
        if _is_sat(path / "sat") and (path.name == VENDOR_DIR or _sat_distribution(path)):
            return path / "sat"
        if path == root or _another_project(path):
            continue
        found = _search(path, DEPTH_BESIDE - 1, None)
        if found is not None:
            return found
    return None


def _in_checkout(root: Path) -> Path | None:
    """The ``sat`` package at the top of the installable checkout the project folder lies
    in: ``pip install -e .`` there puts that top on the path, so ``import sat`` finds it.
    bilibili/Index-anisora 171fe63 anisoraV1_infer keeps a SAT (``sat/``, with ``--sp-size``)
    beside ``setup.py`` and runs the parser in ``fastercache/models/cogvideox``.  A few
    path checks up the project's ancestors, no scan."""
    for folder in list(root.parents)[:4]:
        if (folder / "setup.py").is_file() or (folder / "pyproject.toml").is_file():
            return folder / "sat" if _is_sat(folder / "sat") else None
    return None


def locate(root: Path | None) -> tuple[str, Path | None]:
    """("vendored" | "installed" | "snapshot", the ``sat`` package folder or None)."""
    if root is not None:
        if _is_sat(root / "sat"):
            return "vendored", root / "sat"
        found = _search(root, DEPTH_INSIDE, None) or _beside(root) or _in_checkout(root)
        if found is not None:
            return "vendored", found
    site = _sources.installed("sat")
    if site is not None and _is_sat(site / "sat"):
        return "installed", site / "sat"
    return "snapshot", None


def version(sat_dir: Path) -> str | None:
    """``__version__`` from the package's ``__init__.py`` (or its setup.py beside it)."""
    for path in (sat_dir / "__init__.py", sat_dir.parent / "setup.py"):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        match = re.search(r"""(?:__version__|version)\s*=\s*['"]([^'"]+)['"]""", text)
        if match:
            return match.group(1)
    return None


def mpu_dimensions(sources: Sources) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """The groups ``mpu.initialize_model_parallel`` creates, in rank order, and where.

    SAT 0.4 builds model-parallel blocks and data-parallel strides.  A vendored mpu that
    also declares sequence-parallel groups (2025's 14B projects) adds the sequence and
    sequence-data dimensions between them."""
    for name in ("sat.mpu.initialize", "sat.mpu"):
        module = sources.module(name)
        if module is None:
            continue
        func = module.functions().get("initialize_model_parallel")
        if func is None:
            continue
        declared: set[str] = set()
        for node in walk(func):
            if isinstance(node, ast.Global):
                declared |= {n.upper() for n in node.names}
        params = [a.arg for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]]
        sequence = any("SEQUENCE" in n and "DATA" not in n for n in declared) or any(
            "sequence" in p for p in params
        )
        where = f"{module.label}:{func.lineno}"
        names = tuple(a.arg for a in [*func.args.posonlyargs, *func.args.args])
        if sequence:
            return ("model", "sequence", "sequence_data", "data"), where, names
        return ("model", "data"), where, names
    return ("model", "data"), "", ()


MESH_CALL = "init_device_mesh"


def _as_args(test: str, local: dict[str, str]) -> str:
    """A test with the locals that hold an ``args.X`` written as ``args.X`` (``mp_size > 1``
    after ``mp_size = args.model_parallel_size``), so the rule can judge it."""

    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in local:
                return ast.Attribute(ast.Name("args", ast.Load()), local[node.id], ast.Load())
            return node

    return ast.unparse(Substitute().visit(ast.parse(test, mode="eval")))


def _guards(
    body: list[ast.stmt], target: ast.AST, path: list[tuple[str, bool]]
) -> list[tuple[str, bool]] | None:
    """The ``if`` tests (source, taken) on the way from ``body`` down to ``target``."""
    for stmt in body:
        if stmt is target or any(node is target for node in ast.walk(stmt)):
            if isinstance(stmt, ast.If) and not any(node is target for node in ast.walk(stmt.test)):
                test = ast.unparse(stmt.test)
                inside = _guards(stmt.body, target, [*path, (test, True)])
                return inside if inside is not None else _guards(stmt.orelse, target, [*path, (test, False)])
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(stmt, field, None)
                if isinstance(children, list) and children and isinstance(children[0], ast.stmt):
                    inside = _guards(children, target, path)
                    if inside is not None:
                        return inside
            for handler in getattr(stmt, "handlers", []):
                inside = _guards(handler.body, target, path)
                if inside is not None:
                    return inside
            return path
    return None


def mesh_reads(sources: Sources, sat_dir: Path) -> dict[str, list[dict[str, object]]] | None:
    """{arg: [{"source": "file:line", "when": [[test, taken], ...]}]}: the ``args.X`` whose
    value sizes a ``torch.distributed`` device mesh the project's SAT builds (CriliasMiller/
    Kaleido e54b5e7, sat/training/deepspeed_training.py:501-510 builds FSDP2's mesh from
    ``args.data_parallel_size``), with the ``if`` tests that lead there.  Read by text first:
    only the few files that mention the call are parsed."""
    out: dict[str, list[dict[str, object]]] = {}
    for path in sorted(sat_dir.rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if MESH_CALL + "(" not in text:
            continue
        try:
            tree = ast.parse(text, filename=str(path))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        found = False
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            local: dict[str, str] = {}
            for node in walk(func):
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Attribute)
                    and isinstance(node.value.value, ast.Name)
                    and node.value.value.id == "args"
                ):
                    local[node.targets[0].id] = node.value.attr
            for call in (n for n in walk(func) if isinstance(n, ast.Call)):
                name = (
                    call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                )
                if name != MESH_CALL:
                    continue
                shape = call.args[1] if len(call.args) > 1 else None
                shape = shape or next((k.value for k in call.keywords if k.arg == "mesh_shape"), None)
                if shape is None:
                    continue
                guards = [
                    (_as_args(test, local), taken) for test, taken in _guards(func.body, call, []) or []
                ]
                for node in ast.walk(shape):
                    attr = None
                    if isinstance(node, ast.Name) and node.id in local:
                        attr = local[node.id]
                    elif (
                        isinstance(node, ast.Attribute)
                        and isinstance(node.value, ast.Name)
                        and node.value.id == "args"
                    ):
                        attr = node.attr
                    if attr is None:
                        continue
                    entry: dict[str, object] = {
                        "source": f"{sources.label(path)}:{call.lineno}",
                        "when": [list(g) for g in guards],
                    }
                    if entry not in out.setdefault(attr, []):
                        out[attr].append(entry)
                    found = True
        if found:
            sources.read(path)  # what decided it: re-hashed by `satc check`
    return out or None


def missing_modules(sources: Sources, sat_dir: Path, scripts: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Modules of a vendored SAT that an import run at start-up names and the copy lacks.

    Read: the imports of the copy's ``sat/__init__.py`` (every ``import sat`` runs them) and
    the module-level imports of ``sat.*`` in the project's ``arguments.py`` and in the entry
    folder's ``scripts``; an import inside a
    function runs only where it is called and is left alone.  A folder is a module whether or
    not it holds ``__init__.py`` (a namespace package imports).  A repository whose
    ``.gitignore`` says ``model/`` ships its SAT without ``sat/model``
    (rubenvillarreal/scail-wan2gp-integration e3bafb2): ``from .model import AutoModel``
    (sat/__init__.py:3) fails before any config is read."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()

    def exists(dotted: str) -> bool:
        base = sat_dir.parent.joinpath(*dotted.split("."))
        if base.with_suffix(".py").is_file() or base.is_dir():
            return True
        sources.absent |= {base.with_suffix(".py"), base / "__init__.py"}
        return False

    def check(dotted: str, where: str) -> None:
        parts = dotted.split(".")
        for end in range(2, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if not exists(prefix):
                if prefix not in seen:
                    seen.add(prefix)
                    found.append((prefix, where))
                return

    init = sources.module("sat")
    # arguments.py: every script imports the project's parser
    names = ["arguments", *(name[:-3] for name in scripts if name.endswith(".py") and name != "arguments.py")]
    modules = [init, *(sources.module(name) for name in names)]
    for module in modules:
        if module is None:
            continue
        for node in module.tree.body:
            where = f"{module.label}:{node.lineno}"
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    # relative: only the package's own __init__ names sat's submodules so
                    if module is not init or node.level != 1 or not node.module:
                        continue
                    check(f"sat.{node.module}", where)
                elif node.module and node.module.startswith("sat."):
                    check(node.module, where)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("sat."):
                        check(alias.name, where)
    return tuple(found)
