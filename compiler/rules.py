"""The derivation rules: one small function each, named after the SPEC rule it implements.

Every rule reads and writes a `Work` (the plan being built) and records why it set a
value, so `satc explain` can tell the user.  Order matters and mirrors CogVideoX's
``get_args``: see `resolve.RULES`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from . import presets
from .errors import SET_RANK, Location, Problem
from .load import LoadedConfig
from .plan import Derivation

Path = tuple[str | int, ...]


@dataclass
class Work:
    """The plan under construction (private to resolve; rules mutate only this)."""

    config: LoadedConfig
    args: dict[str, Any]
    launch: dict[str, Any]
    deepspeed: dict[str, Any] | None = None
    given_deepspeed: dict[str, Any] | None = None
    topology: dict[str, int] = field(default_factory=dict)
    derivations: list[Derivation] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    input_names: tuple[str, ...] = ()

    @property
    def training(self) -> bool:
        return bool(self.args["mode"] != "inference")

    def given(self, *path: str | int) -> bool:
        """Did an input (file or --set) set this key?"""
        return tuple(path) in self.config.origin

    def where(self, *path: str | int) -> Location | None:
        return self.config.locate(tuple(path))

    def derive(self, key: str, value: Any, rule: str, reason: str, *inputs: str) -> None:
        section, _, rest = key.partition(".")
        target = {"args": self.args, "launch": self.launch, "topology": self.topology}.get(section)
        if section == "deepspeed":
            assert self.deepspeed is not None
            node = self.deepspeed
            *parents, leaf = rest.split(".")
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = value
        else:
            assert target is not None, key
            target[rest] = value
        self.derivations.append(Derivation(key, rule, reason, tuple(inputs)))

    def error(self, key: str, message: str, hint: str | None = None, *path: str | int) -> None:
        where = self.where(*path) if path else self.where(*key.split("."))
        self.errors.append(Problem(where, key, message, hint=hint))

    def warn(self, key: str, message: str, hint: str | None = None) -> None:
        where = self.where(*key.split("."))
        self.warnings.append(Problem(where, key, message, severity="warning", hint=hint))


def r1_iterations(work: Work) -> None:
    """R1: train_iters and epochs are exclusive; neither -> train_iters = 10000."""
    args = work.args
    if args["train_iters"] is not None and args["epochs"] is not None:
        work.error(
            "args.epochs",
            f"both train_iters ({args['train_iters']}) and epochs ({args['epochs']}) are set",
            f"keep one of them (train_iters is set at {work.where('args', 'train_iters')})",
        )
    elif args["train_iters"] is None and args["epochs"] is None:
        work.derive(
            "args.train_iters", 10000, "R1", "neither train_iters nor epochs set: SAT's default 10000"
        )
        if work.training:
            work.warn(
                "args.train_iters",
                "neither train_iters nor epochs set; training for 10000 iterations",
                "set args.train_iters",
            )


def r2_data_weights(work: Work) -> None:
    """R2: len(train_data_weights) == len(train_data) when weights are given."""
    weights, data = work.args["train_data_weights"], work.args["train_data"]
    if weights is not None and len(weights) != len(data or []):
        work.error(
            "args.train_data_weights",
            f"{len(weights)} weights for {len(data or [])} train_data entries",
            "give one weight per train_data entry",
        )
    if work.training and not data:
        work.warn("args.train_data", "no training data specified")


def r4_deepspeed_by_mode(work: Work) -> None:
    """R4: every mode but inference trains with DeepSpeed."""
    if work.training:
        work.derive(
            "args.deepspeed", True, "R4", f"mode {work.args['mode']!r} trains with DeepSpeed", "args.mode"
        )
    elif work.args["deepspeed"]:
        work.error(
            "args.deepspeed",
            "deepspeed: true in inference mode",
            "CogVideoX's get_args fails on this combination; remove args.deepspeed",
        )
    section = work.config.tree.get("deepspeed")
    if not work.training and section is not None:
        work.warn("deepspeed", "the deepspeed section is not used in inference mode")


def r5_choose_preset(work: Work) -> None:
    """R5: training without a `deepspeed:` section starts from SAT's preset for zero_stage."""
    section = work.config.tree.get("deepspeed")
    if not work.training:
        return
    if section is None:
        stage = work.args["zero_stage"]
        work.deepspeed = presets.preset(stage)
        origin = "satc's ZeRO-3 preset" if stage == 3 else f"SAT's deepspeed_zero{stage}.json"
        work.derivations.append(
            Derivation("deepspeed", "R5", f"no deepspeed section: {origin}", ("args.zero_stage",))
        )
    else:
        work.given_deepspeed = section
        work.deepspeed = copy.deepcopy(section)


