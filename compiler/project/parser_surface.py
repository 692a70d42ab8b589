"""The argparse surface the project's ``get_args`` builds, read from source.

``get_args`` in ``<root>/arguments.py`` passes its parser through ``add_*`` functions
(its own, SAT's, ``deepspeed.add_config_arguments``); every ``add_argument`` reached that
way becomes an :class:`~.facts.Argument`, with the ``dest`` argparse itself would derive,
the group it was added to and the ``file:line`` that adds it.  A function whose source
is not on this machine (a compile-only install has no SAT) is taken from the bundled SAT
snapshot; one found nowhere is reported instead of guessed.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .facts import Argument
from .sources import Found, Sources, dotted_name, in_order, literal, literal_lists, resolve_in, walk

SIMPLE_TYPES = {"int", "float", "str", "bool", "list"}
ACTIONS = {"store", "store_true", "store_false", "store_const", "append", "count"}
PARSER_FACTORIES = {"argparse.ArgumentParser", "ArgumentParser"}


def derive_dest(flags: tuple[str, ...]) -> str:
    """As argparse's ``_get_optional_kwargs``: the first long option, else the first one,
    leading dashes stripped and inner dashes turned into underscores."""
    long = [f for f in flags if len(f) > 1 and f[:2] == "--"]
    chosen = long[0] if long else flags[0]
    return chosen.lstrip("-").replace("-", "_") if chosen.startswith("-") else chosen


def _flag(node: ast.expr, names: Mapping[str, Any]) -> tuple[bool, Any]:
    """An option name, where ``names`` binds the variables of the literal loops around the
    call: ``f"--{name}"`` and ``"--" + name`` read as argparse will see them."""
    if isinstance(node, ast.Name) and node.id in names:
        return True, names[node.id]
    if isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        for piece in node.values:
            inner = piece.value if isinstance(piece, ast.FormattedValue) else piece
            if isinstance(piece, ast.FormattedValue) and (piece.conversion != -1 or piece.format_spec):
                return False, None
            ok, value = _flag(inner, names)
            if not (ok and isinstance(value, str)):
                return False, None
            parts.append(value)
        return True, "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        ok_left, left = _flag(node.left, names)
        ok_right, right = _flag(node.right, names)
        if ok_left and ok_right and isinstance(left, str) and isinstance(right, str):
            return True, left + right
        return False, None
    return literal(node)


def _loop_bindings(func: ast.FunctionDef) -> dict[int, list[dict[str, Any]]]:
    """For each call inside ``for NAME in <literal list or tuple>:`` loops, one binding of
    the loop variables per iteration (nested loops multiply), so that an ``add_argument``
    written once in such a loop is read once per name it adds."""
    out: dict[int, list[dict[str, Any]]] = {}
    # A local name bound once to a literal list (``names = [...]; for name in names:``).
    bound = literal_lists(func)

    def record(node: ast.AST, bindings: list[dict[str, Any]]) -> None:
        if isinstance(node, ast.Call) and bindings != [{}]:
            out[id(node)] = bindings
        visit(node, bindings)

    def visit(node: ast.AST, bindings: list[dict[str, Any]]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.For) and isinstance(child.target, ast.Name):
                ok, values = literal(child.iter)
                if not ok and isinstance(child.iter, ast.Name) and child.iter.id in bound:
                    ok, values = True, bound[child.iter.id]
                if ok and isinstance(values, list):
                    inner = [{**b, child.target.id: v} for b in bindings for v in values]
                    for stmt in child.body:
                        record(stmt, inner)
                    for stmt in child.orelse:
                        record(stmt, bindings)
                    continue
            record(child, bindings)

    visit(func, [{}])
    return out


def argument_from_call(
    call: ast.Call, group: str, source: str, names: Mapping[str, Any] | None = None
) -> Argument | str:
    """One ``add_argument(...)`` call, or why it cannot be read statically."""
    flags: list[str] = []
    for arg in call.args:
        ok, value = _flag(arg, names or {})
        if not (ok and isinstance(value, str)):
            return f"{source}: add_argument with a computed option name ({ast.unparse(arg)})"
        flags.append(value)
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    if any(k.arg is None for k in call.keywords) or not flags:
        return f"{source}: add_argument with keywords satc cannot read ({ast.unparse(call)[:80]})"
    action = "store"
    if "action" in kw:
        ok, value = literal(kw["action"])
        action = value if ok and value in ACTIONS else "other"
    dest = derive_dest(tuple(flags))
    if "dest" in kw:
        ok, value = literal(kw["dest"])
        if not (ok and isinstance(value, str)):
            return f"{source}: add_argument with a computed dest ({ast.unparse(kw['dest'])})"
        dest = value
    type_name: str | None = None
    if "type" in kw:
        text = ast.unparse(kw["type"])
        type_name = text if text in SIMPLE_TYPES else f"expr:{text}"
    # argparse's flag actions take no value: their nargs is 0
    nargs: str | int | None = 0 if action in ("store_true", "store_false", "store_const", "count") else None
    if "nargs" in kw:
        ok, value = literal(kw["nargs"])
        nargs = value if ok and isinstance(value, str | int) else f"expr:{ast.unparse(kw['nargs'])}"
    # argparse's own defaults for the flag actions
    default: Any = {"store_true": False, "store_false": True}.get(action)
    const: Any = {"store_true": True, "store_false": False}.get(action)
    default_expr: str | None = None
    if "default" in kw:
        ok, value = literal(kw["default"])
        if ok:
            default = value
        else:
            default, default_expr = None, ast.unparse(kw["default"])
    if "const" in kw:
        ok, value = literal(kw["const"])
        const = value if ok else f"expr:{ast.unparse(kw['const'])}"
    choices: tuple[Any, ...] | None = None
    if "choices" in kw:
        ok, value = literal(kw["choices"])
        choices = tuple(value) if ok and isinstance(value, list) else None
    help_text = ""
    if "help" in kw:
        ok, value = literal(kw["help"])
        help_text = value if ok and isinstance(value, str) else ast.unparse(kw["help"])
    return Argument(
        dest=dest,
        flags=tuple(flags),
        action=action,
        type=type_name,
        nargs=nargs,
        default=default,
        default_expr=default_expr,
        const=const,
        choices=choices,
        help=help_text,
        group=group,
        source=source,
    )


@dataclass
class Surface:
    arguments: dict[str, Argument] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    # Names the parser passed through, as resolved (for the record): "sat.arguments.add_data_args"
    functions: list[str] = field(default_factory=list)

    def add(self, argument: Argument) -> None:
        # argparse gives the namespace the first default of a dest
        self.arguments.setdefault(argument.dest, argument)


@dataclass
class Walker:
    sources: Sources
    snapshot: Mapping[str, Any]  # dotted function -> [Argument as dict]
    surface: Surface = field(default_factory=Surface)

    def function(self, found: Found, parsers: set[str], depth: int = 0) -> None:
        """Every argument ``found`` adds to the parser(s) named ``parsers``."""
        func = found.node
        assert isinstance(func, ast.FunctionDef)
        groups: dict[str, str] = {}  # variable -> argument group title
        assigned: dict[int, str] = {}  # id(call) -> the name it is assigned to
        loops = _loop_bindings(func)
        for node in walk(func):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                assigned[id(node.value)] = node.targets[0].id
        for node in in_order(func):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func
            if isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name):
                owner = callee.value.id
                if owner in parsers or owner in groups:
                    self._method(found, node, callee.attr, owner, parsers, groups, assigned, loops)
                    continue
            if (
                isinstance(callee, ast.Attribute)
                and callee.attr == "add_argument"
                and isinstance(callee.value, ast.Call)
                and isinstance(callee.value.func, ast.Attribute)
                and callee.value.func.attr == "add_argument_group"
                and dotted_name(callee.value.func.value) in parsers
            ):
                # parser.add_argument_group("title").add_argument(...)
                ok, title = literal(callee.value.args[0] if callee.value.args else None)
                self._add(node, title if ok and isinstance(title, str) else "", found.line(node), loops)
                continue
            if dotted_name(callee) in PARSER_FACTORIES and id(node) in assigned:
                parsers.add(assigned[id(node)])
                continue
            position = self._parser_position(node, parsers)
            if position is None:
                continue
            text = dotted_name(callee) or ast.unparse(callee)
            self._call(found, node, text, position, depth)

    def _method(
        self,
        found: Found,
        call: ast.Call,
        method: str,
        owner: str,
        parsers: set[str],
        groups: dict[str, str],
        assigned: dict[int, str],
        loops: Mapping[int, list[dict[str, Any]]],
    ) -> None:
        title = groups.get(owner, "")
        if method == "add_argument":
            self._add(call, title, found.line(call), loops)
        elif method == "add_argument_group" and id(call) in assigned:
            first = call.args[0] if call.args else {k.arg: k.value for k in call.keywords}.get("title")
            ok, value = literal(first)
            groups[assigned[id(call)]] = value if ok and isinstance(value, str) else ""
        elif method == "add_mutually_exclusive_group" and id(call) in assigned:
            groups[assigned[id(call)]] = title
        elif method == "set_defaults":
            for keyword in call.keywords:
                if keyword.arg is None:
                    self.surface.unresolved.append(
                        f"{found.line(call)}: set_defaults(**...) satc cannot read"
                    )
                    continue
                self._set_default(keyword.arg, keyword.value, found.line(call))

    def _add(
        self, call: ast.Call, group: str, source: str, loops: Mapping[int, list[dict[str, Any]]]
    ) -> None:
        """The argument(s) one ``add_argument`` call adds: one per iteration of the literal
        loops around it."""
        for names in loops.get(id(call), [{}]):
            made = argument_from_call(call, group, source, names)
            if isinstance(made, str):
                self.surface.unresolved.append(made)
                return
            self.surface.add(made)

    def _set_default(self, dest: str, value: ast.expr, source: str) -> None:
        ok, default = literal(value)
        expr = None if ok else ast.unparse(value)
        previous = self.surface.arguments.get(dest)
        if previous is not None:
            self.surface.arguments[dest] = Argument(
                **{**previous.__dict__, "default": default if ok else None, "default_expr": expr}
            )
            return
        self.surface.add(
            Argument(
                dest=dest,
                flags=(),
                action="other",
                type=None,
                nargs=None,
                default=default if ok else None,
                default_expr=expr,
                const=None,
                choices=None,
                help="set by parser.set_defaults",
                group="",
                source=source,
            )
        )

    @staticmethod
    def _parser_position(call: ast.Call, parsers: set[str]) -> int | str | None:
        for index, arg in enumerate(call.args):
            if isinstance(arg, ast.Name) and arg.id in parsers:
                return index
        for keyword in call.keywords:
            if keyword.arg and isinstance(keyword.value, ast.Name) and keyword.value.id in parsers:
                return keyword.arg
        return None

    def _call(self, found: Found, call: ast.Call, text: str, position: int | str, depth: int) -> None:
        """The parser handed to another function: follow it into that function's source, or
        take the snapshot's record of it."""
        if text.endswith((".parse_args", ".parse_known_args")) or depth > 8:
            return
        assert isinstance(found.node, ast.FunctionDef)
        target = resolve_in(self.sources, found.module, found.node, text)
        if isinstance(target, Found) and isinstance(target.node, ast.FunctionDef):
            self.surface.functions.append(target.dotted)
            params = [*target.node.args.posonlyargs, *target.node.args.args]
            if isinstance(position, int):
                name = params[position].arg if position < len(params) else None
            else:
                name = position
            if name:
                self.function(target, {name}, depth + 1)
            return
        dotted = target if isinstance(target, str) else text
        if dotted in self.snapshot:
            self.surface.functions.append(dotted)
            for entry in self.snapshot[dotted]:
                self.surface.add(argument_from_dict(entry))
            return
        if text in ("isinstance", "print", "print_rank0") or text.startswith(("parser.", "argparse.")):
            return
        self.surface.unresolved.append(
            f"{found.line(call)}: the parser is passed to {text}, whose source satc did not find"
        )


