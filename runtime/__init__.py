"""satc's runtime: a frozen bundle -> the initialised SAT job CogVideoX's get_args builds.

    from satc.runtime import get_args   # replaces `from arguments import get_args`
    args = satc.runtime.init()            # or, explicitly, from $SATC_BUNDLE

Importing this package imports no torch, DeepSpeed or SAT, and nothing from
satc.compiler; init() imports them when it runs.
"""

from __future__ import annotations

import argparse
import os

from .args import get_args
from .bundle import BUNDLE_ENV, Bundle, bundle_path, read_bundle
from .checks import check_topology
from .environment import ProcessEnv, detect, forget_other_launchers
from .errors import BundleError, RendezvousError, RuntimeConfigError, TopologyError
from .namespace import build_namespace
from .requirements import require_runtime_modules

__all__ = [
    "BUNDLE_ENV",
    "BundleError",
    "RendezvousError",
    "RuntimeConfigError",
    "TopologyError",
    "bundle_path",
    "get_args",
    "init",
    "load",
]


def load(path: str | os.PathLike[str] | None = None) -> argparse.Namespace:
    """The namespace get_args would return on this process, without side effects.

    ``path``: the bundle directory or its args.json; default ``$SATC_BUNDLE``.
    """
    bundle = read_bundle(path)
    return build_namespace(bundle, detect())


def init(path: str | os.PathLike[str] | None = None) -> argparse.Namespace:
    """load(), check the live launch against the bundle, then initialise (R9-R14).

    Raises BundleError / TopologyError before any collective, RuntimeConfigError when
    torch, SAT or DeepSpeed is not installed, RendezvousError when a peer does not
    arrive within launch.init_timeout.
    """
    bundle: Bundle = read_bundle(path)
    from . import requeue

    if requeue.wanted(bundle.launch):
        requeue.trap()  # before the slow start-up: SLURM's warning may come early (C8)
    proc: ProcessEnv = detect()
    check_topology(bundle, proc)
    forget_other_launchers(proc)  # before DeepSpeed reads them
    namespace = build_namespace(bundle, proc)
    require_runtime_modules(deepspeed=bool(getattr(namespace, "deepspeed", False)))
    continuation = None
    if namespace.mode != "inference":
        from .resume import apply, plan

        continuation = plan(bundle, namespace)  # checks the checkpoint before any rank joins
        apply(continuation, namespace)
    if bundle.device == "cpu":
        from .cpu import make_sat_cpu_safe

        make_sat_cpu_safe()  # D8: SAT's training loop on a CPU-only torch
    from .distributed import initialize

    initialize(bundle, namespace, proc.local_world_size or bundle.topology.gpus_per_node)
    if continuation is not None:
        _continue(bundle, namespace, continuation)
    return namespace


def _continue(bundle: Bundle, namespace: argparse.Namespace, continuation: object) -> None:
    """SAT's training loop saves atomically, with lineage, and continues the run."""
    import sys

    from .resume import Continuation, describe
    from .sat_hooks import install

    assert isinstance(continuation, Continuation)
    install(
        continuation,
        str(bundle.document.get("digest", "")),
        str(bundle.path),
        bundle.topology.data_parallel_size,
    )
    from . import requeue

    if requeue.wanted(bundle.launch):
        requeue.install()
    if namespace.rank == 0:
        for line in describe(continuation):
            print(line, file=sys.stderr, flush=True)
