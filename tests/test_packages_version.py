"""Provenance records DeepSpeed's version without importing importlib.metadata, and
records the same version importlib.metadata reports."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from satc.compiler.project import packages, sources
from support import require_module


def test_the_version_is_importlib_metadatas() -> None:
    require_module("deepspeed")
    assert packages._dist_info_version("deepspeed") == importlib.metadata.version("deepspeed")


def test_anything_but_one_plain_dist_info_is_left_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "installed", lambda name: tmp_path)
    (tmp_path / "deepspeed").mkdir()
    first = tmp_path / "deepspeed-0.1.dist-info"
    first.mkdir()
    (first / "METADATA").write_text("Metadata-Version: 2.1\nName: deepspeed\nVersion: 0.1\n\nbody\n")
    assert packages._dist_info_version("deepspeed") == "0.1"
    (first / "METADATA").write_text("Metadata-Version: 2.1\nName: other\nVersion: 0.1\n")
    assert packages._dist_info_version("deepspeed") is None
    (first / "METADATA").write_text("Metadata-Version: 2.1\nName: deepspeed\n\nVersion: 0.1\n")
    assert packages._dist_info_version("deepspeed") is None
    (first / "METADATA").write_text("Name: deepspeed\nVersion: 0.1\n")
    (tmp_path / "deepspeed-0.2.dist-info").mkdir()
    assert packages._dist_info_version("deepspeed") is None