def r3_exclusive_precision(work: Work) -> None:
    """R3: fp16 and bf16 are exclusive."""
    if work.args["fp16"] and work.args["bf16"]:
        work.error("args.bf16", "both fp16 and bf16 are set", "choose one precision")


def r7_auto_fp16(work: Work) -> None:
    """R7: zero_stage > 0 with neither precision -> fp16 (before R6, which may override)."""
    args = work.args
    if args["zero_stage"] > 0 and not args["fp16"] and not args["bf16"]:
        reason = f"zero_stage {args['zero_stage']} > 0 and neither fp16 nor bf16 set"
        work.derive("args.fp16", True, "R7", reason, "args.zero_stage")
        work.derive("args.bf16", False, "R7", reason, "args.zero_stage")


def r8_activation_checkpointing(work: Work) -> None:
    """R8: deepspeed_activation_checkpointing follows checkpoint_activations."""
    if work.args["deepspeed"]:
        value = bool(work.args["checkpoint_activations"])
        work.derive(
            "args.deepspeed_activation_checkpointing",
            value,
            "R8",
            f"checkpoint_activations is {str(value).lower()}",
            "args.checkpoint_activations",
        )


def r5_args_into_preset(work: Work) -> None:
    """R5: with a preset, args win: precision, micro-batch, accumulation, lr, weight decay."""
    if work.deepspeed is None or work.given_deepspeed is not None:
        return
    args = work.args
    if args["fp16"]:
        work.derive("deepspeed.fp16.enabled", True, "R5", "args.fp16 is set", "args.fp16")
    elif args["bf16"]:
        work.derive("deepspeed.bf16.enabled", True, "R5", "args.bf16 is set", "args.bf16")
        work.derive("deepspeed.fp16.enabled", False, "R5", "args.bf16 is set", "args.bf16")
    else:
        work.derive(
            "deepspeed.fp16.enabled", False, "R5", "neither fp16 nor bf16 set", "args.fp16", "args.bf16"
        )
    for ds_key, arg in (
        ("train_micro_batch_size_per_gpu", "batch_size"),
        ("gradient_accumulation_steps", "gradient_accumulation_steps"),
        ("optimizer.params.lr", "lr"),
        ("optimizer.params.weight_decay", "weight_decay"),
    ):
        work.derive(f"deepspeed.{ds_key}", args[arg], "R5", f"from args.{arg}", f"args.{arg}")


def _r6_replace(work: Work, arg: str, value: Any, source: str, reason: str) -> None:
    """Set args.<arg> from the DeepSpeed section, saying so when the user gave another
    value: a --set that R6 would discard is an error (D2 promises --set wins), a file
    value that CogVideoX silently replaces is a warning."""
    given = work.config.origin.get(("args", arg))
    if given is not None and work.args[arg] != value:
        theirs, ours = work.args[arg], value
        if given.rank == SET_RANK:
            work.error(
                f"args.{arg}",
                f"--set args.{arg}={theirs!r} would be replaced by {source} "
                f"({ours!r}): with a deepspeed section, DeepSpeed's value wins (R6)",
                f"set {source} instead",
            )
        else:
            work.warn(
                f"args.{arg}",
                f"{theirs!r} is replaced by {source} ({ours!r}): with a "
                "deepspeed section, DeepSpeed's value wins (R6)",
                f"remove args.{arg}, or change {source}",
            )
    work.derive(f"args.{arg}", value, "R6", reason, source)


