"""Read one YAML text the way OmegaConf does, refusing what OmegaConf would let through.

OmegaConf's loader decides the values (``1e-8`` is a float, duplicate keys fail), but
it keeps no positions and accepts traps (RELIABILITY.md "YAML and OmegaConf"): tags
such as ``!!binary``, non-string keys that collapse (``1:``/``01:``), unbounded depth.
So we compose the node graph ourselves, check it, record where every key sits, and
only then let the loader construct the values.
"""

from __future__ import annotations

import contextlib
import marshal
import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, Location, Problem, dotted, escape, file_location

MAX_FILE_BYTES = 2_000_000  # a 6,000-key config is ~150 kB; a 6 MB one took 80 s
MAX_DEPTH = 32  # OmegaConf hits RecursionError near 90 levels
# Counts alias expansion, so billion-laughs stops early; and bounds time, since OmegaConf
# spends ~0.1 ms a node (120,000 keys took 11 s).  A 6,000-key model config is ~12,000.
MAX_EXPANDED_NODES = 100_000
# An alias of a long string costs no node but copies its text into every output.
MAX_EXPANDED_CHARS = 20_000_000

Path = tuple[str | int, ...]
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
# Each nesting level takes at least one character, so a text this short cannot nest
# deep enough to hurt libyaml's recursive composer (20,000 levels compose fine here,
# 40,000 overflow the C stack); longer texts are scanned first (_too_deep).
COMPOSER_SAFE_CHARS = 8_000
MAX_INT_DIGITS = 100  # Python refuses to parse integers past 4,300 digits
_MERGE_TAG = "tag:yaml.org,2002:merge"

# PyYAML is imported by the functions that parse (a tenth of a repeat compile's time,
# its reader's regular expression alone ~8 ms): a text read before is read back from the
# memo (``read``), so a repeat compile does not import it at all.
if TYPE_CHECKING:
    import yaml


class IntKey(str):
    """A mapping key the YAML wrote as an integer (``{9: 0, 17: 1}``), which OmegaConf
    keeps as an int: satc handles it as text, and the bundle records where it was so
    the runtime hands the project the int again (``int_keys`` in args.json).
    Index-anisora 171fe63 anisoraV1_train_gpu/sat/configs/cogvideox_5b_sft_fix_pretrain_gpu_720.yaml:34
    keys frame counts this way; its data_video.py:372 compares them with ints."""

    __slots__ = ()


# Sections whose mappings reach the project as OmegaConf trees or plain objects the
# runtime rebuilds (model_config, data_config, args): elsewhere (deepspeed's JSON, a
# project's own section) an integer key stays refused.
INT_KEY_SECTIONS = ("model", "data", "args")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")


@dataclass(frozen=True)
class Document:
    """A parsed YAML text: plain values plus the position of every key and item."""

    data: Any
    locations: dict[Path, Location]
    # Source text of unquoted scalars, to explain YAML 1.1 surprises (`no` -> false).
    raw: dict[Path, str]
    nodes: int = 0  # YAML nodes read, aliases expanded


@lru_cache(maxsize=1)
def _loader() -> Any:
    return _omegaconf_yaml().get_yaml_loader(max_yaml_expanded_nodes=MAX_EXPANDED_NODES)


def _omegaconf_yaml() -> ModuleType:
    """OmegaConf's own YAML loader module, without the rest of OmegaConf.

    ``import omegaconf._yaml`` first runs ``omegaconf/__init__`` (its ANTLR grammar and
    attrs: ~30 ms, a seventh of a cold compile), yet the loader needs only PyYAML and
    plain configs never reach OmegaConf otherwise.  So the installed ``_yaml.py`` runs
    under a private top-level name; should it ever import from its package, that fails
    with ImportError and the ordinary import is used.  Same code, same reading.
    """
    import importlib.util

    spec = importlib.util.find_spec("omegaconf")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        source = importlib.util.spec_from_file_location(
            "_satc_omegaconf_yaml", os.path.join(folder, "_yaml.py")
        )
        if source is None or source.loader is None:
            continue
        module = importlib.util.module_from_spec(source)
        try:
            source.loader.exec_module(module)
        except (ImportError, OSError):
            break
        return module
    import omegaconf._yaml

    return omegaconf._yaml


