"""Read args.json and refuse anything this runtime cannot trust (no torch, no compiler)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__, files
from ..bundle_format import FORMAT, FORMAT_MAJOR, canonical_digest, format_major
from .errors import BundleError

# The generated launch script exports this (templates/launch_*.sh.j2).
BUNDLE_ENV = "SATC_BUNDLE"
ARGS_FILE = "args.json"
# Written beside args.json for training bundles: entrypoints hand this file to DeepSpeed.
DS_CONFIG_FILE = "ds_config.json"
# args.json of the largest CogVideoX config is ~10 kB; anything near this is not a bundle.
MAX_BYTES = 64 * 1024 * 1024
TOPOLOGY_KEYS = (
    "nodes",
    "gpus_per_node",
    "world_size",
    "model_parallel_size",
    "data_parallel_size",
    "context_parallel_size",
)
# Only in bundles of projects whose arguments define a sequence-parallel size (SP1).
SEQUENCE_TOPOLOGY_KEYS = ("sequence_parallel_size", "sequence_data_parallel_size")
RECOMPILE = "recompile it with `satc compile CONFIG... -o DIR`"
# satc writes configs at most 32 levels deep; a few more for the sections around them.
MAX_DEPTH = 64
# numpy.random.seed takes 0..2**32-1, and rank r seeds with seed + its data-parallel rank.
SEED_LIMIT = 2**32 - 1
MAX_INIT_TIMEOUT = 7 * 24 * 3600


@dataclass(frozen=True)
class Topology:
    nodes: int
    gpus_per_node: int
    world_size: int
    model_parallel_size: int
    data_parallel_size: int
    context_parallel_size: int
    sequence_parallel_size: int | None = None
    sequence_data_parallel_size: int | None = None


@dataclass(frozen=True)
class Bundle:
    """A verified args.json: its digest matched and its format is one this runtime reads."""

    path: Path
    document: Mapping[str, Any]
    topology: Topology

    @property
    def args(self) -> Mapping[str, Any]:
        return self.document["args"]  # type: ignore[no-any-return]

    @property
    def launch(self) -> Mapping[str, Any]:
        return self.document["launch"]  # type: ignore[no-any-return]

    @property
    def init_timeout(self) -> int:
        return _init_timeout(self.path, self.launch)

    @property
    def device(self) -> str:
        return str(self.launch.get("device", "cuda"))

    @property
    def config_file(self) -> Path:
        """The bundle's merged config (absolute): what args.base names at run time."""
        return self.path.resolve().parent / str(self.document["config_file"]["path"])

    @property
    def base_files(self) -> list[Path]:
        """What args.base names at run time: the inputs one by one where the project's code
        indexes them (config_layers), else the merged config."""
        layers = self.document.get("config_layers") or []
        folder = self.path.resolve().parent
        return [folder / str(entry["path"]) for entry in layers] or [self.config_file]


def bundle_path(path: str | os.PathLike[str] | None) -> Path:
    """``path`` (a bundle directory or its args.json), else $SATC_BUNDLE."""
    if path is None:
        from_env = os.environ.get(BUNDLE_ENV)
        if not from_env:
            raise BundleError(
                f"no bundle given: pass satc.runtime.init(PATH) or set {BUNDLE_ENV} "
                f"(the launch.sh that `satc compile` writes exports it)"
            )
        path = from_env
    resolved = Path(path)
    return resolved / ARGS_FILE if resolved.is_dir() else resolved


def _short(value: object) -> str:
    from ..scrub import redact

    shown = (
        redact(json.dumps(value))  # before cutting: a cut token is no longer recognised
        if isinstance(value, str | int | float | bool) or value is None
        else type(value).__name__
    )
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _read_regular(path: Path, what: str) -> str:
    """The text of a regular file, bounded (a FIFO would block open() forever, /dev/zero
    read until memory runs out): satc's one reader, with the runtime's messages."""
    try:
        data = files.read_regular(path, MAX_BYTES)
    except files.NotRegularFile as exc:
        raise BundleError(f"{path}: is {exc.kind}, not {what}; {RECOMPILE}") from None
    except files.TooLarge:
        raise BundleError(f"{path}: more than {MAX_BYTES} bytes is not {what} (limit {MAX_BYTES})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{path}: cannot read it: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _parse_json(path: Path, text: str, recompile: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); {recompile}"
        ) from None
    except RecursionError:
        raise BundleError(f"{path}: nested deeper than {MAX_DEPTH} levels; {recompile}") from None
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    if deepest > MAX_DEPTH:
        raise BundleError(f"{path}: nested deeper than {MAX_DEPTH} levels; {recompile}")
    return value


