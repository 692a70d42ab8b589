"""What the project's own `get_args` does beyond parsing (the reader's GetArgs facts).

satc reproduces what it can (which rank's offset the seed gets, the model-parallel size
the project really initialises, values it copies from args into `model_config`) and
says at compile time, naming the file:line, what it cannot, instead of guessing.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from ..plan import Derivation
from ..project import select
from .work import Work

# What the runtime adds to args.seed on each rank, by the project's rule.
SEED_RULES = {
    "data_parallel_rank": "seed + the data-parallel rank",
    "data_parallel_rank_unless_inference": "seed + the data-parallel rank; the seed itself in inference",
    "global_rank": "seed + the global rank",
    "none": "the seed itself on every rank",
}


def g1_project_get_args(work: Work) -> None:
    """G1-G4: the project's get_args, as far as satc reproduces it."""
    get_args = select.for_config(work.config).get_args
    guards = get_args.unsupported_when or {}
    for statement in get_args.unsupported:
        if any(_holds(work.args, test) is False for test in guards.get(statement, ())):
            continue  # under an `if` this launch does not take: the statement does not run
        work.warn(
            "args",
            f"satc cannot reproduce what the project's get_args does here: {statement} [G1]",
            "check the compiled args.json against the project's own get_args; "
            "accept it with satc.accept_warnings: [args] once reviewed",
        )
    if get_args.second_stack:
        stack = get_args.second_stack
        work.warn(
            "args",
            f"the project's get_args builds a second namespace from another config stack "
            f"({stack.get('flag', '?')}, {stack.get('source', get_args.source)}): satc cannot reproduce it [G2]",
            "compile the second stack on its own, or pass it to the script after launch.sh",
        )
    for attr, source in (get_args.merged_files or {}).items():
        named = work.args.get(attr)
        if named:
            work.warn(
                f"args.{attr}",
                f"the project's config loader merges the file args.{attr} names ({named!r}) over the "
                f"--base files ({source}): satc does not read it, so the bundle lacks its values [G2]",
                f"give {named} as the last config to satc compile instead",
            )
    entry = str(work.launch.get("entrypoint") or "").rsplit("/", 1)[-1]
    own_argv = (get_args.entry_argv or {}).get(entry)
    if own_argv:
        work.warn(
            "launch.entrypoint",
            f"{entry} writes its own command line ({own_argv}) for get_args to parse: "
            "satc.runtime.get_args hands this bundle's namespace and refuses any argument list, "
            "so the script stops there when launched from the bundle [G2]",
            "launch a script that calls get_args() on the command line it is given, "
            "or launch this one without satc",
        )
    second_call = (get_args.entry_get_args or {}).get(entry)
    if second_call:
        work.warn(
            "launch.entrypoint",
            f"{entry} calls get_args a second time ({second_call}) with an argument list of its own "
            "(a second namespace, from another config stack): satc.runtime.get_args hands this bundle's "
            "namespace and refuses any argument list, so that call cannot be reproduced [G2]",
            "compile the second stack as a bundle of its own and read it with satc.runtime.load(DIR) "
            "in the script, or launch the script without satc",
        )
    if get_args.seed_rule not in SEED_RULES:
        work.warn(
            "args.seed",
            f"satc cannot tell what the project's get_args ({get_args.source}) does with the seed on each "
            "rank; the runtime adds the data-parallel rank as CogVideoX does [G3]",
        )
    elif get_args.seed_rule != "data_parallel_rank":  # CogVideoX's rule is D5's
        work.derivations.append(
            Derivation("args.seed", "G3", f"per rank: {SEED_RULES[get_args.seed_rule]} ({get_args.source})")
        )
    if get_args.model_parallel == "fixed:1":
        mp = work.args.get("model_parallel_size", 1)
        if mp != 1:
            work.warn(
                "args.model_parallel_size",
                f"the project's get_args initialises model parallelism with 1 ({get_args.source}) whatever "
                f"args.model_parallel_size says ({mp}): the topology uses 1 [G4]",
                "remove args.model_parallel_size, or set it to 1",
            )


def fixed_model_parallel(work: Work) -> bool:
    return select.for_config(work.config).get_args.model_parallel == "fixed:1"


