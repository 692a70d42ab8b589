"""The model rules' findings on a config that failed validation elsewhere.

A first run must show every error (a user fixes them in one pass), but the rules run on
a resolved plan, and resolve assumes a valid tree.  So the keys validation refused are
taken out (their defaults apply, as if the user had deleted them) and the model-family
rules (`[M<n>]`) run on what is left; a finding of a rule that reads a refused key is
dropped, since it would judge a value the user has not written.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any

from .errors import ConfigError, Problem
from .load import LoadedConfig
from .project import select
from .resolve import resolve
from .rules.models import cogvideox

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
    return any(
        read == key or read.startswith(f"{key}.") or key.startswith(f"{read}.")
        for read in (*reads, problem.key)
        for key in general
    )


def model_findings(
    config: LoadedConfig, names: tuple[str, ...], errors: list[Problem]
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of the model rules on ``config`` less the keys ``errors`` refused,
    none of them already in ``errors``."""
    refused = {error.key for error in errors if error.key}
    pruned = replace(config, tree=_without(config.tree, refused))
    # the same project judges the pruned tree (its selection may read a refused key)
    object.__setattr__(pruned, "_project", select.for_config(config))
    try:
        plan = resolve(pruned, names)
        found = list(plan.warnings)
    except ConfigError as exc:
        found = list(exc.problems)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        # resolve assumes a valid tree; a refusal it cannot step around (a missing
        # required section) leaves the model rules to the next run, as before
        return [], []
    seen = {(p.key, p.message) for p in errors}
    kept = [
        p
        for p in found
        if _MODEL_RULE.search(p.message) and (p.key, p.message) not in seen and not _reads_refused(p, refused)
    ]
    return [p for p in kept if p.severity == "error"], [p for p in kept if p.severity == "warning"]
