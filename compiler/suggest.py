"""Did-you-mean for names: the closest valid key, also across sections."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def _normal(name: str) -> str:
    return name.lower().replace("-", "_")


def closest(name: str, candidates: Iterable[str]) -> str | None:
    options = list(candidates)
    by_normal = {_normal(option): option for option in options}
    if _normal(name) in by_normal:
        return by_normal[_normal(name)]
    matches = difflib.get_close_matches(_normal(name), list(by_normal), n=1, cutoff=0.6)
    if matches:
        return by_normal[matches[0]]
    # Abbreviations such as `lerning_rate` -> `lr`: compare initials of the words.
    initials = "".join(word[:1] for word in _normal(name).split("_") if word)
    for option in options:
        if len(initials) > 1 and _normal(option) == initials:
            return option
    return None