def g6_world_division(work: Work) -> None:
    """G6: args the project's get_args computes as world_size // (a product of args), from
    the world this bundle is compiled for (D6), as that code would at launch.  A divisor
    that is zero, negative or not an integer is an error (that arithmetic dies or yields
    nonsense); a given value the project keeps that differs from the arithmetic is a warning."""
    division = select.for_config(work.config).get_args.world_division or {}
    world = work.topology.get("world_size")
    for attr, spec in sorted(division.items()):
        if not isinstance(world, int) or attr not in work.args:
            continue
        names = list(spec.get("divisors", ()))
        source = spec.get("source", "")
        formula = f"args.world_size // ({' * '.join(f'args.{name}' for name in names)})"
        kept = spec.get("when_none") and work.args[attr] is not None
        if not names or not _divisors_ok(work, attr, names, formula, source, runs=not kept):
            continue
        factors = [work.args[name] for name in names]
        product = 1
        for factor in factors:
            product *= factor
        arithmetic = f"world_size {world} // ({' x '.join(map(str, factors))})"
        if kept:
            given = work.args[attr]
            if given != world // product:
                mesh = _mesh_built(work, attr)
                message = (
                    f"{attr} {given!r} is kept by the project's get_args ({source}), but {arithmetic} = "
                    f"{world // product}: SAT's mpu lays out its own data parallel from the world"
                )
                hint = f"delete args.{attr}: the project computes {world // product} for this world"
                if mesh is not None:
                    work.error(
                        f"args.{attr}",
                        f"{message}, and the project's SAT sizes a device mesh by it ({mesh}): "
                        f"{' x '.join(map(str, factors))} x {given} ranks in a world of {world} [G6]",
                        hint,
                    )
                else:
                    work.warn(
                        f"args.{attr}",
                        f"{message}, so code that sizes anything by args.{attr} (a device mesh) "
                        "disagrees with it [G6]",
                        hint,
                    )
            continue
        work.derive(
            f"args.{attr}",
            world // product,
            "G6",
            f"{world // product} = {arithmetic}: the project's get_args ({source})",
            "topology.world_size",
            *(f"args.{name}" for name in names),
        )


def _divisors_ok(work: Work, attr: str, names: list[str], formula: str, source: str, runs: bool) -> bool:
    """Are the divisors plain positive sizes?  Where the division runs at launch, one that is
    zero, negative or (given) not an integer is an error: ZeroDivisionError, a nonsense size
    or a TypeError in the project's get_args.  A key another rule already refused is left to it."""
    refused = {problem.key for problem in work.errors}
    ok = True
    for name in names:
        value = work.args.get(name)
        if type(value) is int and value > 0:
            continue
        ok = False
        key = f"args.{name}"
        if not runs or key in refused:
            continue
        if type(value) is int:
            what = "ZeroDivisionError" if value == 0 else f"a negative {attr}"
            work.error(
                key,
                f"{name} {value}: the project's get_args computes args.{attr} = {formula} "
                f"({source}), which gives {what} [G6]",
                f"set {name} to at least 1",
            )
        elif work.given("args", name):
            work.error(
                key,
                f"{name} {value!r} is not an integer: the project's get_args computes args.{attr} = "
                f"{formula} ({source}) with it [G6]",
                f"set {name} to a whole number of ranks, at least 1",
            )
    return ok


def _mesh_built(work: Work, attr: str) -> str | None:
    """Where the project's SAT surely builds a device mesh sized by args.<attr> for this
    launch (a training run, every if test on the way holding for the compiled args); None
    where it does not or satc cannot tell."""
    if not work.training:
        return None  # SAT builds it in training_main's set-up only
    for entry in (select.for_config(work.config).sat.mesh_reads or {}).get(attr, ()):
        if all(_holds(work.args, test) is taken for test, taken in entry.get("when", ())):
            return str(entry.get("source", ""))
    return None


def _holds(args: dict[str, Any], test: str) -> bool | None:
    """A SAT ``if`` test over args (``args.fsdp2``, ``args.train_data is not None``,
    ``hasattr(args, 'fsdp2') and args.fsdp2``, ``args.model_parallel_size > 1``) judged on
    the compiled args; None for anything else."""
    try:
        node = ast.parse(test, mode="eval").body
    except SyntaxError:
        return None
    return _truth(args, node)


_UNKNOWN = object()


def _value(args: dict[str, Any], node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "args"
        and node.attr in args
    ):
        return args[node.attr]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "hasattr"
        and len(node.args) == 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "args"
        and isinstance(node.args[1], ast.Constant)
    ):
        return node.args[1].value in args
    return _UNKNOWN


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def _truth(args: dict[str, Any], node: ast.expr) -> bool | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _truth(args, node.operand)
        return None if inner is None else not inner
    if isinstance(node, ast.BoolOp):
        parts = [_truth(args, value) for value in node.values]
        decisive = isinstance(node.op, ast.Or)  # an or is decided by a True, an and by a False
        if decisive in parts:
            return decisive
        return None if None in parts else not decisive
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        left, right = _value(args, node.left), _value(args, node.comparators[0])
        if _UNKNOWN in (left, right):
            return None
        try:
            return bool(_COMPARE[type(node.ops[0])](left, right))
        except TypeError:
            return None
    value = _value(args, node)
    return None if value is _UNKNOWN else bool(value)
