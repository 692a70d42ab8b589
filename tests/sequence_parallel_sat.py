"""A minimal stand-in for a project's vendored SAT whose mpu adds sequence parallelism.

Written for satc's tests from the layout restated in sequence_parallel_support (SP1),
not copied from any project: it has the same public mpu API and keeps the same module
globals as the vendored SAT cited there (what satc.runtime.groups.check_sat reads from
the bytecode), and its own ``initialize_model_parallel`` builds every group of the job on
every rank with plain ``new_group`` calls, as that SAT does.  Only what satc.runtime
imports is here: ``sat.mpu``, ``sat.arguments.set_random_seed`` and ``sat.ops``.
"""

from __future__ import annotations

from pathlib import Path

INITIALIZE = '''\
"""Model, data, sequence and sequence-data parallel groups (test stand-in)."""

import os

import torch

_MODEL_PARALLEL_GROUP = None
_DATA_PARALLEL_GROUP = None
_DATA_BROADCAST_GROUP = None
_SEQUENCE_PARALLEL_GROUP = None
_SEQUENCE_DATA_PARALLEL_GROUP = None
# Read by a getter, never assigned by this module (as in the SAT it stands in for).
_SEQUENCE_PARALLEL_GQA_GROUP = None
_NODE_GROUP = None


def initialize_model_parallel(model_parallel_size_, sequence_parallel_size_=1, num_multi_query_heads_=0):
    global _MODEL_PARALLEL_GROUP, _DATA_PARALLEL_GROUP, _DATA_BROADCAST_GROUP
    global _SEQUENCE_PARALLEL_GROUP, _SEQUENCE_DATA_PARALLEL_GROUP, _NODE_GROUP
    world = torch.distributed.get_world_size()
    rank = torch.distributed.get_rank()
    mp = min(model_parallel_size_, world)
    sp = max(sequence_parallel_size_, 1)
    if world % (mp * sp):
        raise ValueError(f"{world} is not divisible by {mp} x {sp}")
    block = mp * sp

    def own(members):
        group = torch.distributed.new_group(list(members))
        return group if rank in members else None

    for first in range(block):
        _DATA_PARALLEL_GROUP = own(range(first, world, block)) or _DATA_PARALLEL_GROUP
    for start in range(0, world, mp):
        _MODEL_PARALLEL_GROUP = own(range(start, start + mp)) or _MODEL_PARALLEL_GROUP
    for start in range(0, world, block):
        for offset in range(mp):
            members = range(start + offset, start + block, mp)
            _SEQUENCE_PARALLEL_GROUP = own(members) or _SEQUENCE_PARALLEL_GROUP
        _DATA_BROADCAST_GROUP = own(range(start, start + block)) or _DATA_BROADCAST_GROUP
    if sp > 1:
        for first in range(mp):
            members = range(first, world, mp)
            _SEQUENCE_DATA_PARALLEL_GROUP = own(members) or _SEQUENCE_DATA_PARALLEL_GROUP
    else:
        _SEQUENCE_DATA_PARALLEL_GROUP = _DATA_PARALLEL_GROUP
    local = int(os.environ.get("LOCAL_WORLD_SIZE", min(world, 8)))
    for start in range(0, world - local + 1, local):
        _NODE_GROUP = own(range(start, start + local)) or _NODE_GROUP


def destroy_model_parallel():
    global _MODEL_PARALLEL_GROUP, _DATA_PARALLEL_GROUP, _NODE_GROUP
    _MODEL_PARALLEL_GROUP = None
    _DATA_PARALLEL_GROUP = None
    _NODE_GROUP = None


def model_parallel_is_initialized():
    return _MODEL_PARALLEL_GROUP is not None and _DATA_PARALLEL_GROUP is not None


def sequence_parallel_is_initialized():
    return _SEQUENCE_PARALLEL_GROUP is not None and _DATA_PARALLEL_GROUP is not None


def get_model_parallel_group():
    assert _MODEL_PARALLEL_GROUP is not None, "model parallel group is not initialized"
    return _MODEL_PARALLEL_GROUP


def get_data_parallel_group():
    assert _DATA_PARALLEL_GROUP is not None, "data parallel group is not initialized"
    return _DATA_PARALLEL_GROUP


def get_sequence_parallel_group():
    assert _SEQUENCE_PARALLEL_GROUP is not None, "sequence parallel group is not initialized"
    return _SEQUENCE_PARALLEL_GROUP


def get_sequence_data_parallel_group():
    assert _SEQUENCE_DATA_PARALLEL_GROUP is not None, "sequence data parallel group is not initialized"
    return _SEQUENCE_DATA_PARALLEL_GROUP


def get_data_broadcast_group():
    assert _DATA_BROADCAST_GROUP is not None, "data broadcast group is not initialized"
    return _DATA_BROADCAST_GROUP


def get_sequence_parallel_gqa_group():
    assert _SEQUENCE_PARALLEL_GQA_GROUP is not None, "sequence parallel gqa group is not initialized"
    return _SEQUENCE_PARALLEL_GQA_GROUP


def get_node_group():
    assert _NODE_GROUP is not None, "node group is not initialized"
    return _NODE_GROUP


def get_model_parallel_rank():
    return torch.distributed.get_rank(group=get_model_parallel_group())


def get_data_parallel_rank():
    return torch.distributed.get_rank(group=get_data_parallel_group())


def get_sequence_parallel_rank():
    return torch.distributed.get_rank(group=get_sequence_parallel_group())


def get_sequence_data_parallel_rank():
    return torch.distributed.get_rank(group=get_sequence_data_parallel_group())


def get_data_broadcast_rank():
    return torch.distributed.get_rank(group=get_data_broadcast_group())


def get_sequence_parallel_world_size():
    return torch.distributed.get_world_size(group=get_sequence_parallel_group())


def get_sequence_data_parallel_world_size():
    return torch.distributed.get_world_size(group=get_sequence_data_parallel_group())
'''

FILES = {
    "sat/__init__.py": '"""Test stand-in for a vendored SAT."""\n',
    "sat/mpu/__init__.py": "from .initialize import *  # noqa: F403\n",
    "sat/mpu/initialize.py": INITIALIZE,
    "sat/ops.py": "class FusedEmaAdam:\n    pass\n",
    "sat/arguments.py": (
        "import random\n\nimport torch\n\n\n"
        "def set_random_seed(seed):\n    random.seed(seed)\n    torch.manual_seed(seed)\n"
    ),
}


def write(project: Path) -> Path:
    """The stand-in under ``project`` (which then goes first on PYTHONPATH); returns it."""
    for relative, text in FILES.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return project