def argument_from_dict(entry: Mapping[str, Any]) -> Argument:
    choices = entry.get("choices")
    return Argument(
        dest=entry["dest"],
        flags=tuple(entry.get("flags", ())),
        action=entry.get("action", "store"),
        type=entry.get("type"),
        nargs=entry.get("nargs"),
        default=entry.get("default"),
        default_expr=entry.get("default_expr"),
        const=entry.get("const"),
        choices=tuple(choices) if choices is not None else None,
        help=entry.get("help", ""),
        group=entry.get("group", ""),
        source=entry.get("source", ""),
    )


def argument_to_dict(argument: Argument) -> dict[str, Any]:
    out = dict(argument.__dict__)
    out["flags"] = list(argument.flags)
    out["choices"] = list(argument.choices) if argument.choices is not None else None
    return out


def _named_otherwise(module: Any) -> ast.FunctionDef | None:
    """The project's get_args under another name: the one function of arguments.py that
    parses and calls ``process_config_to_args`` (VideoVerses/VideoTuna 0d49a54
    videotuna/models/cogvideo_sat/arguments.py:191 ``getArgs()``, imported so by
    scripts/inference_cogVideo_sat_refactor.py:29)."""
    found = []
    for func in module.functions().values():
        called = {dotted_name(node.func) for node in ast.walk(func) if isinstance(node, ast.Call)}
        names = {name.rsplit(".", 1)[-1] for name in called if name}
        if "process_config_to_args" in names and "parse_args" in names:
            found.append(func)
    return found[0] if len(found) == 1 else None


