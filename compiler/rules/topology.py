"""Topology rules: R11/R12 (world, model/data/context parallel), SP1 (sequence parallel),
D8 (cpu backend), R9 (device)."""

from __future__ import annotations

from ..plan import Derivation
from ..project import select
from .get_args import fixed_model_parallel
from .work import Work


def r11_r12_topology(work: Work) -> None:
    """R11/R12/D6: world = nodes x gpus_per_node; mp divides it; dp and context parallel."""
    nodes, per_node = work.launch["nodes"], work.launch["gpus_per_node"]
    world = nodes * per_node
    # A project whose get_args initialises model parallelism with 1 gets 1 (G4 warns).
    mp = 1 if fixed_model_parallel(work) else work.args["model_parallel_size"]
    product = f"{world} = {nodes} nodes x {per_node} gpus_per_node"
    if type(mp) is not int:
        # YAML values reach args as they are (argparse's type=int never runs on them), and
        # SAT's mpu builds its groups with range(..., model_parallel_size): anything but an
        # integer fails there, and no arithmetic below means anything.
        work.error(
            "args.model_parallel_size",
            f"must be an integer, got {_describe(mp)} [R11]",
            "the number of ranks that split each layer, e.g. 1, 2, 4",
        )
        return
    if mp < 1:
        work.error("args.model_parallel_size", f"must be at least 1, got {mp} [R11]")
        return
    if world % mp:
        work.error(
            "args.model_parallel_size",
            f"model_parallel_size {mp} does not divide the world size {product} [R11]",
            "choose a model_parallel_size that divides nodes x gpus_per_node",
        )
        return
    cp = min(mp, 2)
    if world % cp:
        work.error(
            "args.model_parallel_size",
            f"context parallel size {cp} does not divide world size {product} [R12]",
        )
        return
    if nodes > 1 and per_node % mp:
        # Some block of mp consecutive ranks straddles a node boundary.
        work.warn(
            "args.model_parallel_size",
            f"model-parallel groups of {mp} ranks span nodes of {per_node} GPUs: their every-layer "
            "traffic leaves the node (see satc topology) [R11]",
            "choose a model_parallel_size that divides launch.gpus_per_node",
        )
    sp = _sequence_parallel_size(work, world, mp, product)
    if sp is False:
        return
    dp = world // (mp * (sp or 1))
    work.topology.update(
        nodes=nodes,
        gpus_per_node=per_node,
        world_size=world,
        model_parallel_size=mp,
        data_parallel_size=dp,
        context_parallel_size=cp,
    )
    if sp is not None:
        work.topology.update(sequence_parallel_size=sp, sequence_data_parallel_size=sp * dp)
    work.derivations += [
        Derivation(
            "topology.world_size", "D6", f"world_size {product}", ("launch.nodes", "launch.gpus_per_node")
        ),
        Derivation(
            "topology.data_parallel_size",
            "R11",
            f"data_parallel_size {world // mp} = {world} world / {mp} model_parallel",
            ("topology.world_size", "args.model_parallel_size"),
        )
        if sp is None
        else Derivation(
            "topology.data_parallel_size",
            "SP1",
            f"data_parallel_size {dp} = {world} world / ({mp} model_parallel x {sp} sequence_parallel)",
            ("topology.world_size", "args.model_parallel_size", "args.sequence_parallel_size"),
        ),
        Derivation(
            "topology.context_parallel_size",
            "R12",
            f"context_parallel_size {cp}: "
            + ("the model-parallel group (mp <= 2)" if mp <= 2 else "pairs of consecutive ranks (mp > 2)"),
            ("args.model_parallel_size",),
        ),
    ]
    if sp is not None:
        work.derivations.append(
            Derivation(
                "topology.sequence_data_parallel_size",
                "SP1",
                f"sequence_data_parallel_size {sp * dp} = {sp} sequence_parallel x {dp} data_parallel: "
                "the ranks that reduce gradients together (every model_parallel-th rank)",
                ("args.sequence_parallel_size", "topology.data_parallel_size"),
            )
        )


