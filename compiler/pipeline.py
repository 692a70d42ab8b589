"""The compiler, top to bottom: load -> validate -> resolve -> render.  No logic here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import accept, credentials
from .errors import ConfigError, Problem
from .load import LoadedConfig, load
from .plan import Plan
from .render import Provenance, render
from .resolve import resolve
from .validate import validate


@dataclass(frozen=True)
class Bundle:
    config: LoadedConfig
    plan: Plan
    files: dict[str, str]
    warnings: tuple[Problem, ...]
    accepted: tuple[Problem, ...] = ()


def relative_to_bundle(path: str, out_dir: Path) -> str:
    """Inputs are recorded relative to the bundle: the same bytes from any cwd or mount."""
    real_input = os.path.realpath(path)
    real_out = os.path.realpath(out_dir)
    return Path(os.path.relpath(real_input, real_out)).as_posix()


def compile_bundle(configs: list[str], overrides: list[str], out_dir: Path, strict: bool = False) -> Bundle:
    config = load(configs, overrides)
    errors, warnings = validate(config)
    if errors:
        raise ConfigError(errors + _shown(config, warnings))
    names = tuple(relative_to_bundle(item.label, out_dir) for item in config.inputs)
    try:
        plan = resolve(config, names)
    except ConfigError as exc:
        # Every problem in one run: the rules' errors with every warning found so far.
        found = [p for p in exc.problems if p.severity == "warning"]
        errors = [p for p in exc.problems if p.severity == "error"]
        raise ConfigError(errors + _shown(config, [*warnings, *found])) from None
    all_warnings, accepted = accept.split(
        config, tuple(sorted([*warnings, *plan.warnings], key=Problem.sort_key))
    )
    if strict and all_warnings:
        raise ConfigError([_as_error(w) for w in all_warnings])
    provenance = Provenance(
        inputs=tuple(zip(names, (item.sha256 for item in config.inputs), strict=True)),
        overrides=tuple(f"{o.key}={o.value_text}" for o in config.overrides),
        accepted_warnings=tuple(sorted({w.key for w in accepted})),
    )
    files = render(plan, provenance, config.tree)
    credentials.scan_outputs(files)
    return Bundle(config, plan, files, all_warnings, accepted)


def _shown(config: LoadedConfig, warnings: list[Problem]) -> list[Problem]:
    """The warnings a user has not accepted (satc.accept_warnings).  Beside errors the
    rules may not all have run, so an entry matching nothing yet is not reported."""
    shown, _ = accept.split(config, tuple(sorted(warnings, key=Problem.sort_key)))
    return [w for w in shown if w in warnings]


def _as_error(warning: Problem) -> Problem:
    return Problem(
        warning.location, warning.key, f"{warning.message} (--strict)", severity="error", hint=warning.hint
    )
