"""load() merges plain layers without OmegaConf nodes; it must agree with OmegaConf.

The plain merge (load.merge_layers) replaces OmegaConf.merge + to_container for layers
without `${...}` or `???`, and _track keeps origins with a child index instead of a
scan.  Both are checked here against the real OmegaConf on random layered configs
written to real files and read by the real loader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from satc.compiler.errors import ConfigError
from satc.compiler.load import load

KEYS = st.sampled_from(["a", "b", "c", "lr", "x.y", "n_1"])
TEXT = st.text(alphabet="ab$\\{}?: 1.-", max_size=6).filter(lambda s: "${" not in s and s != "???")
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=12,
)
LAYERS = st.lists(st.dictionaries(KEYS, VALUES, max_size=4), min_size=1, max_size=4)


def _omegaconf_merge(layers: list[dict[str, Any]]) -> Any:
    merged = OmegaConf.merge(*(OmegaConf.create(layer) for layer in layers))
    return OmegaConf.to_container(merged, resolve=True, throw_on_missing=True)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> set[tuple[Any, ...]]:
    found = {path} if path else set()
    if isinstance(node, dict):
        for key, value in node.items():
            found |= _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found |= _paths(value, (*path, index))
    return found


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(layers=LAYERS)
def test_plain_layers_merge_exactly_as_omegaconf(tmp_path: Path, layers: list[dict[str, Any]]) -> None:
    files = []
    for index, layer in enumerate(layers):
        path = tmp_path / f"layer{index}.yaml"
        path.write_text(yaml.safe_dump(layer, sort_keys=False), "utf-8")
        files.append(str(path))
    read_back = [OmegaConf.to_container(OmegaConf.load(f)) for f in files]
    try:
        expected = _omegaconf_merge(read_back)  # type: ignore[arg-type]
    except TypeError:  # a list merged with a mapping: load() defers to OmegaConf there
        return
    config = load(files, [])
    # Same values and the same key order (json.dumps keeps insertion order).
    assert json.dumps(config.tree) == json.dumps(expected)
    # Every key of the merged tree has an origin and no replaced key keeps one.
    assert set(config.origin) == _paths(config.tree)


def test_interpolations_still_go_through_omegaconf(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("args:\n  lr: 0.1\n  note: 'lr=${args.lr}'\n", "utf-8")
    config = load([str(base)], ["args.lr=0.2"])
    assert config.tree["args"] == {"lr": 0.2, "note": "lr=0.2"}


def test_an_escaped_interpolation_is_never_frozen_live(tmp_path: Path) -> None:
    """OmegaConf unescapes `\\${x}` to `${x}`, which the runtime's OmegaConf would resolve."""
    base = tmp_path / "base.yaml"
    base.write_text("args:\n  esc: 'a\\${x}'\n", "utf-8")
    with pytest.raises(ConfigError, match="live interpolation"):
        load([str(base)], [])


def test_a_scalar_replacing_a_large_subtree_drops_every_stale_origin(tmp_path: Path) -> None:
    big = {"model": {f"k{i}": {"v": i, "w": [i, i]} for i in range(300)}}
    first = tmp_path / "first.yaml"
    first.write_text(yaml.safe_dump(big), "utf-8")
    second = tmp_path / "second.yaml"
    second.write_text("model:\n  k7: 1\n  k8: {v: 2}\n", "utf-8")
    third = tmp_path / "third.yaml"
    third.write_text("model: null\n", "utf-8")
    config = load([str(first), str(second)], [])
    assert set(config.origin) == _paths(config.tree)
    assert config.origin[("model", "k7")].line == 2
    assert ("model", "k7", "w", 0) not in config.origin
    assert config.origin[("model", "k8", "w", 1)].label == str(first)
    config = load([str(first), str(second), str(third)], [])
    assert set(config.origin) == {("model",)}
