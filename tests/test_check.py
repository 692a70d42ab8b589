"""`satc check`: exit 0 exactly when committed bundles match a fresh compile.

Edits to inputs, hand edits to artifacts, missing or extra files and satc upgrades
are drift (exit 1); invalid input is exit 2; moving the checkout, reformatting or
reordering an input, or CRLF line endings in an input are not drift.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import yaml
from bundles_support import BUNDLES, compile_all, make_repo, reversed_keys_yaml
from click.testing import CliRunner
from satc.compiler.cli import main
from support import ROOT, satc


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("compiled") / "repo")
    compile_all(repo)
    return repo


@pytest.fixture
def repo(compiled: Path, tmp_path: Path) -> Path:
    """A private copy of a repository with committed bundles (compiled once per module)."""
    copy = tmp_path / "repo"
    shutil.copytree(compiled, copy, symlinks=True)
    return copy


def run(repo: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["check", *argv])
    return result.exit_code, result.stdout, result.stderr


def explicit(name: str) -> list[str]:
    configs, overrides = BUNDLES[name]
    argv = [*configs, "-o", f"bundles/{name}"]
    for override in overrides:
        argv += ["--set", override]
    return argv


def test_clean_bundles_pass_in_every_form(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(repo, monkeypatch, *explicit("exp"))
    assert (code, out) == (0, "bundles/exp: up to date\n")
    code, out, _ = run(repo, monkeypatch, "-o", "bundles/ds", "-o", "bundles/sft")
    assert code == 0 and "bundles/ds: up to date" in out and "bundles/sft: up to date" in out
    code, out, _ = run(repo, monkeypatch, "--all")
    assert code == 0
    assert out.splitlines()[-1] == "satc check: 4 bundle(s), 0 drifted, 0 with invalid input"
    code, out, _ = run(repo, monkeypatch, "--all", "--quiet")
    assert (code, out) == (0, "satc check: 4 bundle(s), 0 drifted, 0 with invalid input\n")


def test_an_edited_input_is_drift_naming_the_key(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    experiment = repo / "configs" / "experiment.yaml"
    experiment.write_text(experiment.read_text().replace("lr: 0.0001", "lr: 0.0003"))
    code, out, _ = run(repo, monkeypatch, *explicit("exp"))
    assert code == 1
    assert out.startswith(
        "bundles/exp: DRIFT\n  args.json: changed\n  config.yaml: changed\n  ds_config.json: changed\n"
    )
    assert "    args.lr: 0.0001 -> 0.0003\n" in out
    assert "    deepspeed.optimizer.params.lr: 0.0001 -> 0.0003\n" in out
    # A unified diff per drifted file, committed -> recompiled.
    assert "--- bundles/exp/ds_config.json (committed)\n+++ bundles/exp/ds_config.json (recompiled)" in out
    assert '-      "lr": 0.0001,\n+      "lr": 0.0003,\n' in out
    assert (
        "to accept the recompiled bundle: satc compile configs/base.yaml configs/experiment.yaml -o bundles/exp --set args.save=ckpt"
        in out
    )
    # Only the bundle built from that input drifts.
    code, out, _ = run(repo, monkeypatch, "--all", "--quiet")
    assert code == 1
    assert out.count(": DRIFT") == 1 and out.endswith("4 bundle(s), 1 drifted, 0 with invalid input\n")


def test_a_shared_input_edit_drifts_every_bundle_using_it(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sft = repo / "configs" / "reference" / "sft.yaml"
    sft.write_text(sft.read_text().replace("gradient_clipping: 0.1", "gradient_clipping: 0.5"))
    code, out, _ = run(repo, monkeypatch, "--all")
    assert code == 1
    assert "bundles/sft: DRIFT" in out and "deepspeed.gradient_clipping: 0.1 -> 0.5" in out
    assert "bundles/exp: up to date" in out and "bundles/infer: up to date" in out


@pytest.mark.parametrize("name", ["args.json", "ds_config.json", "launch.sh"])
def test_a_hand_edited_artifact_is_drift(repo: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    path = repo / "bundles" / "exp" / name
    text = path.read_text()
    edited = {
        "args.json": text.replace('"lr": 0.0001', '"lr": 0.01', 1),
        "ds_config.json": text.replace('"train_batch_size": 8', '"train_batch_size": 16'),
        "launch.sh": text.replace("NPROC_PER_NODE=2", "NPROC_PER_NODE=8"),
    }[name]
    assert edited != text
    path.write_text(edited)
    code, out, _ = run(repo, monkeypatch, "-o", "bundles/exp")
    assert code == 1
    assert f"  {name}: changed\n" in out
    assert f"--- bundles/exp/{name} (committed)" in out
    if name == "args.json":  # the first "lr" in args.json is args.deepspeed_config's
        assert "    args.deepspeed_config.optimizer.params.lr: 0.01 -> 0.0001\n" in out


def test_missing_and_extra_artifacts_are_drift(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "bundles" / "exp" / "ds_config.json").unlink()
    (repo / "bundles" / "ds" / "hostfile").write_text("localhost slots=1\n")
    code, out, _ = run(repo, monkeypatch, "--all")
    assert code == 1
    assert "bundles/exp: DRIFT\n  ds_config.json: missing\n" in out
    assert "+++ bundles/exp/ds_config.json (recompiled)" in out
    assert "bundles/ds: DRIFT\n  hostfile: unexpected\n" in out
    shutil.rmtree(repo / "bundles" / "exp")
    code, out, _ = run(repo, monkeypatch, *explicit("exp"))
    assert code == 1
    assert (
        "  args.json: missing\n  config.yaml: missing\n  ds_config.json: missing\n  launch.sh: missing\n"
        in out
    )
    # Without its inputs there is nothing to recompile: no bundle is invalid input.
    code, out, err = run(repo, monkeypatch, "-o", "bundles/exp")
    assert (code, out) == (2, "") and "bundles/exp: error: no such directory" in err


def test_a_broken_args_json_is_drift_not_a_crash(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = repo / "bundles" / "exp" / "args.json"
    args.write_text(args.read_text()[:-10])
    code, out, _ = run(repo, monkeypatch, "--all")
    assert code == 1
    assert "cannot tell how bundles/exp was built" in out and "not valid JSON" in out
    # Given its inputs, the broken file is diffed like any other hand edit.
    code, out, _ = run(repo, monkeypatch, *explicit("exp"))
    assert code == 1 and "--- bundles/exp/args.json (committed)" in out


def test_a_satc_upgrade_is_drift_and_says_so(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from satc.compiler import render
    from satc.compiler.commands import check

    monkeypatch.setattr(render, "__version__", "99.0.0")
    monkeypatch.setattr(check, "__version__", "99.0.0")
    code, out, _ = run(repo, monkeypatch, "-o", "bundles/exp")
    assert code == 1
    assert "bundles/exp was compiled by satc 0.1.0; this is satc 99.0.0" in out
    assert '    provenance.satc_version: "0.1.0" -> "99.0.0"\n' in out
    assert "-# Generated by satc 0.1.0." in out and "+# Generated by satc 99.0.0." in out


def test_invalid_input_is_exit_2_with_a_located_message(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = repo / "configs" / "base.yaml"
    base.write_text(base.read_text().replace("batch_size: 2", "batch_sise: 2"))
    code, _, err = run(repo, monkeypatch, *explicit("exp"))
    assert code == 2
    assert "configs/base.yaml:5:3" in err and "batch_sise" in err and "batch_size" in err
    code, out, err = run(repo, monkeypatch, "--all")
    assert code == 2
    assert "bundles/exp: INVALID INPUT" in err and "configs/base.yaml" in err
    assert "bundles/ds: up to date" in out
    assert out.endswith("4 bundle(s), 0 drifted, 1 with invalid input\n")
    (repo / "configs" / "deepspeed.yaml").unlink()
    code, _, err = run(repo, monkeypatch, "-o", "bundles/ds")
    assert code == 2 and "configs/deepspeed.yaml: error: no such file" in err


def test_a_directory_that_is_no_bundle_is_exit_2_not_drift(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tester's case: -o naming a directory of YAML files, or nothing at all.
    code, out, err = run(repo, monkeypatch, "-o", "configs")
    assert (code, out) == (2, "")
    assert "configs: error: not a satc bundle (no args.json)" in err and "DRIFT" not in err
    (repo / "configs" / "args.json").write_text('{"lr": 1}\n')  # someone else's args.json
    code, _, err = run(repo, monkeypatch, "-o", "configs")
    assert code == 2 and 'configs: error: not a satc bundle (its args.json has no "format"' in err
    code, _, err = run(repo, monkeypatch, "-o", "nowhere")
    assert code == 2 and "nowhere: error: no such directory" in err
    (repo / "empty").mkdir()
    assert run(repo, monkeypatch, "-o", "empty")[0] == 2
    # `satc diff` says the same input is no bundle, with the same exit code.
    assert (
        run(repo, monkeypatch, "-o", "configs")[0]
        == CliRunner().invoke(main, ["diff", "configs", "bundles/exp"]).exit_code
    )
    # With its inputs, a file or a folder of foreign files is no bundle either (compile refuses
    # to replace them); a missing one is drift, as above.
    configs, _ = BUNDLES["ds"]
    code, out, err = run(repo, monkeypatch, *configs, "-o", "configs/reference")
    assert (code, out) == (2, "") and "configs/reference: error: not a satc bundle (no args.json)" in err
    code, _, err = run(repo, monkeypatch, *configs, "-o", "configs/base.yaml")
    assert code == 2 and "'configs/base.yaml' is a file" in err  # click's own check


def test_a_bundle_directory_is_checked_as_explain_and_plan_take_it(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(repo, monkeypatch, "bundles/exp", "bundles/ds")
    assert (code, out.splitlines()[:2]) == (0, ["bundles/exp: up to date", "bundles/ds: up to date"])
    (repo / "bundles" / "exp" / "launch.sh").write_text("#!/bin/sh\n")
    assert run(repo, monkeypatch, "bundles/exp")[0] == 1
    # A directory beside YAML files: a usage error naming both right forms.
    configs, _ = BUNDLES["ds"]
    code, _, err = run(repo, monkeypatch, *configs, "bundles/ds")
    assert code == 2
    assert "bundles/ds is a directory, not a YAML config: check a bundle with `satc check bundles/ds`" in err
    assert "satc check CONFIG... -o DIR" in err


def test_several_targets_invalid_beats_drift_beats_clean(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(repo, monkeypatch, "-o", "bundles/ds", "-o", "nowhere")
    assert code == 2
    assert "bundles/ds: up to date" in out and "nowhere: INVALID INPUT" in err
    assert out.endswith("2 bundle(s), 0 drifted, 1 with invalid input\n")
    experiment = repo / "configs" / "experiment.yaml"
    experiment.write_text(experiment.read_text().replace("lr: 0.0001", "lr: 0.0003"))
    code, out, _ = run(repo, monkeypatch, "-o", "bundles/exp", "-o", "bundles/ds")
    assert code == 1 and out.endswith("2 bundle(s), 1 drifted, 0 with invalid input\n")
    code, out, _ = run(repo, monkeypatch, "--all", "-o", "configs")
    assert code == 2 and "bundles/exp: DRIFT" in out
    assert out.endswith("5 bundle(s), 1 drifted, 1 with invalid input\n")


def test_all_needs_an_existing_root_and_passes_without_bundles(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(repo, monkeypatch, "--all", "--root", "/nonexistent")
    assert (code, out) == (2, "")
    assert "--root /nonexistent: error: no such directory" in err and "give CONFIG" not in err
    code, _, err = run(repo, monkeypatch, "--all", "--root", "configs/base.yaml")
    assert code == 2
    # A repository without bundles: the pre-commit hook must not fail.
    code, out, _ = run(repo, monkeypatch, "--all", "--root", "configs")
    assert (code, out) == (0, "satc check: no satc bundles under configs\n")
    result = satc("check", "--all", cwd=repo / "configs")
    assert result.returncode == 0 and result.stdout == "satc check: no satc bundles under .\n"


def test_usage_errors_are_exit_2(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(repo, monkeypatch)[0] == 2
    assert run(repo, monkeypatch, "configs/base.yaml")[0] == 2  # no -o
    assert run(repo, monkeypatch, "configs/base.yaml", "-o", "a", "-o", "b")[0] == 2
    assert run(repo, monkeypatch, "-o", "bundles/exp", "--set", "args.lr=1")[0] == 2


def test_nothing_else_is_drift(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reordered keys, dropped comments and CRLF line endings change no value.
    base = repo / "configs" / "base.yaml"
    base.write_text(reversed_keys_yaml(base.read_text()))
    sft = repo / "configs" / "reference" / "sft.yaml"
    sft.write_bytes(sft.read_bytes().replace(b"\n", b"\r\n"))
    # The whole checkout moved elsewhere, checked from inside a subdirectory.
    moved = tmp_path / "another" / "place" / "repo"
    shutil.move(str(repo), moved)
    (moved / "sub").mkdir()
    code, out, _ = run(moved / "sub", monkeypatch, "--all", "--root", "..")
    assert code == 0, out
    assert out.endswith("4 bundle(s), 0 drifted, 0 with invalid input\n")
    # Checking writes nothing: the bundles' bytes and mtimes are untouched.
    before = {
        p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (moved / "bundles").rglob("*") if p.is_file()
    }
    run(moved, monkeypatch, "--all")
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (moved / "bundles").rglob("*") if p.is_file()}
    assert before == after


def test_crlf_in_an_artifact_is_drift_with_a_hint(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launch = repo / "bundles" / "exp" / "launch.sh"
    launch.write_bytes(launch.read_bytes().replace(b"\n", b"\r\n"))
    code, out, _ = run(repo, monkeypatch, "-o", "bundles/exp")
    assert code == 1 and "only line endings differ (CRLF)" in out


def test_checking_many_bundles_is_fast(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = json.loads((repo / "bundles" / "exp" / "args.json").read_text())
    assert source["provenance"]["command"][:2] == ["satc", "compile"]
    for index in range(40):
        # Copies at the same depth: their recorded inputs resolve to the same configs.
        shutil.copytree(repo / "bundles" / "exp", repo / "bundles" / f"exp{index:02d}")
    start = time.monotonic()
    code, out, _ = run(repo, monkeypatch, "--all", "--quiet")
    elapsed = time.monotonic() - start
    assert code == 0 and "44 bundle(s), 0 drifted" in out
    assert elapsed < 20, f"checking 44 bundles took {elapsed:.1f}s"


def test_the_pre_commit_hook_runs_check_over_the_repository(repo: Path) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "satc-check" and hook["pass_filenames"] is False
    entry = hook["entry"].split()
    assert entry[0] == "satc"
    # Run the entry as pre-commit would (from the repository root), via the real CLI.
    result = satc(*entry[1:], cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    experiment = repo / "configs" / "experiment.yaml"
    experiment.write_text(experiment.read_text() + "  log_interval: 7\n")
    result = satc(*entry[1:], cwd=repo)
    assert result.returncode == 1
    assert "bundles/exp: DRIFT" in result.stdout and "args.log_interval: 50 -> 7" in result.stdout


def test_a_launch_script_that_lost_its_executable_bit_is_drift(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "bundles" / "exp" / "launch.sh").chmod(0o644)
    code, out, _ = run(repo, monkeypatch, "-o", "bundles/exp")
    assert code == 1
    assert out.startswith("bundles/exp: DRIFT\n  launch.sh: not executable\n")
    assert "satc writes it executable; chmod +x it" in out
    (repo / "bundles" / "exp" / "launch.sh").chmod(0o700)  # any owner-executable mode is fine
    assert run(repo, monkeypatch, "-o", "bundles/exp")[0] == 0