def _sequence_parallel_size(work: Work, world: int, mp: int, product: str) -> int | None | bool:
    """SP1: the sequence-parallel size of a project whose SAT's mpu lays out a sequence
    dimension (world = data x sequence x model parallel) and whose arguments define one;
    None without one (an argument of that name alone lays out nothing), False after an error."""
    if "sequence_parallel_size" not in work.args:
        return None
    if "sequence" not in select.for_config(work.config).sat.mpu_dimensions:
        return None
    given = work.args["sequence_parallel_size"]
    if type(given) is not int:
        work.error(
            "args.sequence_parallel_size",
            f"must be an integer, got {_describe(given)} [SP1]",
            "the number of ranks that split one sequence, e.g. 1, 2, 4",
        )
        return False
    # SAT's mpu runs max(sequence_parallel_size, 1).
    sp = max(given, 1)
    block = mp * sp
    if world % block:
        fitting = [size for size in range(1, world // mp + 1) if (world // mp) % size == 0]
        work.error(
            "args.sequence_parallel_size",
            f"world size {product} is not a multiple of model_parallel_size {mp} x "
            f"sequence_parallel_size {sp} = {block}: the project's SAT lays out "
            f"world = data_parallel x sequence_parallel x model_parallel (SP1), and "
            f"{world} = {world // block} x {block} + {world % block}",
            f"choose a sequence_parallel_size that divides {world} / {mp} = {world // mp}: "
            + ", ".join(map(str, fitting)),
        )
        return False
    work.derivations.append(
        Derivation(
            "topology.sequence_parallel_size",
            "SP1",
            f"sequence_parallel_size {sp}"
            + (f" (SAT's mpu runs max({given}, 1))" if given != sp else "")
            + f": blocks of {mp} model_parallel x {sp} sequence_parallel = {block} consecutive ranks",
            ("args.sequence_parallel_size", "args.model_parallel_size"),
        )
    )
    return sp


def _describe(value: object) -> str:
    """'two' (a string), 2.0 (a float), true (a boolean): what the user wrote, and its type."""
    kinds = {bool: "a boolean", str: "a string", float: "a float", list: "a list", dict: "a mapping"}
    return f"{value!r} ({kinds.get(type(value), type(value).__name__)})"


def d8_cpu_backend(work: Work) -> None:
    """D8: CPU runs use gloo, so every mode is testable without GPUs."""
    if work.launch["device"] != "cpu":
        return
    backend = work.args["distributed_backend"]
    if work.given("args", "distributed_backend") and backend != "gloo":
        work.error(
            "args.distributed_backend",
            f"{backend!r} cannot run on launch.device cpu [D8]",
            "use gloo, or launch.device: cuda",
        )
    elif backend != "gloo":
        work.derive("args.distributed_backend", "gloo", "D8", "launch.device is cpu", "launch.device")


def r9_device(work: Work) -> None:
    """R9: training needs device == local_rank, so a fixed device only works on one rank per node."""
    device = work.args["device"]
    if device == -1:
        return
    if work.launch["device"] == "cpu":
        work.error(
            "args.device", f"GPU {device} is fixed, but launch.device is cpu [R9]", "remove args.device"
        )
    elif work.training and work.launch["gpus_per_node"] > 1:
        work.error(
            "args.device",
            f"device {device} is fixed, but {work.launch['gpus_per_node']} ranks share a node [R9]",
            "remove args.device: each rank uses the GPU of its LOCAL_RANK",
        )
    elif work.training and device != 0:
        work.error(
            "args.device",
            f"training needs device == LOCAL_RANK, which is 0 with one rank per node, got {device} [R9]",
            "remove args.device; pick the GPU with CUDA_VISIBLE_DEVICES",
        )
