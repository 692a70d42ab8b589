"""Command line: one place turns problems into messages and exit codes.

Exit codes: 0 ok, 1 drift found by `check`, 2 invalid input or usage.  Anything
else is a bug in satc.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import __version__
from .errors import ConfigError, Problem

EXIT_INVALID = 2
EXIT_BUG = 70

F = TypeVar("F", bound=Callable[..., Any])


def _print_problems(problems: list[Problem] | tuple[Problem, ...]) -> None:
    from .credentials import redact

    for problem in problems:
        click.echo(redact(problem.render()), err=True)


def reports_problems(command: F) -> F:
    """Invalid input -> located messages on stderr and exit 2; never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            _print_problems(exc.problems)
            errors = sum(1 for p in exc.problems if p.severity == "error")
            writes = click.get_current_context().info_name in ("compile", "sweep")
            click.echo(f"satc: {errors} error(s)" + ("; nothing written" if writes else ""), err=True)
            sys.exit(EXIT_INVALID)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: say so plainly instead of dumping a traceback
            if os.environ.get("SATC_DEBUG"):
                raise
            click.echo(
                f"satc: internal error ({type(exc).__name__}: {exc}). This is a bug in satc; "
                "rerun with SATC_DEBUG=1 for a traceback and report it.",
                err=True,
            )
            sys.exit(EXIT_BUG)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="satc")
def main() -> None:
    """Compile SwissArmyTransformer / CogVideoX configs into reproducible launch bundles."""


# ---- Plan before queue: compile from a bundle, plan, sweep ---------------------------


