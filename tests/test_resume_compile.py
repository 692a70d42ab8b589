"""C1/C6 at compile time: a bundle that says how it continues explains it (`satc explain`)
and its compile says whether a resume is exact; a bad launch.resume is refused."""

from __future__ import annotations

from pathlib import Path

from support import satc

CONFIG = """\
args:
  mode: finetune
  experiment_name: exp
  save: ckpts
  load: weights/transformer
  train_data: [x]
launch:
  device: cpu
  entrypoint: entry.py
"""


def _compile(tmp_path: Path, *sets: str):
    (tmp_path / "c.yaml").write_text(CONFIG, encoding="utf-8")
    argv = [a for s in sets for a in ("--set", s)]
    return satc("compile", "c.yaml", "-o", "bundle", *argv, cwd=tmp_path)


def test_explain_names_the_rules_a_resume_applies(tmp_path: Path) -> None:
    result = _compile(tmp_path, "launch.resume=latest")
    assert result.returncode == 0, result.stderr
    assert "  resume: latest (C1), not exact: Adam moments restart at zero" in result.stdout
    explained = satc("explain", "bundle", "launch.resume", "args.mode", "args.load", cwd=tmp_path)
    assert explained.returncode == 0, explained.stderr
    text = explained.stdout
    assert (
        "rule C1: each start continues the newest complete checkpoint under args.save; none is an error"
        in text
    )
    assert "rule C2: this value on a fresh start; a resume sets pretrain" in text
    assert "rule C2: this value on a fresh start; a resume sets the run's own folder" in text


def test_exact_resume_is_said_at_compile(tmp_path: Path) -> None:
    result = _compile(tmp_path, "launch.exact_resume=true")
    assert result.returncode == 0, result.stderr
    assert "  resume: auto (C1), exact on the same topology (C6)" in result.stdout
    explained = satc("explain", "bundle", "launch.exact_resume", cwd=tmp_path)
    assert "rule C6: checkpoints also hold each rank's optimizer state and RNG streams" in explained.stdout


def test_an_inference_bundle_prints_nothing_about_resuming(tmp_path: Path) -> None:
    result = _compile(tmp_path, "args.mode=inference")
    assert result.returncode == 0, result.stderr
    assert "resume:" not in result.stdout


def test_a_bad_resume_value_is_a_located_error(tmp_path: Path) -> None:
    result = _compile(tmp_path, "launch.resume=0")
    assert result.returncode == 2
    assert "launch.resume" in result.stderr
    assert not (tmp_path / "bundle").exists()


def test_slurm_resume_signal_writes_the_signal_and_requeue_lines(tmp_path: Path) -> None:
    result = _compile(tmp_path, "launch.target=slurm", "launch.slurm.resume_signal_s=300")
    assert result.returncode == 0, result.stderr
    script = (tmp_path / "bundle" / "launch.sh").read_text(encoding="utf-8")
    assert "#SBATCH --signal=USR1@300\n#SBATCH --requeue\n" in script


def test_slurm_resume_signal_and_a_hand_written_signal_clash(tmp_path: Path) -> None:
    result = _compile(
        tmp_path,
        "launch.target=slurm",
        "launch.slurm.resume_signal_s=300",
        "launch.slurm.extra.signal=B:USR2@60",
    )
    assert result.returncode == 2
    assert (
        "launch.slurm.extra.signal: launch.slurm.resume_signal_s already writes --signal=USR1@N"
        in result.stderr
    )
    assert not (tmp_path / "bundle").exists()


def _lineage(start: int, digest: str, resumed: int | None, **extra: object) -> dict[str, object]:
    return {
        "bundle": "bundle/args.json",
        "bundle_digest": digest,
        "data_parallel_size": 2,
        "restart_attempt": 0,
        "resumed_from": None
        if resumed is None
        else {"folder": "ckpts/exp-12-05-10-06", "iteration": resumed},
        "saved_at_iteration": start,
        "slurm_job_id": None,
        "slurm_restart_count": None,
        **extra,
    }


def test_explain_shows_the_chain_of_resumes_of_the_bundles_run(tmp_path: Path) -> None:
    import json

    assert _compile(tmp_path).returncode == 0
    digest = json.loads((tmp_path / "bundle" / "args.json").read_text())["digest"]
    none = satc("explain", "bundle", cwd=tmp_path)
    assert none.returncode == 0, none.stderr
    assert (
        "resumes (rule C1): none: no run folder exp-<timestamp>/satc-lineage.json under ckpts (args.save)"
        in none.stdout
    )
    run = tmp_path / "ckpts" / "exp-12-05-10-06"
    run.mkdir(parents=True)
    (tmp_path / "ckpts" / "other-12-05-10-06").mkdir()  # another experiment: not this bundle's
    chain = [
        _lineage(4, "sha256:" + "a" * 64, None),
        _lineage(6, digest, 4, restart_attempt=1),
        _lineage(9, digest, 6, slurm_job_id="17", slurm_restart_count="1"),
    ]
    lineage = {"latest": 9, "bundle_digest": digest, "chain": chain}
    (run / "satc-lineage.json").write_text(json.dumps(lineage), encoding="utf-8")
    shown = satc("explain", "bundle", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    short = digest[: len("sha256:") + 12]
    assert shown.stdout.endswith(
        "resumes (rule C1), from satc-lineage.json under ckpts:\n"
        "  ckpts/exp-12-05-10-06: latest iteration 9, 3 start(s), 2 resume(s)\n"
        "    1. fresh start; bundle sha256:aaaaaaaaaaaa; restart attempt 0, data-parallel 2; "
        "saved up to iteration 4\n"
        f"    2. continued iteration 4 of ckpts/exp-12-05-10-06; bundle {short} (this bundle); "
        "restart attempt 1, data-parallel 2; saved up to iteration 6\n"
        f"    3. continued iteration 6 of ckpts/exp-12-05-10-06; bundle {short} (this bundle); "
        "restart attempt 0, SLURM job 17 restart 1, data-parallel 2; saved up to iteration 9\n"
    ), shown.stdout
    as_json = json.loads(satc("explain", "bundle", "--format", "json", cwd=tmp_path).stdout)
    assert [item["saved_at_iteration"] for item in as_json["lineage"]["runs"][0]["chain"]] == [4, 6, 9]


def test_explain_says_no_resumes_without_a_save_folder(tmp_path: Path) -> None:
    assert _compile(tmp_path, "args.save=null").returncode == 0
    shown = satc("explain", "bundle", cwd=tmp_path)
    assert "resumes (rule C1): none: args.save is null: nothing is saved (C9)" in shown.stdout


def test_default_resume_settings_are_explained(tmp_path: Path) -> None:
    """A bundle that sets no resume key still continues by C1's default: explain says so
    with the rule, and the compile prints the resume line."""
    result = _compile(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  resume: auto (C1), not exact" in result.stdout
    explained = satc(
        "explain", "bundle", "launch.resume", "launch.exact_resume", "launch.global_batch_size", cwd=tmp_path
    )
    assert explained.returncode == 0, explained.stderr
    assert 'launch.resume = "auto"\n  from rule C1: default (launch.resume unset)' in explained.stdout
    assert "launch.exact_resume = false\n  from rule C6:" in explained.stdout
    assert "launch.global_batch_size = null\n  from rule B1: not pinned" in explained.stdout
    # A key of satc's schema left unset is never answered with another key's name.
    unset = satc("explain", "bundle", "launch.include", cwd=tmp_path)
    assert unset.returncode == 2
    assert "launch.include: not set in this plan" in unset.stderr and "did you mean" not in unset.stderr
