"""Render stage: Plan -> {file name: text}.  Pure: no clock, no cwd, no disk writes.

Bytes are deterministic: sorted keys, Python's shortest round-trip floats, `\n`
endings, no absolute paths; the digest covers everything else in args.json.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from .. import __version__
from ..bundle_format import FORMAT as ARGS_FORMAT
from ..bundle_format import canonical_digest as digest_of
from . import memo, resources, template_runtime
from .plan import Plan
from .yaml_reader import IntKey

LAUNCH_TEMPLATES = {
    "torchrun": "launch_torchrun.sh.j2",
    "deepspeed": "launch_deepspeed.sh.j2",
    "slurm": "launch_slurm.sh.j2",
}
# Shell functions every launch.sh shares (leftover variables, signals), laid out in each.
COMMON_TEMPLATE = "launch_common.sh.j2"
# Seconds the process tree gets to end after launch.sh forwards a signal, before SIGKILL.
STOP_GRACE_S = 30
# Same whitelist as the schema's SBATCH pattern (tools/launch_schema.py).
SBATCH_SAFE = re.compile(r"^[A-Za-z0-9._:@%+=,/-]{1,128}$")
# Only such names appear in script comments: a comment must never carry a newline.
_COMMENT_SAFE = re.compile(r"^[A-Za-z0-9._/+@=,:-]+$")
# The merged config (every input, then --set): the runtime hands its absolute path to the
# entrypoint as args.base, so CogVideoX reads one file that exists wherever the bundle is.
CONFIG_FILE = "config.yaml"


@dataclass(frozen=True)
class Provenance:
    # (path relative to the bundle, sha256 of its values: see load.content_digest)
    inputs: tuple[tuple[str, str], ...]
    overrides: tuple[str, ...]
    accepted_warnings: tuple[str, ...] = ()  # keys whose warnings satc.accept_warnings silenced
    # The project whose code judged the config: origin, label, its folder relative to the
    # bundle and every file read with its sha256 (`satc check` re-hashes them).
    project: dict[str, Any] | None = None
    trusted: tuple[str, ...] = ()  # keys whose errors satc.trust turned into warnings


def canonical_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def command_line(provenance: Provenance) -> list[str]:
    """The normalised command that rebuilds this bundle, run from the bundle directory."""
    command = ["satc", "compile", *(path for path, _ in provenance.inputs), "-o", "."]
    if provenance.project is not None and "path" in provenance.project:
        command += ["--project", provenance.project["path"]]
    for override in provenance.overrides:
        command += ["--set", override]
    return command


@lru_cache(maxsize=1)
def _config_dumper() -> Any:
    """PyYAML's safe dumper that also knows OmegaConf's implicit floats (`1e5`), so a
    string that OmegaConf would read back as a number is written quoted."""
    import yaml

    from .yaml_reader import _loader

    Dumper: Any = type("Dumper", (yaml.SafeDumper,), {})
    Dumper.yaml_implicit_resolvers = {
        first: list(resolvers) for first, resolvers in _loader().yaml_implicit_resolvers.items()
    }
    # An integer key of the configs is written as the integer it was (OmegaConf reads it so).
    Dumper.add_representer(IntKey, lambda dumper, key: dumper.represent_int(int(key)))
    return Dumper


def int_keys(plan: Plan) -> list[list[str]]:
    """Where the configs wrote an integer key (yaml_reader.IntKey): each as the path of the
    key in args.json, for the runtime to hand the project the int again."""
    found: list[list[str]] = []

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, IntKey):
                    found.append([*path, str(key)])
                walk(value, [*path, str(key)])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*path, str(index)])

    walk(dict(plan.args), ["args"])
    walk(plan.model_config, ["model_config"])
    walk(plan.data_config, ["data_config"])
    return sorted(found)


def config_yaml(tree: dict[str, Any]) -> str:
    """The merged input tree as YAML, keys sorted: the same bytes whatever the input key order.
    The text for a tree dumped before is read back (memo.py: keyed by the tree, this
    module, PyYAML and OmegaConf's loader, whose resolvers the dumper uses)."""
    reader = os.path.join(os.path.dirname(__file__), "yaml_reader.py")  # _config_dumper's resolvers
    stamp = (memo.code_stamp(__file__, "yaml"), memo.code_stamp(reader, "omegaconf"))
    digest = memo.key("config-yaml", stamp, tree)
    stored = memo.get("config-yaml", digest)
    if stored is not None:
        return stored.decode("utf-8")
    text = _dumped(tree)
    memo.put("config-yaml", digest, text.encode("utf-8"))
    return text


def _dumped(tree: dict[str, Any]) -> str:
    import yaml

    header = (
        f"# Generated by satc {__version__}: the merged configs and --set overrides of this bundle.\n"
        "# Do not edit: change the configs and recompile.\n"
    )
    body: str = yaml.dump(
        tree,
        Dumper=_config_dumper(),
        sort_keys=True,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
    )
    return header + body


def args_document(
    plan: Plan, provenance: Provenance, config_text: str, layers: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "config_file": {
            "path": CONFIG_FILE,
            "sha256": hashlib.sha256(config_text.encode("utf-8")).hexdigest(),
        },
        "format": ARGS_FORMAT,
        "satc_version": __version__,
        "args": dict(plan.args),
        "model_config": plan.model_config,
        "data_config": plan.data_config,
        "deepspeed_config": plan.deepspeed_config,
        "topology": plan.topology.as_dict(),
        "launch": dict(plan.launch),
        "provenance": {
            "inputs": [{"path": path, "content_sha256": sha} for path, sha in provenance.inputs],
            "overrides": list(provenance.overrides),
            "command": command_line(provenance),
        },
    }
    if provenance.project is not None:
        document["provenance"]["project"] = provenance.project
    if provenance.trusted:  # absent otherwise
        document["provenance"]["trusted"] = list(provenance.trusted)
    if plan.seed_rule != "data_parallel_rank":  # absent: CogVideoX's rule, older bundles unchanged
        document["seed_rule"] = plan.seed_rule
    if plan.sections:  # absent otherwise: bundles without a project section stay unchanged
        document["sections"] = dict(plan.sections)
    if provenance.accepted_warnings:  # absent otherwise: older bundles stay byte-identical
        document["provenance"]["accepted_warnings"] = list(provenance.accepted_warnings)
    keys = int_keys(plan)
    if keys:  # absent otherwise: bundles without integer keys stay byte-identical
        document["int_keys"] = keys
    if layers:  # absent otherwise: bundles of other projects stay byte-identical
        document["config_layers"] = [
            {"path": name, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
            for name, text in layers
        ]
    document["digest"] = digest_of(document)
    return document


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["sh"] = template_runtime.shell_quote
    return environment


@cache
def _template(name: str) -> Any:
    return _environment().from_string(resources.template_text(name))


def _compiled(name: str, text: str) -> Any:
    """The template's code as jinja2 compiles it, shipped in satc.templates
    (tools/compile_templates.py), or None when it is absent or was compiled from another
    text than ``text`` (an edited template is rendered by jinja2 itself)."""
    try:
        module = importlib.import_module(f"satc.templates.{name.removesuffix('.j2').replace('.', '_')}")
    except ImportError:
        return None
    if getattr(module, "TEMPLATE_SHA256", None) != hashlib.sha256(text.encode("utf-8")).hexdigest():
        return None
    return module.root


def _rendered(name: str, context: dict[str, Any]) -> str:
    """``name`` rendered with ``context``: by the template's precompiled code where it is
    current (no jinja2 import, no template compilation), else by jinja2, whose result for
    the same template text and context rendered before is read back (memo.py)."""
    text = resources.template_text(name)
    root = _compiled(name, text)
    if root is not None:
        return template_runtime.render(root, context)
    digest = memo.key("render", memo.code_stamp(__file__, "jinja2"), text, context)
    stored = memo.get("render", digest)
    if stored is not None:
        return stored.decode("utf-8")
    rendered: str = _template(name).render(**context)
    memo.put("render", digest, rendered.encode("utf-8"))
    return rendered


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _header(plan: Plan, provenance: Provenance) -> list[str]:
    """Comment lines: only comment-safe tokens, so no value can break out of a comment."""
    command = command_line(provenance)
    lines = [f"Generated by satc {__version__}. Do not edit: change the configs and recompile with"]
    if all(_COMMENT_SAFE.match(part) for part in command):
        lines.append("  " + " ".join(command))
    else:
        lines.append("  the command in provenance.command of args.json")
    lines.append("(run from this directory). Inputs (sha256):")
    for path, sha in provenance.inputs:
        lines.append(f"  {path if _COMMENT_SAFE.match(path) else '(path in args.json)'} {sha}")
    topology = plan.topology
    lines.append(
        f"Target: {plan.launch['target']}, {topology.nodes} node(s) x {topology.gpus_per_node} "
        f"rank(s) on {plan.launch['device']}, world size {topology.world_size}."
    )
    return lines


def _sbatch_options(plan: Plan) -> list[str]:
    """`#SBATCH` values: whitelisted by the schema (SLURM parses them by its own rules)."""
    launch, topology = plan.launch, plan.topology
    slurm = dict(launch.get("slurm") or {})
    job_name = slurm.get("job_name") or plan.args.get("experiment_name")
    options = [
        f"--nodes={topology.nodes}",
        f"--ntasks-per-node={topology.gpus_per_node}",
        f"--cpus-per-task={slurm.get('cpus_per_task', 1)}",
    ]
    if launch["device"] == "cuda":
        if slurm.get("gpu_directive") == "gres":
            kind = f"gpu:{slurm['gpu_type']}" if slurm.get("gpu_type") else "gpu"
            options.append(f"--gres={kind}:{topology.gpus_per_node}")
        else:
            options.append(f"--gpus-per-node={topology.gpus_per_node}")
    if isinstance(job_name, str) and SBATCH_SAFE.match(job_name):
        options.append(f"--job-name={job_name}")
    for key in ("partition", "time", "account", "qos", "output", "constraint", "mem"):
        if slurm.get(key) is not None:
            value = str(slurm[key])
            if not SBATCH_SAFE.match(value):  # the schema refuses these; never trust one layer
                raise ValueError(f"launch.slurm.{key} is not a whitelisted sbatch value")
            options.append(f"--{key}={value}")
    if slurm.get("exclusive"):
        options.append("--exclusive")
    if slurm.get("resume_signal_s"):
        # To every rank (not B:, the batch shell): satc.runtime checkpoints, requeues (C8).
        options += [f"--signal=USR1@{int(slurm['resume_signal_s'])}", "--requeue"]
    for key, value in sorted((slurm.get("extra") or {}).items()):
        name = key.replace("_", "-")
        if value is True:
            options.append(f"--{name}")
        elif value is not False:
            if not (SBATCH_SAFE.match(str(value)) and SBATCH_SAFE.match(name)):
                raise ValueError(f"launch.slurm.extra.{key} is not a whitelisted sbatch value")
            options.append(f"--{name}={value}")
    return options


def hostfile_text(plan: Plan) -> str:
    """The deepspeed launcher's hostfile: `host slots=N`, one line per node."""
    hosts = plan.launch.get("hosts") or ["localhost"]
    return "".join(f"{host} slots={plan.topology.gpus_per_node}\n" for host in hosts)


# A %-pattern of an sbatch file name: optional zero-padding width, then the letter.
_SLURM_PATTERN = re.compile(r"%(\d*)(.)")


def _slurm_log_folders(plan: Plan) -> list[tuple[str, str, str]]:
    """(option, folder, pattern) for each sbatch log path with a folder part: sbatch does
    not create it, and without it the job dies at once.  The folder has %% and %x (the
    job name) replaced; ``pattern`` is the first other %-pattern left in it (known only
    once the job runs), or "" when launch.sh can create the folder itself."""
    slurm = dict(plan.launch.get("slurm") or {})
    job_name = next(
        (option.split("=", 1)[1] for option in _sbatch_options(plan) if option.startswith("--job-name=")),
        "launch.sh",
    )
    paths = [
        ("launch.slurm.output", slurm.get("output")),
        ("launch.slurm.extra.error", (slurm.get("extra") or {}).get("error")),
    ]
    folders = []
    for option, value in paths:
        if not isinstance(value, str) or "/" not in value:
            continue
        folder = value.rsplit("/", 1)[0] or "/"
        dynamic = ""

        def expand(match: re.Match[str]) -> str:
            nonlocal dynamic
            letter = match.group(2)
            if letter == "%":
                return "%"
            if letter == "x":
                return job_name
            dynamic = dynamic or match.group(0)
            return match.group(0)

        folders.append((option, _SLURM_PATTERN.sub(expand, folder), dynamic))
    return folders


def launch_context(plan: Plan, provenance: Provenance) -> dict[str, Any]:
    """Every value the launch templates lay out, computed here (templates hold layout only)."""
    launch = plan.launch
    env = {name: _env_text(value) for name, value in sorted(launch["env"].items())}
    if launch.get("cuda_alloc_conf") and launch["device"] == "cuda":
        env["PYTORCH_CUDA_ALLOC_CONF"] = launch["cuda_alloc_conf"]
    several = plan.topology.nodes > 1
    return {
        "common": _rendered(COMMON_TEMPLATE, {"stop_grace": STOP_GRACE_S}).rstrip("\n"),
        "header": _header(plan, provenance),
        "target": launch["target"],
        "device": launch["device"],
        "nodes": plan.topology.nodes,
        "per_node": plan.topology.gpus_per_node,
        "world_size": plan.topology.world_size,
        "several_nodes": several,
        "max_restarts": launch["max_restarts"],
        "rdzv_timeout": launch["rdzv_timeout"],
        "master_addr": launch.get("master_addr") or "",
        "master_port": launch.get("master_port") or "",
        "entrypoint": launch["entrypoint"],
        "entrypoint_args": list(launch["entrypoint_args"]),
        "env": env,
        "passthrough": list(launch["env_passthrough"]),
        "deferred": sorted((name, dest) for dest, name in (launch.get("args_from_env") or {}).items()),
        # deepspeed: pdsh + ssh on several nodes or when forced; one node runs locally.
        "pdsh": several or bool(launch.get("force_multi")),
        "ssh_port": launch.get("ssh_port") or "",
        "include": launch.get("include") or "",
        "exclude": launch.get("exclude") or "",
        "sbatch": _sbatch_options(plan) if launch["target"] == "slurm" else [],
        "log_folders": _slurm_log_folders(plan) if launch["target"] == "slurm" else [],
        "cpus_per_task": (launch.get("slurm") or {}).get("cpus_per_task", 1),
        "data_checks": list(plan.data_checks),
    }


def render(
    plan: Plan, provenance: Provenance, tree: dict[str, Any], layers: list[tuple[str, str]] | None = None
) -> dict[str, str]:
    """``tree``: the merged configs with the overrides applied (load's output); ``layers``:
    the inputs kept one by one (compiler/layers.py), for a project that indexes args.base."""
    config_text = config_yaml(tree)
    files = {
        "args.json": canonical_json(args_document(plan, provenance, config_text, layers)),
        CONFIG_FILE: config_text,
        **dict(layers or []),
    }
    if plan.training and plan.deepspeed_config is not None:
        files["ds_config.json"] = canonical_json(plan.deepspeed_config)
    template = LAUNCH_TEMPLATES[plan.launch["target"]]
    files["launch.sh"] = _rendered(template, launch_context(plan, provenance))
    if plan.launch["target"] == "deepspeed":
        files["hostfile"] = hostfile_text(plan)
    return files
