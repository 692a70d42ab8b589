"""What the project's ``get_args`` does after parsing, as far as it can be read.

satc reproduces CogVideoX's post-parse rules (docs/rules.md R1-R14).  A fork changes some
of them: Tora seeds inference without the data-parallel offset, CogView3 seeds by global
rank and builds one model-parallel group whatever the flag says; others inject model
parameters or load a second config stack.  Those are read here; any other assignment to
``args`` is listed as unsupported so the compiler can say so instead of guessing.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from typing import Any

from . import unbound
from .facts import Argument, GetArgs
from .sections import Read, _pop_key, _unwrap
from .sources import Found, Sources, dotted_name, in_order, literal, literal_lists, resolve_in, walk

# The args attributes whose assignment satc reproduces (docs/rules.md R1-R14), and the
# attributes the sections land on.
REPRODUCED = {
    "train_iters",  # R1
    "cuda",
    "rank",
    "world_size",
    "local_rank",
    "device",  # R9
    "deepspeed",  # R4
    "deepspeed_config",  # R5, R6
    "fp16",
    "bf16",  # R6, R7
    "batch_size",
    "gradient_accumulation_steps",
    "lr",
    "weight_decay",  # R6
    "deepspeed_activation_checkpointing",  # R8
    "master_ip",
    "master_port",  # R10
}
# What the reproduced rules decide on: an assignment to one of the attributes above under
# a condition on anything else (``if args.fsdp2: args.deepspeed = False``) is the project's
# own rule, not satc's.
CONDITIONS = REPRODUCED | {"mode", "zero_stage", "checkpoint_activations", "epochs", "train_data"}
MODEL_CONFIG = "args.model_config"
ARGS_ATTRIBUTE = re.compile(r"\bargs\.(\w+)")


def _reachable(sources: Sources, get_args: Found) -> list[Found]:
    """get_args and the project functions it hands ``args`` to (initialize_distributed,
    process_config_to_args, ...), in call order."""
    out = [get_args]
    index = 0
    while index < len(out) and len(out) < 16:
        found = out[index]
        index += 1
        func = found.node
        assert isinstance(func, ast.FunctionDef)
        for node in in_order(func):
            if not isinstance(node, ast.Call):
                continue
            if not any(
                isinstance(a, ast.Name) and a.id == "args"
                for a in [*node.args, *[k.value for k in node.keywords]]
            ):
                continue
            name = dotted_name(node.func)
            if name is None:
                continue
            target = resolve_in(sources, found.module, func, name)
            if (
                isinstance(target, Found)
                and isinstance(target.node, ast.FunctionDef)
                and not target.module.name.startswith(("sat.", "deepspeed", "torch"))
                and all(target.dotted != f.dotted for f in out)
            ):
                out.append(target)
    return out


Loops = dict[str, list[Any] | None]  # loop variable -> its literal values (None: not literal)


def _with_context(func: ast.FunctionDef) -> list[tuple[ast.stmt, list[str], Loops]]:
    """Every statement with the tests of the ``if``s around it (``not`` for an else) and the
    variables of the ``for`` loops around it."""
    out: list[tuple[ast.stmt, list[str], Loops]] = []
    # Local names bound once to a literal list (``params = ['a', 'b']; for p in params:``,
    # TencentARC/DiTCtrl f1348b5, sat/arguments.py:360-372): the loop is over that list.
    bound = literal_lists(func)

    def visit(body: list[ast.stmt], tests: list[str], loops: Loops) -> None:
        for stmt in body:
            out.append((stmt, tests, loops))
            if isinstance(stmt, ast.If):
                test = ast.unparse(stmt.test)
                visit(stmt.body, [*tests, test], loops)
                visit(stmt.orelse, [*tests, f"not ({test})"], loops)
            elif isinstance(stmt, ast.For | ast.AsyncFor):
                inner = dict(loops)
                if isinstance(stmt.target, ast.Name):
                    ok, values = literal(stmt.iter)
                    if not ok and isinstance(stmt.iter, ast.Name) and stmt.iter.id in bound:
                        ok, values = True, bound[stmt.iter.id]
                    inner[stmt.target.id] = values if ok and isinstance(values, list) else None
                visit(stmt.body, tests, inner)
                visit(stmt.orelse, tests, loops)
            elif isinstance(stmt, ast.While | ast.With | ast.AsyncWith):
                visit(stmt.body, tests, loops)
                visit(getattr(stmt, "orelse", []), tests, loops)
            elif isinstance(stmt, ast.Try):
                visit(stmt.body, tests, loops)
                for handler in stmt.handlers:
                    visit(handler.body, tests, loops)
                visit(stmt.orelse, tests, loops)
                visit(stmt.finalbody, tests, loops)

    visit(func.body, [], {})
    return out


def _targets(stmt: ast.stmt) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return list(stmt.targets)
    if isinstance(stmt, ast.AugAssign | ast.AnnAssign):
        return [stmt.target]
    return []


def _args_attr(target: ast.expr) -> str | None:
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "args":
        return target.attr
    return None


def _model_config_aliases(func: ast.FunctionDef, sections: Read) -> dict[str, str]:
    """Local names that hold the model config or a part of it, with the path they hold:
    ``model_config = args.model_config`` (""), the popped section before it lands there
    (``model_config = config.pop("model")``), ``adaln = args.model_config.network_config.params``
    ("network_config.params")."""
    model_keys = {s.name for s in sections.sections.values() if s.dest == "model_config"}
    out: dict[str, str] = {}
    for stmt in walk(func):
        if not isinstance(stmt, ast.Assign):
            continue
        names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        if not names:
            continue
        if dotted_name(stmt.value) == MODEL_CONFIG:
            out.update(dict.fromkeys(names, ""))
            continue
        popped = _pop_key(_unwrap(stmt.value)[0])
        if popped is not None and popped[1] in model_keys:
            out.update(dict.fromkeys(names, ""))
            continue
        if isinstance(stmt.value, ast.Attribute | ast.Subscript) and _in_model_config(stmt.value, out):
            below = _model_config_path(stmt.value, out)
            if below is not None:
                out.update(dict.fromkeys(names, below))
    return out


def _model_config_path(
    target: ast.expr, aliases: dict[str, str], bound: dict[str, Any] | None = None
) -> str | None:
    """``args.model_config.network_config.params.x`` / ``model_config["x"]`` -> "network_config.params.x";
    a loop variable subscript takes its value from ``bound``."""
    parts: list[str] = []
    node = target
    while True:
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "args" and node.attr == "model_config":
                break
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Name) and bound and node.slice.id in bound:
                key = bound[node.slice.id]
            else:
                ok, key = literal(node.slice)
                if not ok:
                    return None
            if not isinstance(key, str | int):
                return None
            parts.append(str(key))
            node = node.value
        elif isinstance(node, ast.Name) and node.id in aliases:
            if aliases[node.id]:
                parts.append(aliases[node.id])
            break
        else:
            return None
    return ".".join(reversed(parts)) if parts else None


def _in_model_config(node: ast.expr, aliases: dict[str, str]) -> bool:
    """Whether an expression is (a part of) the model config."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        if dotted_name(node) == MODEL_CONFIG:
            return True
        node = node.value
    return isinstance(node, ast.Name) and node.id in aliases


