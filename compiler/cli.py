"""Command line: one place turns problems into messages and exit codes.

Exit codes: 0 ok, 1 drift found by `check`, 2 invalid input or usage.  Anything
else is a bug in satc, except death by SIGPIPE when the reader of stdout went away
(see Satc).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from .. import __version__
from ..scrub import escape
from .errors import ConfigError, Location, Problem

EXIT_INVALID = 2
EXIT_BUG = 70

F = TypeVar("F", bound=Callable[..., Any])


def _print_problems(problems: list[Problem] | tuple[Problem, ...]) -> None:
    from .credentials import redact

    for problem in problems:
        click.echo(redact(problem.render()), err=True)


def _echo(text: str, **kwargs: Any) -> None:
    """Print what a command reports: values from configs and committed files reach the
    terminal only redacted and escaped, as every problem message does."""
    from .credentials import terminal_text

    click.echo(terminal_text(text), **kwargs)


def _os_problem(exc: OSError) -> Problem:
    """A file-system refusal (a name over NAME_MAX, a symlink loop, a full disk, no
    permission) is the user's input meeting the machine: a located message, exit 2."""
    where = exc.filename if isinstance(exc.filename, str) else "satc"
    if len(where) > 160:  # a name over PATH_MAX would drown the message
        where = f"{where[:80]}...{where[-60:]}"
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return Problem(Location(rank=0, label=where), "", f"cannot use this path: {reason}")


def reports_problems(command: F) -> F:
    """Invalid input -> located messages on stderr and exit 2; never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            _print_problems(exc.problems)
            if exc.note:  # after the problems: the first line stays the first problem
                click.echo(exc.note, err=True)
            errors = sum(1 for p in exc.problems if p.severity == "error")
            writes = click.get_current_context().info_name in ("compile", "sweep")
            click.echo(f"satc: {errors} error(s)" + ("; nothing written" if writes else ""), err=True)
            sys.exit(EXIT_INVALID)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # the reader went away: see Satc.main
            _print_problems([_os_problem(exc)])
            writes = click.get_current_context().info_name == "compile"
            click.echo("satc: 1 error(s)" + ("; nothing written" if writes else ""), err=True)
            sys.exit(EXIT_INVALID)
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


class Satc(click.Group):
    """satc's command group: a reader that closes the pipe ends satc as it ends `cat`.

    `satc explain ... | head -1` or `satc schema | true` close stdout early.  Python
    ignores SIGPIPE and raises BrokenPipeError, which click turns into exit 1 (that
    means drift) and a command into an internal error.  With SIGPIPE's default action
    the process ends quietly, killed by the signal (status 141 in a shell), whatever
    it was printing.  Nothing is ever half done by it: a bundle is complete on disk
    before compile prints a line, and files and directories never raise SIGPIPE.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from . import entry

        try:
            previous = signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        except (ValueError, OSError):  # not the main thread (an embedding caller)
            return super().main(*args, **kwargs)
        # Ctrl-C: one line and status 130 (click alone says "Aborted!" and exits 1).
        interrupt = entry.install()
        try:
            return super().main(*args, **kwargs)
        except (entry.Interrupted, KeyboardInterrupt):
            entry.report_interrupt()
        finally:
            signal.signal(signal.SIGPIPE, previous)
            if interrupt is not None:
                signal.signal(signal.SIGINT, cast(Any, interrupt))

    # click's usage errors quote the command line (`No such option: --...`, an invalid
    # choice): escape them like every other message before click prints them.
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _escaped_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _escaped_usage_errors():
            return super().invoke(ctx)


@contextlib.contextmanager
def _escaped_usage_errors() -> Iterator[None]:
    from .credentials import terminal_text

    try:
        yield
    except click.ClickException as exc:
        exc.message = terminal_text(exc.message)  # type: ignore[misc]  # Final in the stubs only
        raise


@click.group(cls=Satc, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="satc")
def main() -> None:
    """Compile SwissArmyTransformer / CogVideoX configs into reproducible launch bundles."""


# ---- Plan before queue: compile from a bundle, plan, sweep ---------------------------


