"""What the project's ``get_args`` does after parsing, as far as it can be read.

satc reproduces CogVideoX's post-parse rules (docs/rules.md R1-R14).  A fork changes some
of them: Tora seeds inference without the data-parallel offset, CogView3 seeds by global
rank and builds one model-parallel group whatever the flag says; others inject model
parameters or load a second config stack.  Those are read here; any other assignment to
``args`` is listed as unsupported so the compiler can say so instead of guessing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from .facts import Argument, GetArgs
from .sections import Read
from .sources import Found, Sources, in_order, literal, resolve_in

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
MODEL_CONFIG = "args.model_config"


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
            target = resolve_in(sources, found.module, func, ast.unparse(node.func))
            if (
                isinstance(target, Found)
                and isinstance(target.node, ast.FunctionDef)
                and not target.module.name.startswith(("sat.", "deepspeed", "torch"))
                and all(target.dotted != f.dotted for f in out)
            ):
                out.append(target)
    return out


def _with_context(func: ast.FunctionDef) -> list[tuple[ast.stmt, list[str]]]:
    """Every statement with the tests of the ``if``s around it (``not`` for an else)."""
    out: list[tuple[ast.stmt, list[str]]] = []

    def visit(body: list[ast.stmt], tests: list[str]) -> None:
        for stmt in body:
            out.append((stmt, tests))
            if isinstance(stmt, ast.If):
                test = ast.unparse(stmt.test)
                visit(stmt.body, [*tests, test])
                visit(stmt.orelse, [*tests, f"not ({test})"])
            elif isinstance(stmt, ast.For | ast.While | ast.With | ast.AsyncWith | ast.AsyncFor):
                visit(stmt.body, tests)
                visit(getattr(stmt, "orelse", []), tests)
            elif isinstance(stmt, ast.Try):
                visit(stmt.body, tests)
                for handler in stmt.handlers:
                    visit(handler.body, tests)
                visit(stmt.orelse, tests)
                visit(stmt.finalbody, tests)

    visit(func.body, [])
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


def _model_config_path(target: ast.expr, aliases: set[str]) -> str | None:
    """``args.model_config.network_config.params.x`` / ``model_config["x"]`` -> "network_config.params.x"."""
    parts: list[str] = []
    node = target
    while True:
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "args" and node.attr == "model_config":
                break
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            ok, key = literal(node.slice)
            if not (ok and isinstance(key, str | int)):
                return None
            parts.append(str(key))
            node = node.value
        elif isinstance(node, ast.Name) and node.id in aliases:
            break
        else:
            return None
    return ".".join(reversed(parts)) if parts else None


@dataclass
class Facts:
    seed_rule: str = "none"
    model_parallel: str = "unknown"
    mpu_call: tuple[str, ...] = ()
    context_parallel: str = "none"
    injects: dict[str, dict[str, Any]] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)


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
        for n in ast.walk(func)
        if isinstance(n, ast.Call)
        and ast.unparse(n.func).endswith(("set_context_parallel_group", "initialize_context_parallel"))
    ]
    if not calls:
        return None
    for node in ast.walk(func):
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
        aliases = {
            t.id
            for stmt in ast.walk(func)
            if isinstance(stmt, ast.Assign) and ast.unparse(stmt.value) == MODEL_CONFIG
            for t in stmt.targets
            if isinstance(t, ast.Name)
        }
        for node in in_order(func):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("initialize_model_parallel"):
                mpu_calls.append((found, node))
        cp = _context_parallel(func)
        if cp is not None:
            facts.context_parallel = cp if facts.context_parallel in ("none", cp) else "unknown"
        for stmt, tests in _with_context(func):
            if id(stmt) in sections.handled:
                continue
            for target in _targets(stmt):
                value = getattr(stmt, "value", None)
                path = _model_config_path(target, aliases)
                if path is not None:
                    facts.injects[path] = {
                        "from": ast.unparse(value) if value is not None else "",
                        "source": found.line(stmt),
                    }
                    continue
                attr = _args_attr(target)
                if attr is None:
                    continue
                if attr == "seed":
                    rule = _seed(stmt, tests)
                    seeds.append(rule)
                    if rule != "unknown":
                        continue
                elif attr in REPRODUCED or attr in {s.dest for s in sections.sections.values() if s.dest}:
                    continue
                facts.unsupported.append(f"{found.line(stmt)}: {_short(stmt)}")
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Call)
                and ast.unparse(stmt.value.func) == "setattr"
                and stmt.value.args
                and ast.unparse(stmt.value.args[0]) == "args"
                and (sections.loader is None or found.dotted != sections.loader.dotted)
            ):
                facts.unsupported.append(f"{found.line(stmt)}: {_short(stmt)}")
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
    if len(sections.stacks) < 2:
        return None
    first = sections.stacks[0][0]
    for dest, source, loader in sections.stacks[1:]:
        if dest == first:
            continue
        argument = arguments.get(dest)
        flag = argument.flags[0] if argument is not None and argument.flags else f"--{dest}"
        namespace: str | None = None
        if get_args is not None:
            for stmt in ast.walk(get_args.node):
                if (
                    isinstance(stmt, ast.Assign)
                    and isinstance(stmt.value, ast.Call)
                    and ast.unparse(stmt.value.func).split(".")[-1] == loader
                ):
                    namespace = namespace or _args_attr(stmt.targets[0])
        return {"flag": flag, "dest": namespace or dest, "source": source}
    return None


def build(facts: Facts, get_args: Found | None, sections: Read, second: dict[str, Any] | None) -> GetArgs:
    return GetArgs(
        source=get_args.line() if get_args is not None else "",
        args_assignment=sections.args_assignment,
        seed_rule=facts.seed_rule,
        model_parallel=facts.model_parallel,
        context_parallel=facts.context_parallel,
        injects_model_config=dict(sorted(facts.injects.items())),
        second_stack=second,
        unsupported=tuple(facts.unsupported),
    )
