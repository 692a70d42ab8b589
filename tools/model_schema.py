"""Regenerate ``schemas/models.json``: the parameters every CogVideoX / SAT ``target`` accepts.

Read from the real code by static analysis (``ast``), never imported: CogVideoX's modules
need torch and CUDA to import, and nothing here should run their module bodies.  For each
class the generator records its ``__init__`` parameters (defaults, required), follows
``**kwargs`` to the class or function that finally takes them (``DiffusionTransformer``
-> SAT ``BaseModel`` -> ``BaseTransformer``), and notes what a parent passes itself when it
builds a child config (``instantiate_from_config(pos_embed_config, height=...)``).

    python tools/model_schema.py [COGVIDEO_SAT_DIR]   (default: $SATC_COGVIDEO_SAT)

``tests/test_model_schema.py`` fails when the committed file differs from what this writes.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = ROOT / "schemas" / "models.json"
FORMAT = "satc.models/1"

# The class CogVideoX's train_video.py / sample_video.py build from `args.model_config`.
ENGINE = "diffusion_video.SATVideoDiffusionEngine"
# External packages whose source is read from the installed distribution.
EXTERNAL = ("sat", "torch")
# Bases that take no keyword arguments: following **kwargs stops there.
CLOSED_BASES = {
    "object",
    "abc.ABC",
    "torch.nn.Module",
    "torch.nn.modules.module.Module",
    "pytorch_lightning.LightningModule",
    "torch.utils.data.Dataset",
    "torch.utils.data.dataset.Dataset",
}


@dataclass
class Module:
    name: str
    label: str  # file as shown in messages: relative to the CogVideoX folder or site-packages
    tree: ast.Module

    def classes(self) -> dict[str, ast.ClassDef]:
        return {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}

    def functions(self) -> dict[str, ast.FunctionDef]:
        return {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}


@dataclass
class Sources:
    """Module name -> parsed source, from the CogVideoX folder first, then site-packages."""

    reference: Path
    cache: dict[str, Module | None] = field(default_factory=dict)

    def module(self, name: str) -> Module | None:
        if name not in self.cache:
            self.cache[name] = self._load(name)
        return self.cache[name]

    def _file(self, name: str) -> tuple[Path, Path] | None:
        parts = name.split(".")
        roots: list[Path] = [self.reference]
        if parts[0] in EXTERNAL:
            spec = importlib.util.find_spec(parts[0])  # top level only: imports nothing
            if spec is None or not spec.submodule_search_locations:
                return None
            roots = [Path(next(iter(spec.submodule_search_locations))).parent]
        for root in roots:
            base = root.joinpath(*parts)
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return root, candidate
        return None

    def _load(self, name: str) -> Module | None:
        found = self._file(name)
        if found is None:
            return None
        root, path = found
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        return Module(name, path.relative_to(root).as_posix(), tree)


@dataclass(frozen=True)
class Found:
    module: Module
    node: ast.ClassDef | ast.FunctionDef

    @property
    def dotted(self) -> str:
        return f"{self.module.name}.{self.node.name}"

    def line(self, node: ast.AST | None = None) -> str:
        return f"{self.module.label}:{(node or self.node).lineno}"  # type: ignore[attr-defined]


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    is_package = module.label.endswith("__init__.py")
    base = package if is_package else package[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, *([node.module] if node.module else [])])


def resolve_name(sources: Sources, module: Module, name: str, depth: int = 0) -> Found | str | None:
    """A (possibly dotted) name as seen from ``module``: a class or function found in source,
    the dotted name of something outside what we read, or None."""
    if depth > 12:
        return None
    head, _, rest = name.partition(".")
    if not rest:
        if head in module.classes():
            return Found(module, module.classes()[head])
        if head in module.functions():
            return Found(module, module.functions()[head])
    for stmt in module.tree.body:
        if isinstance(stmt, ast.ImportFrom):
            source = _absolute(module, stmt)
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
    return None


def resolve_dotted(sources: Sources, dotted: str, depth: int = 0) -> Found | str | None:
    """``sgm.modules.GeneralConditioner`` -> where it is defined (re-exports followed)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sources.module(".".join(parts[:cut]))
        if module is not None:
            found = resolve_name(sources, module, ".".join(parts[cut:]), depth + 1)
            return found if found is not None else dotted
    return dotted


