"""Load stage: YAML layers + --set overrides -> one resolved plain tree with origins.

Layers merge exactly as OmegaConf merges them (later wins, mappings merge deeply,
lists are replaced); ``--set`` overrides come last (SPEC D2).  Alongside the tree we
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

from . import interpolation, yaml_reader
from .errors import SET_RANK, ConfigError, Location, Problem, dotted, file_location

Path = tuple[str | int, ...]
_DOTTED_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


@dataclass(frozen=True)
class InputFile:
    path: FsPath
    label: str  # as the user wrote it, for messages
    sha256: str  # of the file's content (see content_digest), not of its bytes


def content_digest(data: Any) -> str:
    """sha256 of a document's values in canonical JSON (sorted keys).

    Reordering keys, comments, quoting styles or CRLF checkouts change no value, so
    they must not change the bundle (issue 5: byte-identical for shuffled inputs)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=repr)
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

    def locate(self, path: Path) -> Location | None:
        """The origin of ``path`` or of its nearest ancestor that has one."""
        for end in range(len(path), 0, -1):
            found = self.origin.get(path[:end])
            if found is not None:
                return found
        return None


def parse_override(text: str) -> Override:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not _DOTTED_KEY.match(key):
        raise ConfigError(
            [
                Problem(
                    Location(rank=SET_RANK, label=f"--set {text}"),
                    "",
                    "expected KEY=VALUE with a dotted key, e.g. --set args.lr=1e-4",
                )
            ]
        )
    return Override(key=key, value_text=value)


def read_input(path_text: str, rank: int) -> tuple[InputFile, yaml_reader.Document]:
    path = FsPath(path_text)
    start = file_location(rank, path_text, 0, 0)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path_text):
        raise ConfigError([Problem(start, "", "file name contains control characters")])
    if path.is_dir():
        raise ConfigError(
            [Problem(start, "", "is a directory, expected a YAML file", hint="list the files")]
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([Problem(start, "", "no such file")]) from None
    except OSError as exc:
        raise ConfigError([Problem(start, "", f"cannot read: {exc.strerror}")]) from None
    text = yaml_reader.decode(data, path_text, rank)
    document = yaml_reader.read(text, path_text, rank)
    return InputFile(path, path_text, content_digest(document.data)), document


def read_override(override: Override) -> yaml_reader.Document:
    label = override.label
    value = yaml_reader.read(override.value_text, label, SET_RANK, mapping_root=False)
    nested: Any = value.data
    parts: list[str | int] = list(override.key.split("."))
    for part in reversed(parts):
        nested = {part: nested}
    where = Location(rank=SET_RANK, label=f"--set {override.key}")
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
    # Child index over every path ever given an origin (and its ancestors), so dropping
    # a replaced subtree visits only that subtree: a scan over all origins per replaced
    # key made many layers over a large config quadratic.
    children: dict[Path, set[Path]] = {}

    def register(path: Path) -> None:
        while path and path not in children.get(path[:-1], ()):
            children.setdefault(path[:-1], set()).add(path)
            path = path[:-1]

    def drop_descendants(path: Path) -> None:
        stack = list(children.pop(path, ()))
        while stack:
            stale = stack.pop()
            stack.extend(children.pop(stale, ()))
            if stale in origin:
                del origin[stale]
                raw.pop(stale, None)

    for document in documents:
        for path in sorted(document.locations, key=len):
            _, value = _value_at(document.data, path)
            location = document.locations[path]
            register(path)
            if isinstance(value, dict):
                origin.setdefault(path, location)
                continue
            if path in origin and (not path or not isinstance(path[-1], int)):
                overridden[path] = (*overridden.get(path, ()), origin[path])
                drop_descendants(path)
            origin[path] = location
            raw.pop(path, None)
        raw.update(document.raw)
    return origin, overridden, raw


def _value_at(data: Any, path: Path) -> tuple[bool, Any]:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


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
    for text in override_texts:
        try:
            override = parse_override(text)
            documents.append(read_override(override))
            overrides.append(override)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)

    origin, overridden, raw = _track(documents)
    tree = _merge_and_resolve(documents, origin)
    return LoadedConfig(tree, origin, overridden, raw, tuple(inputs), tuple(overrides))


