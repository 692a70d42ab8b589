"""schemas/sat-snapshot.json is what tools/snapshot.py reads from the pinned SAT and
DeepSpeed, and a machine without their source (a compile-only install) reads a project
exactly as one with them installed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from satc.compiler.project import read_project, sources
from support import ROOT, cogvideo_sat, require_module


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("snapshot_tool", ROOT / "tools" / "snapshot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["snapshot_tool"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATC_CACHE_DIR", str(tmp_path / "cache"))


def test_regenerating_the_snapshot_changes_nothing() -> None:
    require_module("sat")
    require_module("deepspeed")
    committed = (ROOT / "schemas" / "sat-snapshot.json").read_text(encoding="utf-8")
    assert _generator().text() == committed, "run: python tools/snapshot.py"


def test_without_sat_or_deepspeed_source_the_snapshot_gives_the_same_facts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_module("sat")
    require_module("deepspeed")
    models = json.loads((ROOT / "schemas" / "models.json").read_text(encoding="utf-8"))
    targets = models["official_targets"]
    installed = read_project(cogvideo_sat(), targets, use_cache=False)
    real = sources.installed
    monkeypatch.setattr(
        sources, "installed", lambda name: None if name in ("sat", "deepspeed") else real(name)
    )
    bare = read_project(cogvideo_sat(), targets, use_cache=False)
    assert installed.sat.where == "installed"
    assert bare.sat.where == "snapshot"
    assert bare.sat.version == "0.4.12"
    assert bare.sat.mpu_dimensions == ("model", "data")
    assert bare.arguments == installed.arguments
    assert bare.sections == installed.sections
    assert bare.get_args == installed.get_args
    assert bare.engine == installed.engine
    assert dict(bare.targets) == dict(installed.targets)
    # nothing of SAT or DeepSpeed was read: only the project's own files (and torch's)
    assert not [label for label, _ in bare.files if label.startswith(("sat/", "deepspeed/"))]