def _init(sources: Sources, found: Found) -> tuple[Found, ast.FunctionDef] | str | None:
    """The ``__init__`` a class runs (its own or the first base's), or the external base."""
    node = found.node
    if isinstance(node, ast.FunctionDef):
        return found, node
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            return found, item
    for base in node.bases:
        base_found = resolve_name(sources, found.module, ast.unparse(base))
        if isinstance(base_found, Found):
            if base_found.dotted in CLOSED_BASES:
                return base_found.dotted
            return _init(sources, base_found)
        if isinstance(base_found, str):
            return base_found
        return ast.unparse(base)
    return "object"


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False, None
    return True, value


def _param_entry(found: Found, arg: ast.arg, default: ast.expr | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"required": default is None, "from": found.dotted, "source": found.line(arg)}
    if default is not None:
        ok, value = _literal(default)
        if ok:
            entry["default"] = value
        else:
            entry["default_expr"] = ast.unparse(default)
    return entry


@dataclass
class Signature:
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    open: str | None = None  # why anything is accepted (kwargs flow we cannot follow)
    swallows: str | None = None  # a **kwargs nobody reads: unknown keys are accepted and ignored
    flow: list[str] = field(default_factory=list)  # the classes **kwargs passes through, in order


def _positional(func: ast.FunctionDef, skip_self: bool) -> list[tuple[ast.arg, ast.expr | None]]:
    args = [*func.args.posonlyargs, *func.args.args]
    defaults: list[ast.expr | None] = [None] * (len(args) - len(func.args.defaults)) + list(
        func.args.defaults
    )
    pairs = list(zip(args, defaults, strict=True))
    return pairs[1:] if skip_self and pairs else pairs


def _kwonly(func: ast.FunctionDef) -> list[tuple[ast.arg, ast.expr | None]]:
    return list(zip(func.args.kwonlyargs, func.args.kw_defaults, strict=True))


def _star_keys(sources: Sources, module: Module, func: ast.FunctionDef, name: str) -> set[str]:
    """Keys of a ``**name`` that the function builds from a module-level literal dict."""
    for stmt in ast.walk(func):
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in stmt.targets
        ):
            value = stmt.value
            if isinstance(value, ast.DictComp) and isinstance(value.generators[0].iter, ast.Call):
                source = value.generators[0].iter.func
                if isinstance(source, ast.Attribute) and source.attr == "items":
                    table = _module_dict(sources, module, ast.unparse(source.value))
                    return set(table) if table else set()
    return set()


def _module_dict(sources: Sources, module: Module, name: str) -> dict[str, Any] | None:
    for stmt in module.tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in stmt.targets
        ):
            ok, value = _literal(stmt.value)
            return value if ok and isinstance(value, dict) else None
    for stmt in module.tree.body:
        if isinstance(stmt, ast.ImportFrom) and any((a.asname or a.name) == name for a in stmt.names):
            other = sources.module(_absolute(module, stmt))
            if other is not None:
                return _module_dict(sources, other, name)
    return None


def _callee(sources: Sources, found: Found, call: ast.Call) -> tuple[Found, ast.FunctionDef] | str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "__init__":
        inner = func.value
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "super":
            owner = found.node
            if isinstance(owner, ast.ClassDef):
                for base in owner.bases:
                    base_found = resolve_name(sources, found.module, ast.unparse(base))
                    if isinstance(base_found, Found):
                        if base_found.dotted in CLOSED_BASES:
                            return base_found.dotted
                        return _init(sources, base_found)
                    return base_found
                return "object"
            return None
        target = resolve_name(sources, found.module, ast.unparse(inner))
        return _init(sources, target) if isinstance(target, Found) else target
    if isinstance(func, ast.Name) and func.id == "cls" and isinstance(found.node, ast.ClassDef):
        return _init(sources, found)
    target = resolve_name(sources, found.module, ast.unparse(func))
    return _init(sources, target) if isinstance(target, Found) else target


