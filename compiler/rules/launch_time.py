"""L1: per-user paths (checkpoint dir, data root) deferred to launch time by name.

`${oc.env:...}` would freeze one user's environment into the bundle (or leak a
secret), so satc refuses it.  `launch.args_from_env: {save: CKPT_DIR}` instead keeps
the bundle shareable: args.json records the variable's *name* (the arg itself is
null), launch.sh refuses to start without it, and satc.runtime reads it per process.
"""

from __future__ import annotations

from ..errors import DERIVED_RANK, SET_RANK
from ..project import select
from ..project.schema import config_schema
from ..suggest import closest
from .launch import RESERVED_ENV
from .reserved_env import why_reserved
from .work import Work


def l1_args_from_env(work: Work) -> None:
    """L1: each deferred arg must be a string (path) arg; its value comes from the env."""
    deferred = work.launch.get("args_from_env") or {}
    if not deferred:
        return
    known = config_schema(select.for_config(work.config))["properties"]["args"]["properties"]
    pdsh = work.launch["target"] == "deepspeed" and (
        work.launch["nodes"] > 1 or work.launch.get("force_multi")
    )
    for dest, name in deferred.items():
        key = f"launch.args_from_env.{dest}"
        path = ("launch", "args_from_env", dest)
        schema = known.get(dest)
        # A project's own argument carries argparse's type as a note (x-satc-declared).
        types = schema.get("type", schema.get("x-satc-declared", {}).get("type", [])) if schema else []
        if schema is None:
            guess = closest(dest, known)
            work.error(
                key, f"args.{dest} is not an argument", f"did you mean {guess}?" if guess else None, *path
            )
        elif "x-satc-computed" in schema or "string" not in (types if isinstance(types, list) else [types]):
            work.error(
                key,
                f"args.{dest} cannot be read at launch time: only text (path) arguments can",
                "set it in a config",
                *path,
            )
        elif name in RESERVED_ENV:
            work.error(
                key, f"{name} is set by satc: {RESERVED_ENV[name]}", "choose another variable name", *path
            )
        elif why_reserved(name):
            work.error(
                key,
                f"{name} cannot be used here: {why_reserved(name)}",
                "choose another variable name",
                *path,
            )
        elif pdsh:
            work.error(
                key,
                "the deepspeed launcher's pdsh path does not forward launch-time paths to other hosts",
                "set the path in a config, or use launch.target torchrun or slurm",
                *path,
            )
        elif _set_on_command_line(work, dest):
            # --set beats every file (D2); launch time would beat the --set without a
            # word, so the two are a conflict the user resolves, not one satc picks.
            work.error(
                f"args.{dest}",
                f"--set args.{dest}={work.args[dest]} conflicts with launch.args_from_env.{dest}: "
                f"args.{dest} is read from ${name} at launch time, so this value would be dropped",
                f"drop the --set, or add --set launch.args_from_env.{dest}=null to use this value",
            )
        else:
            work.derive(f"args.{dest}", None, "L1", f"read from ${name} at launch time", key)


def _set_on_command_line(work: Work, dest: str) -> bool:
    """Whether a --set gave args.<dest> a value (a layer's value is overridden by design)."""
    origin = work.config.origin.get(("args", dest))
    return origin is not None and SET_RANK <= origin.rank < DERIVED_RANK and work.args.get(dest) is not None
