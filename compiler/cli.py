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
from typing import Any, TypeVar

import click

from .. import __version__
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
            errors = sum(1 for p in exc.problems if p.severity == "error")
            writes = click.get_current_context().info_name == "compile"
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
        try:
            previous = signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        except (ValueError, OSError):  # not the main thread (an embedding caller)
            return super().main(*args, **kwargs)
        try:
            return super().main(*args, **kwargs)
        finally:
            signal.signal(signal.SIGPIPE, previous)

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
    """Compile CONFIG... (merged left to right) into a bundle in -o DIR."""
    from .commands.summary import describe
    from .pipeline import compile_bundle
    from .write import check_target, write_bundle

    if not output.strip():
        raise click.UsageError("-o needs a directory name")
    out_dir = Path(output)
    check_target(Path(os.path.abspath(out_dir)), set())
    bundle = compile_bundle(list(configs), list(overrides), out_dir, strict=strict)
    _print_problems(bundle.warnings)
    write_bundle(out_dir, bundle.files)
    _echo(f"wrote {output}: {', '.join(sorted(bundle.files))}")
    _echo(describe(bundle.plan))


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
        try:
            result = check.check_recorded(Path(target), target)
        except ConfigError as exc:
            invalid += 1
            _echo(f"{target}: INVALID INPUT", err=True)
            _print_problems(exc.problems)
            continue
        drifted += not result.clean
        if not (quiet and result.clean):
            _echo(check.render(result), nl=False)
    if len(targets) > 1 or all_bundles:
        click.echo(
            f"satc check: {len(dict.fromkeys(targets))} bundle(s), {drifted} drifted, "
            f"{invalid} with invalid input"
        )
    sys.exit(EXIT_INVALID if invalid else 1 if drifted else 0)


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
        _echo(
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
        _echo(
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
