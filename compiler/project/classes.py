"""Every class a ``target:`` names, described from source: the keywords it accepts.

A target is built by ``instantiate_from_config`` as ``target(**params)``: the class's
``__init__`` parameters (defaults, required), followed through ``**kwargs`` to the class or
function that finally takes them (``DiffusionTransformer`` -> SAT ``BaseModel`` ->
``BaseTransformer``), what a parent passes a child config itself
(``instantiate_from_config(pos_embed_config, height=...)``), and the parameters the
receiving function indexes (``patch_size[1:]``: an integer there is a TypeError).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from .sources import (
    INSTALLED,
    Found,
    Module,
    Sources,
    absolute,
    dotted_name,
    literal,
    resolve_dotted,
    resolve_name,
    walk,
)

# Keys of a snapshot entry that only the reader uses (what a caller's positional
# arguments fill, the attributes read from a namespace parameter).
SNAPSHOT_ONLY = ("positional", "namespace_reads")
CLOSED_BASES = frozenset(
    {
        "object",
        "abc.ABC",
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        "pytorch_lightning.LightningModule",
        "torch.utils.data.Dataset",
        "torch.utils.data.dataset.Dataset",
    }
)


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


def _param_entry(found: Found, arg: ast.arg, default: ast.expr | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"required": default is None, "from": found.dotted, "source": found.line(arg)}
    if default is not None:
        ok, value = literal(default)
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
    # param -> {"indexed": "file:line", "numeric": "file:line", "items_numeric": {key: "file:line"}}
    uses: dict[str, dict[str, Any]] = field(default_factory=dict)


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
    for stmt in walk(func):
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
            ok, value = literal(stmt.value)
            return value if ok and isinstance(value, dict) else None
    for stmt in module.tree.body:
        if isinstance(stmt, ast.ImportFrom) and any((a.asname or a.name) == name for a in stmt.names):
            other = sources.module(absolute(module, stmt))
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
        return _init(sources, found.bound or found)
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
    result.uses = {k: dict(v) for k, v in indexed(found, func, set(result.params)).items()}
    for name, where in numeric(found, func, set(result.params)).items():
        result.uses.setdefault(name, {})["numeric"] = where
    for name, divisor in divided(found, func, set(result.params)).items():
        result.uses.setdefault(name, {})["divided_by"] = divisor
    kwargs = func.args.kwarg.arg if func.args.kwarg else None
    if depth <= 8:
        for name, keys in spread_numeric(sources, found, func, kwargs, depth).items():
            result.uses.setdefault(name, {})["items_numeric"] = keys
    if kwargs is None or depth > 8:
        return result
    forwarded = False
    set_here: set[str] = set()
    for node in walk(func):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == kwargs:
            ok, key = literal(node.slice)
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
            ok, key = literal(node.args[0])
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
                    if name not in explicit and name not in set_here and name not in result.params:
                        result.params[name] = entry
                        if name in inner.uses:
                            result.uses[name] = inner.uses[name]
                result.open = result.open or inner.open
                result.swallows = result.swallows or inner.swallows
                result.flow += [step for step in inner.flow if step not in result.flow]
            elif isinstance(callee, str) and callee in CLOSED_BASES:
                continue
            elif isinstance(callee, str) and callee in sources.snapshot_targets:
                # SAT's classes on a machine without SAT's source: the bundled snapshot
                known = sources.snapshot_targets[callee]
                filled = set(
                    known.get("positional", [])[: sum(1 for a in node.args if not isinstance(a, ast.Starred))]
                )
                for name, entry in known.get("params", {}).items():
                    if name not in explicit and name not in set_here and name not in filled:
                        result.params.setdefault(name, dict(entry))
                for name, use in known.get("uses", {}).items():
                    result.uses.setdefault(name, use)
                result.open = result.open or known.get("open")
                result.swallows = result.swallows or known.get("swallows")
                result.flow += [s for s in known.get("flow", [callee]) if s not in result.flow]
            else:
                result.open = f"**{kwargs} reaches {ast.unparse(node.func)} ({found.line(node)})"
    if not forwarded and result.open is None:
        if _kwargs_escape(func, kwargs):
            result.open = f"**{kwargs} is kept by {found.dotted} ({found.line(func)})"
        else:
            result.swallows = f"**{kwargs} of {found.dotted} ({found.line(func)}) takes and drops it"
    for name in set_here:
        result.params.pop(name, None)
        result.uses.pop(name, None)
    return result


def indexed(found: Found, func: ast.FunctionDef, params: set[str]) -> dict[str, dict[str, str]]:
    """Parameters the function subscripts as given (``patch_size[1:]``): a scalar there is
    a TypeError at build time.  A parameter the function rebinds first (``patch_size =
    (patch_size,) * 2``) may take either, so it is left out."""
    rebound = {
        n.id
        for n in walk(func)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in params
    }
    out: dict[str, tuple[int, str]] = {}
    for node in walk(func):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
            and node.value.id in params
            and node.value.id not in rebound
        ):
            previous = out.get(node.value.id)
            if previous is None or node.lineno < previous[0]:
                out[node.value.id] = (node.lineno, found.line(node))
    return {name: {"indexed": where} for name, (_, where) in sorted(out.items())}


# torch.nn modules whose first two positional arguments are sizes (Conv2d(in, out, ...),
# Linear(in, out), GroupNorm(groups, channels)): text there is a TypeError at build time.
_NOT_SIZED = {"Sequential", "ModuleList", "ModuleDict", "Parameter", "ParameterList", "ParameterDict"}


def _sized_call(call: ast.Call) -> bool:
    name = dotted_name(call.func) or ""
    head, _, last = name.rpartition(".")
    return (
        (head == "nn" or head.startswith("torch.nn") or head.endswith(".nn"))
        and last[:1].isupper()
        and last not in _NOT_SIZED
    )


def numeric(found: Found, func: ast.FunctionDef, params: set[str]) -> dict[str, str]:
    """Parameters the function uses as numbers as given: a size argument of a torch.nn
    module (``torch.nn.Conv2d(in_channels, ...)``) or an operand of ``-``, ``/``, ``//``,
    ``**``, where text raises TypeError at build time.  Rebound parameters are left out."""
    rebound = {n.id for n in walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    # A value the code checks for its type or compares with text (``isinstance(num_classes,
    # int)``, ``self.num_classes == "continuous"``) may be text by design.
    rebound |= _typed_by_code(func)
    out: dict[str, tuple[int, str]] = {}

    def note(node: ast.expr, at: ast.AST) -> None:
        if isinstance(node, ast.Name) and node.id in params and node.id not in rebound:
            line = getattr(at, "lineno", 0)
            previous = out.get(node.id)
            if previous is None or line < previous[0]:
                out[node.id] = (line, found.line(at))

    for node in walk(func):
        if isinstance(node, ast.Call) and _sized_call(node):
            for arg in node.args[:2]:
                note(arg, node)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub | ast.Div | ast.FloorDiv | ast.Pow):
            note(node.left, node)
            note(node.right, node)
    return {name: where for name, (_, where) in sorted(out.items())}


def divided(found: Found, func: ast.FunctionDef, params: set[str]) -> dict[str, dict[str, Any]]:
    """Parameters the code splits into equal parts of a literal size (``text_length // 226``:
    several 226-token prompts, LV-Robotics-Lab/LayerFlow 0a8a65c, sat/dit_video_concat.py:201):
    {param: {"by": 226, "at": "file:line"}}, the first such use."""
    out: dict[str, dict[str, Any]] = {}
    for node in walk(func):
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.FloorDiv | ast.Mod)
            and isinstance(node.left, ast.Name)
            and node.left.id in params
            and isinstance(node.right, ast.Constant)
            and type(node.right.value) is int
            and node.right.value > 1
            and node.left.id not in out
        ):
            out[node.left.id] = {"by": node.right.value, "at": found.line(node)}
    return out


def _typed_by_code(func: ast.FunctionDef) -> set[str]:
    def name_of(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        return node.attr if isinstance(node, ast.Attribute) else None

    out: set[str] = set()
    for node in walk(func):
        if isinstance(node, ast.Call) and dotted_name(node.func) == "isinstance" and node.args:
            out.add(name_of(node.args[0]) or "")
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and isinstance(o.value, str) for o in operands):
                out |= {name_of(o) or "" for o in operands}
    return out - {""}


def spread_numeric(
    sources: Sources, found: Found, func: ast.FunctionDef, kwargs: str | None, depth: int
) -> dict[str, dict[str, str]]:
    """Mapping parameters spread into another class (``Encoder(**ddconfig)``, ``ddconfig``
    a parameter or ``kwargs.pop("ddconfig")``): the keys that class uses as numbers."""
    names: dict[str, str] = {a.arg: a.arg for a, _ in [*_positional(func, skip_self=True), *_kwonly(func)]}
    for node in walk(func):
        if (
            kwargs
            and isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id == kwargs
            and node.value.func.attr in ("pop", "get")
            and node.value.args
        ):
            ok, key = literal(node.value.args[0])
            if ok and isinstance(key, str):
                names[node.targets[0].id] = key
    out: dict[str, dict[str, str]] = {}
    for node in walk(func):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg is not None or not isinstance(value, ast.Name) or value.id not in names:
                continue
            if value.id == kwargs:
                continue
            callee = _callee(sources, found, node)
            if not isinstance(callee, tuple):
                continue
            inner = signature(sources, callee[0], callee[1], len(node.args), depth + 1)
            keys = {k: v["numeric"] for k, v in inner.uses.items() if "numeric" in v}
            if keys:
                out.setdefault(names[value.id], {}).update(keys)
    return out


def _kwargs_escape(func: ast.FunctionDef, kwargs: str) -> bool:
    """``**kwargs`` used other than read by constant key: it may take anything."""
    return any(isinstance(node, ast.Name) and node.id == kwargs for node in walk(func))


def _key_of(value: ast.expr) -> str | None:
    """The config key an expression reads: ``configs["k"]`` or ``configs.get("k", ...)``."""
    if isinstance(value, ast.Subscript):
        ok, key = literal(value.slice)
        return key if ok and isinstance(key, str) else None
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.args
        and value.func.attr == "get"
    ):
        ok, key = literal(value.args[0])
        return key if ok and isinstance(key, str) else None
    return None


def _config_key(func: ast.FunctionDef, name: str) -> str | None:
    """The config key a local variable was read from: ``x = configs["pos_embed_config"]``."""
    for stmt in walk(func):
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in stmt.targets
        ):
            return _key_of(stmt.value)
    return None


def _attribute_keys(node: ast.ClassDef) -> dict[str, str]:
    """Attributes a class keeps a child config in: ``self.pos_embed_config =
    module_configs["pos_embed_config"]`` (built later by another method)."""
    out: dict[str, str] = {}
    for method in node.body:
        if not isinstance(method, ast.FunctionDef):
            continue
        for stmt in walk(method):
            if not isinstance(stmt, ast.Assign):
                continue
            for target in stmt.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    key = _key_of(stmt.value)
                    if key is None and isinstance(stmt.value, ast.Name):
                        key = _config_key(method, stmt.value.id)
                    if key:
                        out.setdefault(target.attr, key)
    return out


_LINES: dict[int, tuple[str, list[str] | None]] = {}


def _lines(module: Module) -> list[str] | None:
    """The module's source lines as ``ast`` numbers them, split once per text; None where
    a lone carriage return (a line break to ``ast``) would make the count differ."""
    hit = _LINES.get(id(module))
    if hit is None or hit[0] is not module.text:
        if len(_LINES) > 512:
            _LINES.clear()
        text = module.text.replace("\r\n", "\n")
        hit = _LINES[id(module)] = (module.text, None if "\r" in text else text.split("\n"))
    return hit[1]


def _own_params(func: ast.FunctionDef) -> set[str]:
    return {a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)}


def children(sources: Sources, found: Found, depth: int = 0) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Child configs a class (or a base it inherits from) instantiates itself, the keywords
    it passes them, and where it builds one with keywords from a config satc cannot name."""
    out: dict[str, dict[str, Any]] = {}
    untraced: list[str] = []
    node = found.node
    if not isinstance(node, ast.ClassDef) or depth > 8:
        return out, untraced
    if "instantiate_from_config" in found.module.text:
        attributes: dict[str, str] | None = None  # built when a call needs it
        lines = _lines(found.module)
        for method in node.body:
            if not isinstance(method, ast.FunctionDef):
                continue
            # Only a method whose text names it can call it: the others (a model's
            # forward, ...) are not walked at all.
            if lines is not None and not any(
                "instantiate_from_config" in line
                for line in lines[method.lineno - 1 : method.end_lineno or len(lines)]
            ):
                continue
            for call in walk(method):
                if not (
                    isinstance(call, ast.Call)
                    and dotted_name(call.func) == "instantiate_from_config"
                    and call.args
                ):
                    continue
                names = sorted(k.arg for k in call.keywords if k.arg)
                if not names:
                    continue
                key: str | None = None
                first = call.args[0]
                if isinstance(first, ast.Name):
                    key = _config_key(method, first.id)
                    if key is None and method.name == "__init__" and first.id in _own_params(method):
                        key = first.id  # a parameter of __init__ is the params key of that name
                elif isinstance(first, ast.Subscript):
                    key = _key_of(first)
                elif (
                    isinstance(first, ast.Attribute)
                    and isinstance(first.value, ast.Name)
                    and first.value.id == "self"
                ):
                    if attributes is None:
                        attributes = _attribute_keys(node)
                    key = attributes.get(first.attr)
                if key:
                    out.setdefault(key, {"passes": names, "source": found.line(call)})
                else:
                    untraced.append(found.line(call))
    # A subclass runs what its bases do to the child configs it does not build itself.
    for base in node.bases:
        base_found = resolve_name(sources, found.module, ast.unparse(base))
        if isinstance(base_found, Found) and base_found.dotted not in CLOSED_BASES:
            inherited, unknown = children(sources, base_found, depth + 1)
            for key, entry in inherited.items():
                out.setdefault(key, entry)
            untraced += [where for where in unknown if where not in untraced]
    return out, untraced