def signature(sources: Sources, found: Found, func: ast.FunctionDef, skip: int, depth: int = 0) -> Signature:
    """What a caller may pass as keywords: named parameters after the first ``skip``, plus
    whatever ``**kwargs`` reaches."""
    result = Signature(flow=[found.dotted])
    owner_is_class = isinstance(found.node, ast.ClassDef)
    positional = _positional(func, skip_self=owner_is_class)
    for arg, default in [*positional[skip:], *_kwonly(func)]:
        result.params[arg.arg] = _param_entry(found, arg, default)
    kwargs = func.args.kwarg.arg if func.args.kwarg else None
    if kwargs is None or depth > 8:
        return result
    forwarded = False
    set_here: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == kwargs:
            ok, key = _literal(node.slice)
            if ok and isinstance(key, str) and isinstance(node.ctx, ast.Store):
                set_here.add(key)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == kwargs
            and node.func.attr in ("pop", "get")
            and node.args
        ):
            ok, key = _literal(node.args[0])
            if ok and isinstance(key, str):
                result.params.setdefault(
                    key,
                    {
                        "required": False,
                        "from": found.dotted,
                        "source": found.line(node),
                        "read_from_kwargs": True,
                    },
                )
        if isinstance(node, ast.Call) and any(
            k.arg is None and isinstance(k.value, ast.Name) and k.value.id == kwargs for k in node.keywords
        ):
            forwarded = True
            callee = _callee(sources, found, node)
            explicit = {k.arg for k in node.keywords if k.arg}
            for k in node.keywords:
                if k.arg is None and isinstance(k.value, ast.Name) and k.value.id != kwargs:
                    explicit |= _star_keys(sources, found.module, func, k.value.id)
            if isinstance(callee, tuple):
                # `super().__init__(*args, **kwargs)`: a forwarded `*args` fills no parameter (a
                # config passes keywords only), so only plain positional arguments are taken.
                taken = sum(1 for a in node.args if not isinstance(a, ast.Starred))
                inner = signature(sources, callee[0], callee[1], taken, depth + 1)
                for name, entry in inner.params.items():
                    if name not in explicit and name not in set_here:
                        result.params.setdefault(name, entry)
                result.open = result.open or inner.open
                result.swallows = result.swallows or inner.swallows
                result.flow += [step for step in inner.flow if step not in result.flow]
            elif isinstance(callee, str) and callee in CLOSED_BASES:
                continue
            else:
                result.open = f"**{kwargs} reaches {ast.unparse(node.func)} ({found.line(node)})"
    if not forwarded and result.open is None:
        if _kwargs_escape(func, kwargs):
            result.open = f"**{kwargs} is kept by {found.dotted} ({found.line(func)})"
        else:
            result.swallows = f"**{kwargs} of {found.dotted} ({found.line(func)}) takes and drops it"
    for name in set_here:
        result.params.pop(name, None)
    return result


def _kwargs_escape(func: ast.FunctionDef, kwargs: str) -> bool:
    """``**kwargs`` used other than read by constant key: it may take anything."""
    return any(isinstance(node, ast.Name) and node.id == kwargs for node in ast.walk(func))


def _config_key(func: ast.FunctionDef, name: str) -> str | None:
    """The config key a local variable was read from: ``x = configs["pos_embed_config"]``."""
    for stmt in ast.walk(func):
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in stmt.targets
        ):
            value = stmt.value
            if isinstance(value, ast.Subscript):
                ok, key = _literal(value.slice)
                return key if ok and isinstance(key, str) else None
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.args
                and value.func.attr == "get"
            ):
                ok, key = _literal(value.args[0])
                return key if ok and isinstance(key, str) else None
    return None


