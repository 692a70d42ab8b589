"""satc check: recompile in memory and compare with the committed bundle, byte for byte.

Nothing is written.  A bundle is up to date exactly when every file satc would write
is on disk with the same bytes and nothing else is there; any other state (stale
inputs, a hand edit, a missing or extra artifact, another satc version) is drift,
reported as a unified diff per file plus the values that changed in args.json.
"""

from __future__ import annotations

import difflib
import hashlib
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ... import __version__, files
from ..errors import ConfigError, Location, Problem
from ..pipeline import compile_bundle
from . import committed, diff


@dataclass(frozen=True)
class FileDrift:
    name: str
    state: str  # "changed", "missing", "unexpected" or "not executable"
    diff: str  # unified diff, committed -> recompiled
    note: str = ""


@dataclass(frozen=True)
class CheckResult:
    bundle: str  # the directory as the user named it
    drifts: tuple[FileDrift, ...] = ()
    changed_values: tuple[diff.Change, ...] = ()
    notes: tuple[str, ...] = ()  # version change, unreadable provenance
    rebuild: tuple[str, ...] = ()  # the compile command that accepts the recompiled bundle

    @property
    def clean(self) -> bool:
        return not self.drifts and not self.notes


def _lines(data: bytes) -> list[str]:
    lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def unified(name: str, bundle: str, committed_bytes: bytes | None, expected: bytes | None) -> str:
    text = difflib.unified_diff(
        _lines(committed_bytes or b""),
        _lines(expected or b""),
        fromfile=f"{bundle}/{name} (committed)" if committed_bytes is not None else "/dev/null",
        tofile=f"{bundle}/{name} (recompiled)" if expected is not None else "/dev/null",
    )
    return "".join(text)


def _note_for(name: str, on_disk: bytes, expected: bytes) -> str:
    if on_disk.replace(b"\r\n", b"\n") == expected:
        return (
            f"{name}: only line endings differ (CRLF); satc writes \\n. "
            "Add `* text eol=lf` for the bundle to .gitattributes"
        )
    return ""


def _version_note(bundle: str, on_disk: bytes | None) -> str | None:
    try:
        document: Any = files.load_json(on_disk or b"")
    except ValueError:
        return None
    version = document.get("satc_version") if isinstance(document, dict) else None
    if isinstance(version, str) and version != __version__:
        return (
            f"{bundle} was compiled by satc {version}; this is satc {__version__}. "
            "Recompile it with this version (or pin satc to the one that wrote it)"
        )
    return None


def compare(
    bundle: str,
    files: dict[str, str],
    on_disk: dict[str, bytes],
    rebuild: tuple[str, ...] = (),
    not_executable: tuple[str, ...] = (),
) -> CheckResult:
    """Compare recompiled ``files`` with the bundle's entries ``on_disk``."""
    expected = {name: text.encode("utf-8") for name, text in files.items()}
    drifts: list[FileDrift] = []
    for name in sorted(set(expected) | set(on_disk)):
        mine, theirs = expected.get(name), on_disk.get(name)
        if mine == theirs:
            continue
        if theirs is None:
            drifts.append(FileDrift(name, "missing", unified(name, bundle, None, mine)))
        elif mine is None:
            drifts.append(
                FileDrift(
                    name,
                    "unexpected",
                    unified(name, bundle, theirs, None),
                    f"{name}: satc compile does not produce it for these inputs",
                )
            )
        else:
            assert mine is not None
            drifts.append(
                FileDrift(name, "changed", unified(name, bundle, theirs, mine), _note_for(name, theirs, mine))
            )
    drifted = {drift.name for drift in drifts}
    for name in not_executable:
        if name in expected and name not in drifted:
            drifts.append(
                FileDrift(name, "not executable", "", f"{name}: satc writes it executable; chmod +x it")
            )
    notes: list[str] = []
    if drifts:
        version = _version_note(bundle, on_disk.get(committed.ARGS))
        if version:
            notes.append(version)
    return CheckResult(
        bundle, tuple(drifts), tuple(_changed_values(on_disk, expected)), tuple(notes), rebuild
    )


def _changed_values(on_disk: dict[str, bytes], expected: dict[str, bytes]) -> list[diff.Change]:
    """The keys behind an args.json drift, so the message names them, not just lines."""
    if on_disk.get(committed.ARGS) == expected.get(committed.ARGS):
        return []
    try:
        before = files.load_json(on_disk.get(committed.ARGS) or b"")
        after = files.load_json(expected[committed.ARGS])
    except (ValueError, KeyError):
        return []
    if not isinstance(before, dict):
        return []
    return [c for c in diff.compare_documents(before, after) if c.section != "summary"]


def not_a_bundle(label: str, reason: str, hint: str) -> ConfigError:
    """A -o that names no bundle: invalid input (exit 2), as `satc diff` says, not drift."""
    return ConfigError([Problem(Location(rank=0, label=label), "", reason, hint=hint)])


def _refuse_foreign(out_dir: Path, label: str) -> None:
    """With its inputs given, a missing or empty bundle is drift (files missing), but a
    file, or a directory of someone else's files, is no bundle (compile refuses it too)."""
    reason = committed.not_a_bundle(out_dir)
    if reason is None or not out_dir.exists():
        return
    if out_dir.is_dir():
        from ..write import BUNDLE_FILES

        entries = {entry.name for entry in out_dir.iterdir()}
        if entries <= BUNDLE_FILES:  # empty, or a bundle whose args.json was deleted by hand
            return
    raise not_a_bundle(label, reason, "-o names the bundle directory satc compile writes")


