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
            click.echo(f"satc: {errors} error(s); nothing written", err=True)
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


@main.command("compile")
@click.argument("configs", nargs=-1, required=True)
@click.option("-o", "--output", "output", required=True, help="Bundle directory to (re)write.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a value after all files (e.g. --set args.lr=1e-4). Repeatable.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@reports_problems
def compile_command(configs: tuple[str, ...], output: str, overrides: tuple[str, ...],
                    strict: bool) -> None:
    """Compile CONFIG... (merged left to right) into a bundle in -o DIR."""
    from .pipeline import compile_bundle
    from .summary import describe
    from .write import check_target, write_bundle

    out_dir = Path(output)
    check_target(Path(os.path.abspath(out_dir)), set())
    bundle = compile_bundle(list(configs), list(overrides), out_dir, strict=strict)
    _print_problems(bundle.warnings)
    write_bundle(out_dir, bundle.files)
    click.echo(f"wrote {output}: {', '.join(sorted(bundle.files))}")
    click.echo(describe(bundle.plan))


@main.command("topology")
@click.argument("configs", nargs=-1, required=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a value after all files (e.g. --set launch.nodes=2). Repeatable.")
@reports_problems
def topology_command(configs: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Print the rank layout of CONFIG...: nodes x local ranks, each rank's groups."""
    from .load import load
    from .resolve import resolve
    from .topology_table import table
    from .validate import validate

    config = load(list(configs), list(overrides))
    errors, warnings = validate(config)
    if errors:
        raise ConfigError(errors + warnings)
    plan = resolve(config)
    click.echo(table(plan.topology, plan.launch["target"]), nl=False)