def read(sources: Sources, snapshot: Mapping[str, Any]) -> tuple[Surface, Found | None]:
    """The arguments ``<root>/arguments.py``'s ``get_args`` ends up adding."""
    walker = Walker(sources, snapshot)
    module = sources.module("arguments")
    func = module.functions().get("get_args") if module is not None else None
    if module is not None and func is None:
        func = _named_otherwise(module)
    if module is None or func is None:
        why = sources.broken.get("arguments.py")
        if why:
            walker.surface.unresolved.append(f"{why} (satc cannot read it)")
        elif module is None:
            walker.surface.unresolved.append("arguments.py: not found in the project folder")
        else:
            walker.surface.unresolved.append("arguments.py: no get_args function")
        return walker.surface, None
    found = Found(module, func)
    params = {a.arg for a in func.args.args if "parser" in a.arg}
    walker.function(found, params or {"parser"})
    return walker.surface, found


def read_function(sources: Sources, found: Found, snapshot: Mapping[str, Any]) -> Surface:
    """The arguments one ``add_*(parser)`` function adds (the snapshot tool records SAT's)."""
    walker = Walker(sources, snapshot)
    assert isinstance(found.node, ast.FunctionDef)
    params = [*found.node.args.posonlyargs, *found.node.args.args]
    walker.function(found, {params[0].arg} if params else {"parser"})
    return walker.surface
