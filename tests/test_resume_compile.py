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


def test_a_bundle_that_sets_nothing_prints_nothing_about_resuming(tmp_path: Path) -> None:
    result = _compile(tmp_path)
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