def _attribute_reads(func: ast.FunctionDef, name: str) -> tuple[set[str], set[str]]:
    reads: set[str] = set()
    stores: set[str] = set()
    for node in walk(func):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == name:
            (stores if isinstance(node.ctx, ast.Store) else reads).add(node.attr)
        if (
            isinstance(node, ast.Call)
            and dotted_name(node.func) in ("getattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == name
        ):
            ok, key = literal(node.args[1])
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
        opened: str | None = None
        for node in walk(func):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg and isinstance(keyword.value, ast.Name) and keyword.value.id == arg.arg:
                    callee = _callee(sources, found, node)
                    if isinstance(callee, tuple):
                        inner_reads, unresolved = _namespace_reads(sources, callee[0], callee[1], keyword.arg)
                        reads |= inner_reads
                        opened = opened or unresolved
                    elif isinstance(callee, str) and callee in sources.snapshot_targets:
                        known = sources.snapshot_targets[callee].get("namespace_reads", {})
                        reads |= set(known.get(keyword.arg, []))
                    elif isinstance(callee, str) and callee not in sources.opaque:
                        # A class satc cannot read (a vendored SAT without sat/model,
                        # rubenvillarreal/scail-wan2gp-integration e3bafb2): it may read
                        # any key of the namespace, so none is "never read".
                        opened = opened or f"{callee} ({found.line(node)}), whose source is not here"
        out[arg.arg] = {"reads": sorted(reads | stores), "set_by_class": sorted(stores)}
        if opened:
            out[arg.arg]["open"] = opened
    return out


def _namespace_reads(
    sources: Sources, found: Found, func: ast.FunctionDef, name: str
) -> tuple[set[str], str | None]:
    """The attributes ``func`` reads of its parameter ``name``, and where it reads names
    satc cannot list (a table it cannot find: any key may be read)."""
    reads, _ = _attribute_reads(func, name)
    unresolved: str | None = None
    for node in walk(func):
        # SAT's BaseModel: {k: getattr(args, v[0]) ... for k, v in ARGS_DEFAULT.items()}
        if isinstance(node, ast.DictComp) and isinstance(node.generators[0].iter, ast.Call):
            source = node.generators[0].iter.func
            if (
                isinstance(source, ast.Attribute)
                and source.attr == "items"
                and name in ast.unparse(node.value)
            ):
                table = _module_dict(sources, found.module, ast.unparse(source.value))
                if table is None:
                    # The table's module is not in the SAT read (a vendored copy that lacks
                    # it): the names read through it are unknown, not absent.
                    unresolved = f"{ast.unparse(source.value)} ({found.line(node)})"
                for value in (table or {}).values():
                    if isinstance(value, list | tuple) and value and isinstance(value[0], str):
                        reads.add(value[0])
    return reads, unresolved


def item_keys(func: ast.FunctionDef) -> dict[str, list[str]]:
    """List parameters whose items are mappings read by key (``embconfig.get("ucg_rate")``)."""
    out: dict[str, list[str]] = {}
    for loop in walk(func):
        if not isinstance(loop, ast.For):
            continue
        iterated = loop.iter
        target = loop.target
        if isinstance(iterated, ast.Call) and dotted_name(iterated.func) == "enumerate" and iterated.args:
            iterated = iterated.args[0]
            target = target.elts[1] if isinstance(target, ast.Tuple) and len(target.elts) == 2 else target
        if not (isinstance(iterated, ast.Name) and isinstance(target, ast.Name)):
            continue
        keys: set[str] = set()
        for node in walk(loop):
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
                ok, key = literal(key_node)
                if ok and isinstance(key, str):
                    keys.add(key)
        if keys:
            out[iterated.id] = sorted(keys | {"target", "params"})
    return out


def _dataset_maker(sources: Sources, found: Found, depth: int = 0) -> tuple[Found, ast.FunctionDef] | None:
    """The ``create_dataset_function`` a data class has, its own or one it inherits
    (a dataset family's shared base defines it once and ``cls(...)`` builds the subclass)."""
    node = found.node
    if not isinstance(node, ast.ClassDef) or depth > 8:
        return None
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "create_dataset_function":
            return found, item
    for base in node.bases:
        base_found = resolve_name(sources, found.module, ast.unparse(base))
        if isinstance(base_found, Found) and base_found.dotted not in CLOSED_BASES:
            inherited = _dataset_maker(sources, base_found, depth + 1)
            if inherited is not None:
                return inherited
    return None


def _entry(sources: Sources, found: Found) -> tuple[Found, ast.FunctionDef, int] | str | None:
    """The function a target's params go to, and how many positional arguments the caller
    fills first: a data target's `create_dataset_function(path, args, **params)`
    (train_video.py), else the class's `__init__`."""
    maker = _dataset_maker(sources, found)
    if maker is not None:
        owner, item = maker
        return (owner if owner is found else Found(owner.module, owner.node, bound=found)), item, 2
    init = _init(sources, found)
    return (*init, 0) if isinstance(init, tuple) else init


def describe(sources: Sources, found: Found) -> dict[str, Any] | None:
    entry = _entry(sources, found)
    if not isinstance(entry, tuple):
        if entry in CLOSED_BASES:
            return {"source": found.line(), "params": {}}
        if isinstance(entry, str) and entry in sources.snapshot_targets:
            known = sources.snapshot_targets[entry]
            taken = {k: v for k, v in known.items() if k not in (*SNAPSHOT_ONLY, "source")}
            taken["source"] = found.line()
            taken["flow"] = [found.dotted, *known.get("flow", [entry])]
            return taken
        return None
    owner, func, skip = entry
    sig = signature(sources, owner, func, skip)
    out: dict[str, Any] = {"source": found.line(), "params": dict(sorted(sig.params.items()))}
    if sig.open:
        out["open"] = sig.open
    if sig.swallows:
        out["swallows"] = sig.swallows
    uses = {k: v for k, v in sig.uses.items() if k in out["params"]}
    if uses:
        out["uses"] = uses
    flow = sig.flow if sig.flow[:1] == [found.dotted] else [found.dotted, *sig.flow]
    if len(flow) > 1:
        out["flow"] = flow
    kids, untraced = children(sources, found)
    if kids:
        out["children"] = dict(sorted(kids.items()))
    if untraced:
        out["untraced"] = untraced
    spaces = namespaces(sources, owner, func)
    spaces = {k: v for k, v in spaces.items() if k in out["params"] and v["reads"]}
    if spaces:
        out["namespaces"] = spaces
    items = {k: v for k, v in item_keys(func).items() if k in out["params"]}
    if items:
        out["item_keys"] = items
    return out


def _engine_bodies(
    owner: Found, func: ast.FunctionDef, args_vars: set[str], config_vars: set[str], depth: int = 0
) -> list[tuple[ast.FunctionDef, set[str], set[str]]]:
    """``func`` with the names that hold the namespace (``args``) and ``args.model_config``
    there, then the methods of the same class it hands either to (``self._init_configs(
    args.model_config)``, ``self._init_model_components(args)``: Texaser/CogVideo@21a08dc
    sat/diffusion_video.py:30-31 reads every `model:` key there), followed two calls deep."""
    config_vars = config_vars | {
        t.id
        for stmt in walk(func)
        if isinstance(stmt, ast.Assign)
        and dotted_name(stmt.value) in {f"{a}.model_config" for a in args_vars}
        for t in stmt.targets
        if isinstance(t, ast.Name)
    }
    found = [(func, args_vars, config_vars)]
    if depth >= 2 or not isinstance(owner.node, ast.ClassDef):
        return found
    methods = {item.name: item for item in owner.node.body if isinstance(item, ast.FunctionDef)}
    for call in walk(func):
        if not isinstance(call, ast.Call):
            continue
        callee = dotted_name(call.func)
        if not (callee and callee.startswith("self.")):
            continue
        method = methods.get(callee[len("self.") :])
        if method is None or method is func:
            continue
        params = [a.arg for a in method.args.args[1:]]
        passed_args: set[str] = set()
        passed_config: set[str] = set()
        for param, value in zip(params, call.args, strict=False):
            name = dotted_name(value)
            if name in args_vars:
                passed_args.add(param)
            elif name in config_vars or name in {f"{a}.model_config" for a in args_vars}:
                passed_config.add(param)
        if passed_args or passed_config:
            found += _engine_bodies(owner, method, passed_args, passed_config, depth + 1)
    return found


def _config_receiver(node: ast.expr, args_vars: set[str], config_vars: set[str]) -> bool:
    """``model_config`` (a name bound to it) or ``args.model_config`` itself."""
    if isinstance(node, ast.Name):
        return node.id in config_vars
    return isinstance(node, ast.Attribute) and dotted_name(node) in {f"{a}.model_config" for a in args_vars}


def engine(sources: Sources, found: Found) -> dict[str, Any] | None:
    """The keys the engine class reads from `model:` (``model_config.get(...)``)."""
    init = _init(sources, found)
    if not isinstance(init, tuple):
        return None
    bodies = _engine_bodies(init[0], init[1], {"args"}, set())
    keys: dict[str, dict[str, Any]] = {}
    local_key: dict[str, str] = {}
    for func, args_vars, config_vars in bodies:
        for node in walk(func):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and _config_receiver(node.func.value, args_vars, config_vars)
                and node.args
            ):
                ok, key = literal(node.args[0])
                if not (ok and isinstance(key, str)):
                    continue
                entry: dict[str, Any] = {"source": init[0].line(node)}
                if len(node.args) > 1:
                    ok, value = literal(node.args[1])
                    entry["default"] = value if ok else ast.unparse(node.args[1])
                keys.setdefault(key, entry)
        for key, node in _config_reads(func, args_vars, config_vars):
            keys.setdefault(key, {"source": init[0].line(node)})
        for stmt in walk(func):
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
            ):
                value = stmt.value
                if (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Attribute)
                    and value.args
                    and _config_receiver(value.func.value, args_vars, config_vars)
                ):
                    ok, key = literal(value.args[0])
                    if ok and isinstance(key, str):
                        local_key[stmt.targets[0].id] = key
    injects: dict[str, dict[str, Any]] = {}
    for stmt in (stmt for func, _, _ in bodies for stmt in walk(func)):
        # network_config["params"]["dtype"] = dtype_str
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Subscript):
            outer = stmt.targets[0]
            inner = outer.value
            if isinstance(inner, ast.Subscript) and isinstance(inner.value, ast.Name):
                ok_p, params = literal(inner.slice)
                ok_k, key = literal(outer.slice)
                section = local_key.get(inner.value.id)
                if section and ok_p and params == "params" and ok_k and isinstance(key, str):
                    injects.setdefault(
                        section, {"passes": [], "overwrites": True, "source": init[0].line(stmt)}
                    )["passes"].append(key)
    sites = _build_sites(bodies, local_key, init[0])
    builds: dict[str, str] = {}
    for key, where, _ in sites:
        builds.setdefault(key, where)
    builds = dict(sorted(builds.items()))
    unguarded = sorted({key for key, _, sure in sites if sure})
    return {
        "target": found.dotted,
        "source": found.line(),
        "keys": dict(sorted(keys.items())),
        "children": dict(sorted(injects.items())),
        **({"builds": builds} if builds else {}),
        **({"builds_unguarded": unguarded} if unguarded else {}),
        "concat_images_when": _concat_images_when(found),
        "frames_to_vae": _frames_to_vae(sources, found),
    }


