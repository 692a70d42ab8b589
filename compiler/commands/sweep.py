"""satc sweep: one validated, fit-checked bundle per point of a cartesian grid, plus an
index.  Every point is compiled and checked in memory first: nothing is written unless
every point is valid."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, Problem, derived_location
from ..pipeline import Bundle, compile_bundle
from .plan import missing_model, report

INDEX = "sweep.json"
INDEX_FORMAT = "satc.sweep/1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
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
    name: str
    assignments: tuple[str, ...]  # the grid's KEY=VALUE for this point
    overrides: tuple[str, ...]  # everything passed to compile, naming included
    bundle: Bundle
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
    return axes


def _label(axis: Axis, value: str) -> str:
    leaf = axis.key.rsplit(".", 1)[-1]
    return _UNSAFE.sub("_", f"{leaf}{value}").strip("_") or "x"


def point_names(axes: list[Axis]) -> list[tuple[str, tuple[str, ...]]]:
    """(directory name, assignments) for every point, in grid order; names are unique."""
    out: list[tuple[str, tuple[str, ...]]] = []
    seen: set[str] = set()
    for combo in itertools.product(*(axis.values for axis in axes)):
        name = "-".join(_label(axis, value) for axis, value in zip(axes, combo, strict=True))
        base, n = name, 2
        while name in seen:
            name, n = f"{base}-{n}", n + 1
        seen.add(name)
        out.append((name, tuple(f"{axis.key}={value}" for axis, value in zip(axes, combo, strict=True))))
    return out


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
    return [f"{key}={value}" for key, value in names.items() if key not in swept]


def plan_points(
    configs: list[str],
    overrides: list[str],
    axes: list[Axis],
    root: Path,
    fit_check: bool = True,
    strict: bool = False,
) -> list[Point]:
    """Compile every point; raise ConfigError naming each invalid or non-fitting one."""
    base = compile_bundle(configs, overrides, root)
    points: list[Point] = []
    failures: list[tuple[str, list[Problem]]] = []
    grid = point_names(axes)
    for name, assignments in grid:
        point_overrides = [*overrides, *assignments, *_naming(base, name, axes)]
        label = f"{name} ({', '.join(assignments)})"
        try:
            bundle = compile_bundle(configs, point_overrides, root / name, strict=strict)
        except ConfigError as exc:
            failures.append((label, list(exc.problems)))
            continue
        if missing_model(bundle.plan):
            points.append(Point(name, assignments, tuple(point_overrides), bundle, None, None))
            continue
        estimate = report(bundle.plan).estimate
        if fit_check and estimate.fits is False:
            failures.append(
                (
                    label,
                    [
                        Problem(
                            derived_location("satc plan"),
                            "launch.gpu",
                            f"does not fit: ~{estimate.per_gpu_gib:.1f} GiB per GPU, {estimate.verdict}",
                            hint=f"see satc plan {' '.join(configs)} "
                            + " ".join(f"--set {o}" for o in point_overrides)
                            + " (or sweep with --no-fit-check)",
                        )
                    ],
                )
            )
            continue
        points.append(
            Point(name, assignments, tuple(point_overrides), bundle, estimate.per_gpu_gib, estimate.fits)
        )
    if failures:
        raise InvalidPoints(failures, len(grid))
    return points


def distinct_warnings(points: list[Point]) -> list[Problem]:
    """Each warning once: the points share their configs, so mostly their warnings."""
    return list({w.render(): w for point in points for w in point.bundle.warnings}.values())


def write(root: Path, axes: list[Axis], points: list[Point]) -> None:
    """Every point's bundle (each replaced atomically), then the index, atomically too.
    Targets are checked before the first write, so a refused one writes nothing."""
    import os
    import tempfile

    from ..write import check_target, write_bundle

    check_target(Path(os.path.abspath(root)), set())
    for point in points if root.is_dir() else ():
        check_target(Path(os.path.abspath(root / point.name)), set(point.bundle.files))
    root.mkdir(exist_ok=True)
    for point in points:
        write_bundle(root / point.name, point.bundle.files)
    with tempfile.NamedTemporaryFile(
        "w", dir=root, prefix=".satc-tmp-", delete=False, encoding="utf-8"
    ) as handle:
        handle.write(index_text(axes, points))
    os.replace(handle.name, root / INDEX)


def index_text(axes: list[Axis], points: list[Point]) -> str:
    document = {
        "format": INDEX_FORMAT,
        "axes": {axis.key: list(axis.values) for axis in axes},
        "points": [
            {
                "bundle": point.name,
                "set": list(point.assignments),
                "experiment_name": point.bundle.plan.args.get("experiment_name"),
                "save": point.bundle.plan.args.get("save"),
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
