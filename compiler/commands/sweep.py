"""satc sweep: one validated, fit-checked bundle per point of a cartesian grid, plus an
index.  A sweep is one result: the points are compiled one at a time and written into a
hidden sibling of the output root, which replaces the root in one rename once every
point is valid and sweep.json is written.  Killed at any moment, the root holds the
previous sweep (or nothing); a refused point writes nothing."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import resources
from ..errors import ConfigError, Problem, derived_location
from ..pipeline import Bundle, compile_bundle
from .plan import not_estimated, report

INDEX = "sweep.json"
INDEX_FORMAT = "satc.sweep/1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# The largest grid satc sweep writes: every point is a compile (~0.1 s) and a bundle on
# disk, so a typo'd 100x100x100 grid is refused with its count instead of running for a
# day.  docs/guarantees.md "Sweeps" documents it.
MAX_POINTS = 4096
# Keys a point sets itself, so that no two bundles share a name, checkpoints or job.
NAMED_KEYS = ("args.experiment_name", "args.save", "launch.slurm.job_name")


class AxisError(ValueError):
    """A --sweep that is not KEY=v1,v2,..."""


class InvalidPoints(Exception):
    """Points that do not compile or do not fit, each with its problems."""

    def __init__(self, failures: list[tuple[str, list[Problem]]], total: int) -> None:
        self.failures = failures
        self.total = total
        super().__init__(f"{len(failures)} of {total} sweep point(s) invalid")


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Point:
    """What the index and the report keep of a written point (its bundle is on disk)."""

    name: str
    assignments: tuple[str, ...]  # the grid's KEY=VALUE for this point
    experiment_name: Any
    save: Any
    per_gpu_gib: float | None  # None when the config names no model to estimate
    fits: bool | None


def parse_axes(texts: tuple[str, ...]) -> list[Axis]:
    axes: list[Axis] = []
    for text in texts:
        key, sep, values = text.partition("=")
        key = key.strip()
        items = tuple(v.strip() for v in values.split(","))
        if not sep or not key or not all(items):
            raise AxisError(f"--sweep {text!r}: expected KEY=v1,v2,... (e.g. launch.nodes=1,2,4)")
        if any(axis.key == key for axis in axes):
            raise AxisError(f"--sweep {key} is given twice; list all its values in one --sweep")
        if len(set(items)) != len(items):
            raise AxisError(f"--sweep {key}: a value is listed twice")
        axes.append(Axis(key, items))
    if not axes:
        raise AxisError("give at least one --sweep KEY=v1,v2,...")
    count = math.prod(len(axis.values) for axis in axes)
    if count > MAX_POINTS:
        sizes = " x ".join(str(len(axis.values)) for axis in axes)
        raise AxisError(
            f"the --sweep grid has {count:,} points ({sizes}); satc sweep writes at most "
            f"{MAX_POINTS:,}: split it into several sweeps"
        )
    return axes


def check_leaves(axes: list[Axis], tree: Mapping[str, Any]) -> None:
    """An axis sets one value: a key that names a section (a mapping in the merged config
    or in the schema) would replace everything under it at every point."""
    for axis in axes:
        parts = axis.key.split(".")
        node: Any = tree
        for part in parts:
            node = node.get(part) if isinstance(node, Mapping) else None
        schema: Any = resources.schema()
        for part in parts:
            schema = (schema.get("properties") or {}).get(part) if isinstance(schema, Mapping) else None
        types = schema.get("type") if isinstance(schema, Mapping) else None
        section = isinstance(node, Mapping) or (
            isinstance(schema, Mapping)
            and ("object" in (types if isinstance(types, list) else [types]) or "properties" in schema)
        )
        if section or len(parts) == 1:
            raise AxisError(
                f"--sweep {axis.key}: {axis.key} is a section (a mapping), and a point would replace "
                f"all of it; sweep one value in it, e.g. --sweep {axis.key}.<key>=v1,v2"
            )


def _label(axis: Axis, value: str) -> str:
    leaf = axis.key.rsplit(".", 1)[-1]
    return _UNSAFE.sub("_", f"{leaf}{value}").strip("_") or "x"


def point_names(axes: list[Axis]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(directory name, assignments) for every point, in grid order; names are unique."""
    seen: set[str] = set()
    for combo in itertools.product(*(axis.values for axis in axes)):
        name = "-".join(_label(axis, value) for axis, value in zip(axes, combo, strict=True))
        base, n = name, 2
        while name in seen:
            name, n = f"{base}-{n}", n + 1
        seen.add(name)
        yield name, tuple(f"{axis.key}={value}" for axis, value in zip(axes, combo, strict=True))


def _naming(base: Bundle, name: str, axes: list[Axis]) -> list[str]:
    swept = {axis.key for axis in axes}
    args = base.plan.args
    experiment = f"{args.get('experiment_name') or 'satc'}-{name}"
    save = args.get("save")
    names = {
        "args.experiment_name": experiment,
        "args.save": f"{save}/{name}" if isinstance(save, str) and save else f"checkpoints/{experiment}",
    }
    if base.plan.launch.get("target") == "slurm":
        names["launch.slurm.job_name"] = _UNSAFE.sub("_", experiment)[:128]
    # A save directory deferred to launch time (launch.args_from_env) is the user's to
    # give per point: naming it here would be a --set that launch time overrides.
    deferred = {f"args.{dest}" for dest in base.plan.launch.get("args_from_env") or {}}
    return [f"{key}={value}" for key, value in names.items() if key not in swept | deferred]