def decode(data: bytes, label: str, rank: int) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(
            [
                Problem(
                    file_location(rank, label, 1, 1),
                    "",
                    f"file is larger than {MAX_FILE_BYTES:,} bytes, the most satc reads",
                    hint="a config this big is probably not a config; split it or trim it",
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            [
                Problem(
                    file_location(rank, label, line, col),
                    "",
                    f"byte 0x{data[exc.start]:02x} is not UTF-8",
                    hint="save the file as UTF-8",
                )
            ]
        ) from None


def _mark_location(mark: Any, label: str, rank: int) -> Location:
    return file_location(rank, label, mark.line + 1, mark.column + 1)


# What YAML refuses to read at all (PyYAML's Reader.NON_PRINTABLE); compiled only for a
# text that has one (the character class takes ~8 ms to compile, a clean compile's 5%).
_NON_PRINTABLE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


def _position(text: str, index: int, label: str, rank: int) -> Location:
    line = text.count("\n", 0, index) + 1
    return file_location(rank, label, line, index - (text.rfind("\n", 0, index) + 1) + 1)


def _yaml_problem(exc: yaml.YAMLError, text: str, label: str, rank: int) -> Problem:
    import yaml

    if isinstance(exc, yaml.reader.ReaderError):
        # No mark, only an offset (of the encoded text, in libyaml): find the character.
        found = re.search(_NON_PRINTABLE, text)
        index = found.start() if found else 0
        return Problem(
            _position(text, index, label, rank),
            "",
            f"invalid YAML: control character {escape(text[index : index + 1]) or '?'} is not allowed",
            hint="remove it; inside a double-quoted string it can be written as an escape (\\t, \\x..)",
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    location = _mark_location(mark, label, rank) if mark else file_location(rank, label, 1, 1)
    problem = getattr(exc, "problem", None) or str(exc)
    hint = None
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        problem, hint = "tab character", "indent YAML with spaces, not tabs"
    elif "another document" in problem or "expected a single document" in problem:
        problem = "more than one YAML document (---) in one file"
        hint = "split the documents into separate files and list them in order"
    elif "duplicate key" in problem:
        hint = "each key may appear once per mapping"
    context = getattr(exc, "context", None)
    message = f"{context}: {problem}" if context and "document" not in problem else problem
    return Problem(location, "", f"invalid YAML: {message}", hint=hint)


def _explicit_tag(text: str, label: str, rank: int) -> Problem | None:
    import yaml

    if "!" not in text:  # fast path: no tag can appear without '!'
        return None
    for token in yaml.scan(text, Loader=_loader()):
        if isinstance(token, yaml.TagToken):
            handle, suffix = token.value
            tag = f"{handle or ''}{suffix}"
            return Problem(
                _mark_location(token.start_mark, label, rank),
                "",
                f"explicit YAML tag {tag!r} is not allowed",
                hint="configs hold plain values only; remove the tag (quote the value if "
                "it should be a string)",
            )
    return None


class _Walker:
    """Checks a composed node graph and records key positions and raw scalars."""

    def __init__(self, label: str, rank: int) -> None:
        self.label = label
        self.rank = rank
        self.locations: dict[Path, Location] = {}
        self.raw: dict[Path, str] = {}
        self.problems: list[Problem] = []
        self.expanded = 0
        self.expanded_chars = 0
        self.int_keyed: set[Path] = set()  # mappings holding an integer key (IntKey)

    def at(self, node: yaml.Node) -> Location:
        return _mark_location(node.start_mark, self.label, self.rank)

    def walk(self, node: yaml.Node, path: Path, depth: int) -> None:
        import yaml

        self.expanded += 1
        if self.expanded > MAX_EXPANDED_NODES:
            raise ConfigError(
                [
                    Problem(
                        self.at(node),
                        dotted(path),
                        f"more than {MAX_EXPANDED_NODES:,} YAML nodes (keys, values and items, "
                        "aliases expanded)",
                        hint="a config this big is probably generated "
                        "by mistake; check for runaway anchors and aliases",
                    )
                ]
            )
        if depth > MAX_DEPTH:
            raise ConfigError(
                [
                    Problem(
                        self.at(node),
                        dotted(path),
                        f"nesting deeper than {MAX_DEPTH} levels",
                        hint="flatten the structure",
                    )
                ]
            )
        if isinstance(node, yaml.MappingNode):
            self.walk_mapping(node, path, depth)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.locations[(*path, index)] = self.at(item)
                self.walk(item, (*path, index), depth + 1)
        elif isinstance(node, yaml.ScalarNode):
            self.expanded_chars += len(node.value)
            if self.expanded_chars > MAX_EXPANDED_CHARS:
                raise ConfigError(
                    [
                        Problem(
                            self.at(node),
                            dotted(path),
                            f"aliases expand to more than {MAX_EXPANDED_CHARS:,} characters",
                        )
                    ]
                )
            if not node.style:
                self.raw[path] = node.value
            if node.tag == _INT_TAG and len(node.value) > MAX_INT_DIGITS:
                self.problems.append(
                    Problem(
                        self.at(node),
                        dotted(path),
                        f"integer with {len(node.value):,} digits",
                        hint="quote it if it is meant to be text",
                    )
                )

    def walk_mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> None:
        import yaml

        seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *anchor` merges keys into this mapping
                # `<<: [*a, *b]` merges each mapping of the list: their keys sit at `path`
                # too, not under list positions (which would locate nothing).
                merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for item in merged:
                    self.walk(item, path, depth)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                self.problems.append(
                    Problem(
                        self.at(key_node),
                        dotted(path),
                        f"a key that is {kind} is not a string (a `? ` complex key)",
                        hint="use a plain string key",
                    )
                )
                continue
            if (
                key_node.tag == _INT_TAG
                and path
                and path[0] in INT_KEY_SECTIONS
                and _DECIMAL.fullmatch(key_node.value)
                and len(key_node.value) <= MAX_INT_DIGITS
            ):
                self.int_keyed.add(path)  # OmegaConf keeps 9 as the int 9 (IntKey)
            elif key_node.tag != _STR_TAG:
                shown = key_node.value
                self.problems.append(
                    Problem(
                        self.at(key_node),
                        dotted(path),
                        f"key {shown!r} is not a string",
                        hint=f'quote it ("{shown}"): keys like 1 and 01 would otherwise collapse into one',
                    )
                )
                continue
            key = key_node.value
            child = (*path, key)
            if key in seen:
                self.problems.append(
                    Problem(
                        self.at(key_node),
                        dotted(child),
                        f"duplicate key (first defined at line {seen[key].line})",
                        hint="each key may appear once per mapping",
                    )
                )
                continue
            seen[key] = self.at(key_node)
            self.locations[child] = seen[key]
            self.walk(value_node, child, depth + 1)


def _non_finite(data: Any, path: Path, found: list[Path]) -> None:
    if isinstance(data, float) and not math.isfinite(data):
        found.append(path)
    elif isinstance(data, dict):
        for key, value in data.items():
            _non_finite(value, (*path, key), found)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _non_finite(value, (*path, index), found)


def _too_deep(text: str, label: str, rank: int, depth: int) -> Problem | None:
    """Bound nesting on the event stream, before anything is composed.

    libyaml's composer recurses once per level: `[[[[...` 100,000 deep overflows the C
    stack (SIGSEGV) before any Python check could run.  The parser itself is a state
    machine, so counting open collections on its events is safe at any depth."""
    import yaml

    if len(text) < COMPOSER_SAFE_CHARS:
        return None  # nests at most one level a character: the walker reports it
    markers = sum(text.count(marker) for marker in "[{-:?")
    if markers <= MAX_DEPTH - depth:
        return None  # too few collection markers to nest that deep
    scanner = _loader()(text)
    # One frame per open collection: [is a mapping, its current key or list index,
    # (mappings) whether the next node is a key].
    frames: list[list[Any]] = []
    try:
        while scanner.check_event():
            event = scanner.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                if len(frames) + depth >= MAX_DEPTH + 1:
                    path = tuple(frame[1] for frame in frames if not (frame[0] and frame[2]))
                    return Problem(
                        _mark_location(event.start_mark, label, rank),
                        dotted(path),
                        f"nesting deeper than {MAX_DEPTH} levels",
                        hint="flatten the structure",
                    )
                mapping = isinstance(event, yaml.MappingStartEvent)
                frames.append([mapping, None if mapping else 0, True])
            elif isinstance(event, yaml.CollectionEndEvent):
                frames.pop()
                _consumed(frames, None)
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                _consumed(frames, getattr(event, "value", None))
    except yaml.YAMLError:
        return None  # reported, with its location, by the real parse
    finally:
        scanner.dispose()
    return None


def _consumed(frames: list[list[Any]], scalar: str | None) -> None:
    """A node ended inside the innermost collection: advance its key or index."""
    if not frames:
        return
    frame = frames[-1]
    is_mapping, _, expecting_key = frame
    if is_mapping:
        if expecting_key:
            frame[1] = scalar if scalar is not None else "?"
        frame[2] = not expecting_key
    else:
        frame[1] += 1


def _stamp() -> tuple[Any, ...]:
    """satc's reader, PyYAML and OmegaConf's loader (``_yaml.py``): what a reading depends on."""
    from . import memo

    return (memo.code_stamp(__file__, "yaml"), memo.code_stamp(__file__, "omegaconf"))


def _to_plain(document: Document) -> tuple[Any, ...]:
    locations = {path: (at.rank, at.line, at.col, at.label) for path, at in document.locations.items()}
    return (document.data, locations, document.raw, document.nodes)


def _from_plain(plain: tuple[Any, ...]) -> Document:
    data, locations, raw, nodes = plain
    return Document(
        data=data,
        locations={
            path: Location(rank, line, col, label) for path, (rank, line, col, label) in locations.items()
        },
        raw=raw,
        nodes=nodes,
    )


def read(text: str, label: str, rank: int, *, mapping_root: bool = True, depth: int = 0) -> Document:
    """Parse ``text``; raise ConfigError with every located problem found.  ``depth`` is
    how deep the text will sit (a --set value under its dotted key).

    A text read cleanly before, with the same label, rank and code, is read back from the
    memo (memo.py, keyed by all of that): the same values and positions, without PyYAML.
    A text with problems is parsed every time."""
    from . import memo

    digest = memo.key("yaml", _stamp(), text, label, rank, mapping_root, depth)
    stored = memo.get("yaml", digest)
    if stored is not None:
        try:
            return _from_plain(marshal.loads(stored))
        except (EOFError, ValueError, TypeError):
            pass  # a damaged entry: parse again (and overwrite it)
    document = _parse(text, label, rank, mapping_root=mapping_root, depth=depth)
    with contextlib.suppress(ValueError):  # a value marshal cannot write: not memoised
        memo.put("yaml", digest, marshal.dumps(_to_plain(document)))
    return document


def _parse(text: str, label: str, rank: int, *, mapping_root: bool, depth: int) -> Document:
    import yaml

    tag_problem = _explicit_tag_safely(text, label, rank) or _too_deep(text, label, rank, depth)
    if tag_problem:
        raise ConfigError([tag_problem])
    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        walker = _Walker(label, rank)
        if node is not None:
            walker.walk(node, (), depth)
        if walker.problems:
            raise ConfigError(walker.problems)
        if node is not None and mapping_root and not isinstance(node, yaml.MappingNode):
            raise ConfigError(
                [
                    Problem(
                        walker.at(node),
                        "",
                        f"the top level must be a mapping of sections, found a {node.id}",
                        hint="start the file with sections such as `args:`, `model:`, `deepspeed:`",
                    )
                ]
            )
        data = loader.construct_document(node) if node is not None else None
        if walker.int_keyed:
            _text_keys(data, walker.int_keyed)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, text, label, rank)]) from None
    except RecursionError:
        raise ConfigError(
            [Problem(file_location(rank, label, 1, 1), "", "nesting too deep to read")]
        ) from None
    except (ValueError, OverflowError) as exc:
        # A backstop: the walker refuses the values known to raise here (huge integers).
        raise ConfigError(
            [
                Problem(
                    file_location(rank, label, 1, 1),
                    "",
                    f"a value cannot be read: {str(exc).split(';')[0]}",
                    hint="quote it if it is meant to be text",
                )
            ]
        ) from None
    finally:
        loader.dispose()
    bad: list[Path] = []
    _non_finite(data, (), bad)
    if bad:
        raise ConfigError(
            [
                Problem(
                    walker.locations.get(path) or file_location(rank, label, 1, 1),
                    dotted(path),
                    f"{walker.raw.get(path, 'value')} is not a finite number",
                    hint="DeepSpeed and JSON need finite numbers; if this is meant to be text, quote it",
                )
                for path in bad
            ]
        )
    if mapping_root and data is None:
        data = {}
    return Document(data=data, locations=walker.locations, raw=walker.raw, nodes=walker.expanded)


def _text_keys(data: Any, mappings: set[Path]) -> None:
    """The integer keys of ``mappings`` as IntKey text, in place and in order (the walker
    recorded the paths with text keys, as every other path)."""
    for path in sorted(mappings, key=len):  # outer first: IntKey("9") finds the key "9" below
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        node = parent[path[-1]] if path else data
        if not isinstance(node, dict):
            continue
        renamed = {
            IntKey(str(key)) if isinstance(key, int) and not isinstance(key, bool) else key: value
            for key, value in node.items()
        }
        if path:
            parent[path[-1]] = renamed
        else:
            node.clear()
            node.update(renamed)


def _explicit_tag_safely(text: str, label: str, rank: int) -> Problem | None:
    import yaml

    try:
        return _explicit_tag(text, label, rank)
    except yaml.YAMLError as exc:
        return _yaml_problem(exc, text, label, rank)
