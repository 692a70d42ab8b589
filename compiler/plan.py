"""Plain, frozen data passed from resolve to render and to explain/diff."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import Problem


@dataclass(frozen=True)
class Derivation:
    """Why satc set a value: the rule (docs/rules.md: R*/D*), a sentence, and the keys it read."""

    key: str
    rule: str
    reason: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topology:
    nodes: int
    gpus_per_node: int
    world_size: int
    model_parallel_size: int
    data_parallel_size: int
    context_parallel_size: int
    # SP1: only for projects whose arguments define a sequence-parallel size, so the
    # bundles of every other project keep their bytes.
    sequence_parallel_size: int | None = None
    sequence_data_parallel_size: int | None = None

    def as_dict(self) -> dict[str, int]:
        values = {
            "nodes": self.nodes,
            "gpus_per_node": self.gpus_per_node,
            "world_size": self.world_size,
            "model_parallel_size": self.model_parallel_size,
            "data_parallel_size": self.data_parallel_size,
            "context_parallel_size": self.context_parallel_size,
        }
        if self.sequence_parallel_size is not None and self.sequence_data_parallel_size is not None:
            values["sequence_parallel_size"] = self.sequence_parallel_size
            values["sequence_data_parallel_size"] = self.sequence_data_parallel_size
        return values


@dataclass(frozen=True)
class Plan:
    """Everything a bundle holds, decided; render only lays it out."""

    args: MappingProxyType[str, Any]
    model_config: Any
    data_config: Any
    deepspeed_config: Any  # the emitted DeepSpeed config; None in inference mode
    topology: Topology
    launch: MappingProxyType[str, Any]
    derivations: tuple[Derivation, ...]
    warnings: tuple[Problem, ...]
    # What the runtime adds to args.seed per rank: the project's get_args rule (G3).
    seed_rule: str = "data_parallel_rank"
    # The project's own sections set on args ({dest: {"tree": ..., "converts": ...}}).
    sections: Mapping[str, Any] = field(default_factory=dict)
    # (path, where it was set) of each training data path launch.sh checks (T2).
    data_checks: tuple[tuple[str, str], ...] = ()

    @property
    def training(self) -> bool:
        return bool(self.args["mode"] != "inference")
