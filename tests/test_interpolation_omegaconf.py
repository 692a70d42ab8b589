"""Where satc accepts OmegaConf's `${...}` syntax it resolves it exactly as OmegaConf
does: absolute and relative keys (`${.x}`, `${..x}`), list indices and string keys
that look like numbers (`${a.0}` on a key "0"), brackets, escapes (`\\${`, `\\\\${`).
Generated configs are resolved by OmegaConf itself and by satc's load stage."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from satc.compiler.errors import ConfigError
from satc.compiler.load import _resolve

REFERENCES = [
    "${a.x}", "${.x}", "${..b}", "${.q}", "${..x}", "${...b}", "${a.s.0}", "${a.s[0]}",
    "${.0}", "${l.1}", "${l[0]}", "${a.s}", "${nope}", "${a.x.y}", "${b}", "${....b}",
]  # fmt: skip
PIECES = st.one_of(
    st.sampled_from(REFERENCES),
    st.sampled_from(["", "a", " ", "$", "\\", "\\\\", "{", "}", "-"]),
    st.sampled_from(REFERENCES).map(lambda ref: "\\" + ref),  # an escaped interpolation
    st.sampled_from(REFERENCES).map(lambda ref: "\\\\" + ref),  # a backslash, then a live one
)
LEAF = st.one_of(
    st.integers(-5, 5),
    st.lists(PIECES, min_size=1, max_size=3).map("".join),
)


def _tree(draw: Any) -> dict[str, Any]:
    return {
        "a": {"x": draw(LEAF), "y": draw(LEAF), "s": {"q": draw(LEAF), "0": draw(LEAF)}},
        "b": draw(LEAF),
        "l": [draw(LEAF), draw(LEAF)],
    }


def _holds_interpolation(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_interpolation(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_interpolation(item) for item in value)
    return isinstance(value, str) and "${" in value


@settings(max_examples=300, deadline=None)
@given(st.composite(_tree)())
def test_satc_resolves_interpolations_as_omegaconf_does(tree: dict[str, Any]) -> None:
    try:
        expected: Any = OmegaConf.to_container(OmegaConf.create(copy.deepcopy(tree)), resolve=True)
    except Exception:  # noqa: BLE001 - any OmegaConf failure: satc must refuse too
        expected = None
    try:
        found: Any = _resolve(copy.deepcopy(tree), {})
    except ConfigError:
        found = None
    if expected is not None and _holds_interpolation(expected):
        # OmegaConf resolves such a value again when the runtime loads the bundle.
        assert found is None, (tree, found)
    else:
        assert found == expected, (tree, expected, found)