def children(found: Found) -> dict[str, dict[str, Any]]:
    """Child configs a class instantiates itself, and the keywords it passes them."""
    out: dict[str, dict[str, Any]] = {}
    if not isinstance(found.node, ast.ClassDef):
        return out
    for method in found.node.body:
        if not isinstance(method, ast.FunctionDef):
            continue
        for node in ast.walk(method):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "instantiate_from_config"):
                continue
            if not node.args:
                continue
            first = node.args[0]
            key: str | None = None
            if isinstance(first, ast.Name):
                key = _config_key(method, first.id)
            elif isinstance(first, ast.Subscript):
                ok, literal = _literal(first.slice)
                key = literal if ok and isinstance(literal, str) else None
            names = sorted(k.arg for k in node.keywords if k.arg)
            if key and names:
                out[key] = {"passes": names, "source": found.line(node)}
    return out


def _attribute_reads(func: ast.FunctionDef, name: str) -> tuple[set[str], set[str]]:
    reads: set[str] = set()
    stores: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == name:
            (stores if isinstance(node.ctx, ast.Store) else reads).add(node.attr)
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in ("getattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == name
        ):
            ok, key = _literal(node.args[1])
            if ok and isinstance(key, str):
                reads.add(key)
    return reads, stores


def namespaces(sources: Sources, found: Found, func: ast.FunctionDef) -> dict[str, dict[str, Any]]:
    """Parameters used as an attribute namespace (``transformer_args.is_decoder``) and
    handed on as another class's ``args``: the attributes read along the way."""
    out: dict[str, dict[str, Any]] = {}
    for arg, _ in _positional(func, skip_self=True):
        reads, stores = _attribute_reads(func, arg.arg)
        if not reads and not stores:
            continue
        for node in ast.walk(func):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg and isinstance(keyword.value, ast.Name) and keyword.value.id == arg.arg:
                    callee = _callee(sources, found, node)
                    if isinstance(callee, tuple):
                        inner_reads = _namespace_reads(sources, callee[0], callee[1], keyword.arg)
                        reads |= inner_reads
        out[arg.arg] = {"reads": sorted(reads | stores), "set_by_class": sorted(stores)}
    return out


def _namespace_reads(sources: Sources, found: Found, func: ast.FunctionDef, name: str) -> set[str]:
    reads, _ = _attribute_reads(func, name)
    for node in ast.walk(func):
        # SAT's BaseModel: {k: getattr(args, v[0]) ... for k, v in ARGS_DEFAULT.items()}
        if isinstance(node, ast.DictComp) and isinstance(node.generators[0].iter, ast.Call):
            source = node.generators[0].iter.func
            if (
                isinstance(source, ast.Attribute)
                and source.attr == "items"
                and name in ast.unparse(node.value)
            ):
                table = _module_dict(sources, found.module, ast.unparse(source.value))
                for value in (table or {}).values():
                    if isinstance(value, list | tuple) and value and isinstance(value[0], str):
                        reads.add(value[0])
    return reads


