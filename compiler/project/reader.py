"""One static read of a project's tree into :class:`~.facts.Project` (no cache here)."""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..resources import snapshot
from . import (
    classes,
    get_args,
    layers,
    parallel,
    parser_surface,
    sat_source,
    sections,
)
from . import sources as sources_module
from .facts import GetArgs, Project, Sat
from .sources import Sources, dotted_name, walk

SNAPSHOT = "sat-snapshot.json"


def _deepspeed_installed() -> bool:
    return sources_module.installed("deepspeed") is not None


LABEL = re.compile(r"(?<![\w/.])((?:sat|deepspeed|torch)/[\w/.]+\.py):")


@dataclass
class Standing:
    """The snapshot's facts that stand for reading source here: all of them where there is
    no source, else each one whose files are byte-identical where the project imports them
    from (installed, or vendored beside it), with its labels pointing there."""

    functions: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    sat: dict[str, Any] | None = None


def _local_path(sources: Sources, label: str) -> Path | None:
    top = label.split("/", 1)[0]
    site = sources.installed_dir(top)
    return site / label if site is not None else None


def _standing(sources: Sources, where: str) -> Standing:
    known = snapshot()
    if not known:
        return Standing()
    digests = known.get("files", {})
    absent = {"sat"} if where == "snapshot" else set()
    if not _deepspeed_installed():
        absent.add("deepspeed")
    matched: dict[str, bool] = {}
    relabel: dict[str, str] = {}

    def same(label: str) -> bool:
        if label.split("/", 1)[0] in absent:
            return True
        if label not in matched:
            path = _local_path(sources, label)
            try:
                data = path.read_bytes() if path is not None else None
            except OSError:
                data = None
            matched[label] = data is not None and hashlib.sha256(data).hexdigest() == digests.get(label)
            if matched[label]:
                assert path is not None
                local = sources.label(path)
                sources.files[local] = digests[label]
                sources.paths[local] = path
                relabel[label] = local
        return matched[label]

    def usable(files: list[str]) -> bool:
        return all(same(label) for label in files)

    out = Standing()
    for name, entries in known.get("argument_functions", {}).items():
        if usable(known.get("function_files", {}).get(name, ["?"])):
            out.functions[name] = entries
    if where == "snapshot" or "sat" not in absent:
        for name, entry in known.get("targets", {}).items():
            if usable(known.get("target_files", {}).get(name, ["?"])):
                out.targets[name] = entry
        pinned = known.get("sat", {})
        if usable(pinned.get("mpu_files", ["?"])):
            out.sat = pinned
    if any(label != local for label, local in relabel.items()):
        out.functions = _relabel(out.functions, relabel)
        out.targets = _relabel(out.targets, relabel)
        out.sat = _relabel(out.sat, relabel)
    return out


def _relabel(value: Any, labels: Mapping[str, str]) -> Any:
    """Point ``sat/x.py:12`` at the copy the project imports (``../modules/.../sat/x.py:12``)."""
    if isinstance(value, str):
        return LABEL.sub(lambda m: f"{labels.get(m.group(1), m.group(1))}:", value)
    if isinstance(value, dict):
        return {k: _relabel(v, labels) for k, v in value.items()}
    if isinstance(value, list):
        return [_relabel(v, labels) for v in value]
    return value


def open_sources(root: Path) -> tuple[Sources, str, Path | None, Standing]:
    """The project's sources, where its SAT is, and the snapshot facts that stand for
    reading SAT's and DeepSpeed's source (see Standing)."""
    where, sat_dir = sat_source.locate(root)
    sources = Sources(
        root,
        sat_dir.parent if sat_dir else None,
        sat_vendored=where == "vendored",
        opaque=classes.CLOSED_BASES,
    )
    standing = _standing(sources, where)
    sources.snapshot_targets = dict(standing.targets)
    sources.opaque = frozenset(classes.CLOSED_BASES | set(standing.functions) | set(standing.targets))
    return sources, where, sat_dir, standing


def read(root: Path, targets: Iterable[str]) -> tuple[Project, Sources, dict[str, Any]]:
    """The facts, the sources they came from, and what the cache needs to redo a part."""
    sources_module.forget()
    sources, where, sat_dir, standing = open_sources(root)
    wanted = sorted(set(targets))
    # The target classes are read beside the rest (mostly other files): parallel.py.
    pending = parallel.start(functools.partial(_described, sources, wanted))
    try:
        return _read(root, sources, where, sat_dir, standing, wanted, pending)
    finally:
        pending.cancel()


