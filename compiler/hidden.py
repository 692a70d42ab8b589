"""The rules' findings on a config that failed validation elsewhere.

A first run must show every error (a user fixes them in one pass), but the rules run on
a resolved plan, and resolve assumes a valid tree.  So the keys validation refused are
taken out (their defaults apply, as if the user had deleted them) and the rules run on
what is left; a finding of a rule that reads a refused key is dropped, since it would
judge a value the user has not written.  What a model-family rule (`[M<n>]`) reads is
its CHECKED_KEYS; what any other rule reads is watched while it runs: the `args`,
`launch` and DeepSpeed-config keys it looks up and the top-level sections of the tree
it opens.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from .errors import ConfigError, Problem
from .load import LoadedConfig
from .project import select
from .resolve import resolve
from .rules.models import cogvideox

# What resolve may raise on a tree it assumes valid.
_STEPPED_OVER = (KeyError, TypeError, ValueError, AttributeError, IndexError)
_MODEL_RULE = re.compile(r"\[(M\d+)\]$")
_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _path(key: str) -> list[str | int]:
    return [int(index) if index else name for index, name in _PART.findall(key)]


def _without(tree: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    pruned = copy.deepcopy(tree)
    for key in sorted(keys):
        *parents, leaf = _path(key) or [""]
        node: Any = pruned
        for part in parents:
            node = node[part] if _holds(node, part) else None
        if _holds(node, leaf):
            del node[leaf]
    return pruned


def _holds(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _reads(rule_id: str) -> tuple[str, ...]:
    """The dotted keys (``[*]`` for any index) the rule with this id reads."""
    for rule, keys in cogvideox.CHECKED_KEYS.items():
        if (rule.__doc__ or "").startswith(f"{rule_id}:"):
            return keys
    return ()


def _reads_refused(problem: Problem, refused: set[str]) -> bool:
    found = _MODEL_RULE.search(problem.message)
    reads = _reads(found.group(1)) if found else ()
    general = {re.sub(r"\[\d+\]", "[*]", key) for key in refused}
    # an item of a list the rule reads is part of it: args.sampling_image_size[0]
    return any(
        read == key or read.startswith((f"{key}.", f"{key}[")) or key.startswith((f"{read}.", f"{read}["))
        for read in (*reads, problem.key)
        for key in general
    )


class _Watched(dict):  # type: ignore[type-arg]
    """A dict that notes each key read (``prefix.key``; ``prefix.*`` for a whole read)."""

    def __init__(self, data: dict[str, Any], prefix: str, log: set[str]) -> None:
        super().__init__(data)
        self.prefix, self.log = prefix, log

    def _note(self, key: object) -> None:
        self.log.add(f"{self.prefix}{key}")

    def __getitem__(self, key: str) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self._note("*")
        return super().__iter__()

    def items(self) -> Any:
        self._note("*")
        return super().items()

    def values(self) -> Any:
        self._note("*")
        return super().values()

    def keys(self) -> Any:
        self._note("*")
        return super().keys()

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        self._note("*")
        return copy.deepcopy(dict(self), memo)


def _touches(read: str, refused: set[str]) -> bool:
    if read == "*":  # the whole tree
        return bool(refused)
    if read.endswith(".*"):  # a whole section
        section = read[: -len(".*")]
        return any(key == section or key.startswith(f"{section}.") for key in refused)
    return any(key == read or key.startswith(f"{read}.") or read.startswith(f"{key}.") for key in refused)


class _Watch:
    """Which findings came from a rule that read none of the refused keys."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = {re.sub(r"\[\d+\]", "", key) for key in refused}
        self.log: set[str] = set()
        self.clean: set[int] = set()  # id() of each such finding

    @contextmanager
    def __call__(self, rule: Any, work: Any) -> Iterator[None]:
        if not isinstance(work.args, _Watched):
            work.args = _Watched(work.args, "args.", self.log)
            work.launch = _Watched(work.launch, "launch.", self.log)
        for name in ("deepspeed", "given_deepspeed"):  # the DeepSpeed config being built
            value = getattr(work, name)
            if isinstance(value, dict) and not isinstance(value, _Watched):
                setattr(work, name, _Watched(value, "deepspeed.", self.log))
        before = {id(p) for p in [*work.errors, *work.warnings]}
        self.log.clear()
        try:
            yield
        except _STEPPED_OVER:
            return  # a rule that cannot run on the pruned tree: its findings wait a run
        if not any(_touches(read, self.refused) for read in self.log):
            self.clean.update(id(p) for p in [*work.errors, *work.warnings] if id(p) not in before)


def model_findings(
    config: LoadedConfig, names: tuple[str, ...], errors: list[Problem]
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of the model rules on ``config`` less the keys ``errors`` refused,
    none of them already in ``errors``."""
    refused = {error.key for error in errors if error.key}
    watch = _Watch(refused)
    pruned = replace(config, tree=_Watched(_without(config.tree, refused), "", watch.log))
    # the same project judges the pruned tree (its selection may read a refused key)
    object.__setattr__(pruned, "_project", select.for_config(config))
    try:
        plan = resolve(pruned, names, observe=watch)
        found = list(plan.warnings)
    except ConfigError as exc:
        found = list(exc.problems)
    except _STEPPED_OVER:
        # resolve assumes a valid tree; a refusal it cannot step around (a missing
        # required section) leaves the model rules to the next run, as before
        return [], []
    seen = {(p.key, p.message) for p in errors}
    kept = [
        p
        for p in found
        if (p.key, p.message) not in seen
        and not _reads_refused(p, refused)
        and (_MODEL_RULE.search(p.message) or id(p) in watch.clean)
    ]
    return [p for p in kept if p.severity == "error"], [p for p in kept if p.severity == "warning"]
