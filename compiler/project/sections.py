"""What the project does with each top-level key of its merged ``--base`` config.

CogVideoX's ``process_config_to_args`` pops ``args`` and sets each key the namespace
already has (``hasattr``), and moves ``model``/``deepspeed``/``data`` onto
``args.model_config`` & co.  A fork may add sections or change how they land; this reads
the function ``get_args`` hands the merged config to, whatever its name.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .facts import Section
from .sources import Found, Sources, dotted_name, in_order, literal, resolve_in, walk


def _is_config_loader(func: ast.FunctionDef) -> bool:
    return any(
        isinstance(n, ast.Attribute)
        and n.attr in ("load", "merge")
        and dotted_name(n) in ("OmegaConf.load", "OmegaConf.merge")
        for n in walk(func)
    )


def _pop_key(node: ast.expr, configs: set[str] | None = None) -> tuple[str, str] | None:
    """``config.pop("model", ...)`` / ``config["model"]`` / ``config.get("model")`` -> (var, key);
    ``config.model`` too where ``config`` is known to hold the merged config (``configs``)."""
    if (
        configs
        and isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in configs
    ):
        return node.value.id, node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("pop", "get")
        and isinstance(node.func.value, ast.Name)
        and node.args
    ):
        ok, key = literal(node.args[0])
        if ok and isinstance(key, str):
            return node.func.value.id, key
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        ok, key = literal(node.slice)
        if ok and isinstance(key, str):
            return node.value.id, key
    return None


def _unwrap(node: ast.expr) -> tuple[ast.expr, str]:
    """``OmegaConf.to_object(x)`` / ``OmegaConf.to_container(x)`` -> (x, "object")."""
    if (
        isinstance(node, ast.Call)
        and (dotted_name(node.func) or "").endswith(("to_object", "to_container"))
        and node.args
    ):
        return node.args[0], "object"
    return node, "omegaconf"


@dataclass
class Read:
    sections: dict[str, Section] = field(default_factory=dict)
    args_assignment: str = "unknown"
    loader: Found | None = None  # process_config_to_args, or what plays its part
    stacks: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (flag dest, file:line, loading function)
    handled: set[int] = field(default_factory=set)  # ids of statements explained here
    # Files the loader merges over the --base stack, named by an argument
    # (``OmegaConf.load(args.custom_config)``): (args attribute, file:line)
    merged_files: list[tuple[str, str]] = field(default_factory=list)


def _namespace_loop(found: Found, func: ast.FunctionDef, var: str, key: str, source: str, out: Read) -> None:
    """``for key in args_config: ... if hasattr(args, key): setattr(args, key, value)``."""
    for loop in walk(func):
        if not (isinstance(loop, ast.For) and isinstance(loop.iter, ast.Name) and loop.iter.id == var):
            continue
        text = ast.unparse(loop)
        guarded = any(
            isinstance(n, ast.If) and "hasattr(" in ast.unparse(n.test) and "setattr(" in ast.unparse(n)
            for n in walk(loop)
        )
        converts = "object" if "to_object" in text or "to_container" in text else "raw"
        if "setattr(" in text:
            out.args_assignment = "hasattr" if guarded else "setattr"
        out.sections[key] = Section(name=key, kind="namespace", dest=None, converts=converts, source=source)
        out.handled.add(id(loop))
        return
    out.sections[key] = Section(name=key, kind="namespace", dest=None, converts="raw", source=source)


def read_loader(sources: Sources, found: Found, out: Read) -> None:
    func = found.node
    assert isinstance(func, ast.FunctionDef)
    local: dict[str, tuple[str, str, str]] = {}  # variable -> (section key, converts, source)
    merged = {  # variables holding the merged config
        t.id
        for n in walk(func)
        if isinstance(n, ast.Assign)
        and isinstance(n.value, ast.Call)
        and dotted_name(n.value.func) in ("OmegaConf.merge", "OmegaConf.load")
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    for node in in_order(func):
        if isinstance(node, ast.ListComp | ast.GeneratorExp) and "OmegaConf.load" in ast.unparse(node.elt):
            iterated = node.generators[0].iter
            if isinstance(iterated, ast.Attribute):
                out.stacks.append((iterated.attr, found.line(node), func.name))
        if (
            isinstance(node, ast.Call)
            and dotted_name(node.func) == "OmegaConf.load"
            and node.args
            and isinstance(node.args[0], ast.Attribute)
            and isinstance(node.args[0].value, ast.Name)
            and node.args[0].value.id == "args"
        ):
            out.merged_files.append((node.args[0].attr, found.line(node)))
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        value, converts = _unwrap(node.value)
        popped = _pop_key(value, merged)
        if isinstance(target, ast.Name) and popped is not None:
            local[target.id] = (popped[1], converts, found.line(node))
            continue
        if (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "args"
        ):
            key_info: tuple[str, str, str] | None = None
            if isinstance(value, ast.Name) and value.id in local:
                key, first, source = local[value.id]
                key_info = (key, "object" if "object" in (first, converts) else "omegaconf", source)
            elif popped is not None:
                key_info = (popped[1], converts, found.line(node))
            if key_info is not None:
                key, conv, source = key_info
                out.sections[key] = Section(
                    name=key, kind="attribute", dest=target.attr, converts=conv, source=source
                )
                out.handled.add(id(node))
    for var, (key, _conv, source) in local.items():
        if key not in out.sections and (out.loader is None or out.loader.dotted == found.dotted):
            _namespace_loop(found, func, var, key, source, out)


def read(sources: Sources, get_args: Found | None) -> Read:
    out = Read()
    if get_args is None:
        return out
    func = get_args.node
    assert isinstance(func, ast.FunctionDef)
    candidates: list[Found] = [get_args] if _is_config_loader(func) else []
    for node in in_order(func):
        if isinstance(node, ast.Call) and any(isinstance(a, ast.Name) and a.id == "args" for a in node.args):
            name = dotted_name(node.func)
            target = resolve_in(sources, get_args.module, func, name) if name else None
            if (
                isinstance(target, Found)
                and isinstance(target.node, ast.FunctionDef)
                and _is_config_loader(target.node)
                and target not in candidates
            ):
                candidates.append(target)
    for found in candidates:
        if out.loader is None and (found is not get_args or len(candidates) == 1):
            out.loader = found
        read_loader(sources, found, out)
    return out