def _undeclared_reads(sources: Sources, root: Path, arguments: Any, sat_dir: Path | None) -> Any:
    from . import args_reads  # only a project whose loader sets every key reads its scripts for them

    return args_reads.undeclared_reads(sources, root, arguments, sat_dir)


def _described(sources: Sources, wanted: list[str]) -> dict[str, Any]:
    """The requested targets' entries, their modules' class names, and the files read for
    them (plain data: it may come back from a child process)."""
    target_files: dict[str, list[str]] = {}
    described = classes.describe_targets(sources, wanted, target_files)
    _, with_siblings = classes.wanted(sources, wanted)
    return {
        "described": described,
        "target_files": target_files,
        "names": sorted(with_siblings),
        "files": dict(sources.files),
        "paths": {label: str(path) for label, path in sources.paths.items()},
        "absent": sorted(str(path) for path in sources.absent),
        "scanned": sorted(str(path) for path in sources.scanned),
        "broken": dict(sources.broken),
    }


def _read(
    root: Path,
    sources: Sources,
    where: str,
    sat_dir: Path | None,
    standing: Standing,
    wanted: list[str],
    pending: parallel.Pending,
) -> tuple[Project, Sources, dict[str, Any]]:
    surface, found = parser_surface.read(sources, standing.functions)
    read_sections = sections.read(sources, found)
    facts = get_args.read(sources, found, read_sections)
    facts.unsupported[:0] = surface.unresolved
    second = get_args.second_stack(found, read_sections, surface.arguments)
    if where == "snapshot":
        pinned = snapshot().get("sat", {})
        sat = Sat(
            where="snapshot",
            path="satc:schemas/" + SNAPSHOT,
            version=pinned.get("version"),
            mpu_dimensions=tuple(pinned.get("mpu_dimensions", ("model", "data"))),
            mpu_source=pinned.get("mpu_source", ""),
            mpu_parameters=tuple(pinned.get("mpu_parameters", ())),
        )
    else:
        assert sat_dir is not None
        if standing.sat is not None:
            pinned = standing.sat
            dims, mpu_where = tuple(pinned["mpu_dimensions"]), pinned["mpu_source"]
            mpu_names = tuple(pinned.get("mpu_parameters", ()))
        else:
            dims, mpu_where, mpu_names = sat_source.mpu_dimensions(sources)
        sat = Sat(
            where=where,
            path=sources.label(sat_dir / "__init__.py").rsplit("/", 1)[0]
            if where == "vendored"
            else str(sat_dir),
            version=sat_source.version(sat_dir),
            mpu_dimensions=dims,
            mpu_source=mpu_where,
            mpu_parameters=mpu_names,
            mesh_reads=sat_source.mesh_reads(sources, sat_dir),
        )
    engine_found = classes.find_engine(sources)
    engine = classes.engine(sources, engine_found) if engine_found is not None else None
    entrypoints = entry_scripts(root)
    sources.scanned.update(root.glob("*.py"))  # entry_scripts and second_get_args_calls scan them
    base_layers = layers.read(sources, entrypoints)
    second_calls = second_get_args_calls(root, entrypoints)
    if where == "vendored" and sat_dir is not None:
        sat = replace(sat, missing=sat_source.missing_modules(sources, sat_dir, entrypoints))
    for script in second_calls or {}:
        sources.read(root / script)  # what decided it: re-hashed by `satc check`
    built = replace(
        get_args.build(facts, found, read_sections, second, base_layers),
        entry_get_args=second_calls,
        entry_argv=own_command_lines(root),
    )
    if built.args_assignment == "setattr":
        built = replace(built, undeclared_reads=_undeclared_reads(sources, root, surface.arguments, sat_dir))
    base = tuple(sorted(sources.files))  # what every config of the project is judged by
    part = pending.result()
    described = part["described"]
    sources.files.update(part["files"])
    sources.paths.update({label: Path(path) for label, path in part["paths"].items()})
    sources.absent.update(Path(path) for path in part["absent"])
    sources.scanned.update(Path(path) for path in part["scanned"])
    sources.broken.update(part["broken"])
    unresolved, target_files = _unresolved(sources, wanted, described, part["target_files"])
    project = Project(
        root=str(root),
        origin="scanned",
        label=root.name if root.name != "sat" else f"{root.parent.name}/{root.name}",
        arguments=MappingProxyType(dict(surface.arguments)),
        sections=MappingProxyType(dict(read_sections.sections)),
        get_args=built,
        sat=sat,
        engine=engine,
        targets=MappingProxyType(described),
        files=tuple(sorted(sources.files.items())),
        unresolved=MappingProxyType(unresolved),
        entrypoints=entrypoints,
        target_names=tuple(sorted(set(part["names"]) - set(unresolved))),
        base_files=base,
        target_files=MappingProxyType(target_files),
        broken=MappingProxyType(dict(sorted(sources.broken.items()))),
    )
    extra = {"requested": wanted}
    return project, sources, extra