BUILDER = "instantiate_from_config"


# What runs only sometimes (or catches what fails): a build under one of these may be
# guarded against None (``instantiate_from_config(x) if x is not None else None``).
_CONDITIONAL = (
    ast.If,
    ast.IfExp,
    ast.BoolOp,
    ast.Try,
    ast.While,
    ast.For,
    ast.comprehension,
    ast.Lambda,
    ast.FunctionDef,  # a nested function is not run by the one that defines it
    ast.AsyncFunctionDef,
)


def _parents(func: ast.AST) -> dict[int, ast.AST]:
    parents: dict[int, ast.AST] = {}
    for node in walk(func):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    return parents


def _unconditional(func: ast.AST, target: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """Whether ``target`` runs whenever ``func`` does: no branch, loop, ``try`` or
    short-circuit between them."""
    node = parents.get(id(target))
    while node is not None and node is not func:
        if isinstance(node, _CONDITIONAL):
            return False
        node = parents.get(id(node))
    return node is func


def _names_in(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(node))


def _binds(target: ast.AST, name: str) -> bool:
    """``name = ...`` or ``a, name = ...`` (not ``name["params"] = ...``, which keeps it)."""
    if isinstance(target, ast.Name):
        return target.id == name
    if isinstance(target, ast.Tuple | ast.List):
        return any(_binds(item, name) for item in target.elts)
    if isinstance(target, ast.Starred):
        return _binds(target.value, name)
    return False


def _guarded_name(func: ast.AST, name: str, bindings_allowed: int) -> bool:
    """Whether ``func`` may keep None or text away from a build of ``name``: it tests the
    name (``if``, ``while``, ``assert``, a conditional expression, ``and``/``or``), binds it
    again (``config = default(config, {...})``), or binds it with ``.get(key, default)``."""
    bindings = 0
    for node in walk(func):
        if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert) and _names_in(node.test, name):
            return True
        if isinstance(node, ast.BoolOp) and any(_names_in(value, name) for value in node.values):
            return True
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.NamedExpr):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_binds(target, name) for target in targets):
                bindings += 1
                value = node.value
                if (
                    isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Attribute)
                    and value.func.attr == "get"
                    and len(value.args) > 1
                    and not (isinstance(value.args[1], ast.Constant) and value.args[1].value is None)
                ):
                    return True  # a default for a missing key
    return bindings > bindings_allowed