def _from_bundle(
    configs: tuple[str, ...], overrides: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A lone bundle directory stands for the configs and overrides it records; the
    command line's --set come after them, so `--set launch.nodes=4` retargets it."""
    # A directory without args.json is left to the loader, which says what it is.
    if len(configs) != 1 or not os.path.isfile(os.path.join(configs[0], "args.json")):
        return configs, overrides
    from .commands import committed

    try:
        recipe = committed.recipe(Path(configs[0]), committed.read_document(Path(configs[0])))
    except committed.UnreadableBundle as exc:
        raise click.UsageError(f"{configs[0]}: {exc}") from None
    keep = _kept_global_batch(Path(configs[0]), recipe.overrides, overrides)
    if keep and overrides:
        click.echo(
            f"satc: note: keeping {configs[0]}'s global batch of {keep} for the new topology "
            f"(launch.global_batch_size={keep}; --set launch.global_batch_size=N to change it)",
            err=True,
        )
        overrides = (*overrides, f"launch.global_batch_size={keep}")
    return recipe.configs, (*recipe.overrides, *overrides)


_BATCH_KEYS = (
    "launch.global_batch_size",
    "deepspeed.train_batch_size",
    "deepspeed.gradient_accumulation_steps",
    "args.gradient_accumulation_steps",
)


def _kept_global_batch(directory: Path, recorded: tuple[str, ...], new: tuple[str, ...]) -> int | None:
    """The committed train_batch_size, unless the new overrides decide the batch or the
    bundle already pins it (a recorded override wins over nothing, but the new ones win)."""
    from .commands import committed

    keys = [o.split("=", 1)[0].strip() for o in new]
    if any(key in _BATCH_KEYS for key in keys) or any(
        o.split("=", 1)[0].strip() == "launch.global_batch_size" for o in recorded
    ):
        return None
    ds = committed.read_document(directory).get("deepspeed_config")
    total = ds.get("train_batch_size") if isinstance(ds, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _memory_summary(plan: Any) -> str:
    from .commands.plan import summary_line

    return summary_line(plan)


@main.command("plan")
@click.argument("configs", nargs=-1, required=True, metavar="CONFIG...|BUNDLE")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a value after all files, as in compile (e.g. --set launch.nodes=4).",
)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@reports_problems
def plan_command(configs: tuple[str, ...], overrides: tuple[str, ...], output_format: str) -> None:
    """Estimate per-GPU memory of CONFIG... (or a committed bundle) by component, judge
    it against launch.gpu / launch.gpu_memory_gb, and show what would make it fit.
    Writes nothing; imports no torch."""
    from .commands.plan import missing_model, render_json, render_text, report
    from .errors import derived_location, fail
    from .pipeline import compile_bundle

    configs, overrides = _from_bundle(configs, overrides)
    bundle = compile_bundle(list(configs), list(overrides), Path("."))
    reason = missing_model(bundle.plan)
    if reason:
        raise fail(
            derived_location(" + ".join(configs)),
            "model.network_config",
            f"nothing to plan: {reason}",
            "add the model's config (e.g. CogVideoX's configs/cogvideox_5b.yaml) before the others",
        )
    result = report(bundle.plan)
    click.echo(render_json(result) if output_format == "json" else render_text(result), nl=False)


@main.command("sweep")
@click.argument("configs", nargs=-1, required=True, metavar="CONFIG...|BUNDLE")
@click.option(
    "--sweep",
    "axes",
    multiple=True,
    required=True,
    metavar="KEY=V1,V2,...",
    help="One axis of the grid (cartesian over all --sweep). Repeatable.",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override for every point.")
@click.option("-o", "--output", "output", required=True, help="Directory to hold one bundle per point.")
@click.option("--no-fit-check", is_flag=True, help="Write points whose memory estimate does not fit the GPU.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@reports_problems
def sweep_command(
    configs: tuple[str, ...],
    axes: tuple[str, ...],
    overrides: tuple[str, ...],
    output: str,
    no_fit_check: bool,
    strict: bool,
) -> None:
    """Compile one bundle per point of the --sweep grid into -o DIR/<point>/, each with
    its own args.experiment_name, args.save and SLURM job name, plus DIR/sweep.json.
    Every point is compiled, validated and fit-checked first: if any fails, nothing is
    written (exit 2).  `satc check --all --root DIR` checks every point."""
    from .commands import sweep

    try:
        grid = sweep.parse_axes(axes)
    except sweep.AxisError as exc:
        raise click.UsageError(str(exc)) from None
    root = Path(output)
    if not output.strip():
        raise click.UsageError("-o needs a directory name")
    configs, overrides = _from_bundle(configs, overrides)
    try:
        points = sweep.plan_points(
            list(configs), list(overrides), grid, root, fit_check=not no_fit_check, strict=strict
        )
    except sweep.InvalidPoints as exc:
        for label, problems in exc.failures:
            click.echo(f"sweep point {label}: INVALID", err=True)
            _print_problems(problems)
        click.echo(
            f"satc: {len(exc.failures)} of {exc.total} sweep point(s) invalid; nothing written", err=True
        )
        sys.exit(EXIT_INVALID)
    _write_sweep(root, grid, points)


def _write_sweep(root: Path, grid: Any, points: Any) -> None:
    from .commands import sweep

    _print_problems(sweep.distinct_warnings(points))
    sweep.write(root, grid, points)
    for point in points:
        fits = "" if point.fits is None else (" (fits)" if point.fits else " (does not fit)")
        memory = "" if point.per_gpu_gib is None else f"; ~{point.per_gpu_gib:.1f} GiB/GPU{fits}"
        click.echo(f"wrote {root / point.name}: {', '.join(point.assignments)}{memory}")
    click.echo(
        f"wrote {root / sweep.INDEX}: {len(points)} bundle(s); check them with satc check --all --root {root}"
    )


@main.command("compile")
@click.argument("configs", nargs=-1, required=True)
@click.option("-o", "--output", "output", required=True, help="Bundle directory to (re)write.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a value after all files (e.g. --set args.lr=1e-4). Repeatable.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@reports_problems
def compile_command(configs: tuple[str, ...], output: str, overrides: tuple[str, ...], strict: bool) -> None:
    """Compile CONFIG... (merged left to right) into a bundle in -o DIR.

    A committed bundle directory may stand for its configs and overrides: with --set it
    is retargeted (e.g. --set launch.nodes=4), keeping its global batch."""
    from .commands.summary import describe
    from .pipeline import compile_bundle
    from .write import check_target, write_bundle

    if not output.strip():
        raise click.UsageError("-o needs a directory name")
    out_dir = Path(output)
    check_target(Path(os.path.abspath(out_dir)), set())
    configs, overrides = _from_bundle(configs, overrides)
    bundle = compile_bundle(list(configs), list(overrides), out_dir, strict=strict)
    _print_problems(bundle.warnings)
    write_bundle(out_dir, bundle.files)
    click.echo(f"wrote {output}: {', '.join(sorted(bundle.files))}")
    click.echo(describe(bundle.plan))
    click.echo(_memory_summary(bundle.plan))


# ---- Committed bundles: check, explain, diff, schema (issue 5) ----------------------

_FORMATS = click.Choice(["text", "json"])


@main.command("check")
@click.argument("configs", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Committed bundle directory. Repeatable when no CONFIG is given.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="The overrides the bundle was compiled with (with CONFIG...).",
)
@click.option(
    "--all",
    "all_bundles",
    is_flag=True,
    help="Check every bundle under --root, each from the inputs its args.json records.",
)
@click.option(
    "--root",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where --all looks for bundles.",
)
@click.option("-q", "--quiet", is_flag=True, help="Say nothing about bundles that are up to date.")
@reports_problems
def check_command(
    configs: tuple[str, ...],
    outputs: tuple[str, ...],
    overrides: tuple[str, ...],
    all_bundles: bool,
    root: str,
    quiet: bool,
) -> None:
    """Recompile in memory and compare with committed bundles; write nothing.

    \b
    satc check CONFIG... -o DIR [--set K=V]...  the bundle compiled from these inputs
    satc check -o DIR [-o DIR]...               each bundle from its recorded inputs
    satc check --all [--root PATH]              every bundle under PATH (pre-commit)

    Exit 0 when every bundle is byte-identical to a fresh compile, 1 on drift (stale
    inputs, hand edits, missing or extra files, another satc version; a unified diff
    per file follows), 2 on invalid input: a config that does not compile, or a -o
    that is no satc bundle (no such directory, no args.json), or a --root that does
    not exist.  Over several bundles: 2 if any target is invalid, else 1 if any
    drifted, else 0.  --all over a root holding no bundles says so and exits 0, so
    the pre-commit hook passes in a repository without bundles.
    """
    from .commands import check, committed

    if configs:
        if len(outputs) != 1 or all_bundles:
            raise click.UsageError("with CONFIG... give exactly one -o DIR (and no --all)")
        result = check.check(list(configs), list(overrides), Path(outputs[0]), outputs[0])
        click.echo(check.render(result), nl=False)
        sys.exit(0 if result.clean else 1)
    if overrides:
        raise click.UsageError("--set needs CONFIG...; without them each bundle's own are used")
    targets = list(outputs)
    if all_bundles:
        if not os.path.isdir(root):
            reason = "not a directory" if os.path.exists(root) else "no such directory"
            raise check.not_a_bundle(f"--root {root}", reason, "--all looks for bundles under --root")
        found = [os.path.relpath(path) for path in committed.find_bundles(Path(root))]
        if not found and not targets:
            click.echo(f"satc check: no satc bundles under {root}")
            sys.exit(0)
        targets += found
    if not targets:
        raise click.UsageError("give CONFIG... -o DIR, -o DIR, or --all")
    drifted = invalid = 0
    for target in dict.fromkeys(targets):  # each once, in order
        try:
            result = check.check_recorded(Path(target), target)
        except ConfigError as exc:
            invalid += 1
            click.echo(f"{target}: INVALID INPUT", err=True)
            _print_problems(exc.problems)
            continue
        drifted += not result.clean
        if not (quiet and result.clean):
            click.echo(check.render(result), nl=False)
    if all_bundles:
        drifted += _check_sweep_indexes(Path(root), quiet)
    if len(targets) > 1 or all_bundles:
        click.echo(
            f"satc check: {len(dict.fromkeys(targets))} bundle(s), {drifted} drifted, "
            f"{invalid} with invalid input"
        )
    sys.exit(EXIT_INVALID if invalid else 1 if drifted else 0)


def _check_sweep_indexes(root: Path, quiet: bool) -> int:
    """--all also checks each sweep index against its bundles; returns how many drifted."""
    from .commands import sweep

    drifted = 0
    for index in sweep.find_indexes(root):
        drift = sweep.index_drift(index)
        drifted += bool(drift)
        if drift or not quiet:
            click.echo(f"{os.path.relpath(index)}: " + ("DRIFT" if drift else "up to date"))
        for line in drift:
            click.echo(f"  {line}")
    return drifted


def _complete_files(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")]


def _differs_on_disk(out_dir: Path, files: dict[str, str]) -> bool:
    on_disk = {p.name for p in out_dir.iterdir() if p.is_file()}
    return on_disk != set(files) or any(
        (out_dir / name).read_bytes() != text.encode("utf-8") for name, text in files.items()
    )


def _is_config(item: str) -> bool:
    """A YAML file or a bundle directory; anything else on explain's line is a KEY."""
    return (
        item.endswith((".yaml", ".yml"))
        or os.path.isfile(item)
        or os.path.isfile(os.path.join(item, "args.json"))
    )


@main.command("explain")
@click.argument(
    "items", nargs=-1, required=True, metavar="CONFIG... [KEY...]", shell_complete=_complete_files
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a value after all files, as in compile.",
)
@click.option("--format", "output_format", type=_FORMATS, default="text", show_default=True)
@click.option(
    "--topology",
    "show_topology",
    is_flag=True,
    help="Also print every rank's node, model-, data- and context-parallel group.",
)
@reports_problems
def explain_command(
    items: tuple[str, ...], overrides: tuple[str, ...], output_format: str, show_topology: bool
) -> None:
    """Show each KEY's final value and where it came from.

    A KEY is dotted (args.lr, deepspeed.zero_optimization.stage, topology.world_size)
    or short (lr, train_batch_size). Its source is a file:line, a --set, a default or
    a derivation rule with its inputs; the layers it overrode follow. Without KEYs:
    a summary of the plan. A committed bundle directory may stand for its CONFIGs.
    """
    from .commands import committed
    from .commands.explain import Explainer, render_json, render_summary, render_text, summary_document
    from .pipeline import compile_bundle

    configs = [item for item in items if _is_config(item)]
    keys = [item for item in items if not _is_config(item)]
    if not configs:
        raise click.UsageError("give at least one CONFIG (a YAML file) or bundle directory")
    out_dir = Path(".")
    if len(configs) == 1 and os.path.isdir(configs[0]):
        out_dir = Path(configs[0])
        try:
            recipe = committed.recipe(out_dir, committed.read_document(out_dir))
        except committed.UnreadableBundle as exc:
            raise click.UsageError(f"{configs[0]}: {exc}") from None
        configs, overrides = list(recipe.configs), (*recipe.overrides, *overrides)
    bundle = compile_bundle(configs, list(overrides), out_dir)
    if out_dir != Path(".") and _differs_on_disk(out_dir, bundle.files):
        click.echo(
            f"satc: note: {out_dir} is stale: a fresh compile of its inputs differs from "
            f"the committed files (see `satc check -o {out_dir}`); the values below come "
            "from the current inputs",
            err=True,
        )
    explainer = Explainer(bundle.config, bundle.plan)
    if show_topology:
        from .commands.topology_table import table

        click.echo(table(bundle.plan.topology, bundle.plan.launch["target"]))
    if not keys:
        click.echo(
            render_json(summary_document(explainer))
            if output_format == "json"
            else render_summary(explainer),
            nl=False,
        )
        return
    problems: list[Problem] = []
    full: list[str] = []
    for key in keys:
        try:
            full += explainer.resolve_keys(key)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    explanations = [explainer.explain(key) for key in dict.fromkeys(full)]
    if output_format == "json":
        click.echo(render_json([item.as_dict() for item in explanations]), nl=False)
    else:
        click.echo(render_text(explanations), nl=False)


@main.command("diff")
@click.argument("bundle_a", type=click.Path())
@click.argument("bundle_b", type=click.Path())
@click.option("--format", "output_format", type=_FORMATS, default="text", show_default=True)
@reports_problems
def diff_command(bundle_a: str, bundle_b: str, output_format: str) -> None:
    """Semantic diff of two bundles, grouped by section (summary, args, deepspeed,
    topology, launch, model, data, provenance, files). Exit 0 when they mean the same,
    1 when they differ (as diff(1) does), 2 for something that is not a bundle."""
    from .commands.diff import diff_bundles, render_json, render_text

    changes = diff_bundles(Path(bundle_a), Path(bundle_b))
    render = render_json if output_format == "json" else render_text
    click.echo(render(changes, bundle_a, bundle_b), nl=False)
    sys.exit(1 if changes else 0)


@main.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of satc configs (for editors: see README, "Editor support")."""
    from . import resources

    click.echo(resources.schema_text(), nl=False)


@main.command("topology")
@click.argument("configs", nargs=-1, required=True)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a value after all files (e.g. --set launch.nodes=2). Repeatable.",
)
@reports_problems
def topology_command(configs: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Print the rank layout of CONFIG...: nodes x local ranks, each rank's groups."""
    from .commands.topology_table import table
    from .load import load
    from .resolve import resolve
    from .validate import validate

    config = load(list(configs), list(overrides))
    errors, warnings = validate(config)
    if errors:
        raise ConfigError(errors + warnings)
    plan = resolve(config)
    click.echo(table(plan.topology, plan.launch["target"]), nl=False)