def r6_deepspeed_section_wins(work: Work) -> None:
    """R6: with a `deepspeed:` section, the DeepSpeed config decides these args."""
    ds = work.given_deepspeed
    if ds is None:
        return
    for precision in ("fp16", "bf16"):
        block = ds.get(precision)
        if isinstance(block, dict) and "enabled" not in block:
            work.error(
                f"deepspeed.{precision}",
                "has no `enabled` key",
                f"CogVideoX's get_args reads deepspeed.{precision}.enabled; add enabled: true or false",
            )
        enabled = bool(isinstance(block, dict) and block.get("enabled"))
        _r6_replace(
            work,
            precision,
            enabled,
            f"deepspeed.{precision}.enabled",
            f"deepspeed.{precision}.enabled is {str(enabled).lower()}",
        )
    if "train_micro_batch_size_per_gpu" in ds:
        _r6_replace(
            work,
            "batch_size",
            ds["train_micro_batch_size_per_gpu"],
            "deepspeed.train_micro_batch_size_per_gpu",
            "from deepspeed.train_micro_batch_size_per_gpu",
        )
    gas = ds.get("gradient_accumulation_steps")
    _r6_replace(
        work,
        "gradient_accumulation_steps",
        gas,
        "deepspeed.gradient_accumulation_steps",
        "from deepspeed.gradient_accumulation_steps"
        if gas is not None
        else "deepspeed section has no gradient_accumulation_steps: None, as CogVideoX sets it",
    )
    params = (ds.get("optimizer") or {}).get("params") or {}
    for name in ("lr", "weight_decay"):
        if name in params:
            _r6_replace(
                work,
                name,
                params[name],
                f"deepspeed.optimizer.params.{name}",
                f"from deepspeed.optimizer.params.{name}",
            )
    if work.args["fp16"] and work.args["bf16"]:
        work.error(
            "deepspeed.bf16.enabled", "both fp16.enabled and bf16.enabled are true", "choose one precision"
        )


def d3_zero_stage_sync(work: Work) -> None:
    """D3: args.zero_stage always equals the emitted zero_optimization.stage."""
    if work.deepspeed is None:
        return
    stage = (work.deepspeed.get("zero_optimization") or {}).get("stage", 0)
    if work.given("args", "zero_stage") and work.args["zero_stage"] != stage:
        work.error(
            "args.zero_stage",
            f"args.zero_stage is {work.args['zero_stage']} but the deepspeed section runs ZeRO stage {stage}",
            "set deepspeed.zero_optimization.stage (or drop args.zero_stage)",
        )
        return
    if work.args["zero_stage"] != stage:
        work.derive(
            "args.zero_stage",
            stage,
            "D3",
            f"zero_optimization.stage of the DeepSpeed config is {stage}",
            "deepspeed.zero_optimization.stage",
        )


