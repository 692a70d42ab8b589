"""The reference harness runs a project's own get_args with the SAT that project would
import, found in the same places satc's compiler/project/sat_source.py looks: a folder
beside a top-level checkout holds the user's other checkouts, whose SATs are theirs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from satc.compiler.project.sat_source import locate

HARNESS = Path(__file__).resolve().parent / "reference" / "project_get_args.py"


def _harness():
    spec = importlib.util.spec_from_file_location("project_get_args_under_test", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _sat(folder: Path) -> Path:
    (folder / "mpu").mkdir(parents=True)
    (folder / "mpu" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "__init__.py").write_text("", encoding="utf-8")
    (folder / "arguments.py").write_text("", encoding="utf-8")
    return folder


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "arguments.py").write_text("def get_args(args_list=None):\n    pass\n", encoding="utf-8")
    return folder


def test_a_sat_in_an_unrelated_sibling_checkout_is_not_the_projects(tmp_path: Path) -> None:
    """hologerry/CogVideo@88c13d7 keeps arguments.py at the top of its checkout; unpacked
    beside bilibili/Index-anisora, whose anisoraV1_infer/sat is a SAT of anisora's own, it
    still runs the installed SAT."""
    harness = _harness()
    project = _project(tmp_path / "hologerry")
    _sat(tmp_path / "anisora" / "infer" / "sat")
    assert harness.vendored_sat(project) is None
    assert locate(project)[0] != "vendored"


def test_a_vendored_checkout_beside_the_entry_folder_is_found(tmp_path: Path) -> None:
    """Tora keeps sat/ and modules/SwissArmyTransformer/sat in one checkout."""
    harness = _harness()
    project = _project(tmp_path / "Tora" / "sat")
    vendored = _sat(tmp_path / "Tora" / "modules" / "SwissArmyTransformer" / "sat")
    assert harness.vendored_sat(project) == vendored.parent
    assert locate(project) == ("vendored", vendored)


def test_the_projects_own_sat_package_is_found(tmp_path: Path) -> None:
    """Kaleido and SCAIL ship the SAT package at the top of the project itself."""
    harness = _harness()
    project = _project(tmp_path / "Kaleido")
    own = _sat(project / "sat")
    _sat(tmp_path / "anisora" / "infer" / "sat")
    assert harness.vendored_sat(project) == project
    assert locate(project) == ("vendored", own)