def item_keys(func: ast.FunctionDef) -> dict[str, list[str]]:
    """List parameters whose items are mappings read by key (``embconfig.get("ucg_rate")``)."""
    out: dict[str, list[str]] = {}
    for loop in ast.walk(func):
        if not isinstance(loop, ast.For):
            continue
        iterated = loop.iter
        target = loop.target
        if isinstance(iterated, ast.Call) and ast.unparse(iterated.func) == "enumerate" and iterated.args:
            iterated = iterated.args[0]
            target = target.elts[1] if isinstance(target, ast.Tuple) and len(target.elts) == 2 else target
        if not (isinstance(iterated, ast.Name) and isinstance(target, ast.Name)):
            continue
        keys: set[str] = set()
        for node in ast.walk(loop):
            key_node: ast.expr | None = None
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == target.id
            ):
                key_node = node.slice
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == target.id
                and node.func.attr == "get"
                and node.args
            ):
                key_node = node.args[0]
            elif (
                isinstance(node, ast.Compare)
                and isinstance(node.ops[0], ast.In)
                and isinstance(node.comparators[0], ast.Name)
                and node.comparators[0].id == target.id
            ):
                key_node = node.left
            if key_node is not None:
                ok, key = _literal(key_node)
                if ok and isinstance(key, str):
                    keys.add(key)
        if keys:
            out[iterated.id] = sorted(keys | {"target", "params"})
    return out


def _entry(sources: Sources, found: Found) -> tuple[Found, ast.FunctionDef, int] | str | None:
    """The function a target's params go to, and how many positional arguments the caller
    fills first: a data target's `create_dataset_function(path, args, **params)`
    (train_video.py), else the class's `__init__`."""
    node = found.node
    if isinstance(node, ast.ClassDef):
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "create_dataset_function":
                return found, item, 2
    init = _init(sources, found)
    return (*init, 0) if isinstance(init, tuple) else init


def describe(sources: Sources, found: Found) -> dict[str, Any] | None:
    entry = _entry(sources, found)
    if not isinstance(entry, tuple):
        return {"source": found.line(), "params": {}} if entry in CLOSED_BASES else None
    owner, func, skip = entry
    sig = signature(sources, owner, func, skip)
    out: dict[str, Any] = {"source": found.line(), "params": dict(sorted(sig.params.items()))}
    if sig.open:
        out["open"] = sig.open
    if sig.swallows:
        out["swallows"] = sig.swallows
    flow = sig.flow if sig.flow[:1] == [found.dotted] else [found.dotted, *sig.flow]
    if len(flow) > 1:
        out["flow"] = flow
    kids = children(found)
    if kids:
        out["children"] = dict(sorted(kids.items()))
    spaces = namespaces(sources, owner, func) if owner.node is found.node else {}
    spaces = {k: v for k, v in spaces.items() if k in out["params"] and v["reads"]}
    if spaces:
        out["namespaces"] = spaces
    items = {k: v for k, v in item_keys(func).items() if k in out["params"]}
    if items:
        out["item_keys"] = items
    return out


def engine(sources: Sources) -> dict[str, Any]:
    """The keys SATVideoDiffusionEngine reads from `model:` (``model_config.get(...)``)."""
    found = resolve_dotted(sources, ENGINE)
    assert isinstance(found, Found), ENGINE
    init = _init(sources, found)
    assert isinstance(init, tuple)
    func = init[1]
    config_vars = {
        t.id
        for stmt in ast.walk(func)
        if isinstance(stmt, ast.Assign) and ast.unparse(stmt.value) == "args.model_config"
        for t in stmt.targets
        if isinstance(t, ast.Name)
    }
    keys: dict[str, dict[str, Any]] = {}
    local_key: dict[str, str] = {}
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in config_vars
            and node.args
        ):
            ok, key = _literal(node.args[0])
            if not (ok and isinstance(key, str)):
                continue
            entry: dict[str, Any] = {"source": found.line(node)}
            if len(node.args) > 1:
                ok, value = _literal(node.args[1])
                entry["default"] = value if ok else ast.unparse(node.args[1])
            keys.setdefault(key, entry)
    for stmt in ast.walk(func):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            value = stmt.value
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.args
                and isinstance(value.func.value, ast.Name)
                and value.func.value.id in config_vars
            ):
                ok, key = _literal(value.args[0])
                if ok and isinstance(key, str):
                    local_key[stmt.targets[0].id] = key
    injects: dict[str, dict[str, Any]] = {}
    for stmt in ast.walk(func):
        # network_config["params"]["dtype"] = dtype_str
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Subscript):
            outer = stmt.targets[0]
            inner = outer.value
            if isinstance(inner, ast.Subscript) and isinstance(inner.value, ast.Name):
                ok_p, params = _literal(inner.slice)
                ok_k, key = _literal(outer.slice)
                section = local_key.get(inner.value.id)
                if section and ok_p and params == "params" and ok_k and isinstance(key, str):
                    injects.setdefault(
                        section, {"passes": [], "overwrites": True, "source": found.line(stmt)}
                    )["passes"].append(key)
    return {
        "target": ENGINE,
        "source": found.line(),
        "keys": dict(sorted(keys.items())),
        "children": dict(sorted(injects.items())),
    }