def _build_sites(bodies: list[Any], local_key: dict[str, str], owner: Found) -> list[tuple[str, str, bool]]:
    """(model key, where, sure) for each place the engine hands a `model:` key to
    ``instantiate_from_config`` (``self.denoiser = instantiate_from_config(denoiser_config)``,
    or through ``default(conditioner_config, ...)``), or, one call deep, to one of its own
    methods that builds it or indexes its ``["params"]`` (CogVideoX's
    ``self._init_first_stage(first_stage_config)``, diffusion_video.py:88, builds it at
    :140).  A number, boolean or list fails at any of them; ``sure``: the build runs
    whenever the engine is built, with no ``default(...)``, branch, ``try`` or guard of the
    name around it, so None and text other than the builder's markers fail there too
    (``loss_fn_config`` is built only ``if ... is not None``)."""
    methods = (
        {item.name: item for item in owner.node.body if isinstance(item, ast.FunctionDef)}
        if isinstance(owner.node, ast.ClassDef)
        else {}
    )
    found: list[tuple[str, str, bool]] = []
    for func, _, _ in bodies:
        parents = _parents(func)
        for call in walk(func):
            if not isinstance(call, ast.Call) or not call.args:
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name == BUILDER:
                given, defaulted = call.args[0], False
                if isinstance(given, ast.Call) and getattr(given.func, "id", "") == "default" and given.args:
                    given, defaulted = given.args[0], True
                if isinstance(given, ast.Name) and given.id in local_key:
                    sure = (
                        not defaulted
                        and _unconditional(func, call, parents)
                        and not _guarded_name(func, given.id, 1)
                    )
                    found.append((local_key[given.id], owner.line(call), sure))
                continue
            callee = dotted_name(call.func)
            method = methods.get(callee[len("self.") :]) if callee and callee.startswith("self.") else None
            if method is None or method is func:
                continue
            for param, value in zip([a.arg for a in method.args.args[1:]], call.args, strict=False):
                if not (isinstance(value, ast.Name) and value.id in local_key):
                    continue
                uses = [node for node in walk(method) if _builds_or_indexes(node, param)]
                if not uses:
                    continue
                how = (
                    f'indexes {param}["params"]'
                    if isinstance(uses[0], ast.Subscript)
                    else f"builds it with {BUILDER}"
                )
                inside = _parents(method)
                sure = (
                    _unconditional(func, call, parents)
                    and not _guarded_name(func, value.id, 1)
                    and not _guarded_name(method, param, 0)
                    and any(_unconditional(method, use, inside) for use in uses)
                )
                where = f"{callee} ({owner.line(call)}), which {how} ({owner.line(uses[0])})"
                found.append((local_key[value.id], where, sure))
    return found