class _Bind(ast.NodeTransformer):
    """Replace loop variables by their value, and ``getattr(args, "x")`` by ``args.x``."""

    def __init__(self, bound: dict[str, Any]) -> None:
        self.bound = bound

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.Constant(self.bound[node.id]) if node.id in self.bound else node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if (
            dotted_name(node.func) == "getattr"
            and len(node.args) == 2
            and dotted_name(node.args[0]) == "args"
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            return ast.Attribute(value=ast.Name("args", ast.Load()), attr=node.args[1].value, ctx=ast.Load())
        return node


def _injections(
    target: ast.expr, value: ast.expr | None, aliases: dict[str, str], loops: Loops
) -> list[tuple[str, str]] | None:
    """(path, from) for each value an assignment puts into the model config (a loop over
    literal names unrolled); None when it writes there in a way satc cannot follow."""
    names = [n.id for n in walk(target) if isinstance(n, ast.Name) and n.id in loops]
    if not names:
        path = _model_config_path(target, aliases)
        return None if path is None else [(path, ast.unparse(value) if value is not None else "")]
    if len(set(names)) != 1 or loops[names[0]] is None:
        return None
    out = []
    for item in loops[names[0]] or []:
        bound = {names[0]: item}
        path = _model_config_path(target, aliases, bound)
        if path is None:
            return None
        text = ast.unparse(_Bind(bound).visit(copy.deepcopy(value))) if value is not None else ""
        out.append((path, text))
    return out


@dataclass
class Facts:
    seed_rule: str = "none"
    model_parallel: str = "unknown"
    mpu_call: tuple[str, ...] = ()
    context_parallel: str = "none"
    injects: dict[str, dict[str, Any]] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)
    unsupported_when: dict[str, tuple[str, ...]] = field(default_factory=dict)
    world_division: dict[str, dict[str, Any]] = field(default_factory=dict)


