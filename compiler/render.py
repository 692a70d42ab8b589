"""Render stage: Plan -> {file name: text}.  Pure: no clock, no cwd, no disk writes.

Bytes are deterministic: sorted keys, Python's shortest round-trip floats, `\n`
endings, no absolute paths; the digest covers everything else in args.json.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .. import __version__
from ..bundle_format import FORMAT as ARGS_FORMAT
from ..bundle_format import canonical_digest as digest_of
from . import resources
from .plan import Plan

LAUNCH_TEMPLATES = {
    "torchrun": "launch_torchrun.sh.j2",
}
# Only such names appear in script comments: a comment must never carry a newline.
_COMMENT_SAFE = re.compile(r"^[A-Za-z0-9._/+@=,:-]+$")


@dataclass(frozen=True)
class Provenance:
    inputs: tuple[tuple[str, str], ...]  # (path relative to the bundle, sha256)
    overrides: tuple[str, ...]


def canonical_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def command_line(provenance: Provenance) -> list[str]:
    """The normalised command that rebuilds this bundle, run from the bundle directory."""
    command = ["satc", "compile", *(path for path, _ in provenance.inputs), "-o", "."]
    for override in provenance.overrides:
        command += ["--set", override]
    return command


def args_document(plan: Plan, provenance: Provenance) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": ARGS_FORMAT,
        "satc_version": __version__,
        "args": dict(plan.args),
        "model_config": plan.model_config,
        "data_config": plan.data_config,
        "deepspeed_config": plan.deepspeed_config,
        "topology": plan.topology.as_dict(),
        "launch": dict(plan.launch),
        "provenance": {
            "inputs": [{"path": path, "sha256": sha} for path, sha in provenance.inputs],
            "overrides": list(provenance.overrides),
            "command": command_line(provenance),
        },
    }
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
    environment.filters["sh"] = lambda value: shlex.quote(str(value))
    return environment


@lru_cache(maxsize=None)
def _template(name: str) -> Any:
    return _environment().from_string(resources.template_text(name))


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def launch_context(plan: Plan, provenance: Provenance) -> dict[str, Any]:
    """Every value the launch templates lay out, computed here (templates hold layout only)."""
    launch = plan.launch
    command = command_line(provenance)
    safe = all(_COMMENT_SAFE.match(part) for part in command)
    env = {name: _env_text(value) for name, value in sorted(launch["env"].items())}
    if launch.get("cuda_alloc_conf") and launch["device"] == "cuda":
        env["PYTORCH_CUDA_ALLOC_CONF"] = launch["cuda_alloc_conf"]
    return {
        "version": __version__,
        "command": " ".join(command) if safe else "see provenance.command in args.json",
        "target": launch["target"],
        "device": launch["device"],
        "nodes": plan.topology.nodes,
        "per_node": plan.topology.gpus_per_node,
        "world_size": plan.topology.world_size,
        "max_restarts": launch["max_restarts"],
        "rdzv_timeout": launch["rdzv_timeout"],
        "master_addr": launch.get("master_addr"),
        "master_port": launch.get("master_port"),
        "entrypoint": launch["entrypoint"],
        "entrypoint_args": list(launch["entrypoint_args"]),
        "env": env,
        "passthrough": list(launch["env_passthrough"]),
    }


def render(plan: Plan, provenance: Provenance) -> dict[str, str]:
    files = {"args.json": canonical_json(args_document(plan, provenance))}
    if plan.training and plan.deepspeed_config is not None:
        files["ds_config.json"] = canonical_json(plan.deepspeed_config)
    template = LAUNCH_TEMPLATES[plan.launch["target"]]
    files["launch.sh"] = _template(template).render(**launch_context(plan, provenance))
    return files