class _Clash(Exception):
    """A mapping merged onto a list or a list onto a mapping: OmegaConf cannot do that
    (it raises a bare TypeError), so we say where."""

    def __init__(self, path: Path, found: str) -> None:
        self.path = path
        self.found = found


_ABSENT = object()


def _merged_value(base: Any, new: Any, path: Path, needs_omegaconf: list[bool]) -> Any:
    """OmegaConf's merge on plain YAML values: mappings merge deeply (existing keys keep
    their place, new ones follow), anything else replaces; always fresh containers.
    Values only OmegaConf decides (``${...}``, ``???``) are merged as text and flagged."""
    if isinstance(new, dict):
        if isinstance(base, list):
            raise _Clash(path, "mapping")
        merged = dict(base) if isinstance(base, dict) else {}
        for key, value in new.items():
            if not isinstance(key, str) or "${" in key or key == "???":
                needs_omegaconf[0] = True
            merged[key] = _merged_value(merged.get(key, _ABSENT), value, (*path, key),
                                        needs_omegaconf)
        return merged
    if isinstance(new, list):
        if isinstance(base, dict):
            raise _Clash(path, "list")
        return [_merged_value(_ABSENT, item, (*path, i), needs_omegaconf)
                for i, item in enumerate(new)]
    if isinstance(new, str):
        if "${" in new or new == "???":
            needs_omegaconf[0] = True
        return new
    if not (new is None or isinstance(new, bool | int | float)):
        needs_omegaconf[0] = True
    return new


def _plain_merge(documents: list[yaml_reader.Document], origin: dict[Path, Location]) -> dict[str, Any] | None:
    """The merged tree without building OmegaConf nodes (which cost ~10 us per key and
    most of a compile), or None when OmegaConf must decide."""
    merged: Any = {}
    needs_omegaconf = [False]
    for document in documents:
        try:
            merged = _merged_value(merged, document.data, (), needs_omegaconf)
        except _Clash as clash:
            earlier = "list" if clash.found == "mapping" else "mapping"
            raise ConfigError([Problem(
                document.locations.get(clash.path), dotted(clash.path),
                f"a {clash.found} cannot be merged onto the {earlier} an earlier layer set",
                hint="use the same kind of value in every layer (or set it to null first)",
            )]) from None
    if needs_omegaconf[0] or not isinstance(merged, dict):
        return None
    return merged


def _merge_and_resolve(
    documents: list[yaml_reader.Document], origin: dict[Path, Location]
) -> dict[str, Any]:
    plain = _plain_merge(documents, origin)
    if plain is not None:
        return plain  # no `${` and no `???` anywhere: nothing to resolve or check

    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    def where(path: Path) -> Location | None:
        for end in range(len(path), 0, -1):
            if path[:end] in origin:
                return origin[path[:end]]
        return None

    try:
        merged = OmegaConf.merge(*(OmegaConf.create(d.data) for d in documents))
    except OmegaConfBaseException as exc:
        key = str(getattr(exc, "full_key", "") or "")
        raise ConfigError(
            [Problem(where(tuple(key.split("."))) if key else None, key, _first_line(exc))]
        ) from None
    unresolved: dict[str, Any] = OmegaConf.to_container(merged, resolve=False)  # type: ignore[assignment]
    problems = interpolation.check(unresolved, where)
    if problems:
        raise ConfigError(problems)
    try:
        resolved: dict[str, Any] = OmegaConf.to_container(  # type: ignore[assignment]
            merged, resolve=True, throw_on_missing=True
        )
    except OmegaConfBaseException as exc:
        key = str(getattr(exc, "full_key", "") or "")
        raise ConfigError(
            [Problem(where(tuple(key.split("."))) if key else None, key, _first_line(exc))]
        ) from None
    return resolved


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


__all__ = ["InputFile", "LoadedConfig", "Override", "dotted", "load"]