def _world_division(stmt: ast.stmt, attr: str, tests: list[str]) -> dict[str, Any] | None:
    """``args.X = args.world_size // (args.model_parallel_size * args.sequence_parallel_size)``
    (CriliasMiller/Kaleido e54b5e7, arguments.py:191-192), alone or under ``if args.X is
    None:``: a size satc knows at compile time from the topology it compiles for."""
    value = getattr(stmt, "value", None)
    if not (
        isinstance(stmt, ast.Assign)
        and isinstance(value, ast.BinOp)
        and isinstance(value.op, ast.FloorDiv)
        and ast.unparse(value.left) == "args.world_size"
    ):
        return None
    factors: list[str] = []
    pending = [value.right]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            pending += [node.right, node.left]
            continue
        name = _args_attr(node)
        if name is None:
            return None
        factors.append(name)
    when_none = f"args.{attr} is None"
    if not factors or any(test != when_none for test in tests):
        return None
    return {"divisors": factors, "when_none": bool(tests)}


def _seed(stmt: ast.stmt, tests: list[str]) -> str:
    value = ast.unparse(stmt.value) if isinstance(stmt, ast.Assign | ast.AugAssign) and stmt.value else ""
    if "get_data_parallel_rank" in value:
        if any("inference" in t for t in tests):
            return "data_parallel_rank_unless_inference"
        return "data_parallel_rank" if not tests else "unknown"
    if value.endswith("get_rank()") or ".get_rank()" in value:
        return "global_rank" if not tests else "unknown"
    return "unknown"


def _context_parallel(func: ast.FunctionDef) -> str | None:
    calls = [
        n
        for n in walk(func)
        if isinstance(n, ast.Call)
        and (dotted_name(n.func) or "").endswith(
            ("set_context_parallel_group", "initialize_context_parallel")
        )
    ]
    if not calls:
        return None
    if len(calls) == 1 and (dotted_name(calls[0].func) or "").endswith("initialize_context_parallel"):
        # one unconditional size: initialize_context_parallel(1)
        ok, size = literal(calls[0].args[0] if calls[0].args else None)
        inside_if = any(isinstance(n, ast.If) and calls[0] in walk(n) for n in walk(func))
        if ok and isinstance(size, int) and not inside_if:
            return f"fixed:{size}"
    for node in walk(func):
        if (
            isinstance(node, ast.If)
            and ast.unparse(node.test).replace(" ", "") == "args.model_parallel_size<=2"
        ):
            body = ast.unparse(ast.Module(body=node.body, type_ignores=[]))
            orelse = ast.unparse(ast.Module(body=node.orelse, type_ignores=[]))
            if (
                "set_context_parallel_group(args.model_parallel_size" in body
                and "initialize_context_parallel(2)" in orelse
            ):
                return "cogvideox"
    return "unknown"


