"""Read args.json and refuse anything this runtime cannot trust (no torch, no compiler)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..bundle_format import FORMAT, FORMAT_MAJOR, canonical_digest, format_major
from .errors import BundleError

# The generated launch script exports this (templates/launch_*.sh.j2).
BUNDLE_ENV = "SATC_BUNDLE"
ARGS_FILE = "args.json"
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
RECOMPILE = "recompile it with `satc compile CONFIG... -o DIR`"


@dataclass(frozen=True)
class Topology:
    nodes: int
    gpus_per_node: int
    world_size: int
    model_parallel_size: int
    data_parallel_size: int
    context_parallel_size: int


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
        return int(self.launch.get("init_timeout", 600))

    @property
    def device(self) -> str:
        return str(self.launch.get("device", "cuda"))


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
    return Topology(**values)


def read_bundle(path: str | os.PathLike[str] | None = None) -> Bundle:
    """Read and verify a bundle: compatible format and satc version, then the digest."""
    where = bundle_path(path)
    try:
        size = where.stat().st_size
        if size > MAX_BYTES:
            raise BundleError(f"{where}: {size} bytes is not an args.json (limit {MAX_BYTES})")
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleError(
            f"{where}: no such bundle file; {RECOMPILE} (or fix the path / ${BUNDLE_ENV})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{where}: cannot read the bundle: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{where}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); {RECOMPILE}"
        ) from None
    if not isinstance(document, dict):
        raise BundleError(f"{where}: expected a JSON object, found {type(document).__name__}")
    _check_compatible(where, document)
    _check_digest(where, document)
    return Bundle(path=where, document=document, topology=_topology(where, document))
