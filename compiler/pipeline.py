"""The compiler, top to bottom: load -> validate -> resolve -> render.  No logic here."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import accept, credentials, hidden, trust
from .errors import ConfigError, Problem
from .layers import layer_files
from .load import LoadedConfig, load
from .plan import Plan
from .project import packages, select
from .render import Provenance, render
from .resolve import resolve
from .rules import data_paths
from .validate import validate, without_covered


@dataclass(frozen=True)
class Bundle:
    config: LoadedConfig
    plan: Plan
    files: dict[str, str]
    warnings: tuple[Problem, ...]
    accepted: tuple[Problem, ...] = ()
    note: str | None = None  # printed once: no project found, the built-in profile judged


def relative_to_bundle(path: str, out_dir: Path) -> str:
    """Inputs are recorded relative to the bundle: the same bytes from any cwd or mount."""
    real_input = os.path.realpath(path)
    real_out = os.path.realpath(out_dir)
    return Path(os.path.relpath(real_input, real_out)).as_posix()


def project_record(config: LoadedConfig, out_dir: Path) -> dict[str, Any]:
    """What provenance says about the code that judged the config."""
    project = select.for_config(config)
    record: dict[str, Any] = {"origin": project.origin, "label": project.label}
    if project.root is not None:
        record["path"] = relative_to_bundle(project.root, out_dir)
        # the files that judged this config, not every file the cached facts came from
        used = select.files_used(config)
        record["files"] = [{"path": label, "sha256": sha} for label, sha in packages.own_files(project, used)]
        record["packages"] = [
            {"name": name, "version": version} for name, version in packages.versions(project).items()
        ]
    return record


def compile_bundle(
    configs: list[str],
    overrides: list[str],
    out_dir: Path,
    strict: bool = False,
    project_dir: str | None = None,
) -> Bundle:
    config = load(configs, overrides)
    if project_dir is not None:
        config = replace(config, project_dir=project_dir)
    try:
        return _compile(config, out_dir, strict)
    except ConfigError as exc:
        if exc.note is None and not any(p.key in ("--project", "satc.project") for p in exc.problems):
            exc.note = select.note(config)
        raise


def _compile(config: LoadedConfig, out_dir: Path, strict: bool) -> Bundle:
    errors, warnings = validate(config)
    names = tuple(relative_to_bundle(item.label, out_dir) for item in config.inputs)
    errors, trusted = trust.split(config, errors)
    if errors:
        # The trusted ones stay visible beside what is still refused.
        found = _with_model_rules(config, names, errors)
        raise ConfigError(found + _shown(config, without_covered(found, [*warnings, *trusted])))
    try:
        plan = resolve(config, names)
    except ConfigError as exc:
        # Every problem in one run: the rules' errors with every warning found so far.
        found = [p for p in exc.problems if p.severity == "warning"]
        errors = [p for p in exc.problems if p.severity == "error"]
        raise ConfigError(errors + _shown(config, without_covered(errors, [*warnings, *found]))) from None
    trusted += [w for w in plan.warnings if w.message.startswith("trusted (satc.trust")]
    warnings = without_covered(trusted, warnings)  # one message per key, the trusted error
    all_warnings, accepted = accept.split(
        config,
        tuple(
            sorted([*warnings, *trusted, *plan.warnings, *trust.stale(config, trusted)], key=Problem.sort_key)
        ),
    )
    all_warnings = tuple(dict.fromkeys(all_warnings))
    # A trusted error was reviewed already (satc.trust): shown, but not failed by --strict.
    # A data path missing on the compile machine (T2) says what its disk holds, not what
    # the config is: launch.sh checks it on the node.
    strict_warnings = [
        w
        for w in all_warnings
        if not w.message.startswith("trusted (satc.trust") and not w.message.endswith(data_paths.RULE)
    ]
    if strict and strict_warnings:
        raise ConfigError([_as_error(w) for w in strict_warnings])
    provenance = Provenance(
        inputs=tuple(zip(names, (item.sha256 for item in config.inputs), strict=True)),
        overrides=tuple(f"{o.key}={o.value_text}" for o in config.overrides),
        accepted_warnings=tuple(sorted({w.key for w in accepted})),
        project=project_record(config, out_dir),
        trusted=tuple(sorted({w.key for w in trusted})),
    )
    files = render(plan, provenance, config.tree, layer_files(config))
    credentials.scan_outputs(files)
    return Bundle(config, plan, files, all_warnings, accepted, select.note(config))


def _model_problem(problem: Problem) -> bool:
    return problem.key.startswith(("model.", "data.")) and problem.message.endswith("]")


def _with_model_rules(config: LoadedConfig, names: tuple[str, ...], errors: list[Problem]) -> list[Problem]:
    """Every model-family error in one run: when validation found only model problems
    (the args, launch and DeepSpeed sections are valid), the derivation and model rules
    still run and add theirs; otherwise the model rules run on the keys validation did not
    refuse (compiler/hidden.py), instead of surfacing after the first round is fixed."""
    if not all(_model_problem(error) for error in errors):
        extra, warnings = hidden.model_findings(config, names, errors)
        return sorted([*errors, *extra], key=Problem.sort_key) + _shown(config, warnings)
    try:
        resolve(config, names)
    except ConfigError as exc:
        seen = {(p.key, p.message) for p in errors}
        extra = [p for p in exc.problems if p.severity == "error" and (p.key, p.message) not in seen]
        return sorted([*errors, *extra], key=Problem.sort_key)
    return errors


def _shown(config: LoadedConfig, warnings: list[Problem]) -> list[Problem]:
    """The warnings a user has not accepted (satc.accept_warnings).  Beside errors the
    rules may not all have run, so an entry matching nothing yet is not reported."""
    shown, _ = accept.split(config, tuple(sorted(warnings, key=Problem.sort_key)))
    return [w for w in shown if w in warnings]


def _as_error(warning: Problem) -> Problem:
    return Problem(
        warning.location, warning.key, f"{warning.message} (--strict)", severity="error", hint=warning.hint
    )