def _builds_or_indexes(node: ast.AST, name: str) -> bool:
    """``instantiate_from_config(name)`` or ``name["params"]``."""
    if isinstance(node, ast.Call) and node.args:
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        first = node.args[0]
        return callee == BUILDER and isinstance(first, ast.Name) and first.id == name
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name:
        ok, key = literal(node.slice)
        return ok and key == "params"
    return False


# Methods of the config mapping: `model_config.get(...)` reads the key it is given, not "get".
_MAPPING_METHODS = frozenset({"get", "pop", "items", "keys", "values", "setdefault", "update", "copy"})


def _config_reads(func: ast.AST, args_vars: set[str], config_vars: set[str]) -> list[tuple[str, ast.AST]]:
    """`model:` keys the engine reads without `.get`: ``model_config.ref_net_path`` and
    ``model_config["key"]`` (fudan-generative-vision/hallo3 e342dce, hallo3/diffusion_video.py:114
    reads ``model_config.ref_net_path`` for its stage-1 reference net), also through
    ``args.model_config`` itself."""
    found: list[tuple[str, ast.AST]] = []
    for node in walk(func):
        owner = node.value if isinstance(node, ast.Attribute | ast.Subscript) else None
        if owner is None or not _config_receiver(owner, args_vars, config_vars):
            continue
        if isinstance(node, ast.Attribute) and node.attr not in _MAPPING_METHODS:
            found.append((node.attr, node))
        elif isinstance(node, ast.Subscript):
            ok, key = literal(node.slice)
            if ok and isinstance(key, str):
                found.append((key, node))
    return found


