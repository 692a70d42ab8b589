"""init()'s distributed half: R9-R14 in the reference's order, every wait bounded.

torch.distributed's default timeout for gloo groups is 30 minutes and SAT's mpu
passes none, so every step here runs under launch.init_timeout; a peer that never
arrives or dies ends each live rank with a RendezvousError naming the step.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from . import groups
from .bundle import Bundle
from .checks import check_device
from .errors import BundleError, RendezvousError, RuntimeConfigError, TopologyError

log = logging.getLogger(__name__)


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@contextmanager
def _stage(what: str, ns: argparse.Namespace, timeout_s: int) -> Iterator[None]:
    """Turn whatever torch.distributed raises (DistStoreError, gloo timeouts, reset
    connections) into one named error per rank."""
    try:
        yield
    except RuntimeConfigError:
        raise
    except Exception as exc:
        cause = (str(exc).strip().splitlines() or [""])[0][:300].rstrip(".")
        raise RendezvousError(
            f"rank {ns.rank} of {ns.world_size}: {what} did not complete "
            f"(launch.init_timeout {timeout_s}s, rendezvous tcp://{ns.master_ip}:"
            f"{ns.master_port}): {type(exc).__name__}: {cause}. A peer rank did not arrive "
            f"or died: check the other ranks' logs, MASTER_ADDR/MASTER_PORT and the launcher"
        ) from exc


def _export_env(ns: argparse.Namespace, local_world_size: int) -> None:
    """SAT (LOCAL_WORLD_SIZE, D6) and DeepSpeed read torchrun's names; give them the values
    resolved from whichever launcher started us (D9)."""
    os.environ.update(
        RANK=str(ns.rank),
        WORLD_SIZE=str(ns.world_size),
        LOCAL_RANK=str(ns.local_rank),
        LOCAL_WORLD_SIZE=str(local_world_size),
        MASTER_ADDR=str(ns.master_ip),
        MASTER_PORT=str(ns.master_port),
    )


def _await_rendezvous_host(ns: argparse.Namespace, deadline: float, timeout_s: int) -> None:
    """Wait, with plain sockets, until rank 0's store accepts connections.

    torch's TCPStore client retries with growing back-off and checks its timeout only
    between attempts, so a wrong MASTER_PORT failed after 1.5-3x init_timeout; polling
    here keeps the wait inside the one deadline and names the address nobody answers on.
    """
    address = (str(ns.master_ip), int(ns.master_port))
    last: OSError | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            with socket.create_connection(address, timeout=min(1.0, remaining)):
                return
        except OSError as exc:
            last = exc
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    raise RendezvousError(
        f"rank {ns.rank} of {ns.world_size}: process-group rendezvous did not complete: "
        f"nothing answered at tcp://{ns.master_ip}:{ns.master_port} (MASTER_ADDR "
        f"{ns.master_ip}, MASTER_PORT {ns.master_port}) within launch.init_timeout "
        f"{timeout_s}s (last error: {type(last).__name__}: {last}). Rank 0 hosts the "
        f"rendezvous there: check that it started, MASTER_ADDR/MASTER_PORT and the launcher"
    )


def _connect_within(
    ns: argparse.Namespace, connect: Callable[[], Any], deadline: float, timeout_s: int
) -> Any:
    """Run the store connection in a helper thread and wait for it until the deadline.

    A process that accepts on MASTER_PORT but never speaks the store's protocol (any
    other server, a stuck peer) leaves torch's TCPStore client waiting for its handshake
    far past the timeout it was given (88 s with init_timeout 5).  The blocked helper is a
    daemon thread: it cannot keep the process alive after the error below."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(connect())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    helper = threading.Thread(target=run, name="satc-rendezvous", daemon=True)
    helper.start()
    # A moment past the deadline, so that torch's own timeout error wins when it comes.
    helper.join(max(1.0, deadline - time.monotonic()) + 0.5)
    if failure:
        raise failure[0]
    if not result:
        raise RendezvousError(
            f"rank {ns.rank} of {ns.world_size}: process-group rendezvous did not complete: "
            f"something accepts connections at tcp://{ns.master_ip}:{ns.master_port} but "
            f"never answered as rank 0's rendezvous store within launch.init_timeout "
            f"{timeout_s}s. Another program may hold MASTER_PORT {ns.master_port}, or rank 0 "
            f"is stuck: check rank 0's log, MASTER_ADDR/MASTER_PORT and the launcher"
        )
    return result[0]


