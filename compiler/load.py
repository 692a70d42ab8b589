"""Load stage: YAML layers + --set overrides -> one resolved plain tree with origins.

Layers merge exactly as OmegaConf merges them (later wins, mappings merge deeply,
lists are replaced); ``--set`` overrides come last (D2).  Alongside the tree we
keep, for every key, the file:line that set its final value and the layers it
overrode, so validation errors and ``explain`` can point at the source.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from .. import files
from . import interpolation, yaml_reader
from .errors import DERIVED_RANK, SET_RANK, ConfigError, Location, Problem, dotted, file_location
from .tree import value_at

Path = tuple[str | int, ...]
_DOTTED_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
MISSING = "???"  # OmegaConf's marker for a value a later layer must set
_KEYISH = re.compile(r"[A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class InputFile:
    label: str  # as the user wrote it, for messages
    sha256: str  # of the file's content (see content_digest), not of its bytes


def content_digest(data: Any) -> str:
    """sha256 of a document's values in canonical JSON (sorted keys).

    Reordering keys, comments, quoting styles or CRLF checkouts change no value, so
    they must not change the bundle (issue 5: byte-identical for shuffled inputs)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Override:
    key: str
    value_text: str

    @property
    def label(self) -> str:
        return f"--set {self.key}"


@dataclass(frozen=True)
class LoadedConfig:
    tree: dict[str, Any]
    origin: dict[Path, Location]  # final source of each key
    overridden: dict[Path, tuple[Location, ...]]  # earlier sources it replaced
    raw: dict[Path, str]
    inputs: tuple[InputFile, ...]
    overrides: tuple[Override, ...]
    project_dir: str | None = None  # `--project DIR` (compiler/project/select.py)
    # Indexes into ``overrides`` of the `--set KEY=null` that remove their key (the value
    # reads as null): rules that explain a removal ask here, not the text again.
    nulls: frozenset[int] = frozenset()

    def locate(self, path: Path) -> Location | None:
        return locate(self.origin, path)


def locate(origin: dict[Path, Location], path: Path) -> Location | None:
    """The origin of ``path`` or of its nearest ancestor that has one.  An ancestor that a
    ``--set`` of another, deeper key only created (``--set args.mode=...`` makes ``args``)
    did not set ``path``: blaming that flag would send the user to the wrong one."""
    for end in range(len(path), 0, -1):
        found = origin.get(path[:end])
        if found is not None and not (end < len(path) and _made_by_deeper_set(found, end)):
            return found
    return None


def _made_by_deeper_set(location: Location, depth: int) -> bool:
    if not (SET_RANK <= location.rank < DERIVED_RANK and location.label.startswith("--set ")):
        return False
    return len(location.label.removeprefix("--set ").split(".")) > depth


def parse_override(text: str, rank: int = SET_RANK) -> Override:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not _DOTTED_KEY.match(key):
        # Echo only the key part, and only if it is short and plain: without an `=` the
        # whole text may be a value, and values may be credentials.
        part = key if sep else text
        shown = _KEYISH.match(part).group()[:60]  # type: ignore[union-attr]
        label = f"--set {shown}..." if shown != part else f"--set {shown or '(no key)'}"
        message = "expected KEY=VALUE with a dotted key, e.g. --set args.lr=1e-4"
        if sep and "[" in key:
            message = (
                "list items cannot be set one by one; set the whole list, "
                "e.g. --set deepspeed.optimizer.params.betas=[0.8,0.95]"
            )
        raise ConfigError([Problem(Location(rank=rank, label=label), "", message)])
    if not value.strip():
        # `--set args.lr=$LR` with LR unset: YAML reads nothing as null, which would
        # silently remove the key and train with SAT's default.
        raise ConfigError(
            [
                Problem(
                    Location(rank=rank, label=f"--set {key}="),
                    key,
                    "empty value (an unset shell variable?)",
                    hint=f"give a value; --set {key}=null removes the key explicitly, "
                    f"--set \"{key}=''\" sets an empty string",
                )
            ]
        )
    return Override(key=key, value_text=value)


def read_input(path_text: str, rank: int) -> tuple[InputFile, yaml_reader.Document]:
    path = FsPath(path_text)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path_text):
        # Printed escaped: a newline in a name would split the message it labels.
        shown = path_text.encode("unicode_escape").decode("ascii")
        raise ConfigError(
            [Problem(file_location(rank, shown, 0, 0), "", "file name contains control characters")]
        )
    start = file_location(rank, path_text, 0, 0)
    try:
        data = _read_bounded(path)
    except FileNotFoundError:
        raise ConfigError([Problem(start, "", "no such file", hint=_nearby_file(path))]) from None
    except IsADirectoryError:
        raise ConfigError(
            [Problem(start, "", "is a directory, expected a YAML file", hint="list the files")]
        ) from None
    except files.NotRegularFile as exc:
        raise ConfigError(
            [Problem(start, "", f"is {exc.kind}, not a regular file: expected a YAML file")]
        ) from None
    except OSError as exc:
        raise ConfigError([Problem(start, "", f"cannot read: {exc.strerror}")]) from None
    text = yaml_reader.decode(data, path_text, rank)
    document = yaml_reader.read(text, path_text, rank)
    return InputFile(path_text, content_digest(document.data)), document