def _major(version: object) -> str | None:
    if not isinstance(version, str) or not version.split(".")[0].isdigit():
        return None
    return version.split(".")[0]


def _check_compatible(where: Path, document: Mapping[str, Any]) -> None:
    found = document.get("format")
    if format_major(found) != FORMAT_MAJOR:
        raise BundleError(
            f"{where}: format {found!r} is not one this satc {__version__} reads "
            f"(it reads {FORMAT!r}); {RECOMPILE} using satc {__version__}"
        )
    written_by = document.get("satc_version")
    if _major(written_by) != _major(__version__):
        raise BundleError(
            f"{where}: written by satc {written_by!r}, but this runtime is satc {__version__} "
            f"(major versions differ); {RECOMPILE} using satc {__version__}"
        )


def _check_digest(where: Path, document: Mapping[str, Any]) -> None:
    recorded = document.get("digest")
    actual = canonical_digest(dict(document))
    if recorded != actual:
        raise BundleError(
            f"{where}: digest mismatch: the file records {recorded!r} but its content hashes "
            f"to {actual!r}; the bundle was edited after compile. Change the configs and "
            f"{RECOMPILE} instead of editing args.json"
        )


def _first_difference(found: Any, expected: Any, path: str = "") -> str | None:
    """Dotted path of the first value that differs, or None. Types must match exactly:
    JSON's true and 1 (or 1 and 1.0) compare equal in Python but not to DeepSpeed."""
    if type(found) is not type(expected):
        return path or "(the whole document)"
    if isinstance(expected, dict):
        for key in sorted(set(found) | set(expected)):
            here = f"{path}.{key}" if path else str(key)
            if key not in found or key not in expected:
                return here
            differs = _first_difference(found[key], expected[key], here)
            if differs is not None:
                return differs
        return None
    if isinstance(expected, list):
        for index, (item, wanted) in enumerate(zip(found, expected, strict=False)):
            differs = _first_difference(item, wanted, f"{path}[{index}]")
            if differs is not None:
                return differs
        return None if len(found) == len(expected) else f"{path}[{min(len(found), len(expected))}]"
    return None if found == expected else path or "(the whole document)"