def _concat_images_when(found: Found) -> dict[str, str]:
    """The engine's flags under which it hands latents to the network as ``concat_images``
    (stacked on the channels, dit_video_concat.py:864 at e519ece): CogVideoX's
    ``if self.noised_image_input: ... batch["concat_images"] = image`` (diffusion_video.py:179-187).
    LV-Robotics-Lab/LayerFlow (0a8a65c) feeds noised_image_input's latents along time instead
    (sat/diffusion_video.py:307-353) and concat_images only under ref_image_input."""
    out: dict[str, str] = {}
    for node in walk(found.node):
        if not (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Attribute)
            and isinstance(node.test.value, ast.Name)
            and node.test.value.id == "self"
        ):
            continue
        for inner in [n for stmt in node.body for n in walk(stmt)]:
            if (
                isinstance(inner, ast.Assign)
                and isinstance(inner.targets[0], ast.Subscript)
                and literal(inner.targets[0].slice) == (True, "concat_images")
            ):
                out.setdefault(node.test.attr, found.line(inner))
    return dict(sorted(out.items()))


def _frames_to_vae(sources: Sources, found: Found, depth: int = 0) -> dict[str, str]:
    """How ``encode_first_stage`` hands the data's video frames to the 3D VAE, which keeps
    the first frame and compresses the rest 4x (so CogVideoX needs 4k+1 frames):
    ``{"direct": line}`` where the frames reach ``first_stage_model.encode`` as the batch
    gave them (CogVideoX, diffusion_video.py:232-244 at e519ece); ``{"reshaped": line}``
    where the method first concatenates frames onto them (LV-Robotics-Lab/LayerFlow
    0a8a65c, sat/diffusion_video.py:395-398, prepends the first frame: 4k frames per layer).
    A subclass without its own runs its first base's; empty where satc finds none it can read."""
    method = next(
        (
            node
            for node in found.node.body
            if isinstance(node, ast.FunctionDef) and node.name == "encode_first_stage"
        ),
        None,
    )
    if method is None and isinstance(found.node, ast.ClassDef) and found.node.bases and depth < 8:
        base = resolve_name(sources, found.module, ast.unparse(found.node.bases[0]))
        if isinstance(base, Found) and base.dotted not in CLOSED_BASES:
            return _frames_to_vae(sources, base, depth + 1)
    if method is None or not method.args.args[1:]:
        return {}
    frames = method.args.args[1].arg
    out: dict[str, str] = {}
    for node in walk(method):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == frames for t in node.targets)
            and isinstance(node.value, ast.Call)
            and (dotted_name(node.value.func) or "").rsplit(".", 1)[-1] in ("cat", "concat", "concatenate")
            and any(isinstance(n, ast.Name) and n.id == frames for n in walk(node.value))
        ):
            out.setdefault("reshaped", found.line(node))
        if isinstance(node, ast.Call) and (dotted_name(node.func) or "").endswith("first_stage_model.encode"):
            out.setdefault("direct", found.line(node))
    if "reshaped" in out:
        out.pop("direct", None)
    return out