def _compile_point(
    configs: list[str],
    overrides: list[str],
    root: Path,
    name: str,
    assignments: tuple[str, ...],
    naming: list[str],
    fit_check: bool,
    strict: bool,
) -> tuple[Bundle, Point] | list[Problem]:
    """One point's bundle and summary, or its problems."""
    point_overrides = [*overrides, *assignments, *naming]
    try:
        bundle = compile_bundle(configs, point_overrides, root / name, strict=strict)
    except ConfigError as exc:
        return list(exc.problems)
    args = bundle.plan.args
    if not_estimated(bundle.plan):
        return bundle, Point(name, assignments, args.get("experiment_name"), args.get("save"), None, None)
    estimate = report(bundle.plan).estimate
    if fit_check and estimate.fits is False:
        return [
            Problem(
                derived_location("satc plan"),
                "launch.gpu",
                f"does not fit: ~{estimate.per_gpu_gib:.1f} GiB per GPU, {estimate.verdict}",
                hint=f"see satc plan {' '.join(configs)} "
                + " ".join(f"--set {o}" for o in point_overrides)
                + " (or sweep with --no-fit-check)",
            )
        ]
    point = Point(
        name, assignments, args.get("experiment_name"), args.get("save"), estimate.per_gpu_gib, estimate.fits
    )
    return bundle, point


@dataclass
class Result:
    points: list[Point]
    warnings: list[Problem]


def run(
    configs: list[str],
    overrides: list[str],
    axes: list[Axis],
    root: Path,
    fit_check: bool = True,
    strict: bool = False,
) -> Result:
    """Compile every point, streaming each bundle into a hidden staging root, and put
    the staging root in place of ``root`` only when all are valid.  Raises ConfigError
    (the base config, the output root), AxisError (an axis that names a section) or
    InvalidPoints (naming each invalid or non-fitting point; nothing written)."""
    from ..write import check_sweep_root

    base = compile_bundle(configs, overrides, root)
    check_leaves(axes, base.config.tree)
    target = check_sweep_root(root, INDEX, INDEX_FORMAT)
    points: list[Point] = []
    warnings: dict[str, Problem] = {}  # each once: the points share their configs
    failures: list[tuple[str, list[Problem]]] = []
    total = 0
    with _staging(target) as staging:
        for name, assignments in point_names(axes):
            total += 1
            outcome = _compile_point(
                configs, overrides, root, name, assignments, _naming(base, name, axes), fit_check, strict
            )
            if isinstance(outcome, list):
                failures.append((f"{name} ({', '.join(assignments)})", outcome))
                continue
            bundle, point = outcome
            for warning in bundle.warnings:
                warnings.setdefault(warning.render(), warning)
            if not failures:  # once a point failed nothing will be written: only validate
                _write_point(staging, name, bundle.files)
                points.append(point)
        if failures:
            raise InvalidPoints(failures, total)
        _write_index(staging, index_text(axes, points))
        _replace(staging, target)
    return Result(points, list(warnings.values()))


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A hidden sibling of the root, removed whatever happens (after the swap it holds
    the previous sweep).  SIGTERM unwinds through here too, so a terminated sweep leaves
    no staging directory behind; SIGKILL leaves one, which the next sweep removes."""
    from ..write import TMP_PREFIX, clean_stale

    clean_stale(target.parent, target.name)
    staging = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}.{os.getpid()}.", dir=target.parent))

    def terminated(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield staging
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(staging, ignore_errors=True)


def _write_point(staging: Path, name: str, files: Mapping[str, str]) -> None:
    from ..write import write_files

    os.mkdir(staging / name)
    write_files(staging / name, files)


def _write_index(staging: Path, text: str) -> None:
    """sweep.json with the bundles' modes (0644 under umask 022: readable by whoever
    reads the bundles), and the root's mode a bundle directory has."""
    from ..write import write_files

    write_files(staging, {INDEX: text})


def _replace(staging: Path, target: Path) -> None:
    from ..write import fsync_dir, swap_in

    swap_in(staging, target)
    fsync_dir(target.parent)


def index_text(axes: list[Axis], points: list[Point]) -> str:
    document = {
        "format": INDEX_FORMAT,
        "axes": {axis.key: list(axis.values) for axis in axes},
        "points": [
            {
                "bundle": point.name,
                "set": list(point.assignments),
                "experiment_name": point.experiment_name,
                "save": point.save,
                "per_gpu_gib": None if point.per_gpu_gib is None else round(point.per_gpu_gib, 2),
                "fits": point.fits,
            }
            for point in points
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def find_indexes(root: Path) -> list[Path]:
    """Every sweep.json under ``root`` (dot-directories skipped, as for bundles)."""
    import os

    found = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if INDEX in files:
            found.append(Path(current) / INDEX)
    return sorted(found)


def index_drift(path: Path) -> list[str]:
    """How a sweep index disagrees with the bundles beside it ([] when it agrees)."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return [f"unreadable ({exc})"]
    if not isinstance(document, dict) or document.get("format") != INDEX_FORMAT:
        return []  # someone else's sweep.json
    drift = []
    points = document.get("points")
    for point in points if isinstance(points, list) else []:
        name = point.get("bundle") if isinstance(point, dict) else None
        args_file = path.parent / str(name) / "args.json"
        try:
            args = json.loads(args_file.read_text("utf-8")).get("args", {})
        except (OSError, ValueError, AttributeError):
            drift.append(f"point {name}: no readable bundle at {args_file.parent}")
            continue
        for key in ("experiment_name", "save"):
            if args.get(key) != point.get(key):
                drift.append(
                    f"point {name}: args.{key} is {args.get(key)!r}, the index says {point.get(key)!r}"
                )
    return drift
