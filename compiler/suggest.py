"""Did-you-mean for names: the closest valid key, also across sections."""

from __future__ import annotations

from collections.abc import Iterable


def _normal(name: str) -> str:
    return name.lower().replace("-", "_")


def closest(name: str, candidates: Iterable[str]) -> str | None:
    options = list(candidates)
    by_normal = {_normal(option): option for option in options}
    if _normal(name) in by_normal:
        return by_normal[_normal(name)]
    import difflib  # here: only a name that matches nothing needs it

    matches = difflib.get_close_matches(_normal(name), list(by_normal), n=1, cutoff=0.6)
    if matches:
        return by_normal[matches[0]]
    # Abbreviations such as `lerning_rate` -> `lr`: compare initials of the words.
    initials = "".join(word[:1] for word in _normal(name).split("_") if word)
    for option in options:
        if len(initials) > 1 and _normal(option) == initials:
            return option
    return None


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def typo_of(name: str, options: Iterable[str]) -> str | None:
    """The candidate ``name`` is a typo of, or None: a few edits for its length, never a
    different word (`sequence_parallel_size` is no typo of `model_parallel_size`, and
    following such a hint would change the run)."""
    candidates = list(options)
    wanted = _normal(name)
    budget = 1 if len(wanted) <= 8 else 2 if len(wanted) <= 16 else 3
    best: tuple[int, str] | None = None
    for option in candidates:
        distance = _distance(wanted, _normal(option))
        if distance <= budget and (best is None or (distance, option) < best):
            best = (distance, option)
    if best is not None:
        return best[1]
    # An abbreviation of the same words (`lerning_rate` -> `lr`).
    initials = "".join(word[:1] for word in wanted.split("_") if word)
    return next((o for o in candidates if len(initials) > 1 and _normal(o) == initials), None)