def _unresolved(
    sources: Sources, wanted: list[str], described: Mapping[str, Any], read_files: Mapping[str, list[str]]
) -> tuple[dict[str, dict[str, str]], dict[str, tuple[str, ...]]]:
    """Why each requested target has no entry, and the files each target's facts used."""
    unresolved: dict[str, dict[str, str]] = {}
    files = {t: set(read_files.get(t, ())) for t in wanted}
    for target in wanted:
        if target not in described:
            with sources.tracking() as touched:
                unresolved[target] = classes.why_unresolved(sources, target)
            files[target] |= touched
    return unresolved, {t: tuple(sorted(v)) for t, v in sorted(files.items())}


def add_targets(project: Project, targets: Iterable[str]) -> tuple[Project, Sources]:
    """``project`` with more targets described (a cached project meeting new `target:`s)."""
    assert project.root is not None
    sources, _, _, _ = open_sources(Path(project.root))
    wanted = sorted(set(targets))
    read_files: dict[str, list[str]] = {}
    described = classes.describe_targets(sources, wanted, read_files)
    merged = {**project.targets, **described}
    new_unresolved, new_files = _unresolved(sources, wanted, described, read_files)
    unresolved = {**project.unresolved, **new_unresolved}
    _, with_siblings = classes.wanted(sources, wanted)
    files = dict(project.files)
    files.update(sources.files)
    return (
        Project(
            **{
                **project.__dict__,
                "target_names": tuple(sorted((set(project.target_names) | with_siblings) - set(unresolved))),
                "target_files": MappingProxyType(dict(sorted({**project.target_files, **new_files}.items()))),
                "broken": MappingProxyType(dict(sorted({**project.broken, **sources.broken}.items()))),
                "targets": MappingProxyType(dict(sorted(merged.items()))),
                "files": tuple(sorted(files.items())),
                "unresolved": MappingProxyType(dict(sorted(unresolved.items()))),
            }
        ),
        sources,
    )


def add_entry_facts(project: Project, questions: Iterable[str]) -> tuple[Project, Sources]:
    """``project`` with more entry-script questions answered (facts.Project.entry_facts):
    read when a rule first asks, since following a script's imports costs more than the
    rest of a read and most launches never ask."""
    from . import entry_reads  # only a compile whose rules ask reads an entry script's imports

    assert project.root is not None
    root = Path(project.root)
    sources, _, _, _ = open_sources(root)
    answers: dict[str, bool | None] = {}
    used: dict[str, tuple[str, ...]] = {}
    for question in questions:
        with sources.tracking() as touched:
            answers[question] = entry_reads.answer(sources, root, question, project.arguments)
        used[question] = tuple(sorted(touched))
    files = dict(project.files)
    files.update(sources.files)
    return (
        replace(
            project,
            entry_facts=MappingProxyType(dict(sorted({**project.entry_facts, **answers}.items()))),
            entry_files=MappingProxyType(dict(sorted({**project.entry_files, **used}.items()))),
            files=tuple(sorted(files.items())),
        ),
        sources,
    )


_OPENS = re.compile(r"\s*\(")
_DEF_LINE = re.compile(r"[ \t]*def\s")


def _get_args_lines(text: str) -> list[int]:
    """Where each line that calls ``get_args(`` starts: outside a comment, not on a ``def``
    line; one entry per line.  (A substring search: the expression it replaces retried
    every character of a line, a tenth of a cold read's own work.)"""
    found: list[int] = []
    at = text.find("get_args")
    while at != -1:
        start = text.rfind("\n", 0, at) + 1
        before = text[at - 1] if at else " "
        if (
            not (before.isalnum() or before == "_")
            and _OPENS.match(text, at + len("get_args"))
            and "#" not in text[start:at]
            and not _DEF_LINE.match(text, start)
            and (not found or found[-1] != start)
        ):
            found.append(start)
        at = text.find("get_args", at + len("get_args"))
    return found


# a get_args call given something: get_args(["--base", ...]) or get_args(argv)
_GIVES_GET_ARGS = re.compile(r"\bget_args\s*\(\s*[^)\s]")


