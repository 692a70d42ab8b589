"""Print the namespace a SAT-derived project's OWN ``get_args`` computes, as JSON.

    python project_get_args.py --tree DIR -- [@R/W] ARGV... [-- [@R/W] ARGV...]...

``DIR`` is the project's entrypoint folder (CogVideoX's or a fork's ``sat/``); the
script runs there, as the project's README launches it, and imports the tree's own
``arguments.py`` -- read in place, never copied.  ``sys.path`` is ``[DIR, <vendored
SAT>]`` (a SAT vendored in or beside the project wins over the installed one, as
``pip install -e`` of it would) and never this folder, whose ``sgm`` stand-in would
shadow the project's.  Each ARGV group (``--base a.yaml b.yaml --load x`` ...) goes to
``get_args`` in turn, as rank R of W (``@3/4``; rank 0 of 1 without it); one line
per group, ``REFERENCE {"args": {...}}`` or
``REFERENCE {"error": "Type: message"}`` when the project's own code refuses it.

Neutralised as tests/reference/reference_args.py does for the CogVideoX port, so a CPU
machine sees what rank R of a one-GPU-per-rank job sees, without a process group:

* ``torch.cuda.device_count`` is 1, ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` are R/W/R, so
  ``device == local_rank`` and training configs pass the project's own check;
* the module's ``initialize_distributed`` and ``set_random_seed`` do nothing (no
  sockets, no global RNG state);
* the data-parallel rank (``mpu.get_data_parallel_rank``) and the global rank
  (``torch.distributed.get_rank``) are R: every seed rule a project has (+dp rank,
  +global rank, none in inference) is evaluated as it would be on rank R at model
  parallel 1.

Everything a config decides runs through the project's unmodified code.  When the
vendored SAT needs ``concurrent_log_handler`` (a logging package the shared venv lacks),
a stand-in with the standard library's rotating handler is installed: it only logs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
import types
from pathlib import Path


def vendored_sat(tree: Path) -> Path | None:
    """The folder holding a SAT package vendored in or beside the project, if any.

    A SAT is a ``sat`` package with ``mpu/`` and ``arguments.py``; looked for under the
    tree (``sat/<x>/sat``) and beside it (Tora's ``modules/SwissArmyTransformer/sat``).
    """
    candidates = [
        *sorted(tree.glob("*/sat")),
        *sorted(tree.glob("*/*/sat")),
        *sorted(tree.parent.glob("*/sat")),
        *sorted(tree.parent.glob("*/*/sat")),
    ]
    for package in candidates:
        is_sat = (package / "mpu" / "__init__.py").is_file() and (package / "arguments.py").is_file()
        if is_sat and package.resolve() != tree.resolve() and not _in_another_project(tree, package):
            return package.parent
    return None


def _in_another_project(tree: Path, package: Path) -> bool:
    """A SAT beside the tree inside a checkout of its own (a sibling project's vendored
    SAT), as satc's compiler/project/sat_source.py tells them apart."""
    if package.is_relative_to(tree):
        return False
    if (tree / ".git").exists():
        return True
    top = tree.parent / package.relative_to(tree.parent).parts[0]
    if top.name == "SwissArmyTransformer":
        return False
    return (
        (top / ".git").exists()
        or (top / "arguments.py").is_file()
        or (top / "sat" / "arguments.py").is_file()
    )


def split_groups(argv: list[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    for item in argv:
        if item == "--":
            groups.append([])
        elif groups:
            groups[-1].append(item)
    return groups


def _stub_missing_logging_package() -> None:
    try:
        importlib.import_module("concurrent_log_handler")
    except ImportError:
        import logging.handlers

        stub = types.ModuleType("concurrent_log_handler")
        stub.ConcurrentRotatingFileHandler = logging.handlers.RotatingFileHandler
        sys.modules["concurrent_log_handler"] = stub


# The rank the neutralised calls report, set per group before get_args runs.
PROCESS = {"rank": 0, "world": 1}


def as_rank(rank: int, world: int) -> None:
    PROCESS.update(rank=rank, world=world)
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank)})


def load_project(tree: Path) -> types.ModuleType:
    """Import the tree's arguments.py with the per-process half neutralised."""
    os.chdir(tree)
    sat_home = vendored_sat(tree)
    own = Path(__file__).resolve().parent
    inherited = [path for path in sys.path[1:] if Path(path or ".").resolve() != own]
    sys.path[:] = [str(tree), *([str(sat_home)] if sat_home else []), *inherited]
    as_rank(0, 1)
    _stub_missing_logging_package()

    import torch
    import torch.distributed

    torch.cuda.device_count = lambda: 1
    torch.distributed.get_rank = lambda group=None: PROCESS["rank"]
    project = importlib.import_module("arguments")
    project.initialize_distributed = lambda args: True
    project.set_random_seed = lambda seed: None
    mpu = getattr(project, "mpu", None) or importlib.import_module("sat.mpu")
    mpu.get_data_parallel_rank = lambda: PROCESS["rank"]
    return project


def to_json(namespace: argparse.Namespace) -> dict:
    from omegaconf import OmegaConf

    values = {}
    for key, value in vars(namespace).items():
        if OmegaConf.is_config(value):
            value = OmegaConf.to_container(value, resolve=True)
        values[key] = value
    # A JSON round trip: tuples become lists, anything else its repr, as satc's bundle sees it.
    return json.loads(json.dumps(values, sort_keys=True, default=repr))


def main() -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--tree", type=Path, required=True)
    options, rest = parser.parse_known_args()
    project = load_project(options.tree.resolve())
    report = {"sat": str(Path(sys.modules["sat"].__file__).parent), "arguments": project.__file__}
    print("PROJECT " + json.dumps(report, sort_keys=True), flush=True)
    for argv in split_groups(rest):
        rank, world = (0, 1)
        if argv and argv[0].startswith("@"):
            rank, world = (int(part) for part in argv.pop(0)[1:].split("/"))
        as_rank(rank, world)
        try:
            result = {"args": to_json(project.get_args(argv))}
        except BaseException as exc:  # noqa: BLE001 -- the project's own refusal is the datum
            if isinstance(exc, KeyboardInterrupt):
                raise
            where = traceback.extract_tb(exc.__traceback__)[-1]
            result = {
                "error": f"{type(exc).__name__}: {exc}",
                "at": f"{Path(where.filename).name}:{where.lineno}",
            }
        print("REFERENCE " + json.dumps(result, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
