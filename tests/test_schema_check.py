"""compiler/schema_check.py answers as jsonschema does wherever it answers at all.

It stands in for jsonschema on valid trees (so a cold compile does not import jsonschema):
a ``True`` where jsonschema finds an error would let a bad config through.  Compared here
on the configs of real projects (the trees in ../shared/reference) and on thousands of
seeded mutations of them, against satc's own jsonschema validator.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from satc.compiler import schema_check
from satc.compiler.load import load
from satc.compiler.project import read_project
from satc.compiler.project.schema import config_schema
from satc.compiler.project.select import targets_in
from satc.compiler.validate import REPORTED_ELSEWHERE, _validator
from support import cogvideo_sat, forks


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATC_CACHE_DIR", str(tmp_path / "cache"))


# (project folder, configs as its README launches them)
def _launched() -> list[tuple[Path, list[str]]]:
    return [
        (cogvideo_sat(), ["configs/cogvideox1.5_5b.yaml", "configs/inference.yaml"]),
        (cogvideo_sat(), ["configs/cogvideox_5b_lora.yaml", "configs/sft.yaml"]),
        (
            forks() / "Tora" / "sat",
            ["configs/tora/model/cogvideox_5b_tora.yaml", "configs/tora/inference_sparse.yaml"],
        ),
        (forks() / "CogView3" / "sat", ["configs/cogview3_plus.yaml"]),
    ]


VALUES: list[Any] = [
    0,
    -1,
    1,
    2,
    3.5,
    1e-9,
    10**20,
    "",
    "x",
    "8",
    "true",
    "fp16",
    True,
    False,
    None,
    [],
    [1, 2],
    ["a", "a"],
    [1, 1.0],
    {},
    {"a": 1},
    {"target": "x", "params": {}},
]


def _places(tree: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += _places(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            out += _places(value, (*path, index))
    return out


def _mutate(tree: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = copy.deepcopy(tree)
    for _ in range(rng.choice((1, 1, 2, 3))):
        places = [p for p in _places(out) if p]
        path = rng.choice(places)
        parent = out
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = rng.random()
        if action < 0.65:
            parent[last] = copy.deepcopy(rng.choice(VALUES))
        elif action < 0.8 and isinstance(parent, dict):
            del parent[last]
        elif isinstance(parent, dict):
            parent[rng.choice(("zz_unknown", "lr", "type", "params", "enabled", "stage"))] = copy.deepcopy(
                rng.choice(VALUES)
            )
        else:
            parent.append(copy.deepcopy(parent[last]))
    return out


def _agree(schema: dict[str, Any], tree: Any) -> bool | None:
    all_errors = list(_validator(schema).iter_errors(tree))
    # What validate reports: without the errors of keys another check reports.
    reported = [
        e
        for e in all_errors
        if not (isinstance(e.schema, dict) and not REPORTED_ELSEWHERE.isdisjoint(e.schema))
    ]
    lenient = schema_check.valid(schema, tree, REPORTED_ELSEWHERE)
    if lenient is True:
        assert not reported, (
            f"schema_check says clean, jsonschema: {reported[0].message} at {list(reported[0].path)}"
        )
    if lenient is False:
        assert reported, "schema_check says some error is reported, jsonschema finds none"
    verdict = schema_check.valid(schema, tree)
    errors = all_errors
    if verdict is True:
        assert not errors, (
            f"schema_check says valid, jsonschema: {errors[0].message} at {list(errors[0].path)}"
        )
    if verdict is False:
        assert errors, "schema_check says invalid, jsonschema finds nothing"
    return verdict


def test_every_keyword_jsonschema_asserts_is_implemented_or_left_to_it() -> None:
    known = set(schema_check._KEYWORDS) | schema_check.UNSUPPORTED
    assert set(Draft202012Validator.VALIDATORS) <= known, "a jsonschema keyword schema_check does not know"


@pytest.mark.parametrize("index", range(4))
def test_agrees_with_jsonschema_on_real_configs_and_their_mutations(index: int) -> None:
    folder, configs = _launched()[index]
    config = load([str(folder / c) for c in configs], [])
    schema = config_schema(read_project(folder, targets_in(config.tree)))
    _agree(schema, config.tree)
    # Proven clean here: these compiles do not import jsonschema.  (CogView3's empty
    # args.deepspeed_config fails the schema; validate's _annotations reports that key.)
    assert schema_check.valid(schema, config.tree, REPORTED_ELSEWHERE) is True
    rng = random.Random(index)
    verdicts = [_agree(schema, _mutate(config.tree, rng)) for _ in range(250)]
    # The mutations reach both answers, so the comparison above is not vacuous.
    assert verdicts.count(False) > 5
    assert verdicts.count(True) > 5 or index == 3


def test_sub_schemas_and_edge_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1, "multipleOf": 2},
            "f": {"type": "number", "exclusiveMaximum": 1.0, "multipleOf": 0.25},
            "g": {"not": {"minimum": 0}},
            "s": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2},
            "c": {"not": {"const": 1}},
            "e": {"enum": [True, "a", [1, 2]]},
            "u": {"type": "array", "uniqueItems": True, "items": {"type": ["integer", "string"]}},
            "i": {"if": {"type": "string"}, "then": {"minLength": 3}, "else": {"type": "null"}},
        },
        "additionalProperties": False,
        "required": ["n"],
    }
    cases = [
        {"n": 2},
        {"n": 3},
        {"n": True},
        {"n": 4.0},
        {"n": 2, "f": 0.5},
        {"n": 2, "f": 0.3},
        {"n": 2, "f": 1.0},
        {"n": 2, "g": float("nan")},
        {"n": 2, "s": "ab"},
        {"n": 2, "s": "Ab"},
        {"n": 2, "c": 1.0},
        {"n": 2, "c": True},
        {"n": 2, "e": 1},
        {"n": 2, "e": [1.0, 2]},
        {"n": 2, "u": [1, 1.0]},
        {"n": 2, "u": ["a", 1]},
        {"n": 2, "u": [True, 1]},
        {"n": 2, "i": "ab"},
        {"n": 2, "i": None},
        {"n": 2, "i": 3},
        {"n": 2, "x": 1},
        {},
    ]
    answers = [_agree(schema, case) for case in cases]
    assert answers[0] is True and answers[1] is False and answers[7] is None


def test_errors_of_keys_reported_elsewhere_do_not_count_in_the_lenient_verdict() -> None:
    schema = {
        "type": "object",
        "properties": {
            "k": {"x-satc-computed": "satc computes it", "not": {}},
            "m": {
                "x-satc-computed": "satc computes it",
                "type": "object",
                "additionalProperties": False,
                "properties": {"z": {"type": "integer"}},
            },
            "r": {"x-satc-reserved": "the launcher sets it", "anyOf": [{"type": "null"}]},
        },
    }
    lenient = [
        schema_check.valid(schema, case, REPORTED_ELSEWHERE)
        for case in ({"k": 1}, {"m": 3}, {"m": {"y": 1}}, {"m": {"z": "a"}}, {"r": 1})
    ]
    assert lenient == [True, True, True, False, True]
    for case in ({"k": 1}, {"m": 3}, {"m": {"y": 1}}, {"m": {"z": "a"}}, {"r": 1}, {"r": None}):
        _agree(schema, case)