def _recorded_project(configs: tuple[str, ...]) -> str | None:
    """The project folder a lone bundle directory records (usable from the cwd)."""
    if len(configs) != 1 or not os.path.isfile(os.path.join(configs[0], "args.json")):
        return None
    from .commands import committed

    try:
        return committed.recipe(Path(configs[0]), committed.read_document(Path(configs[0]))).project
    except committed.UnreadableBundle:
        return None  # _from_bundle says what is wrong


def _is_bundle(configs: tuple[str, ...]) -> bool:
    # A directory without args.json is left to the loader, which says what it is.
    return len(configs) == 1 and os.path.isfile(os.path.join(configs[0], "args.json"))


def _entry_script(
    configs: tuple[str, ...], overrides: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A README's launch line names the script before its configs (`python sample_dit.py
    --base configs/x.yaml`): `satc compile sample_dit.py configs/x.yaml` takes the script
    as launch.entrypoint (an explicit --set launch.entrypoint still wins)."""
    if not configs or not configs[0].endswith(".py"):
        return configs, overrides
    if len(configs) == 1:
        raise click.UsageError(f"{configs[0]}: an entry script needs the configs it runs after it")
    if not os.path.isfile(configs[0]):
        raise click.UsageError(f"{configs[0]}: no such entry script")
    return configs[1:], (f"launch.entrypoint={configs[0]}", *overrides)


def _from_bundle(
    configs: tuple[str, ...], overrides: tuple[str, ...], notes: list[str] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A lone bundle directory stands for the configs and overrides it records; the
    command line's --set come after them, so `--set launch.nodes=4` retargets it.
    What it decided for the user goes to `notes` (printed by the caller, after any
    write), or to stderr at once without it."""
    configs, overrides = _entry_script(configs, overrides)
    if not _is_bundle(configs):
        return configs, overrides
    from .commands import committed

    try:
        recipe = committed.recipe(Path(configs[0]), committed.read_document(Path(configs[0])))
    except committed.UnreadableBundle as exc:
        raise click.UsageError(f"{configs[0]}: {exc}") from None
    keep = _kept_global_batch(Path(configs[0]), recipe, overrides)
    if keep and overrides:
        note = (
            f"satc: note: keeping {configs[0]}'s global batch of {keep} for the new topology "
            f"(launch.global_batch_size={keep}; --set launch.global_batch_size=N to change it)"
        )
        if notes is None:
            click.echo(note, err=True)
        else:
            notes.append(note)
        overrides = (*overrides, f"launch.global_batch_size={keep}")
    return recipe.configs, (*recipe.overrides, *overrides)


_BATCH_KEYS = (
    "launch.global_batch_size",
    "deepspeed.train_batch_size",
    "deepspeed.gradient_accumulation_steps",
    "args.gradient_accumulation_steps",
)


def _kept_global_batch(directory: Path, recipe: Any, new: tuple[str, ...]) -> int | None:
    """The committed train_batch_size, unless the new overrides decide the batch, the
    bundle already pins it (a recorded override wins over nothing, but the new ones
    win), or the new overrides leave the data-parallel size as it was (then the batch
    stays as it is without help)."""
    from .commands import committed

    keys = [o.split("=", 1)[0].strip() for o in new]
    if any(key in _BATCH_KEYS for key in keys) or any(
        o.split("=", 1)[0].strip() == "launch.global_batch_size" for o in recipe.overrides
    ):
        return None
    document = committed.read_document(directory)
    ds = document.get("deepspeed_config")
    total = ds.get("train_batch_size") if isinstance(ds, dict) else None
    if not isinstance(total, int) or isinstance(total, bool):
        return None
    before = (document.get("topology") or {}).get("data_parallel_size")
    try:
        after, _ = _topology_of(list(recipe.configs), [*recipe.overrides, *new])
    except (ConfigError, click.UsageError):
        return None  # the compile itself will say what is wrong
    return total if after.data_parallel_size != before else None


def _memory_summary(plan: Any) -> str:
    from .memory.scope import summary_line

    return summary_line(plan)


@main.command("plan")
@click.argument("configs", nargs=-1, required=True, metavar="[SCRIPT.py] CONFIG...|BUNDLE")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a value after all files, as in compile (e.g. --set launch.gpu=A100-80G).",
)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--project", "project_dir", metavar="DIR", help="The project folder, as in compile.")
@reports_problems
def plan_command(
    configs: tuple[str, ...], overrides: tuple[str, ...], output_format: str, project_dir: str | None
) -> None:
    """Estimate per-GPU memory of CONFIG... (or a committed bundle) by component, judge
    it against launch.gpu / launch.gpu_memory_gb, and show what would make it fit.
    Writes nothing; imports no torch."""
    from .commands.plan import (
        missing_model,
        not_estimated,
        render_json,
        render_not_estimated,
        render_text,
        report,
    )
    from .errors import derived_location, fail
    from .pipeline import compile_bundle

    project_dir = project_dir if project_dir is not None else _recorded_project(configs)
    given = (configs, overrides)
    configs, overrides = _from_bundle(configs, overrides)
    bundle = compile_bundle(list(configs), list(overrides), Path("."), project_dir=project_dir)
    reason = not_estimated(bundle.plan)
    if reason and reason == missing_model(bundle.plan):
        # No model at all (a layer, a layout): planning it is a usage mistake.
        raise fail(
            derived_location(" + ".join(configs)),
            "model.network_config",
            f"nothing to plan: {reason}",
            "add the model's config (e.g. CogVideoX's configs/cogvideox_5b.yaml) before the others",
        )
    if reason:
        click.echo(render_not_estimated(bundle.plan, reason, output_format), nl=False)
        return

    def verify(extra: tuple[str, ...]) -> list[str]:
        """Compile as `satc compile <the same inputs> --set <extra>` would."""
        try:
            inputs, sets = _from_bundle(given[0], (*given[1], *extra), notes=[])
            compile_bundle(list(inputs), list(sets), Path("."))
        except ConfigError as exc:
            return [p.render() for p in exc.problems if p.severity == "error"]
        return []

    result = report(bundle.plan, verify, keeps_batch=_is_bundle(given[0]))
    click.echo(render_json(result) if output_format == "json" else render_text(result), nl=False)


@main.command("sweep")
@click.argument("configs", nargs=-1, required=True, metavar="[SCRIPT.py] CONFIG...|BUNDLE")
@click.option(
    "--sweep",
    "axes",
    multiple=True,
    required=True,
    metavar="KEY=V1,V2,...",
    help="One axis of the grid (cartesian over all --sweep). Repeatable.",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override for every point.")
@click.option(
    "-o", "--output", "output", required=True, metavar="DIR", help="Directory to hold one bundle per point."
)
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
    notes: list[str] = []
    configs, overrides = _from_bundle(configs, overrides, notes)
    try:
        result = sweep.run(
            list(configs), list(overrides), grid, root, fit_check=not no_fit_check, strict=strict
        )
    except sweep.AxisError as exc:
        raise click.UsageError(str(exc)) from None
    except sweep.InvalidPoints as exc:
        for label, problems in exc.failures:
            _echo(f"sweep point {label}: INVALID", err=True)
            _print_problems(problems)
        _echo(f"satc: {len(exc.failures)} of {exc.total} sweep point(s) invalid; nothing written", err=True)
        sys.exit(EXIT_INVALID)
    with _reader_may_leave():  # the sweep is on disk (sweep.run renamed it into place)
        for note in notes:
            click.echo(note, err=True)
        _print_problems(result.warnings)
        for point in result.points:
            fits = "" if point.fits is None else (" (fits)" if point.fits else " (does not fit)")
            memory = "" if point.per_gpu_gib is None else f"; ~{point.per_gpu_gib:.1f} GiB/GPU{fits}"
            _echo(f"wrote {root / point.name}: {', '.join(point.assignments)}{memory}")
        _echo(
            f"wrote {root / sweep.INDEX}: {len(result.points)} bundle(s); "
            f"check them with satc check --all --root {root}"
        )


@main.command("compile")
@click.argument("configs", nargs=-1, required=True, metavar="[SCRIPT.py] CONFIG...|BUNDLE")
@click.option("-o", "--output", "output", required=True, metavar="DIR", help="Bundle directory to (re)write.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a value after all files (e.g. --set args.train_iters=2000); "
    "KEY=null removes KEY so its default applies. Repeatable.",
)
@click.option(
    "--strict", is_flag=True, help="Treat warnings as errors (except those in satc.accept_warnings)."
)
@click.option(
    "--project",
    "project_dir",
    metavar="DIR",
    help="The project folder whose code judges the config (default: the current directory "
    "when it holds arguments.py; else satc's built-in CogVideoX profile).",
)
@reports_problems
def compile_command(
    configs: tuple[str, ...], output: str, overrides: tuple[str, ...], strict: bool, project_dir: str | None
) -> None:
    """Compile CONFIG... (merged left to right) into a bundle in -o DIR.

    An entry script first (`satc compile sample_dit.py configs/x.yaml`, as a README's
    `python sample_dit.py --base configs/x.yaml`) sets launch.entrypoint.

    A committed bundle directory may stand for its configs and overrides: with --set it
    is retargeted (e.g. --set launch.gpus_per_node=8), keeping its global batch."""
    from .commands.summary import describe
    from .pipeline import compile_bundle
    from .write import check_target, write_bundle

    if not output.strip():
        raise click.UsageError("-o needs a directory name")
    out_dir = Path(output)
    check_target(Path(os.path.abspath(out_dir)), set())
    if project_dir is None:  # a bundle retargeted is judged by the project that judged it
        project_dir = _recorded_project(configs)
    notes: list[str] = []
    configs, overrides = _from_bundle(configs, overrides, notes)
    try:
        bundle = compile_bundle(
            list(configs), list(overrides), out_dir, strict=strict, project_dir=project_dir
        )
    except ConfigError:
        for note in notes:  # what satc added to the overrides explains the errors below
            click.echo(note, err=True)
        raise
    summary = "\n".join((describe(bundle.plan), _memory_summary(bundle.plan)))
    # Nothing is printed before the bundle is complete on disk, and a reader that goes
    # away afterwards (`satc compile ... 2>&1 | head -5`) cannot undo it: SIGPIPE is
    # ignored from here on and a broken pipe only ends the printing.
    write_bundle(out_dir, bundle.files)
    with _reader_may_leave():
        for note in notes:
            click.echo(note, err=True)
        _print_problems(bundle.warnings)
        if bundle.accepted:
            click.echo(f"satc: {len(bundle.accepted)} warning(s) accepted by satc.accept_warnings", err=True)
        if bundle.note:  # after the warnings: the first line stays the first problem
            click.echo(bundle.note, err=True)
        _echo(f"wrote {output}: {', '.join(sorted(bundle.files))}")
        _echo(summary)


@contextlib.contextmanager
def _reader_may_leave() -> Iterator[None]:
    """Print what follows a completed write: a closed stdout or stderr ends the printing
    quietly and the command still succeeds (its work is done)."""
    try:
        previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    except (ValueError, OSError):  # not the main thread
        previous = None
    try:
        yield
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        # Python flushes the streams again at exit: point them at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                os.dup2(devnull, fd)
        os.close(devnull)
    finally:
        if previous is not None:
            signal.signal(signal.SIGPIPE, previous)


# ---- Committed bundles: check, explain, diff, schema (issue 5) ----------------------

_FORMATS = click.Choice(["text", "json"])


@main.command("check")
@click.argument("configs", nargs=-1, type=click.Path(), metavar="[CONFIG...|BUNDLE_DIR...]")
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
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
    metavar="DIR",
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
    satc check BUNDLE_DIR...                    the same (as explain and plan take it)
    satc check --all [--root DIR]               every bundle under DIR (pre-commit)

    Exit 0 when every bundle is byte-identical to a fresh compile, 1 on drift (stale
    inputs, hand edits, missing or extra files, another satc version; a unified diff
    per file follows), 2 on invalid input: a config that does not compile, or a -o
    that is no satc bundle (no such directory, no args.json), or a --root that does
    not exist.  Over several bundles: 2 if any target is invalid, else 1 if any
    drifted, else 0.  --all over a root holding no bundles says so and exits 0, so
    the pre-commit hook passes in a repository without bundles.
    """
    from .commands import check, committed

    # A bundle directory where CONFIG... goes: `satc explain BUNDLE` takes one, so check
    # takes it too, as `-o BUNDLE` (its recorded inputs).
    bundles = [name for name in configs if os.path.isdir(name)]
    if bundles:
        if len(bundles) != len(configs) or overrides:
            raise click.UsageError(
                f"{escape(bundles[0])} is a directory, not a YAML config: check a bundle with "
                f"`satc check {escape(bundles[0])}` (alone, its recorded inputs), or its configs "
                "with `satc check CONFIG... -o DIR`"
            )
        configs, outputs = (), (*outputs, *bundles)
    if configs:
        if len(outputs) != 1 or all_bundles:
            raise click.UsageError("with CONFIG... give exactly one -o DIR (and no --all)")
        result = check.check(list(configs), list(overrides), Path(outputs[0]), outputs[0])
        _echo(check.render(result), nl=False)
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
            _echo(f"satc check: no satc bundles under {root}")
            sys.exit(0)
        targets += found
    if not targets:
        raise click.UsageError("give CONFIG... -o DIR, -o DIR, or --all")
    drifted = invalid = 0
    for target in dict.fromkeys(targets):  # each once, in order
        shown = escape(target)  # a newline in a directory name must not forge a line
        try:
            result = check.check_recorded(Path(target), shown)
        except ConfigError as exc:
            invalid += 1
            _echo(f"{shown}: INVALID INPUT", err=True)
            _print_problems(exc.problems)
            if exc.note:  # what changed under the bundle's inputs since it was compiled
                _echo(exc.note, err=True)
            continue
        drifted += not result.clean
        if not (quiet and result.clean):
            _echo(check.render(result), nl=False)
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
            _echo(f"{escape(os.path.relpath(index))}: " + ("DRIFT" if drift else "up to date"))
        for line in drift:
            _echo(f"  {escape(line)}")
    return drifted


def _complete_files(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")]


def _differs_on_disk(out_dir: Path, files: dict[str, str]) -> bool:
    from .commands import committed

    on_disk = committed.read_files(out_dir)
    return set(on_disk) != set(files) or any(
        on_disk[name] != text.encode("utf-8") for name, text in files.items()
    )


def _is_config(item: str) -> bool:
    """A YAML file or a bundle directory; anything else on explain's line is a KEY."""
    return (
        item.endswith((".yaml", ".yml"))
        or os.path.isfile(item)
        or os.path.lexists(os.path.join(item, "args.json"))
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
    # the compile line pasted as it is: an entry script first sets launch.entrypoint
    entry_configs, overrides = _entry_script(tuple(configs), overrides)
    configs = list(entry_configs)
    out_dir = Path(".")
    project_dir = None
    from_bundle = len(configs) == 1 and os.path.isdir(configs[0])
    if from_bundle:
        out_dir = Path(configs[0])
        try:
            recipe = committed.recipe(out_dir, committed.read_document(out_dir))
        except committed.UnreadableBundle as exc:
            raise click.UsageError(f"{configs[0]}: {exc}") from None
        configs, overrides = list(recipe.configs), (*recipe.overrides, *overrides)
        project_dir = recipe.project  # judged by the project that judged the bundle
    bundle = compile_bundle(configs, list(overrides), out_dir, project_dir=project_dir)
    if out_dir != Path(".") and _differs_on_disk(out_dir, bundle.files):
        _echo(
            f"satc: note: {out_dir} is stale: a fresh compile of its inputs differs from "
            f"the committed files (see `satc check -o {out_dir}`); the values below come "
            "from the current inputs",
            err=True,
        )
    explainer = Explainer(bundle.config, bundle.plan)
    if show_topology:
        from .commands import topology_table

        for line in topology_table.full(bundle.plan.topology, bundle.plan.launch["target"]):
            click.echo(line)
        click.echo("")
    if not keys:
        document = summary_document(explainer)
        text = render_summary(explainer)
        if from_bundle and bundle.plan.training:  # a bundle: its run's resumes
            import json

            from .commands import lineage

            found = lineage.read(dict(bundle.plan.args), dict(bundle.plan.launch))
            digest = str(json.loads(bundle.files["args.json"]).get("digest", ""))
            document["lineage"] = found
            text += "\n" + "\n".join(lineage.render(found, digest)) + "\n"
        _echo(render_json(document) if output_format == "json" else text, nl=False)
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
        _echo(render_json([item.as_dict() for item in explanations]), nl=False)
    else:
        _echo(render_text(explanations), nl=False)


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
    _echo(render(changes, bundle_a, bundle_b), nl=False)
    sys.exit(1 if changes else 0)


@main.command("schema")
@click.option(
    "--project", "project_dir", metavar="DIR", help="The project folder (default: the current one)."
)
def schema_command(project_dir: str | None) -> None:
    """Print the JSON Schema of satc configs for the project in the current directory
    (for editors: see README, "Editor support")."""
    from . import resources
    from .project import find_root, read_project

    root = Path(project_dir) if project_dir else find_root(Path.cwd(), None)
    # The targets CogVideoX's configs name, and their module siblings.
    targets = resources.models()["official_targets"]
    click.echo(resources.editor_schema_text(read_project(root, targets, siblings=True)), nl=False)


@main.command("topology")
@click.argument("configs", nargs=-1, required=True, metavar="[SCRIPT.py] CONFIG...|BUNDLE")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a value after all files (e.g. --set launch.gpus_per_node=8). Repeatable.",
)
@click.option("--full", is_flag=True, help="One line per rank instead of one per node.")
@click.option(
    "--svg",
    "svg_path",
    metavar="FILE",
    help="Also write a picture: nodes x GPUs coloured by model/data/context-parallel group.",
)
@reports_problems
def topology_command(
    configs: tuple[str, ...], overrides: tuple[str, ...], full: bool, svg_path: str | None
) -> None:
    """Print the rank layout of CONFIG... (or of a bundle directory): one line per node
    with the groups its ranks belong to; --full for one line per rank.  Model-parallel
    groups that span nodes are flagged."""
    from .commands import topology_table

    topology, target = _topology_of(list(configs), list(overrides))
    if svg_path is not None:
        from .commands.topology_svg import render_svg

        _write_text(svg_path, render_svg(topology, target))
    lines = topology_table.full(topology, target) if full else topology_table.compact(topology, target)
    for line in lines:
        click.echo(line)
    if svg_path is not None:
        click.echo(f"wrote {svg_path}", err=True)


def _topology_of(configs: list[str], overrides: list[str]) -> tuple[Any, str]:
    """The compiled topology and target: a bundle directory's own, or a fresh resolve."""
    from .commands import committed
    from .load import load
    from .plan import Topology
    from .resolve import resolve
    from .validate import validate

    given, sets = _entry_script(tuple(configs), tuple(overrides))
    configs, overrides = list(given), list(sets)
    if len(configs) == 1 and os.path.isdir(configs[0]):
        directory = Path(configs[0])
        try:
            document = committed.read_document(directory)
            if not overrides:
                return Topology(**document["topology"]), str(document["launch"]["target"])
            recipe = committed.recipe(directory, document)
        except (committed.UnreadableBundle, KeyError, TypeError) as exc:
            raise click.UsageError(f"{configs[0]}: not a readable satc bundle ({exc})") from None
        configs, overrides = list(recipe.configs), [*recipe.overrides, *overrides]
    config = load(configs, overrides)
    errors, warnings = validate(config)
    if errors:
        raise ConfigError(errors + warnings)
    plan = resolve(config)
    return plan.topology, str(plan.launch["target"])


def _write_text(path: str, text: str) -> None:
    from .errors import Location

    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [
                Problem(
                    Location(rank=0, label=path),
                    "",
                    f"cannot write: {exc.strerror}",
                    hint="choose another --svg path",
                )
            ]
        ) from None


@main.command("dryrun")
@click.argument("bundle", type=click.Path())
@click.option(
    "--world", type=click.IntRange(min=1), metavar="N", help="Simulate this many ranks (same ranks per node)."
)
@click.option("--format", "output_format", type=_FORMATS, default="text", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only the verdict, not the per-rank table.")
@reports_problems
def dryrun_command(bundle: str, world: int | None, output_format: str, quiet: bool) -> None:
    """Build every rank's process groups with the runtime's own code, in one process
    (torch's fake process group), and report each rank's groups and new_group calls.
    Exit 0 when every group completes and all ranks agree, 1 when a rank would hang or
    its sequence differs, 2 for a bad bundle or --world."""
    from .commands import dryrun

    try:
        plan = dryrun.scenario(bundle, world)
        report = dryrun.run(plan)
    except dryrun.DryRunError as exc:
        click.echo(f"satc dryrun: error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    text = (
        dryrun.render_json(plan, report)
        if output_format == "json"
        else dryrun.render_text(plan, report, quiet)
    )
    _echo(text, nl=False)
    sys.exit(0 if report.ok else 1)
