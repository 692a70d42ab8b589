"""Print the namespace a SAT-derived project's OWN ``get_args`` computes, as JSON.

    python project_get_args.py --tree DIR [--sat-presets] -- [@R/W] ARGV... [-- [@R/W] ARGV...]...
    python project_get_args.py --tree DIR --dests

``DIR`` is the project's entrypoint folder (CogVideoX's or a fork's ``sat/``); the
script runs there, as the project's README launches it, and imports the tree's own
``arguments.py`` -- read in place, never copied.  ``sys.path`` is ``[DIR, <vendored
SAT>]`` (a SAT vendored in or beside the project wins over the installed one, as
``pip install -e`` of it would) and never this folder (the script's own).  Each ARGV
group (``--base a.yaml b.yaml --load x`` ...) goes to ``get_args`` in turn, as rank R
of W (``@3/4``; rank 0 of 1 without it); one line per group, ``REFERENCE {"args":
{...}}`` or ``REFERENCE {"error": "Type: message"}`` when the project's own code
refuses it.
``--dests`` prints ``DESTS [...]``: every dest of the parser the project's ``get_args``
builds (its own ``get_args`` runs with a parser that stops at ``parse_args``).

Neutralised so a CPU machine sees what rank R of a one-GPU-per-rank job sees, without a
process group:

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

``--sat-presets``: a training config without a ``deepspeed:`` section makes CogVideoX's
``get_args`` open ``training/deepspeed_zero{N}.json`` beside its ``arguments.py``
(arguments.py:121-124), a folder CogVideoX's ``sat/`` does not ship, so the project's own run
stops there with FileNotFoundError.  satc starts from SAT's presets instead (docs/rules.md,
R5); to compare the rest of get_args with satc, this option hands that one ``open`` SAT's
own ``sat/training/`` file, only where the tree has none, and the result says so
(``"preset": "<the file read>"``).

The real-rank probes (probe.py, groups_probe.py) use ``enter`` and ``sgm_util_only``
from here to run the same tree's code with a real process group.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import traceback
import types
from pathlib import Path


def vendored_sat(tree: Path) -> Path | None:
    """The folder holding a SAT package vendored in or beside the project, if any.

    A SAT is a ``sat`` package with ``mpu/`` and ``arguments.py``.  Inside the tree any
    ``<x>/sat`` or ``<x>/<y>/sat`` is the project's own.  Beside it only a vendored
    SwissArmyTransformer checkout counts (Tora's ``modules/SwissArmyTransformer/sat``,
    installed with ``pip -e`` as its README says), and only one that is not part of another
    project: the folder above a top-level checkout holds the user's other checkouts
    (``bilibili/Index-anisora``'s ``anisoraV1_infer/sat`` is that project's SAT, never
    hologerry/CogVideo's).  The same places satc's compiler/project/sat_source.py reads.
    """
    inside = [tree / "sat", *sorted(tree.glob("*/sat")), *sorted(tree.glob("*/*/sat"))]
    beside = [
        package
        for package in [*sorted(tree.parent.glob("*/sat")), *sorted(tree.parent.glob("*/*/sat"))]
        if not package.is_relative_to(tree) and VENDOR_DIR in package.relative_to(tree.parent).parts
    ]
    for package in [*inside, *beside]:
        is_sat = (package / "mpu" / "__init__.py").is_file() and (package / "arguments.py").is_file()
        if is_sat and package.resolve() != tree.resolve() and not _in_another_project(tree, package):
            return package.parent
    # The top of the installable checkout the tree lies in (``pip install -e .``), as
    # satc's sat_source.py reads it: Index-anisora's anisoraV1_infer.
    for folder in list(tree.parents)[:4]:
        if (folder / "setup.py").is_file() or (folder / "pyproject.toml").is_file():
            package = folder / "sat"
            if (package / "mpu" / "__init__.py").is_file() and (package / "arguments.py").is_file():
                return folder
            break
    return None


# The folder name a SAT checkout vendored beside a project keeps (``pip install -e`` of it).
VENDOR_DIR = "SwissArmyTransformer"


def _in_another_project(tree: Path, package: Path) -> bool:
    """A SAT beside the tree inside a checkout of its own (a sibling project's vendored
    SAT), as satc's compiler/project/sat_source.py tells them apart."""
    if package.is_relative_to(tree):
        return False
    if (tree / ".git").exists():
        return True
    top = tree.parent / package.relative_to(tree.parent).parts[0]
    if top.name == VENDOR_DIR:
        return False
    if package == top / "sat" and (top / "setup.py").is_file() and not (top / "arguments.py").is_file():
        return False  # a SAT checkout of another name the project pip-installs (satc's sat_source.py)
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


def enter(tree: Path) -> None:
    """cwd and ``sys.path`` as the project's README launch has them: the entrypoint
    folder first, then a vendored SAT, then what this process inherited (never this
    folder, the script's own)."""
    sys.dont_write_bytecode = True  # the shared trees stay untouched
    os.chdir(tree)
    sat_home = vendored_sat(tree)
    own = Path(__file__).resolve().parent
    inherited = [path for path in sys.path[1:] if Path(path or ".").resolve() != own]
    sys.path[:] = [str(tree), *([str(sat_home)] if sat_home else []), *inherited]
    _stub_missing_logging_package()


def sgm_util_only(tree: Path) -> None:
    """Make ``import sgm.util`` run the tree's own ``sgm/util.py`` without the package's
    ``__init__``: CogVideoX's only imports the VAE (``from .models import
    AutoencodingEngine``), which get_args never touches and which costs each rank 10-20 s
    of imports on a loaded CPU machine.  util.py itself runs unmodified."""
    from importlib.machinery import ModuleSpec
    from importlib.util import module_from_spec

    spec = ModuleSpec("sgm", None, is_package=True)
    spec.submodule_search_locations = [str(tree / "sgm")]
    sys.modules["sgm"] = module_from_spec(spec)


def _sat_presets(project: types.ModuleType, tree: Path, used: list[str]) -> None:
    """``open`` in the project's module: SAT's preset where the tree ships none (--sat-presets)."""
    import builtins

    sat_training = Path(sys.modules["sat"].__file__).resolve().parent / "training"
    own_training = (tree / "training").resolve()

    def open_preset(file, *args, **kwargs):
        if isinstance(file, str | os.PathLike):
            path = Path(file).resolve()
            if path.parent == own_training and not path.exists():
                file = sat_training / path.name
                used.append(f"sat/training/{path.name}")
        return builtins.open(file, *args, **kwargs)

    project.open = open_preset


class _Stop(Exception):
    """Raised by the capturing parser's parse_args: the parser is complete."""


def parser_dests(project: types.ModuleType) -> list[str]:
    """Every dest of the parser the project's own get_args builds."""
    captured: list[argparse.ArgumentParser] = []

    class Capturing(argparse.ArgumentParser):
        def parse_args(self, *args, **kwargs):
            captured.append(self)
            raise _Stop

    with contextlib.suppress(_Stop):
        project.get_args([], parser=Capturing(description="sat"))
    (parser,) = captured
    return sorted(
        {action.dest for action in parser._actions if action.dest != "help"} | set(parser._defaults)
    )


def load_project(tree: Path) -> types.ModuleType:
    """Import the tree's arguments.py with the per-process half neutralised."""
    enter(tree)
    as_rank(0, 1)

    import torch
    import torch.distributed

    torch.cuda.device_count = lambda: 1
    torch.distributed.get_rank = lambda group=None: PROCESS["rank"]
    project = importlib.import_module("arguments")
    project.initialize_distributed = lambda args, *more, **named: True
    project.set_random_seed = lambda seed, *more, **named: None
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
    parser.add_argument("--sat-presets", action="store_true")
    parser.add_argument("--dests", action="store_true")
    options, rest = parser.parse_known_args()
    tree = options.tree.resolve()
    project = load_project(tree)
    report = {"sat": str(Path(sys.modules["sat"].__file__).parent), "arguments": project.__file__}
    print("PROJECT " + json.dumps(report, sort_keys=True), flush=True)
    if options.dests:
        print("DESTS " + json.dumps(parser_dests(project)), flush=True)
        return
    presets: list[str] = []
    if options.sat_presets:
        _sat_presets(project, tree, presets)
    for argv in split_groups(rest):
        rank, world = (0, 1)
        if argv and argv[0].startswith("@"):
            rank, world = (int(part) for part in argv.pop(0)[1:].split("/"))
        as_rank(rank, world)
        presets.clear()
        try:
            result = {"args": to_json(project.get_args(argv))}
            if presets:
                result["preset"] = presets[-1]
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