def _node_identity() -> str:
    """This machine, and the node index its launcher gives when one host plays several
    nodes (torchrun's GROUP_RANK, the deepspeed launcher's CROSS_RANK, SLURM_NODEID)."""
    index = next(
        (os.environ[n] for n in ("GROUP_RANK", "CROSS_RANK", "SLURM_NODEID") if os.environ.get(n)), ""
    )
    return f"{socket.gethostname()}/{index}"


def _store_barrier(store: Any, name: str, world_size: int) -> None:
    """Every rank passes `name` once; returns when all have (bounded by the store timeout)."""
    if store.add(f"{name}/arrived", 1) == world_size:
        store.set(f"{name}/all", "1")
    store.wait([f"{name}/all"])


def _unique_local_ranks(store: Any, ns: argparse.Namespace) -> None:
    """Two processes of one node claiming the same LOCAL_RANK would share a GPU and
    seed alike.  Each rank counts its (node, local rank) in the store; after a barrier
    every rank knows whether any claim was made twice, and all of them stop."""
    import torch.distributed as dist

    satc_store = dist.PrefixStore("satc/local_rank", store)  # type: ignore[attr-defined]
    claim = f"claim/{_node_identity()}/{ns.local_rank}"
    satc_store.add(claim, 1)
    _store_barrier(satc_store, "counted", ns.world_size)
    mine = int(satc_store.add(claim, 0))
    if mine > 1:
        satc_store.add("duplicates", 1)
    _store_barrier(satc_store, "checked", ns.world_size)
    if mine > 1:
        raise TopologyError(
            f"rank {ns.rank} of {ns.world_size}: {mine} ranks on host {socket.gethostname()} "
            f"claim LOCAL_RANK={ns.local_rank}; each process of a node needs its own local "
            f"rank (and GPU). Launch with the generated launch.sh, or fix LOCAL_RANK / "
            f"SLURM_LOCALID / OMPI_COMM_WORLD_LOCAL_RANK"
        )
    if int(satc_store.add("duplicates", 0)):
        raise TopologyError(
            f"rank {ns.rank} of {ns.world_size}: other ranks of this job share a LOCAL_RANK "
            f"on one host (their logs name it); stopping before any group is built"
        )


def _process_group(ns: argparse.Namespace, init_method: str, timeout: timedelta, timeout_s: int) -> None:
    """R10 under one deadline; a process group someone else created must match the bundle."""
    import torch.distributed as dist

    if dist.is_initialized():
        if (dist.get_world_size(), dist.get_rank()) != (ns.world_size, ns.rank):
            raise TopologyError(
                f"torch.distributed was already initialised as rank {dist.get_rank()} of "
                f"{dist.get_world_size()}, but this launch is rank {ns.rank} of {ns.world_size}"
            )
        return
    deadline = time.monotonic() + timeout_s
    if ns.rank != 0:  # rank 0 hosts the store (torchrun's agent store is up before us)
        _await_rendezvous_host(ns, deadline, timeout_s)
    # A floor so a host found at the last moment still gets to build the group.
    remaining = timedelta(seconds=max(1.0, deadline - time.monotonic()))
    with _stage("process-group rendezvous", ns, timeout_s):
        # Public torch API that torch's own stubs do not re-export (hence the ignores).
        rendezvous = dist.rendezvous  # type: ignore[attr-defined]

        def connect() -> Any:
            return next(rendezvous(init_method, ns.rank, ns.world_size, timeout=remaining))

        # Rank 0 hosts the store, whose wait for clients keeps its timeout; a client's
        # handshake does not (see _connect_within).
        store, _, _ = connect() if ns.rank == 0 else _connect_within(ns, connect, deadline, timeout_s)
        store.set_timeout(remaining)
        dist.init_process_group(
            backend=ns.distributed_backend,
            # The prefix init_process_group itself puts on a store it creates.
            store=dist.PrefixStore("default_pg", store),  # type: ignore[attr-defined]
            world_size=ns.world_size,
            rank=ns.rank,
            timeout=remaining,
        )
        _unique_local_ranks(store, ns)
        # Later steps and training collectives get the full timeout, as before.
        store.set_timeout(timeout)
        _set_default_group_timeout(timeout)


