"""A config text read before is read back from the memo exactly as PyYAML read it."""

from __future__ import annotations

from pathlib import Path

import pytest
from satc.compiler import yaml_reader
from satc.compiler.errors import ConfigError

TEXT = """\
args:
  lr: 1e-4          # OmegaConf's float
  flag: no          # YAML 1.1: false
  name: 'no'
  sizes: &s [480, 720]
  again: *s
model:
  scale: 0.18215
  big: 123456789012345678901234567890
  empty:
  nested: {a: {b: [1, {c: x}]}}
"""


def _as_tuple(document: yaml_reader.Document) -> tuple[object, ...]:
    locations = {path: (at.rank, at.line, at.col, at.label) for path, at in document.locations.items()}
    return (document.data, locations, document.raw, document.nodes)


def test_a_memoised_reading_equals_the_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATC_CACHE_DIR", str(tmp_path))
    parsed = yaml_reader.read(TEXT, "a.yaml", 1)
    assert list((tmp_path / "memo").glob("yaml-*"))
    calls: list[str] = []
    monkeypatch.setattr(yaml_reader, "_parse", lambda *a, **k: calls.append("parse"))
    again = yaml_reader.read(TEXT, "a.yaml", 1)
    assert calls == []  # read back, not parsed
    assert _as_tuple(again) == _as_tuple(parsed)
    assert type(again.data["args"]["flag"]) is bool and type(again.data["args"]["lr"]) is float
    # Another label or rank is another reading (the positions name them).
    monkeypatch.undo()
    monkeypatch.setenv("SATC_CACHE_DIR", str(tmp_path))
    other = yaml_reader.read(TEXT, "b.yaml", 2)
    assert {at.label for at in other.locations.values()} == {"b.yaml"}


def test_a_text_with_problems_is_refused_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATC_CACHE_DIR", str(tmp_path))
    for _ in range(2):
        with pytest.raises(ConfigError, match="duplicate|twice|already"):
            yaml_reader.read("args:\n  lr: 1\n  lr: 2\n", "a.yaml", 1)
    assert not list((tmp_path / "memo").glob("yaml-*"))


def test_a_damaged_entry_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATC_CACHE_DIR", str(tmp_path))
    parsed = yaml_reader.read(TEXT, "a.yaml", 1)
    for entry in (tmp_path / "memo").glob("yaml-*"):
        entry.write_bytes(b"\x00garbage")
    assert _as_tuple(yaml_reader.read(TEXT, "a.yaml", 1)) == _as_tuple(parsed)
