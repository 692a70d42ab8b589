"""Arguments the bundle defers to launch time (launch.args_from_env): per-user paths.

The bundle records only the variable's name; every launch.sh refuses to start
without it, and this fills the argument on every rank, so a shared bundle writes
checkpoints (or reads data) wherever the user who launches it says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .bundle import Bundle
from .errors import RuntimeConfigError


def launch_time_args(bundle: Bundle, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """{arg: value} read from the environment; a missing variable is a named error."""
    deferred: dict[str, str] = dict(bundle.launch.get("args_from_env") or {})
    missing = sorted(f"{name} (args.{dest})" for dest, name in deferred.items() if not environ.get(name))
    if missing:
        raise RuntimeConfigError(
            f"{', '.join(missing)} not set: this bundle reads these arguments at launch time "
            "(launch.args_from_env); export them, or start the job with the bundle's launch.sh"
        )
    return {dest: environ[name] for dest, name in sorted(deferred.items())}