def check(configs: list[str], overrides: list[str], out_dir: Path, label: str) -> CheckResult:
    """Recompile ``configs`` as `satc compile ... -o out_dir` would and compare.

    Invalid input raises ConfigError (exit 2), exactly as compile would."""
    _refuse_foreign(out_dir, label)
    bundle = compile_bundle(configs, overrides, out_dir)
    return compare(
        label,
        bundle.files,
        committed.read_files(out_dir),
        compile_command(configs, overrides, label),
        _not_executable(out_dir),
    )


def check_recorded(out_dir: Path, label: str) -> CheckResult:
    """Recompile a bundle from the inputs and overrides its own args.json records.

    A directory that is no satc bundle raises ConfigError (exit 2): there is nothing to
    recompile.  A bundle whose args.json is damaged is drift: satc never writes that."""
    reason = committed.not_a_bundle(out_dir)
    if reason is not None:
        hint = (
            f"compile it first (satc compile CONFIG... -o {label}), or check it against its "
            f"inputs: satc check CONFIG... -o {label}"
        )
        raise not_a_bundle(label, reason, hint)
    on_disk = committed.read_files(out_dir)
    try:
        recipe = committed.recipe(out_dir, committed.read_document(out_dir))
    except committed.UnreadableBundle as exc:
        notes = [f"cannot tell how {label} was built: {exc}"]
        notes.append("recompile it, or check it with its inputs: satc check CONFIG... -o DIR")
        return CheckResult(label, notes=tuple(notes))
    configs, overrides = list(recipe.configs), list(recipe.overrides)
    code = code_drift(recipe)
    try:
        bundle = compile_bundle(configs, overrides, out_dir, project_dir=recipe.project)
    except ConfigError as exc:
        # the committed inputs were valid when compiled: say what changed under them
        if code:
            lines = [f"note: {label} compiled when it was built; since then {line}" for line in code]
            exc.note = "\n".join([*lines, *([exc.note] if exc.note else [])])
        raise
    result = compare(
        label,
        bundle.files,
        on_disk,
        compile_command(configs, overrides, label, recipe.project),
        _not_executable(out_dir),
    )
    if code:
        return replace(result, notes=(*code, *result.notes))
    return result


def code_drift(recipe: committed.Recipe) -> list[str]:
    """The project files that judged the bundle and changed since (or are gone)."""
    if recipe.project is None:
        return []
    found = []
    for label, recorded in recipe.project_files:
        path = project_file(Path(recipe.project), label)
        if path is None:
            found.append(f"the project's code changed: {label} is gone (it was read from {recipe.project})")
            continue
        now = hashlib.sha256(path.read_bytes()).hexdigest()
        if now != recorded:
            found.append(
                f"the project's code changed: {label} (sha256 {recorded[:12]}... when compiled, "
                f"{now[:12]}... now): recompile to judge the config by the code that will run it"
            )
    return found + _package_drift(recipe)


def _package_drift(recipe: committed.Recipe) -> list[str]:
    """Installed packages are recorded by version: the same release judges the same,
    whether its source is installed here or satc's snapshot of it stands in."""
    if not recipe.project_packages or recipe.project is None:
        return []
    from ..project import packages, read_project

    now = packages.versions(read_project(recipe.project, ()))
    return [
        f"the project's {name} changed: {recorded} when compiled, {now.get(name)} now: recompile "
        "to judge the config by the code that will run it"
        for name, recorded in recipe.project_packages
        if now.get(name) != recorded
    ]


def project_file(root: Path, label: str) -> Path | None:
    """Where a recorded label is on this machine: in the project, else in the installed
    package it names (SAT, DeepSpeed)."""
    from ..project.sources import installed

    local = root / label
    if local.is_file():
        return local
    site = installed(label.split("/", 1)[0])
    if site is not None and (site / label).is_file():
        return Path(site / label)
    return None


def _not_executable(out_dir: Path) -> tuple[str, ...]:
    from ..write import EXECUTABLE

    return tuple(committed.lost_executable_bit(out_dir, sorted(EXECUTABLE)))


def compile_command(
    configs: list[str], overrides: list[str], out_dir: str, project: str | None = None
) -> tuple[str, ...]:
    command = ["satc", "compile", *configs, "-o", out_dir]
    if project is not None:
        command += ["--project", project]
    for override in overrides:
        command += ["--set", override]
    return tuple(command)


def _accept_command(result: CheckResult) -> str:
    """compile refuses to replace a bundle holding files it did not write: move those first."""
    from ..write import BUNDLE_FILES

    foreign = [
        f"{result.bundle}/{drift.name}"
        for drift in result.drifts
        if drift.state == "unexpected" and drift.name not in BUNDLE_FILES
    ]
    command = shlex.join(result.rebuild)
    if not foreign:
        return command
    remove = ["rm", "-r", "--"] if any(Path(path).is_dir() for path in foreign) else ["rm", "--"]
    return f"{shlex.join([*remove, *foreign])} && {command}"


def render(result: CheckResult) -> str:
    if result.clean:
        return f"{result.bundle}: up to date\n"
    lines = [f"{result.bundle}: DRIFT"]
    for drift in result.drifts:
        lines.append(f"  {drift.name}: {drift.state}")
    if result.changed_values:
        lines.append("  changed values (committed -> recompiled):")
        for change in result.changed_values:
            lines.append(
                f"    {change.section}.{change.key}: {diff.show(change.before)} -> {diff.show(change.after)}"
            )
    lines += [f"  {note}" for note in result.notes]
    lines += [f"  {drift.note}" for drift in result.drifts if drift.note]
    if result.rebuild and result.drifts:
        lines.append(f"  to accept the recompiled bundle: {_accept_command(result)}")
    text = "\n".join(lines) + "\n"
    for drift in result.drifts:
        text += drift.diff
    return text