def r11_r12_topology(work: Work) -> None:
    """R11/R12/D6: world = nodes x gpus_per_node; mp divides it; dp and context parallel."""
    nodes, per_node = work.launch["nodes"], work.launch["gpus_per_node"]
    world = nodes * per_node
    mp = work.args["model_parallel_size"]
    product = f"{world} = {nodes} nodes x {per_node} gpus_per_node"
    if mp < 1:
        work.error("args.model_parallel_size", f"must be at least 1, got {mp}")
        return
    if world % mp:
        work.error(
            "args.model_parallel_size",
            f"model_parallel_size {mp} does not divide the world size {product}",
            "choose a model_parallel_size that divides nodes x gpus_per_node",
        )
        return
    cp = min(mp, 2)
    if world % cp:
        work.error(
            "args.model_parallel_size", f"context parallel size {cp} does not divide world size {product}"
        )
        return
    work.topology.update(
        nodes=nodes,
        gpus_per_node=per_node,
        world_size=world,
        model_parallel_size=mp,
        data_parallel_size=world // mp,
        context_parallel_size=cp,
    )
    work.derivations += [
        Derivation(
            "topology.world_size", "D6", f"world_size {product}", ("launch.nodes", "launch.gpus_per_node")
        ),
        Derivation(
            "topology.data_parallel_size",
            "R11",
            f"data_parallel_size {world // mp} = {world} world / {mp} model_parallel",
            ("topology.world_size", "args.model_parallel_size"),
        ),
        Derivation(
            "topology.context_parallel_size",
            "R12",
            f"context_parallel_size {cp}: "
            + ("the model-parallel group (mp <= 2)" if mp <= 2 else "pairs of consecutive ranks (mp > 2)"),
            ("args.model_parallel_size",),
        ),
    ]


def d4_batch_triad(work: Work) -> None:
    """D4: train_batch_size = micro x gradient_accumulation x dp, computed and checked."""
    ds = work.deepspeed
    if ds is None or not work.topology:
        return
    dp = work.topology["data_parallel_size"]
    micro = ds.get("train_micro_batch_size_per_gpu")
    gas = ds.get("gradient_accumulation_steps")
    total = ds.get("train_batch_size")
    for name, value in (
        ("train_micro_batch_size_per_gpu", micro),
        ("gradient_accumulation_steps", gas),
        ("train_batch_size", total),
    ):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            work.error(f"deepspeed.{name}", f"must be a positive integer, got {value!r}")
            return
    if micro is None and total is None:
        micro = work.args["batch_size"]
        if not isinstance(micro, int) or micro < 1:
            work.error("args.batch_size", f"must be a positive integer, got {micro!r}")
            return
    if micro is None:
        assert total is not None  # both missing was handled just above
        gas = gas or 1
        if total % (gas * dp):
            work.error(
                "deepspeed.train_batch_size",
                f"train_batch_size {total} is not divisible by gradient_accumulation_steps {gas} x dp {dp}",
            )
            return
        micro = total // (gas * dp)
    if gas is None:
        if total is not None and total % (micro * dp):
            work.error(
                "deepspeed.train_batch_size",
                f"train_batch_size {total} is not divisible by micro {micro} x dp {dp}",
            )
            return
        gas = total // (micro * dp) if total is not None else 1
    arithmetic = f"{micro} x {gas} x {dp} (micro x grad_accum x dp)"
    if total is not None and total != micro * gas * dp:
        work.error(
            "deepspeed.train_batch_size",
            f"train_batch_size is {total} but {arithmetic} = {micro * gas * dp}",
            f"drop train_batch_size (satc computes it) or set it to {micro * gas * dp}",
        )
        return
    inputs = (
        "deepspeed.train_micro_batch_size_per_gpu",
        "deepspeed.gradient_accumulation_steps",
        "topology.data_parallel_size",
    )
    if ds.get("train_micro_batch_size_per_gpu") != micro:
        work.derive("deepspeed.train_micro_batch_size_per_gpu", micro, "D4", f"micro = {micro}", *inputs)
    if ds.get("gradient_accumulation_steps") != gas:
        work.derive(
            "deepspeed.gradient_accumulation_steps",
            gas,
            "D4",
            f"gradient_accumulation_steps = {gas}",
            *inputs,
        )
    work.derive(
        "deepspeed.train_batch_size", micro * gas * dp, "D4", f"train_batch_size = {arithmetic}", *inputs
    )
    if work.args["batch_size"] != micro:
        work.derive(
            "args.batch_size",
            micro,
            "D4",
            "the data loader's batch is the DeepSpeed micro-batch",
            "deepspeed.train_micro_batch_size_per_gpu",
        )