def _nearby_file(path: FsPath) -> str | None:
    """Did-you-mean for a mistyped config name: the closest YAML file beside it."""
    from .suggest import closest

    folder = path.parent
    if not folder.is_dir():
        return f"no such directory: {folder}"
    try:
        names = {entry.stem: entry.name for entry in folder.iterdir() if entry.suffix in (".yaml", ".yml")}
    except OSError:
        return None
    # Stems only: every candidate shares ".yaml", which would make any name look close.
    stem = closest(path.stem, sorted(names))
    if stem is None:
        return None
    guess = names[stem]
    return f"did you mean {(folder / guess).as_posix() if str(folder) != '.' else guess}?"


def _join(key: str, sub: str) -> str:
    if not sub:
        return key
    return f"{key}{sub}" if sub.startswith("[") else f"{key}.{sub}"


def _read_bounded(path: FsPath) -> bytes:
    """The file's bytes, never blocking on a pipe nor reading /dev/zero forever."""
    try:
        # One byte past the limit is enough for decode() to report the size.
        return files.read_regular(path, yaml_reader.MAX_FILE_BYTES + 1, truncate=True)
    except files.NotRegularFile as exc:
        if exc.kind == "a directory":
            raise IsADirectoryError(path) from None
        raise


def read_override(override: Override, rank: int = SET_RANK) -> yaml_reader.Document:
    label = override.label
    parts: list[str | int] = list(override.key.split("."))
    if len(parts) > yaml_reader.MAX_DEPTH:
        raise ConfigError(
            [
                Problem(
                    Location(rank=rank, label=label),
                    "",
                    f"key nests deeper than {yaml_reader.MAX_DEPTH} levels",
                )
            ]
        )
    try:
        value = yaml_reader.read(override.value_text, label, rank, mapping_root=False, depth=len(parts))
    except ConfigError as exc:
        # Name the full key; a line:col inside a one-line value would only confuse.
        where = Location(rank=rank, label=label)
        raise ConfigError(
            [
                Problem(
                    where, _join(override.key, problem.key), problem.message, problem.severity, problem.hint
                )
                for problem in exc.problems
            ]
        ) from None
    nested: Any = value.data
    for part in reversed(parts):
        nested = {part: nested}
    where = Location(rank=rank, label=f"--set {override.key}")
    locations: dict[Path, Location] = {tuple(parts[:i]): where for i in range(1, len(parts) + 1)}
    base = tuple(parts)
    for sub in value.locations:
        locations[(*base, *sub)] = where
    raw = {(*base, *sub): text for sub, text in value.raw.items()}
    return yaml_reader.Document(data=nested, locations=locations, raw=raw)


def _track(
    documents: list[yaml_reader.Document],
) -> tuple[dict[Path, Location], dict[Path, tuple[Location, ...]], dict[Path, str]]:
    """Replay OmegaConf's merge on positions: a later scalar or list replaces a key and
    everything under it; a later mapping only adds to what was there."""
    origin: dict[Path, Location] = {}
    overridden: dict[Path, tuple[Location, ...]] = {}
    raw: dict[Path, str] = {}
    children: dict[Path, set[Path]] = {}  # so a replaced subtree is dropped in O(its size)

    def drop_below(path: Path) -> None:
        for child in children.pop(path, ()):
            origin.pop(child, None)
            raw.pop(child, None)
            drop_below(child)

    def record(path: Path, location: Location) -> None:
        origin[path] = location
        if path:
            children.setdefault(path[:-1], set()).add(path)

    for document in documents:
        for path in sorted(document.locations, key=len):
            _, value = value_at(document.data, path)
            location = document.locations[path]
            if isinstance(value, dict):
                if path not in origin:
                    record(path, location)
                continue
            if value == MISSING and path in origin:
                continue  # `???` never replaces a value (OmegaConf's merge)
            if path in origin and (not path or not isinstance(path[-1], int)):
                overridden[path] = (*overridden.get(path, ()), origin[path])
                drop_below(path)
            record(path, location)
            raw.pop(path, None)
        raw.update(document.raw)
    return origin, overridden, raw


