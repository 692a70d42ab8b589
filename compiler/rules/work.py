"""The plan under construction that every rule reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Location, Problem, derived_location
from ..load import LoadedConfig
from ..plan import Derivation
from ..project import select

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
    # (path, where it was set) of each data path launch.sh checks on the node (T2)
    data_checks: list[tuple[str, str]] = field(default_factory=list)

    @property
    def training(self) -> bool:
        return bool(self.args["mode"] != "inference")

    def given(self, *path: str | int) -> bool:
        """Did an input (file or --set) set this key?"""
        return tuple(path) in self.config.origin

    def where(self, *path: str | int) -> Location | None:
        return where(self.config, tuple(path))

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


def where(config: LoadedConfig, path: Path) -> Location | None:
    """Where ``path`` (or the section holding it) was set.  An ``args`` key under no input's
    ``args:`` section holds the project's argparse default: that line."""
    found = config.locate(path)
    if found is None and len(path) == 2 and path[0] == "args":
        argument = select.for_config(config).arguments.get(str(path[1]))
        if argument is not None and argument.source:
            return derived_location(f"{argument.source} (the project's default)")
    return found