def entry_scripts(root: Path) -> tuple[str, ...]:
    """The scripts of the entrypoint folder that call ``get_args`` when run (a rank starts
    one of them): at module level, under ``if __name__ == "__main__":``, or in a function
    called from there.  A library module whose classmethod calls ``cls.get_args()``
    (FoundationVision/FlashVideo 8de4ae2, base_model.py) is no script."""
    found = []
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        # The substring test first: most files never mention get_args.
        if "get_args" in text and _get_args_lines(text) and _runs_get_args(text, str(path)):
            found.append(path.name)
    return tuple(found)


def _is_get_args(func: ast.expr) -> bool:
    """``get_args`` or ``arguments.get_args``; not a method's ``cls.get_args``."""
    if isinstance(func, ast.Name):
        return func.id == "get_args"
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "get_args"
        and not (isinstance(func.value, ast.Name) and func.value.id in ("cls", "self"))
    )


def _calls_get_args(node: ast.AST) -> bool:
    """``get_args(...)`` or ``arguments.get_args(...)``; not a method's ``cls.get_args()``."""
    return any(isinstance(call, ast.Call) and _is_get_args(call.func) for call in ast.walk(node))


def _runs_get_args(text: str, filename: str = "<unknown>") -> bool:
    """Whether running the file reaches a ``get_args`` call: from its module-level
    statements, through the module's functions they call (transitively)."""
    try:
        tree = sources_module.parse(text, filename)
    except (SyntaxError, ValueError):
        return False
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    top = [n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    pending: list[ast.AST] = list(top)
    seen: set[str] = set()
    while pending:
        node = pending.pop()
        if _calls_get_args(node):
            return True
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                name = call.func.id
                if name in functions and name not in seen:
                    seen.add(name)
                    pending.append(functions[name])
    return False


def second_get_args_calls(root: Path, entrypoints: tuple[str, ...]) -> dict[str, str] | None:
    """Entry scripts that call ``get_args`` more than once (FoundationVision/FlashVideo
    8de4ae2, flashvideo/dist_inf_text_file.py:371: a second namespace from the command line
    with ``--base`` swapped for ``--second``): {script: "script:line" of the second call}."""
    found = {}
    for name in entrypoints:
        try:
            text = (root / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        calls = _get_args_lines(text)
        if len(calls) > 1:
            found[name] = f"{name}:{text.count(chr(10), 0, calls[1]) + 1}"
    return found or None


def own_command_lines(root: Path) -> dict[str, str] | None:
    """Scripts of the entrypoint folder that give get_args a command line of their own: a
    list literal (fudan-generative-vision/hallo3 e342dce, hallo3/app.py:149-155:
    ``get_args(["--base", ...])`` in a class's ``__init__``), a name bound to one, or
    ``sys.argv`` overwritten with one before it is parsed (tpc2233/Humn_p2v 4ab39b1,
    app_t1.py:125): {script: "script:line" of that list}.  Every script that calls get_args
    is looked at, not only those that do so when run: an app may call it from a class."""
    found = {}
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "get_args" not in text or not _get_args_lines(text):
            continue
        if "sys.argv" not in text and not _GIVES_GET_ARGS.search(text):
            continue  # neither form below can be there: no walk
        try:
            tree = sources_module.parse(text, str(path))  # shared with the other scans
        except (SyntaxError, ValueError):
            continue
        where = _own_command_line(tree)
        if where is not None:
            found[path.name] = f"{path.name}:{where}"
    return found or None


def _own_command_line(tree: ast.Module) -> int | None:
    """The line of the list a get_args call parses, where the script wrote it itself."""
    lists: dict[str, int] = {}
    for node in walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List | ast.Tuple) and node.value.elts:
            for target in node.targets:
                if dotted_name(target) == "sys.argv":
                    return node.lineno
                if isinstance(target, ast.Name):
                    lists[target.id] = node.lineno
    for node in walk(tree):
        if isinstance(node, ast.Call) and _is_get_args(node.func) and node.args:
            given = node.args[0]
            if isinstance(given, ast.List | ast.Tuple) and given.elts:
                return given.lineno
            if isinstance(given, ast.Name) and given.id in lists:
                return lists[given.id]
    return None


def empty_get_args() -> GetArgs:
    return GetArgs(
        source="",
        args_assignment="unknown",
        seed_rule="unknown",
        model_parallel="unknown",
        context_parallel="unknown",
    )
