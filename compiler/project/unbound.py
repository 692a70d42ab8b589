"""Does the project's ``get_args`` die on ``deepspeed: true`` in inference mode?

CogVideoX binds ``override_deepspeed_config`` only under ``if args.mode != "inference"``
and reads it under ``if args.deepspeed:`` (``arguments.py:118-145``): with both set, its
``get_args`` raises ``UnboundLocalError``.  Forks differ: harshit810/cogVideoFinetuning
(eb3867d, ``sat/arguments.py:109``) binds it to ``False`` first, so the same launch runs
-- unless no DeepSpeed config is given, when its local ``deepspeed_config`` is the one
left unbound.  Rule R4 refuses the combination only where this reader proves the crash.

The proof walks ``get_args`` in statement order under one assumed launch (mode
inference, ``args.deepspeed`` true, a DeepSpeed config given or not): a test it cannot
decide makes what it guards "may run", a loop or ``try`` body "may run"; only a read of
a local that no statement that surely or maybe ran has bound, in a statement that surely
runs, is a crash.  Anything unclear means no crash: R4 then says nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from .sources import Found, children

UNKNOWN = object()  # a value (or a test's outcome) this reader cannot tell
NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
# The two launches R4 asks about: a DeepSpeed config given (a `deepspeed:` section or
# --deepspeed_config) or not.
SCENARIOS = {"config": "given", "no_config": None}


def _names(node: ast.AST) -> Iterator[ast.Name]:
    """The names a statement's own expressions mention (not those of a nested scope).

    A comprehension is a scope of its own: its loop variables are not the function's
    locals (``[k for k in vars(args)]`` binds no ``k`` in get_args).  Only its first
    iterable runs in the function's scope, and a ``:=`` inside it binds there; what else
    it reads runs later or not at all, so it is left out (no crash is claimed on it)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name):
            yield current
        if isinstance(current, COMPREHENSIONS):
            stack.append(current.generators[0].iter)
            stack.extend(
                walrus.target
                for walrus in ast.walk(current)
                if isinstance(walrus, ast.NamedExpr) and isinstance(walrus.target, ast.Name)
            )
            continue
        for child in children(current):  # an ast.Name's context is no name
            if not isinstance(child, NESTED):
                stack.append(child)


def _own(stmt: ast.stmt) -> list[ast.AST]:
    """What a statement evaluates itself (a compound statement's body is walked apart)."""
    if isinstance(stmt, ast.If | ast.While):
        return [stmt.test]
    if isinstance(stmt, ast.For | ast.AsyncFor):
        return [stmt.iter]
    if isinstance(stmt, ast.With | ast.AsyncWith):
        return [item.context_expr for item in stmt.items]
    if isinstance(stmt, (ast.Try, *NESTED)):
        return []
    return [stmt]


def _stored(stmt: ast.stmt) -> set[str]:
    out: set[str] = set()
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        out.add(stmt.name)
    elif isinstance(stmt, ast.Import | ast.ImportFrom):
        out.update((a.asname or a.name).split(".")[0] for a in stmt.names)
    targets: list[ast.AST] = []
    if isinstance(stmt, ast.For | ast.AsyncFor):
        targets.append(stmt.target)
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        targets.extend(i.optional_vars for i in stmt.items if i.optional_vars is not None)
    elif isinstance(stmt, ast.Try):
        out.update(h.name for h in stmt.handlers if h.name)
    for node in [*targets, *_own(stmt)]:
        out.update(n.id for n in _names(node) if isinstance(n.ctx, ast.Store))
    return out


def _locals(func: ast.FunctionDef) -> set[str]:
    """The function's local names: bound anywhere in it, not declared global."""
    found: set[str] = set()
    declared: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Global | ast.Nonlocal):
                declared.update(stmt.names)
            found.update(_stored(stmt))
            if not isinstance(stmt, NESTED):
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(stmt, field, []))
                for handler in getattr(stmt, "handlers", []):
                    visit(handler.body)

    visit(func.body)
    return found - declared


