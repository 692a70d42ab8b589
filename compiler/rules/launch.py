"""Launch rules: D6 (explicit rendezvous), reserved environment names, pdsh-safe values."""

from __future__ import annotations

import os
import re
from typing import Any

from ..project import select
from ..tree import yaml_text
from .reserved_env import why_reserved
from .work import Work

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


def entrypoint_by_mode(work: Work) -> None:
    """E1: without launch.entrypoint, a rank starts the mode's conventional script
    (CogVideoX's train_video.py / sample_video.py) where the project has it, else the
    project's one script that calls get_args; with several, the configs must name one."""
    if work.given("launch", "entrypoint"):
        return
    conventional = "train_video.py" if work.training else "sample_video.py"
    project = select.for_config(work.config)
    # launch.sh starts the entrypoint from the folder the compile ran in; a project found
    # in a folder below it (FlashVideo's README runs flashvideo/dist_inf_text_file.py from
    # the repository root) names its scripts from there, as an entrypoint given on the
    # command line does.
    prefix = _below_cwd(project.root) if project.origin == "scanned" else ""
    scripts = tuple(prefix + name for name in project.entrypoints)
    conventional = prefix + conventional
    mode = "training" if work.training else "inference"
    if not scripts or conventional in scripts:
        if not work.training or prefix:
            reason = (
                "mode is training: CogVideoX trains with train_video.py"
                if work.training
                else "mode is inference: CogVideoX samples with sample_video.py"
            )
            if prefix:
                reason += f", in the project's folder {prefix} below the one satc ran in"
            work.derive("launch.entrypoint", conventional, "E1", reason, "args.mode")
        return
    if len(scripts) == 1:
        work.derive(
            "launch.entrypoint",
            scripts[0],
            "E1",
            f"the project has no {conventional}; {scripts[0]} is its one script that calls get_args",
            "args.mode",
        )
        return
    work.error(
        "launch.entrypoint",
        f"mode is {mode} and the project has no {conventional}; its scripts that call get_args "
        f"are {', '.join(scripts)} [E1]",
        f"name the script each rank starts first, as a README runs it (satc compile {scripts[0]} CONFIG...), "
        f"or --set launch.entrypoint={scripts[0]}",
        *(("args", "mode") if work.given("args", "mode") else ("launch", "entrypoint")),
    )


def _below_cwd(root: str | None) -> str:
    """``sub/`` where the project's folder is below the working directory, else ``""``."""
    if not root:
        return ""
    relative = os.path.relpath(root, os.path.realpath(os.getcwd()))
    return "" if relative == "." or relative.startswith("..") else relative.replace(os.sep, "/") + "/"


def launch_environment(work: Work) -> None:
    """launch.env may not set what the script exports or uses itself, nor a passthrough name."""
    passthrough = set(work.launch["env_passthrough"])
    for name in work.launch["env"]:
        if name in RESERVED_ENV:
            work.error(
                f"launch.env.{name}",
                f"{name} is set by satc: {RESERVED_ENV[name]}",
                "remove it from launch.env",
            )
        elif why_reserved(name):
            work.error(
                f"launch.env.{name}",
                f"{name} cannot be set here: {why_reserved(name)}",
                "remove it from launch.env; launch.* options set what the script runs "
                "(entrypoint, nodes, gpus_per_node, slurm, ...)",
            )
        elif name in passthrough:
            work.error(
                f"launch.env.{name}",
                f"{name} is also in launch.env_passthrough",
                "keep it in one of them: env freezes a value into the bundle, "
                "env_passthrough requires it at launch time",
            )
    for name in sorted(passthrough):
        if name in RESERVED_ENV:
            message = f"{name} is set by satc: {RESERVED_ENV[name]}"
        elif why_reserved(name):
            message = f"{name} cannot be passed through: {why_reserved(name)}"
        else:
            continue
        work.error("launch.env_passthrough", message, "remove it from launch.env_passthrough")


def launch_rendezvous(work: Work) -> None:
    """D6: the rendezvous endpoint is explicit (SAT falls back to a fixed port 6000).

    Also checks what each launcher needs: hosts for the deepspeed hostfile, and values
    that survive the deepspeed launcher's remote shell when it goes through pdsh.
    """
    launch = work.launch
    several = launch["nodes"] > 1
    hosts = launch.get("hosts")
    if launch.get("master_addr") is None and launch["target"] == "deepspeed" and several and hosts:
        # The deepspeed launcher itself rendezvouses on the hostfile's first host.
        work.derive(
            "launch.master_addr", hosts[0], "D6", "the deepspeed launcher uses the first host", "launch.hosts"
        )
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
                f"{yaml_text(value)} would run through the deepspeed launcher's remote shell unquoted (pdsh)",
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
