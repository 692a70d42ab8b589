"""T2: the training data paths a bundle names, checked where they can be seen.

A missing data folder is found by SAT only after every rank has loaded the model (its
loader finds no sample: ZeroDivisionError or an empty-dataset error). The data lives on
the cluster, so the check that counts runs in launch.sh, on the node, before any rank
starts (``Work.data_checks`` -> render). A compile on the machine that will launch sees
the same folders: a relative path that does not exist from the folder satc runs in is a
warning there. It is not failed by ``--strict``: the compile machine (CI, a laptop) need
not hold the data, and what its disk holds is not the config.

As T1, only for a model trained by SAT's training loop (CogVideoX's train_video.py): the
data paths of another entrypoint mean what that script makes of them (examples/
train_tiny.py's `synthetic` is no folder).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import SET_RANK, Location, Problem, escape
from .iterations import SAT_TRAINING_ENTRYPOINTS
from .work import Work

DATA_KEYS = ("train_data", "valid_data")
RULE = "[T2]"
# Not a path on a disk: a URL, a webdataset shard pattern (`{000..099}`), a glob, a pipe.
_NOT_A_PATH = ("://", "pipe:", "{", "*", "?", "[")


def _entries(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def _origin(work: Work, location: Location | None) -> str:
    """Which layer set a value, the same on every machine: an input file by its name
    relative to the bundle (as provenance records it), or the --set that gave it. No line:
    the bundle's bytes depend on the inputs' values only, never on their layout (comments,
    key order)."""
    if location is None:
        return "a default"
    if location.rank < SET_RANK and location.rank < len(work.input_names):
        return f"{escape(work.input_names[location.rank])} (relative to the bundle)"
    return escape(location.label) or "a default"


def t2_data_paths(work: Work) -> None:
    if not work.training or work.config.tree.get("model") is None:
        return
    entrypoint = str(work.launch.get("entrypoint") or "")
    if entrypoint.rsplit("/", 1)[-1] not in SAT_TRAINING_ENTRYPOINTS:
        return
    deferred = work.launch.get("args_from_env") or {}
    for name in DATA_KEYS:
        if name in deferred:
            continue  # given at launch time (L1)
        for index, path in enumerate(_entries(work.args.get(name))):
            if not path or any(mark in path for mark in _NOT_A_PATH):
                continue
            key = f"args.{name}[{index}]"
            location = work.where("args", name, index)
            shown = f'{key} = "{escape(path)}", set in {_origin(work, location)}'
            work.data_checks.append((path, shown))
            if not os.path.isabs(path) and not os.path.exists(path):
                work.warnings.append(
                    Problem(
                        location,
                        f"args.{name}",
                        f"data path '{escape(path)}' (entry {index}) does not exist in the folder satc "
                        f"runs in (launch.sh resolves it from the folder it starts in) {RULE}",
                        "warning",
                        "compile from the folder you launch from (CogVideoX's sat/), or fix the path; "
                        "launch.sh checks it on the node and refuses to start without it",
                    )
                )
