"""Shared by the tests that compare satc with a project's own get_args
(tests/test_fork_parity.py, tests/test_own_project.py): run the reference harness, and
put satc's namespace in the same JSON form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from support import ROOT

HARNESS = ROOT / "tests" / "reference" / "project_get_args.py"
# Filled per process by satc.runtime from the live launch (as tests/test_reference_args.py).
PER_PROCESS = {"cuda", "rank", "world_size", "local_rank", "device", "master_ip", "master_port"}
LAUNCHER_VARS = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "SATC_BUNDLE",
)
LAUNCHER_PREFIXES = ("SLURM_", "OMPI_", "PMIX_", "PMI_")  # what satc.runtime also reads (D9)


def launcher_variables() -> list[str]:
    """The launcher variables set in this environment: a test decides its own rank."""
    return [name for name in os.environ if name in LAUNCHER_VARS or name.startswith(LAUNCHER_PREFIXES)]


def run_harness(
    tree: Path, groups: list[list[str]], drop: tuple[str, ...] = (), options: tuple[str, ...] = ()
) -> tuple[dict, list[dict]]:
    """The project's own get_args for each argv group (``[@R/W] --base ...``), in one process:
    (the PROJECT header: which arguments.py and SAT ran, one result per group).  ``options``
    go to the harness (``--sat-presets``)."""
    result = _harness(tree, [*options, *(item for group in groups for item in ("--", *group))], drop)
    lines = result.stdout.splitlines()
    found = [json.loads(line[len("REFERENCE ") :]) for line in lines if line.startswith("REFERENCE ")]
    assert result.returncode == 0 and len(found) == len(groups), result.stderr[-3000:]
    header = next(json.loads(line[len("PROJECT ") :]) for line in lines if line.startswith("PROJECT "))
    return header, found


def parser_dests(tree: Path) -> set[str]:
    """Every dest of the parser the project's own get_args builds (its code, run in place)."""
    result = _harness(tree, ["--dests"])
    lines = [line for line in result.stdout.splitlines() if line.startswith("DESTS ")]
    assert result.returncode == 0 and len(lines) == 1, result.stderr[-3000:]
    return set(json.loads(lines[0][len("DESTS ") :]))


def _harness(tree: Path, argv: list[str], drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # the shared trees stay untouched
    for name in [*launcher_variables(), *drop]:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, str(HARNESS), "--tree", str(tree), *argv],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )


def to_json(namespace: Any) -> dict:
    """A namespace as the harness prints the project's: configs as containers, a JSON trip."""
    from omegaconf import OmegaConf

    values = {}
    for key, value in vars(namespace).items():
        if OmegaConf.is_config(value):
            value = OmegaConf.to_container(value, resolve=True)
        values[key] = value
    return json.loads(json.dumps(values, sort_keys=True, default=repr))