def _targets_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        target = node.get("target")
        if isinstance(target, str):
            found.add(target)
        for value in node.values():
            found |= _targets_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= _targets_in(item)
    return found


def official_targets(reference: Path) -> set[str]:
    import yaml

    targets: set[str] = set()
    for path in sorted((reference / "configs").glob("*.yaml")):
        targets |= _targets_in(yaml.safe_load(path.read_text(encoding="utf-8")))
    return targets


def _positions(node: Any, key: str, found: dict[str, set[str]]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("target"), str):
            found.setdefault(node["target"], set()).add(key)
        for sub_key, value in node.items():
            _positions(value, sub_key if sub_key != "params" else key, found)
    elif isinstance(node, list):
        for item in node:
            _positions(item, key, found)


def official_positions(reference: Path) -> dict[str, list[str]]:
    """Under which config key each official target appears (`pos_embed_config`), so the
    editor schema knows which parent passes it what."""
    import yaml

    found: dict[str, set[str]] = {}
    for path in sorted((reference / "configs").glob("*.yaml")):
        _positions(yaml.safe_load(path.read_text(encoding="utf-8")), "", found)
    return {target: sorted(keys) for target, keys in sorted(found.items())}


def build(reference: Path) -> dict[str, Any]:
    sources = Sources(reference)
    named = official_targets(reference)
    wanted: set[str] = set(named)
    # Every class of the CogVideoX modules the official configs name: users switch a
    # sampler or a position embedding to a sibling class.
    for dotted in named:
        module_name = dotted.rsplit(".", 1)[0]
        if module_name.split(".")[0] in EXTERNAL:
            continue
        module = sources.module(module_name)
        if module is not None:
            wanted |= {f"{module_name}.{name}" for name in module.classes() if not name.startswith("_")}
    targets: dict[str, Any] = {}
    missing: list[str] = []
    for dotted in sorted(wanted):
        found = resolve_dotted(sources, dotted)
        if not isinstance(found, Found) or not isinstance(found.node, ast.ClassDef):
            if dotted in named:
                missing.append(dotted)
            continue
        described = describe(sources, found)
        if described is not None:
            targets[dotted] = described
        elif dotted in named:
            missing.append(dotted)
    if missing:
        raise SystemExit(f"cannot read the parameters of: {', '.join(missing)}")
    return {
        "format": FORMAT,
        "generated_by": "tools/model_schema.py",
        "official_targets": sorted(named),
        "official_positions": official_positions(reference),
        "engine": engine(sources),
        "targets": targets,
    }


def text(reference: Path) -> str:
    return json.dumps(build(reference), indent=1, sort_keys=True, allow_nan=False) + "\n"


def main(argv: list[str]) -> None:
    given = argv[0] if argv else os.environ.get("SATC_COGVIDEO_SAT", "")
    if not given:
        raise SystemExit("usage: model_schema.py COGVIDEO_SAT_DIR (or set SATC_COGVIDEO_SAT)")
    reference = Path(given).resolve()
    if not (reference / "dit_video_concat.py").is_file():
        raise SystemExit(f"{reference}: not CogVideoX's sat/ folder (no dit_video_concat.py)")
    OUT_PATH.write_text(text(reference), encoding="utf-8")
    print(f"wrote {OUT_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