class _Launch:
    """One assumed launch: what the args R4 asks about hold, and the locals bound so far."""

    def __init__(self, config: Any) -> None:
        self.args = {"mode": "inference", "deepspeed": True, "deepspeed_config": config}
        self.bound: dict[str, Any] = {}  # local -> its literal value, or UNKNOWN

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "args"
            and node.attr in self.args
        ):
            return self.args[node.attr]
        if isinstance(node, ast.Name) and node.id in self.bound:
            return self.bound[node.id]
        return UNKNOWN

    def truth(self, node: ast.expr) -> bool | None:
        """The test's outcome, or None where it depends on anything else."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.truth(node.operand)
            return None if inner is None else not inner
        if isinstance(node, ast.BoolOp):
            parts = [self.truth(v) for v in node.values]
            stop = isinstance(node.op, ast.Or)  # the outcome that decides an or (an and: False)
            if stop in parts:
                return stop
            return None if None in parts else not stop
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = self.value(node.left), self.value(node.comparators[0])
            op = node.ops[0]
            if isinstance(op, ast.Is | ast.IsNot) and (left is None or right is None):
                other = right if left is None else left
                if other is UNKNOWN:
                    return None
                same = other is None
                return same if isinstance(op, ast.Is) else not same
            if UNKNOWN in (left, right) or "given" in (left, right):
                return None
            if isinstance(op, ast.Eq | ast.NotEq):
                return bool(left == right) == isinstance(op, ast.Eq)
            return None
        value = self.value(node)
        return None if value is UNKNOWN else bool(value)


def _crash(found: Found, launch: _Launch, seen: dict[int, tuple[list[ast.Name], set[str]]]) -> str | None:
    """``file:line: NAME is unbound`` where the launch surely reads an unbound local.
    ``seen``: each statement's reads and bindings, shared by the launches asked about."""
    func = found.node
    assert isinstance(func, ast.FunctionDef)
    local = _locals(func)
    for arg in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]:
        launch.bound[arg.arg] = UNKNOWN
    for extra in (func.args.vararg, func.args.kwarg):
        if extra is not None:
            launch.bound[extra.arg] = UNKNOWN

    class Stop(Exception):
        def __init__(self, crash: str | None) -> None:
            self.crash = crash

    def facts(stmt: ast.stmt) -> tuple[list[ast.Name], set[str]]:
        known = seen.get(id(stmt))
        if known is None:
            reads = [
                n
                for node in _own(stmt)
                for n in _names(node)
                if isinstance(n.ctx, ast.Load) or isinstance(stmt, ast.AugAssign) and n is stmt.target
            ]
            known = seen[id(stmt)] = (reads, _stored(stmt))
        return known

    def run(body: list[ast.stmt], sure: bool) -> None:
        for stmt in body:
            reads, stored_here = facts(stmt)
            for name in reads:
                if sure and name.id in local and name.id not in launch.bound:
                    raise Stop(f"{found.line(name)}: {name.id} is unbound")
            value = UNKNOWN
            if sure and isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                value = launch.value(stmt.value)
            for stored in stored_here:
                launch.bound[stored] = value
            for target in stmt.targets if isinstance(stmt, ast.Assign) else []:
                # get_args changing an arg the launch assumes: args.deepspeed = False
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "args"
                    and target.attr in launch.args
                ):
                    launch.args[target.attr] = value
            if isinstance(stmt, ast.Return | ast.Raise) and sure:
                raise Stop(None)
            if isinstance(stmt, ast.If):
                outcome = launch.truth(stmt.test)
                if outcome is not False:
                    run(stmt.body, sure and outcome is True)
                if outcome is not True:
                    run(stmt.orelse, sure and outcome is False)
            elif isinstance(stmt, ast.With | ast.AsyncWith):
                run(stmt.body, sure)
            elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While | ast.Try):
                for field in ("body", "orelse", "finalbody"):
                    run(getattr(stmt, field, []), False)
                for handler in getattr(stmt, "handlers", []):
                    run(handler.body, False)

    try:
        run(func.body, True)
    except Stop as stop:
        return stop.crash
    return None


def deepspeed_in_inference(get_args: Found | None) -> dict[str, str] | None:
    """{"config" | "no_config": "file:line: NAME is unbound"} for each launch of mode
    inference with ``args.deepspeed`` true that the project's get_args surely dies on;
    None where it dies on neither (or there is no get_args to read)."""
    if get_args is None or not isinstance(get_args.node, ast.FunctionDef):
        return None
    out = {}
    seen: dict[int, tuple[list[ast.Name], set[str]]] = {}
    for scenario, config in SCENARIOS.items():
        crash = _crash(get_args, _Launch(config), seen)
        if crash is not None:
            out[scenario] = crash
    return out or None
