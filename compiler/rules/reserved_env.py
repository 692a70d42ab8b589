"""Environment names `launch.env` may not set: whatever the launch scripts use themselves.

`launch.env` entries are exported by launch.sh, into the same shell that holds the
script's own variables: `PYTHON` would choose the program srun starts, `ENTRYPOINT` the
script, `NPROC_PER_NODE` the rank count, `PATH` which `mktemp` and `awk` run.  Renaming
the script's variables would leave the next one a template grows unprotected, so the
names are read from the templates themselves (every assignment and every reference),
and bash's own control variables are added to them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .. import resources

# Names bash or the tools the scripts run read to decide what runs and how: the search
# path, the loader, start-up files, word splitting, shell options, prompts and traps.
SHELL_CONTROLLED = frozenset(
    {
        "PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "CDPATH", "GLOBIGNORE",
        "POSIXLY_CORRECT", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND", "HOME", "SHELL",
        "TMOUT", "HISTFILE", "INPUTRC", "EXECIGNORE", "FIGNORE", "AWKPATH", "AWKLIBPATH",
        "PYTHON_EXEC",  # torchrun starts every rank with this interpreter
    }
)  # fmt: skip
# Readonly or special in bash: assigning them kills the script or means nothing.
BASH_SPECIAL = frozenset(
    {
        "BASHPID", "EUID", "UID", "PPID", "GROUPS", "FUNCNAME", "RANDOM", "SRANDOM",
        "SECONDS", "LINENO", "HISTCMD", "EPOCHSECONDS", "EPOCHREALTIME", "OPTIND",
        "OPTARG", "OPTERR", "PWD", "OLDPWD", "SHLVL", "PIPESTATUS", "DIRSTACK", "COMP_WORDS",
        "HOSTNAME", "HOSTTYPE", "MACHTYPE", "OSTYPE", "REPLY", "COPROC", "MAPFILE",
    }
)  # fmt: skip
# Whole families: bash's own and exported functions (BASH_FUNC_*), the dynamic loader,
# torchrun's option defaults (PET_NO_PYTHON, PET_MODULE change what it starts), torch
# elastic, and what sbatch/srun read as options.
RESERVED_PREFIXES = ("BASH_", "LD_", "PET_", "TORCHELASTIC_", "SLURM_", "SBATCH_", "SRUN_", "SALLOC_")
# Where a process learns its place in the job: satc.runtime reads RANK/LOCAL_RANK/sizes
# (torchrun, deepspeed), Open MPI's OMPI_COMM_WORLD_* and SLURM's SLURM_PROCID/LOCALID;
# DeepSpeed and torch.distributed also read the MPI families.  One value exported to every
# process gives every rank the same identity, so the whole class is refused, not the
# names some template happens to mention today.
RANK_SOURCE_NAMES = frozenset(
    {
        "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
        "GROUP_WORLD_SIZE", "ROLE_RANK", "ROLE_WORLD_SIZE", "NODE_RANK", "CROSS_RANK",
        "CROSS_SIZE", "MASTER_ADDR", "MASTER_PORT",
    }
)  # fmt: skip
RANK_SOURCE_PREFIXES = ("OMPI_", "PMI_", "PMIX_", "MV2_", "MPI_LOCAL")

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ASSIGNED = re.compile(rf"(?:^|[\s;(&|])({_NAME})(?:\[[^\]\s]*\])?\+?=")
_REFERENCED = re.compile(rf"\$\{{?[#!]?({_NAME})")
# A command at the start of a statement, then its options and the names it sets.
_DECLARED = re.compile(
    rf"(?m)(?:^|[;&|]|\bthen|\bdo)[ \t]*(?:local|export|readonly|declare|unset|read|mapfile|for)"
    rf"((?:[ \t]+-\w+)*(?:[ \t]+{_NAME})+)"
)
_SINGLE_QUOTED = re.compile(r"'[^']*'")
_ARITHMETIC = re.compile(r"\(\((.*?)\)\)", re.S)


def names_in(script: str) -> set[str]:
    """Every variable a bash script (a template with its Jinja parts removed) assigns,
    declares or reads, including bare names inside `(( ))` arithmetic."""
    text = _JINJA.sub(" ", script)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    # Words in single quotes are text (messages, awk programs), except for references:
    # a trap string expands its ${...} when it runs.
    code = _SINGLE_QUOTED.sub("''", text)
    names = set(_ASSIGNED.findall(code)) | set(_REFERENCED.findall(text))
    for declared in _DECLARED.findall(code):
        names.update(word for word in declared.split() if not word.startswith("-") and word != "in")
    for expression in _ARITHMETIC.findall(code):
        names.update(re.findall(_NAME, expression))
    return names


@lru_cache(maxsize=1)
def script_names() -> frozenset[str]:
    """The variables of every launch template (read once per process)."""
    found: set[str] = set()
    for name in resources.template_names():
        found |= names_in(resources.template_text(name))
    return frozenset(found)


def why_reserved(name: str) -> str | None:
    """Why launch.env may not set ``name``, or None when it may."""
    if name in script_names():
        return "launch.sh uses it itself, so setting it would change what the script runs"
    if name in RANK_SOURCE_NAMES or name.startswith(RANK_SOURCE_PREFIXES):
        return "the runtime, DeepSpeed or torch.distributed read it to tell each process its rank"
    if name.startswith(RESERVED_PREFIXES):
        prefix = next(p for p in RESERVED_PREFIXES if name.startswith(p))
        return f"{prefix}* names are read by bash, the loader, torchrun or SLURM themselves"
    if name in SHELL_CONTROLLED:
        return "bash and the tools launch.sh runs read it to decide what runs and how"
    if name in BASH_SPECIAL:
        return "it is a readonly or special bash variable"
    return None