def read(sources: Sources, get_args: Found | None, sections: Read) -> Facts:
    facts = Facts()
    if get_args is None:
        facts.seed_rule = "unknown"
        return facts
    functions = _reachable(sources, get_args)
    seeds: list[str] = []
    mpu_calls: list[tuple[Found, ast.Call]] = []
    for found in functions:
        func = found.node
        assert isinstance(func, ast.FunctionDef)
        aliases = _model_config_aliases(func, sections)
        for node in in_order(func):
            if isinstance(node, ast.Call) and (dotted_name(node.func) or "").endswith(
                "initialize_model_parallel"
            ):
                mpu_calls.append((found, node))
        cp = _context_parallel(func)
        if cp is not None:
            facts.context_parallel = cp if facts.context_parallel in ("none", cp) else "unknown"
        for stmt, tests, loops in _with_context(func):
            if id(stmt) in sections.handled:
                continue
            for target in _targets(stmt):
                value = getattr(stmt, "value", None)
                if (
                    isinstance(target, ast.Attribute | ast.Subscript)
                    and _in_model_config(target, aliases)
                    and dotted_name(target) != MODEL_CONFIG
                ):
                    injected = _injections(target, value, aliases, loops)
                    if injected is None:
                        facts.unsupported.append(
                            f"{found.line(stmt)}: {_short(stmt)} (a change to model_config satc cannot follow)"
                        )
                    for path, text in injected or []:
                        facts.injects[path] = {"from": text, "source": found.line(stmt)}
                    continue
                attr = _args_attr(target)
                if attr is None:
                    continue
                division = _world_division(stmt, attr, tests)
                if division is not None and found.dotted == get_args.dotted:
                    facts.world_division[attr] = {**division, "source": found.line(stmt)}
                    continue
                if attr == "seed":
                    rule = _seed(stmt, tests)
                    seeds.append(rule)
                    if rule != "unknown":
                        continue
                elif (
                    attr in {s.dest for s in sections.sections.values() if s.dest}
                    or attr in REPRODUCED
                    and all(set(ARGS_ATTRIBUTE.findall(test)) <= CONDITIONS for test in tests)
                ):
                    continue
                statement = f"{found.line(stmt)}: {_short(stmt)}"
                facts.unsupported.append(statement)
                if tests and found.dotted == get_args.dotted:  # tests on get_args' own ``args``
                    facts.unsupported_when[statement] = tuple(tests)
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Call)
                and dotted_name(stmt.value.func) == "setattr"
                and stmt.value.args
                and dotted_name(stmt.value.args[0]) == "args"
                and (sections.loader is None or found.dotted != sections.loader.dotted)
            ):
                facts.unsupported.append(f"{found.line(stmt)}: {_short(stmt)}")
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                call = stmt.value
                if (
                    dotted_name(call.func) == "setattr"
                    and len(call.args) == 3
                    and not call.keywords
                    and _in_model_config(call.args[0], aliases)
                ):
                    # setattr(params, name, value) on a config node is params[name] = value
                    target = ast.Subscript(value=call.args[0], slice=call.args[1], ctx=ast.Store())
                    injected = _injections(target, call.args[2], aliases, loops)
                    if injected is None:
                        facts.unsupported.append(
                            f"{found.line(stmt)}: {_short(stmt)} (a change to model_config satc cannot follow)"
                        )
                    for path, text in injected or []:
                        facts.injects[path] = {"from": text, "source": found.line(stmt)}
                    continue
                method = call.func if isinstance(call.func, ast.Attribute) else None
                mutates = (
                    method is not None
                    and _in_model_config(method.value, aliases)
                    and method.attr in ("update", "merge_with", "pop", "setdefault", "__setitem__")
                ) or (
                    dotted_name(call.func) in ("setattr", "OmegaConf.update", "OmegaConf.set_struct")
                    and bool(call.args)
                    and _in_model_config(call.args[0], aliases)
                )
                if mutates:
                    facts.unsupported.append(
                        f"{found.line(stmt)}: {_short(stmt)} (a change to model_config satc cannot follow)"
                    )
    if seeds:
        facts.seed_rule = seeds[-1] if len(set(seeds)) == 1 else "unknown"
    if mpu_calls:
        # the call that runs at launch: the last one, after init_process_group
        found, call = mpu_calls[-1]
        facts.mpu_call = tuple(ast.unparse(a) for a in call.args)
        first = call.args[0] if call.args else None
        ok, value = literal(first)
        if ok and isinstance(value, int):
            facts.model_parallel = f"fixed:{value}"
        elif first is not None and ast.unparse(first) == "args.model_parallel_size":
            facts.model_parallel = "model_parallel_size"
    return facts