def _set_default_group_timeout(timeout: timedelta) -> None:
    """The default group's collectives keep init_timeout, not what the rendezvous left."""
    from torch.distributed import distributed_c10d

    set_pg_timeout = getattr(distributed_c10d, "_set_pg_timeout", None)
    if set_pg_timeout is None:  # private in torch; absent before 2.3
        log.warning("torch.distributed cannot reset the default group's timeout to %s", timeout)
        return
    set_pg_timeout(timeout)


def _check_context_parallel_size(bundle: Bundle, ns: argparse.Namespace) -> None:
    size = groups.context_parallel_size(ns.model_parallel_size)
    if bundle.topology.context_parallel_size != size:
        raise BundleError(
            f"{bundle.path}: topology.context_parallel_size "
            f"{bundle.topology.context_parallel_size} but R12 gives {size} for "
            f"model-parallel size {ns.model_parallel_size}; recompile the bundle"
        )


def _everyone_arrived(ns: argparse.Namespace, timeout: timedelta, timeout_s: int) -> None:
    """One bounded barrier: init() returns only once every rank has all its groups."""
    import torch.distributed as dist

    with _stage("closing barrier", ns, timeout_s):
        if dist.get_backend() == "gloo":
            # Names the ranks that did not arrive.
            dist.monitored_barrier(timeout=timeout, wait_all_ranks=True)
        else:
            dist.barrier()


def _deepspeed_or_rng_tracker(ns: argparse.Namespace, init_method: str, timeout: timedelta) -> None:
    """R13: DeepSpeed reuses the live process group; model-only runs get the RNG tracker."""
    if ns.deepspeed:
        import deepspeed

        deepspeed.init_distributed(
            dist_backend=ns.distributed_backend,
            world_size=ns.world_size,
            rank=ns.rank,
            init_method=init_method,
            timeout=timeout,
        )
        return
    try:
        from deepspeed.runtime.activation_checkpointing.checkpointing import (
            _CUDA_RNG_STATE_TRACKER,
            _MODEL_PARALLEL_RNG_TRACKER_NAME,
        )

        _CUDA_RNG_STATE_TRACKER.add(_MODEL_PARALLEL_RNG_TRACKER_NAME, 1)  # reference: seed 1
    # The reference tolerates any failure here (no DeepSpeed, no CUDA RNG) the same way.
    except Exception as exc:  # noqa: BLE001
        log.debug("RNG tracker not registered: %s", exc)


def initialize(bundle: Bundle, ns: argparse.Namespace, local_world_size: int) -> None:
    """R9-R14 for this rank; fills ns.master_port for single-rank runs without one."""
    # Import everything before the rendezvous: `import sat` alone takes seconds, and
    # peers must not spend their timeout waiting for a slow import.
    import torch
    from sat import mpu

    timeout_s = bundle.init_timeout
    timeout = timedelta(seconds=timeout_s)
    check_device(bundle, ns, torch.cuda.device_count() if bundle.device == "cuda" else 0)
    if ns.master_port is None:
        if ns.world_size > 1:
            raise TopologyError(
                f"no rendezvous port for {ns.world_size} ranks: MASTER_PORT is unset and "
                f"{bundle.path} has no launch.master_port; set launch.master_port or launch "
                f"with the generated launch.sh"
            )
        ns.master_port = _free_port()
    _export_env(ns, local_world_size)
    if bundle.device == "cuda":
        torch.cuda.set_device(ns.device)
    init_method = f"tcp://{ns.master_ip}:{ns.master_port}"
    _process_group(ns, init_method, timeout, timeout_s)
    _check_context_parallel_size(bundle, ns)
    sp = bundle.topology.sequence_parallel_size
    kinds = "model-, data-, context-parallel, node" + (", sequence-parallel" if sp is not None else "")
    with _stage(f"process groups ({kinds})", ns, timeout_s):
        plan = groups.initialize(
            ns.rank, ns.world_size, ns.model_parallel_size, local_world_size, timeout, sp
        )
    expected = ns.rank // (ns.model_parallel_size * (plan.sequence_parallel_size or 1))
    if mpu.get_data_parallel_rank() != expected:
        raise TopologyError(
            f"sat.mpu placed rank {ns.rank} at data-parallel rank "
            f"{mpu.get_data_parallel_rank()}, not {expected} (R11, SP1)"
        )
    _everyone_arrived(ns, timeout, timeout_s)
    _deepspeed_or_rng_tracker(ns, init_method, timeout)
    if ns.seed is not None:
        from sat.arguments import set_random_seed

        set_random_seed(ns.seed)  # R14: python, numpy, torch (seed already + dp rank)