def load(config_paths: list[str], override_texts: list[str]) -> LoadedConfig:
    """Read, merge and resolve every layer; raise ConfigError listing all problems."""
    problems: list[Problem] = []
    inputs: list[InputFile] = []
    documents: list[yaml_reader.Document] = []
    for rank, path_text in enumerate(config_paths):
        try:
            input_file, document = read_input(path_text, rank)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        inputs.append(input_file)
        documents.append(document)
    overrides: list[Override] = []
    removals: list[tuple[Path, int]] = []
    nulls: set[int] = set()
    for index, text in enumerate(override_texts):
        rank = SET_RANK + index  # problems sort in command-line order
        try:
            override = parse_override(text, rank)
            document = read_override(override, rank)
            documents.append(document)
            overrides.append(override)
            if value_at(document.data, tuple(override.key.split(".")))[1] is None:
                removals.append((tuple(override.key.split(".")), rank))
                nulls.add(len(overrides) - 1)
        except ConfigError as exc:
            problems.extend(exc.problems)
    total = 0
    for document, input_file in zip(documents, inputs, strict=False):
        total += document.nodes
        if total > yaml_reader.MAX_EXPANDED_NODES:
            problems.append(
                Problem(
                    file_location(config_paths.index(input_file.label), input_file.label, 1, 1),
                    "",
                    f"the configs together hold more than {yaml_reader.MAX_EXPANDED_NODES:,} YAML nodes",
                    hint="merge fewer or smaller configs",
                )
            )
            break
    if problems:
        raise ConfigError(problems)

    merged, clashes = merge_layers(documents)
    if clashes:
        raise ConfigError(clashes)
    origin, overridden, raw = _track(documents)
    for path, rank in removals:
        _remove(merged, origin, raw, path, rank)
    tree = _resolve(merged, origin)
    return LoadedConfig(
        tree, origin, overridden, raw, tuple(inputs), tuple(overrides), nulls=frozenset(nulls)
    )


def _remove(
    tree: dict[str, Any], origin: dict[Path, Location], raw: dict[Path, str], path: Path, rank: int
) -> None:
    """`--set KEY=null` deletes KEY, so the default applies as if no layer had set it
    (OmegaConf would keep a null that most keys refuse), unless a later --set sets it again."""
    if origin.get(path) is None or origin[path].rank != rank:
        return
    parent: Any = value_at(tree, path[:-1])[1]
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    for known in [known for known in origin if known[: len(path)] == path]:
        origin.pop(known)
        raw.pop(known, None)


def merge_layers(documents: list[yaml_reader.Document]) -> tuple[dict[str, Any], list[Problem]]:
    """OmegaConf.merge's rules on plain data, without its cost (~0.1 ms a node: 120,000
    keys took 11 s): mappings merge key by key, `???` never replaces a value, anything
    else replaces what was there.  A list and a mapping cannot merge (OmegaConf raises
    a bare TypeError): each such clash is a located problem.  tests/test_property.py
    checks these rules against OmegaConf itself."""
    problems: list[Problem] = []

    def merge(base: Any, new: Any, path: Path, document: yaml_reader.Document) -> Any:
        if isinstance(base, dict) and isinstance(new, dict):
            merged = dict(base)
            for key, value in new.items():
                merged[key] = merge(base[key], value, (*path, key), document) if key in base else value
            return merged
        if new == MISSING:
            return base
        if isinstance(base, dict | list) and isinstance(new, dict | list) and type(base) is not type(new):
            earlier, later = ("a mapping", "a list") if isinstance(base, dict) else ("a list", "a mapping")
            problems.append(
                Problem(
                    document.locations.get(path),
                    dotted(path),
                    f"expected {earlier} here, as in an earlier layer, got {later}",
                    hint="layers merge mappings key by key and replace lists whole; a list and a "
                    "mapping cannot be merged",
                )
            )
            return base
        return new

    tree: Any = {}
    for document in documents:
        tree = merge(tree, document.data, (), document)
    return tree, problems


def _has_interpolation(node: Any) -> bool:
    if isinstance(node, str):
        return "${" in node
    if isinstance(node, dict):
        return any(_has_interpolation(k) or _has_interpolation(v) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_interpolation(item) for item in node)
    return False


def _resolve(merged: dict[str, Any], origin: dict[Path, Location]) -> dict[str, Any]:
    """Resolve ``${...}`` as OmegaConf does, after sizing every interpolation."""

    def where(path: Path) -> Location | None:
        return locate(origin, path)

    problems = interpolation.check(merged, where)  # also finds `???` left unset
    if problems:
        raise ConfigError(problems)
    if not _has_interpolation(merged):
        return merged  # nothing to resolve (and no `\${` escape to unescape)

    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        resolved: dict[str, Any] = OmegaConf.to_container(  # type: ignore[assignment]
            OmegaConf.create(merged), resolve=True, throw_on_missing=True
        )
    except (OmegaConfBaseException, TypeError, ValueError) as exc:
        key = str(getattr(exc, "full_key", "") or "")
        raise ConfigError(
            [Problem(where(tuple(key.split("."))) if key else None, key, _first_line(exc))]
        ) from None
    live = interpolation.frozen_problems(resolved, where)
    if live:
        raise ConfigError(live)
    return resolved


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


__all__ = ["InputFile", "LoadedConfig", "Override", "dotted", "load"]