def _value_at(document: Any, path: str) -> str:
    """The value at a path _first_difference returned, shown short; 'missing' if absent."""
    value = document
    for part in path.replace("[", ".[").split("."):
        if not part or part == "(the whole document)":
            continue
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(value, list) or index >= len(value):
                return "missing"
            value = value[index]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return "missing"
    shown = json.dumps(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _check_ds_config(where: Path, document: Mapping[str, Any]) -> None:
    """ds_config.json beside args.json must be args.json's deepspeed_config, unedited."""
    ds_path = where.parent / DS_CONFIG_FILE
    try:
        ds_path.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BundleError(f"{ds_path}: cannot read it: {exc}") from None
    recompile = f"run `satc check CONFIG...` and {RECOMPILE} instead of editing {DS_CONFIG_FILE}"
    expected = document.get("deepspeed_config")
    if expected is None:
        raise BundleError(
            f"{ds_path}: {where.name} has no deepspeed_config (an inference bundle), yet "
            f"{DS_CONFIG_FILE} exists beside it; it is not from this compile: {recompile}"
        )
    try:
        text = _read_regular(ds_path, "a DeepSpeed config")
    except OSError as exc:
        raise BundleError(f"{ds_path}: cannot read it: {exc}") from None
    found = _parse_json(ds_path, text, recompile)
    differs = _first_difference(found, expected)
    if differs is not None:
        raise BundleError(
            f"{ds_path}: does not match deepspeed_config in {where.name} at {differs} "
            f"({DS_CONFIG_FILE} has {_value_at(found, differs)}, {where.name} has "
            f"{_value_at(expected, differs)}); it was edited after compile: {recompile}"
        )


def _check_config_file(where: Path, document: Mapping[str, Any]) -> None:
    """The merged config beside args.json is the one args.json recorded, unedited; so is
    each input kept one by one (config_layers, for a project that indexes args.base)."""
    record = document.get("config_file")
    if not isinstance(record, dict) or not isinstance(record.get("path"), str):
        raise BundleError(f"{where}: config_file is missing or not an object; {RECOMPILE}")
    layers = document.get("config_layers", [])
    if not isinstance(layers, list) or not all(
        isinstance(r, dict) and isinstance(r.get("path"), str) and "/" not in r["path"] for r in layers
    ):
        raise BundleError(f"{where}: config_layers is not a list of files beside it; {RECOMPILE}")
    for entry in [record, *layers]:
        _check_recorded_file(where, entry)


def _check_recorded_file(where: Path, record: Mapping[str, Any]) -> None:
    path = where.parent / record["path"]
    try:
        data = _read_regular(path, "the bundle's merged config").encode("utf-8")
    except OSError as exc:
        raise BundleError(
            f"{path}: cannot read the bundle's merged config: {exc.strerror}; {RECOMPILE}"
        ) from None
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise BundleError(
            f"{path}: does not match the sha256 recorded in {where.name}; it was edited after "
            f"compile: change the configs and {RECOMPILE}"
        )


def _topology(where: Path, document: Mapping[str, Any]) -> Topology:
    for section in ("args", "topology", "launch"):
        if not isinstance(document.get(section), dict):
            raise BundleError(f"{where}: section {section!r} is missing or not an object")
    raw = document["topology"]
    values = {}
    for key in TOPOLOGY_KEYS:
        value = raw.get(key)
        if type(value) is not int or value < 1:
            raise BundleError(f"{where}: topology.{key} must be a positive integer, found {value!r}")
        values[key] = value
    present = [key for key in SEQUENCE_TOPOLOGY_KEYS if key in raw]
    if present and len(present) != len(SEQUENCE_TOPOLOGY_KEYS):
        raise BundleError(
            f"{where}: topology has {present[0]} without "
            f"{next(k for k in SEQUENCE_TOPOLOGY_KEYS if k not in raw)}; {RECOMPILE}"
        )
    for key in present:
        value = raw[key]
        if type(value) is not int or value < 1:
            raise BundleError(f"{where}: topology.{key} must be a positive integer, found {value!r}")
        values[key] = value
    return Topology(**values)


def _check_values(where: Path, document: Mapping[str, Any], topology: Topology) -> None:
    """What init() hands to numpy, torch.distributed and SAT must be usable on every
    rank: a bundle compiled by an older satc, or edited consistently, may hold values
    that would fail on one rank only (rank 1's seed past numpy's range) or deep inside
    torch with a bare ValueError."""
    seed = document["args"].get("seed")
    top = SEED_LIMIT - (topology.data_parallel_size - 1)
    if seed is not None and (type(seed) is not int or not 1 <= seed <= top):
        raise BundleError(
            f"{where}: args.seed must be an integer from 1 to {top} (SAT's set_random_seed "
            f"asserts seed > 0; each of the {topology.data_parallel_size} data-parallel ranks "
            f"seeds numpy with seed + its rank, at most {SEED_LIMIT}), found {_short(seed)}; {RECOMPILE}"
        )
    _init_timeout(where, document["launch"])


def _init_timeout(where: Path, launch: Mapping[str, Any]) -> int:
    value = launch.get("init_timeout", 600)
    if type(value) is not int or not 1 <= value <= MAX_INIT_TIMEOUT:
        raise BundleError(
            f"{where}: launch.init_timeout must be a whole number of seconds from 1 to "
            f"{MAX_INIT_TIMEOUT}, found {_short(value)}; {RECOMPILE}"
        )
    return value


def read_bundle(path: str | os.PathLike[str] | None = None) -> Bundle:
    """Read and verify a bundle: compatible format and satc version, the digest, then
    that ds_config.json (if any) is args.json's deepspeed_config."""
    where = bundle_path(path)
    try:
        text = _read_regular(where, "an args.json")
    except FileNotFoundError:
        raise BundleError(
            f"{where}: no such bundle file; {RECOMPILE} (or fix the path / ${BUNDLE_ENV})"
        ) from None
    except OSError as exc:
        raise BundleError(f"{where}: cannot read the bundle: {exc}") from None
    document = _parse_json(where, text, RECOMPILE)
    if not isinstance(document, dict):
        raise BundleError(f"{where}: expected a JSON object, found {type(document).__name__}")
    _check_compatible(where, document)
    _check_digest(where, document)
    _check_ds_config(where, document)
    topology = _topology(where, document)
    _check_values(where, document, topology)
    _check_config_file(where, document)
    return Bundle(path=where, document=document, topology=topology)