def d5_seed(work: Work) -> None:
    """D5: the seed is frozen at compile time (R14 adds the data-parallel rank at run time)."""
    source = "from the config" if work.given("args", "seed") else "SAT's default"
    work.derivations.append(
        Derivation(
            "args.seed",
            "D5",
            f"frozen at compile time ({source}); each rank adds its data-parallel rank (R14)",
            ("args.seed",),
        )
    )


def d8_cpu_backend(work: Work) -> None:
    """D8: CPU runs use gloo, so every mode is testable without GPUs."""
    if work.launch["device"] != "cpu":
        return
    backend = work.args["distributed_backend"]
    if work.given("args", "distributed_backend") and backend != "gloo":
        work.error(
            "args.distributed_backend",
            f"{backend!r} cannot run on launch.device cpu",
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
        work.error("args.device", f"GPU {device} is fixed, but launch.device is cpu", "remove args.device")
    elif work.training and work.launch["gpus_per_node"] > 1:
        work.error(
            "args.device",
            f"device {device} is fixed, but {work.launch['gpus_per_node']} ranks share a node",
            "remove args.device: each rank uses the GPU of its LOCAL_RANK",
        )
    elif work.training and device != 0:
        work.error(
            "args.device",
            f"training needs device == LOCAL_RANK, which is 0 with one rank per node, got {device}",
            "remove args.device; pick the GPU with CUDA_VISIBLE_DEVICES",
        )


# The deepspeed launcher's pdsh path pastes values into a remote shell command unquoted
# (deepspeed.launcher.multinode_runner.PDSHRunner): only these characters survive it.
# `%` is not among them: pdsh expands %n, %h, %u, %% in the remote command line.
PDSH_SAFE = re.compile(r"^[A-Za-z0-9_@+=:,./-]*$")


# What the launch script and the runtime own: a `launch.env` entry would silently
# point ranks at another bundle or topology than the compiled one.
RESERVED_ENV = {
    "SATC_BUNDLE": "the launch script points it at this bundle",
    "SATC_BUNDLE_DIR": "the launch script finds the bundle itself",
    "LOCAL_WORLD_SIZE": "it comes from launch.gpus_per_node (D6)",
    "RANK": "the launcher sets it per rank",
    "LOCAL_RANK": "the launcher sets it per rank",
    "WORLD_SIZE": "it comes from launch.nodes x launch.gpus_per_node",
    "LOCAL_SIZE": "the deepspeed launcher sets it",
    "NODE_RANK": "give it at launch time",
    "MASTER_ADDR": "use launch.master_addr",
    "MASTER_PORT": "use launch.master_port",
    "PYTORCH_CUDA_ALLOC_CONF": "use launch.cuda_alloc_conf",
}


def launch_environment(work: Work) -> None:
    """launch.env may not set what the script exports itself, nor a passthrough name."""
    passthrough = set(work.launch["env_passthrough"])
    for name in work.launch["env"]:
        if name in RESERVED_ENV:
            work.error(
                f"launch.env.{name}",
                f"{name} is set by satc: {RESERVED_ENV[name]}",
                "remove it from launch.env",
            )
        elif name in passthrough:
            work.error(
                f"launch.env.{name}",
                f"{name} is also in launch.env_passthrough",
                "keep it in one of them: env freezes a value into the bundle, "
                "env_passthrough requires it at launch time",
            )
    for name in sorted(passthrough & set(RESERVED_ENV)):
        work.error(
            "launch.env_passthrough",
            f"{name} is set by satc: {RESERVED_ENV[name]}",
            "remove it from launch.env_passthrough",
        )


def launch_rendezvous(work: Work) -> None:
    """D6: the rendezvous endpoint is explicit (SAT falls back to a fixed port 6000).

    Also checks what each launcher needs: hosts for the deepspeed hostfile, and values
    that survive the deepspeed launcher's remote shell when it goes through pdsh.
    """
    launch = work.launch
    several = launch["nodes"] > 1
    if launch.get("master_addr") is None:
        if several and launch["target"] != "slurm":
            work.error(
                "launch.master_addr",
                f"{launch['nodes']} nodes need a rendezvous host",
                "set launch.master_addr to node 0's address",
                "launch",
            )
        elif not several:
            work.derive("launch.master_addr", "127.0.0.1", "D6", "one node: rendezvous on loopback")
    if launch.get("master_port") is None and several:
        work.derive("launch.master_port", 29500, "D6", "several nodes need an agreed port: 29500")
    if launch["target"] == "deepspeed":
        _deepspeed_hosts(work)
        if several or launch.get("force_multi"):
            _pdsh_safe_values(work)
    else:
        for key in ("hosts", "include", "exclude", "force_multi", "ssh_port"):
            if work.given("launch", key):
                work.error(
                    f"launch.{key}",
                    f"is only read by the deepspeed target, not {launch['target']!r}",
                    "remove it, or set launch.target: deepspeed",
                )
    if launch["target"] != "slurm" and work.given("launch", "slurm"):
        work.error(
            "launch.slurm",
            f"is only read by the slurm target, not {launch['target']!r}",
            "remove it, or set launch.target: slurm",
        )


def _deepspeed_hosts(work: Work) -> None:
    hosts = work.launch.get("hosts")
    nodes = work.launch["nodes"]
    if hosts is None:
        if nodes > 1:
            work.error(
                "launch.hosts",
                f"the deepspeed hostfile needs {nodes} hosts",
                f"list the {nodes} hosts in launch.hosts (node 0 first)",
                "launch",
            )
        else:
            work.derive("launch.hosts", ["localhost"], "D6", "one node: the hostfile names localhost")
    elif len(hosts) != nodes or len(set(hosts)) != len(hosts):
        work.error(
            "launch.hosts",
            f"{len(hosts)} host(s) ({len(set(hosts))} distinct) for {nodes} node(s)",
            "list each node's host once: launch.hosts must have launch.nodes entries",
        )


def _pdsh_safe_values(work: Work) -> None:
    launch = work.launch
    values: list[tuple[str, Any]] = [("launch.entrypoint", launch["entrypoint"])]
    values += [(f"launch.entrypoint_args[{i}]", arg) for i, arg in enumerate(launch["entrypoint_args"])]
    values += [(f"launch.env.{name}", value) for name, value in launch["env"].items()]
    values += [("launch.cuda_alloc_conf", launch.get("cuda_alloc_conf") or "")]
    for key, value in values:
        if not PDSH_SAFE.match(str(value)):
            work.error(
                key,
                f"{value!r} would run through the deepspeed launcher's remote shell unquoted (pdsh)",
                "use only A-Z a-z 0-9 _ @ + = : , . / - here, or launch.target torchrun/slurm",
                *_path_of(key),
            )
        elif value == "" and not key.startswith(("launch.env", "launch.cuda_alloc_conf")):
            # pdsh drops an empty word and every argument after it.
            work.error(
                key,
                "an empty argument would be dropped by pdsh, with every argument after it",
                "remove it, or use launch.target torchrun/slurm",
                *_path_of(key),
            )


def _path_of(key: str) -> tuple[str | int, ...]:
    """`launch.entrypoint_args[0]` -> ("launch", "entrypoint_args", 0), to locate the value."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"[.\[\]]+", key) if part)


def record_inputs(work: Work) -> None:
    """args.base lists the configs, as CogVideoX's --base does (relative to the bundle)."""
    work.args["base"] = list(work.input_names)
    if work.deepspeed is not None:
        work.args["deepspeed_config"] = work.deepspeed
    elif "deepspeed" in work.config.tree:
        # CogVideoX keeps the section on args even when it does not use it (inference).
        work.args["deepspeed_config"] = copy.deepcopy(work.config.tree["deepspeed"])