ENGINE_HINTS = ("model_cls", "get_model(", "from_pretrained(")


def _engine_names(tree: ast.Module) -> list[str]:
    """Names an entrypoint builds its model from: ``training_main(..., model_cls=X)``,
    ``get_model(args, X)``, ``X.from_pretrained(..., args=args)``, ``X(args)``."""
    names: list[str] = []
    for node in walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = dotted_name(node.func) or ""
        for keyword in node.keywords:
            if keyword.arg == "model_cls" and isinstance(keyword.value, ast.Name):
                names.append(keyword.value.id)
        if func.endswith("get_model") and len(node.args) >= 2 and isinstance(node.args[1], ast.Name):
            names.append(node.args[1].id)
        if (
            func.endswith(".from_pretrained")
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and "args" in ast.unparse(node)
        ):
            names.append(node.func.value.id)
        if (
            isinstance(node.func, ast.Name)
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "args"
            and node.func.id[:1].isupper()
        ):
            names.append(node.func.id)
    return [n for n in names if n not in ("model_cls", "cls")]


def find_engine(sources: Sources) -> Found | None:
    """The class the project's entrypoints build from ``args.model_config``: the one most
    entrypoints name (ties: the first by file name)."""
    if sources.root is None:
        return None
    counts: dict[str, tuple[int, Found]] = {}
    for path in sorted(sources.root.glob("*.py")):
        if path.name == "arguments.py":
            continue
        try:
            text = sources.read(path)
        except OSError:
            continue
        if not any(hint in text for hint in ENGINE_HINTS):
            continue
        module = sources.module(path.stem)
        if module is None:
            continue
        for name in _engine_names(module.tree):
            found = resolve_name(sources, module, name)
            if isinstance(found, Found) and isinstance(found.node, ast.ClassDef):
                count, _ = counts.get(found.dotted, (0, found))
                counts[found.dotted] = (count + 1, found)
    if not counts:
        return None
    best = max(counts.values(), key=lambda item: item[0])
    return best[1]