def _short(stmt: ast.stmt) -> str:
    text = " ".join(ast.unparse(stmt).split())
    return text if len(text) <= 100 else text[:97] + "..."


def second_stack(
    get_args: Found | None, sections: Read, arguments: dict[str, Argument]
) -> dict[str, Any] | None:
    """A config stack loaded from another flag than the first (``--second a.yaml b.yaml``)."""
    if not sections.stacks:
        return None
    main = sections.loader.node.name if sections.loader is not None else None
    first = next((d for d, _, loader in sections.stacks if loader == main), sections.stacks[0][0])
    copied = _copied_stack(get_args, first, arguments)
    if copied is not None:
        return copied
    for dest, source, loader in sections.stacks:
        if dest == first:
            continue
        argument = arguments.get(dest)
        flag = argument.flags[0] if argument is not None and argument.flags else f"--{dest}"
        namespace: str | None = None
        if get_args is not None:
            for stmt in walk(get_args.node):
                if (
                    isinstance(stmt, ast.Assign)
                    and isinstance(stmt.value, ast.Call)
                    and (dotted_name(stmt.value.func) or "").split(".")[-1] == loader
                ):
                    namespace = namespace or _args_attr(stmt.targets[0])
        return {"flag": flag, "dest": namespace or dest, "source": source}
    return None


def _copied_stack(
    get_args: Found | None, first: str, arguments: dict[str, Argument]
) -> dict[str, Any] | None:
    """``second = copy.deepcopy(args); second.base = args.second; second =
    process_config_to_args(second)``: the main loader run again over another flag's files."""
    if get_args is None:
        return None
    for stmt in walk(get_args.node):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            continue
        target = stmt.targets[0]
        if not (
            isinstance(target, ast.Attribute)
            and target.attr == first
            and isinstance(target.value, ast.Name)
            and target.value.id != "args"
        ):
            continue
        flag_dest = _args_attr(stmt.value)
        if flag_dest is None:
            continue
        local = target.value.id
        namespace = None
        for other in walk(get_args.node):
            if (
                isinstance(other, ast.Assign)
                and _args_attr(other.targets[0]) is not None
                and any(isinstance(n, ast.Name) and n.id == local for n in walk(other.value))
            ):
                namespace = _args_attr(other.targets[0])
                break
        argument = arguments.get(flag_dest)
        flag = argument.flags[0] if argument is not None and argument.flags else f"--{flag_dest}"
        return {"flag": flag, "dest": namespace or local, "source": get_args.line(stmt)}
    return None


def build(
    facts: Facts,
    get_args: Found | None,
    sections: Read,
    second: dict[str, Any] | None,
    base_layers: dict[str, Any] | None = None,
) -> GetArgs:
    return GetArgs(
        source=get_args.line() if get_args is not None else "",
        args_assignment=sections.args_assignment,
        seed_rule=facts.seed_rule,
        model_parallel=facts.model_parallel,
        context_parallel=facts.context_parallel,
        injects_model_config=dict(sorted(facts.injects.items())),
        second_stack=second,
        # the second stack's namespace is recorded above, not unsupported
        unsupported=tuple(
            u for u in facts.unsupported if second is None or f": args.{second['dest']} = " not in u
        ),
        unsupported_when=dict(sorted(facts.unsupported_when.items())) or None,
        mpu_call=facts.mpu_call,
        base_layers=base_layers,
        merged_files=dict(sections.merged_files) or None,
        deepspeed_inference=unbound.deepspeed_in_inference(get_args),
        world_division=dict(sorted(facts.world_division.items())) or None,
    )
