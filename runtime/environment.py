"""Who am I? Rank, local rank and sizes from whichever launcher started this process (D9).

Pure: reads a mapping (os.environ by default), touches nothing.  Precedence follows
specificity: torchrun and the deepspeed launcher set RANK themselves; Open MPI's
variables beat SLURM's because `mpirun` inside an allocation still inherits the
batch step's SLURM_PROCID.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from .errors import TopologyError


@dataclass(frozen=True)
class ProcessEnv:
    """This process's place in the job, and which variables said so (for messages)."""

    dialect: str  # torchrun | deepspeed | openmpi | slurm | single
    rank: int
    local_rank: int
    world_size: int
    local_world_size: int | None  # None: the launcher did not say
    master_addr: str | None  # MASTER_ADDR, when the launcher exported it
    master_port: str | None  # MASTER_PORT, likewise
    allocation_host: str | None  # SLURM: the first host of the step's node list
    sources: Mapping[str, str]  # field -> the variable it was read from

    def source(self, field: str) -> str:
        return self.sources.get(field, "default")


def _int(environ: Mapping[str, str], name: str) -> int:
    text = environ[name]
    try:
        value = int(text.strip())
    except ValueError:
        raise TopologyError(f"{name}={text!r} is not an integer") from None
    if value < 0:
        raise TopologyError(f"{name}={text!r} must not be negative")
    return value


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if environ.get(name, "") != ""), None)


def _ints(
    environ: Mapping[str, str], fields: Mapping[str, tuple[str, ...]]
) -> tuple[dict[str, int], dict[str, str]]:
    values: dict[str, int] = {}
    sources: dict[str, str] = {}
    for field, names in fields.items():
        name = _first(environ, names)
        if name is not None:
            values[field] = _int(environ, name)
            sources[field] = name
    return values, sources


_TASKS = re.compile(r"^(\d+)(?:\(x(\d+)\))?$")


def slurm_tasks_on_node(tasks_per_node: str, node_id: int) -> int | None:
    """SLURM_TASKS_PER_NODE ('2(x3),1') -> the count for node ``node_id``."""
    counts: list[int] = []
    for part in tasks_per_node.split(","):
        match = _TASKS.match(part.strip())
        if not match:
            return None
        counts += [int(match.group(1))] * int(match.group(2) or 1)
    return counts[node_id] if node_id < len(counts) else None


def slurm_first_host(nodelist: str) -> str | None:
    """First host of a SLURM hostlist ('gpu[03-05,07],cpu1' -> 'gpu03')."""
    match = re.match(r"^([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if not match:
        return None
    prefix, ranges = match.group(1), match.group(2)
    if ranges is None:
        return prefix
    return prefix + ranges.split(",")[0].split("-")[0]


def _slurm_local_size(environ: Mapping[str, str]) -> tuple[int | None, str | None]:
    if environ.get("SLURM_NTASKS_PER_NODE"):
        return _int(environ, "SLURM_NTASKS_PER_NODE"), "SLURM_NTASKS_PER_NODE"
    node_id = _int(environ, "SLURM_NODEID") if environ.get("SLURM_NODEID") else 0
    for name in ("SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"):
        if environ.get(name):
            return slurm_tasks_on_node(environ[name], node_id), name
    return None, None


def _dialect(environ: Mapping[str, str]) -> str:
    if environ.get("RANK", "") != "":
        return "deepspeed" if environ.get("LOCAL_SIZE") else "torchrun"
    if environ.get("OMPI_COMM_WORLD_RANK", "") != "":
        return "openmpi"
    if environ.get("SLURM_PROCID", "") != "":
        return "slurm"
    return "single"


_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "torchrun": {
        "rank": ("RANK",),
        "world_size": ("WORLD_SIZE",),
        "local_rank": ("LOCAL_RANK",),
    },
    "openmpi": {
        "rank": ("OMPI_COMM_WORLD_RANK",),
        "world_size": ("OMPI_COMM_WORLD_SIZE",),
        "local_rank": ("OMPI_COMM_WORLD_LOCAL_RANK",),
        "local_world_size": ("OMPI_COMM_WORLD_LOCAL_SIZE",),
    },
    "slurm": {
        "rank": ("SLURM_PROCID",),
        "world_size": ("SLURM_NTASKS", "SLURM_NPROCS"),
        "local_rank": ("SLURM_LOCALID",),
    },
    "single": {},
}
_FIELDS["deepspeed"] = _FIELDS["torchrun"]


def _local_world_size(
    environ: Mapping[str, str], dialect: str, values: dict[str, int], sources: dict[str, str]
) -> None:
    """Fill local_world_size; LOCAL_WORLD_SIZE (exported by launch.sh) must agree with
    the launcher's own count when both exist."""
    own: tuple[int | None, str | None] = (values.get("local_world_size"), sources.get("local_world_size"))
    if dialect == "deepspeed":
        own = (_int(environ, "LOCAL_SIZE"), "LOCAL_SIZE")
    elif dialect == "slurm":
        own = _slurm_local_size(environ)
    exported = _int(environ, "LOCAL_WORLD_SIZE") if environ.get("LOCAL_WORLD_SIZE") else None
    if own[0] is not None and exported is not None and own[0] != exported:
        raise TopologyError(
            f"LOCAL_WORLD_SIZE={exported} disagrees with {own[1]}={own[0]} set by the "
            f"{dialect} launcher: ranks per node must be the same for both"
        )
    if own[0] is not None and own[1] is not None:
        values["local_world_size"], sources["local_world_size"] = own[0], own[1]
    elif exported is not None:
        values["local_world_size"], sources["local_world_size"] = exported, "LOCAL_WORLD_SIZE"


def detect(environ: Mapping[str, str] | None = None) -> ProcessEnv:
    """Read this process's rank and sizes (D9: torchrun, deepspeed, Open MPI, SLURM)."""
    env = os.environ if environ is None else environ
    dialect = _dialect(env)
    values, sources = _ints(env, _FIELDS[dialect])
    _local_world_size(env, dialect, values, sources)
    if dialect == "single":
        values.update(rank=0, world_size=1, local_rank=0)
        values.setdefault("local_world_size", 1)
    for field in ("world_size", "local_rank"):
        if field not in values:
            names = " or ".join(_FIELDS[dialect][field])
            raise TopologyError(
                f"{dialect} environment without {names}: rank {values['rank']} cannot tell "
                f"its {field.replace('_', ' ')}; launch with the generated launch.sh"
            )
    nodelist = _first(env, ("SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST"))
    return ProcessEnv(
        dialect=dialect,
        rank=values["rank"],
        local_rank=values["local_rank"],
        world_size=values["world_size"],
        local_world_size=values.get("local_world_size"),
        master_addr=env.get("MASTER_ADDR") or None,
        master_port=env.get("MASTER_PORT") or None,
        allocation_host=slurm_first_host(env[nodelist]) if nodelist else None,
        sources=sources,
    )


# Open MPI's rank variables, which DeepSpeed's engine also reads (and stops on when
# OMPI_COMM_WORLD_LOCAL_RANK differs from LOCAL_RANK), whichever launcher started us.
_OPEN_MPI_PREFIX = "OMPI_COMM_WORLD_"


def forget_other_launchers(proc: ProcessEnv, environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Remove Open MPI's rank variables when another launcher started this process (an
    mpirun that started launch.sh, a shell left from an MPI job): they describe some
    other process.  Returns the names removed."""
    env = os.environ if environ is None else environ
    if proc.dialect == "openmpi":
        return []
    names = sorted(name for name in env if name.startswith(_OPEN_MPI_PREFIX))
    for name in names:
        del env[name]
    return names