def wanted(sources: Sources, targets: list[str]) -> tuple[set[str], set[str]]:
    """The requested targets, and those with their module siblings (facts.Project.target_names)."""
    named = set(targets)
    out = set(named)
    for dotted in named:
        module_name = dotted.rsplit(".", 1)[0]
        if "." not in dotted or module_name.split(".")[0] in ("sat", "torch", "deepspeed"):
            continue
        module = sources.module(module_name)
        if module is not None:
            out |= {f"{module_name}.{name}" for name in module.classes() if not name.startswith("_")}
    return named, out


def describe_targets(
    sources: Sources, targets: list[str], files: dict[str, list[str]] | None = None
) -> dict[str, dict[str, Any]]:
    """Entries for the requested targets.  A requested target that resolves to nothing
    readable is left out: the compiler reports it as unknown.  ``files`` gets, per target,
    the files its description used."""
    out: dict[str, dict[str, Any]] = {}
    for dotted in sorted(set(targets)):
        with sources.tracking() as touched:
            described = _describe_target(sources, dotted)
        if described is not None:
            out[dotted] = described
        if files is not None:
            files[dotted] = sorted(touched)
    return out


def _describe_target(sources: Sources, dotted: str) -> dict[str, Any] | None:
    found = resolve_dotted(sources, dotted)
    if isinstance(found, str) and found in sources.snapshot_targets:
        return {k: v for k, v in sources.snapshot_targets[found].items() if k not in SNAPSHOT_ONLY}
    if not isinstance(found, Found):
        return None
    return describe(sources, found)


def why_unresolved(sources: Sources, dotted: str) -> dict[str, str]:
    """Why ``dotted`` (a requested target) got no entry, for the compiler's message."""
    module_name, _, name = dotted.rpartition(".")
    if not module_name:
        return {"kind": "missing_module", "detail": f"{dotted!r} names no module (a target is module.Class)"}
    top = module_name.split(".")[0]
    module = sources.module(module_name)
    if module is None:
        relative = module_name.replace(".", "/")
        broken = [
            why
            for label, why in sources.broken.items()
            if label.endswith((f"{relative}.py", f"{relative}/__init__.py"))
        ]
        if broken:
            return {"kind": "broken", "detail": broken[0]}
        base = sources.installed_dir(top) if top == "sat" or top in INSTALLED else sources.root
        if base is not None and ((base / top).is_dir() or (base / f"{top}.py").is_file()):
            where = sources.label(base / f"{relative}.py")
            return {"kind": "missing_module", "detail": f"no module {module_name} ({where} does not exist)"}
        return {
            "kind": "external",
            "detail": f"{top} is not part of the project and satc has no source of it here",
        }
    found = resolve_name(sources, module, name)
    if found is None:
        return {"kind": "missing_name", "detail": f"{module.label} defines no {name}"}
    if isinstance(found, str):
        return {
            "kind": "external",
            "detail": f"{module.label} takes {name} from {found}, which satc does not read",
        }
    return {"kind": "unreadable", "detail": f"{found.line()}: satc cannot follow what {name} accepts"}
