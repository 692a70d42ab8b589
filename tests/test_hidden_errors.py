"""Every error in one run: the model rules still judge a config that validation refused
elsewhere (an unknown args key, a wrong type), on the keys it did not refuse.

Before, CogVideoX's model-family findings (M10, M21, M22 ...) surfaced only after the
first round of schema errors was fixed, one more compile per round.
"""

from __future__ import annotations

from pathlib import Path

from support import cogvideo_sat, satc

LAYER = """\
model:
  network_config:
    params:
      patch_size: [1, 2, 2]
"""


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error: " in line]


def test_an_unknown_args_key_and_a_model_error_are_both_reported(tmp_path: Path) -> None:
    layer = tmp_path / "layer.yaml"
    layer.write_text(LAYER)
    result = satc(
        "compile",
        "configs/cogvideox_5b_lora.yaml",
        str(layer),
        "configs/sft.yaml",
        "--set",
        "args.bogus_key=1",
        "--set",
        "data.params.max_num_frames=48",
        "-o",
        str(tmp_path / "b"),
        cwd=cogvideo_sat(),
    )
    assert result.returncode == 2, result.stderr
    errors = _errors(result.stderr)
    assert len(errors) == 2, result.stderr
    assert "error: args.bogus_key: unknown key under args" in errors[0]
    assert (
        "error: data.params.max_num_frames: 48 frames: the 3D VAE needs 4k+1 video frames [M10]" in errors[1]
    )
    assert "satc: 2 error(s); nothing written" in result.stderr
    assert not (tmp_path / "b").exists()


def test_cogvideox_1_5_findings_come_with_the_schema_error(tmp_path: Path) -> None:
    result = satc(
        "compile",
        "configs/cogvideox1.5_5b.yaml",
        "configs/sft.yaml",
        "--set",
        "args.bogus_key=1",
        "-o",
        str(tmp_path / "b"),
        cwd=cogvideo_sat(),
    )
    assert result.returncode == 2, result.stderr
    assert "maintainers do not support fine-tuning CogVideoX1.5-5B with SAT [M22]" in result.stderr
    assert "yields video frames, not latents [M21]" in result.stderr
    assert len(_errors(result.stderr)) == 2, result.stderr


def test_a_rule_that_reads_a_refused_key_does_not_judge_its_default(tmp_path: Path) -> None:
    """args.mode of the wrong type is refused; M22 reads args.mode, so it is not run on the
    default mode the user never wrote."""
    result = satc(
        "compile",
        "configs/cogvideox1.5_5b.yaml",
        "configs/sft.yaml",
        "--set",
        "args.mode=[1]",
        "-o",
        str(tmp_path / "b"),
        cwd=cogvideo_sat(),
    )
    assert result.returncode == 2, result.stderr
    assert "args.mode" in result.stderr and "[M22]" not in result.stderr
    assert "[M21]" in result.stderr


OFFLOAD = LAYER + "deepspeed:\n  zero_optimization:\n    cpu_offload: true\n"


def _compile_offload(tmp_path: Path, *sets: str) -> list[str]:
    layer = tmp_path / "offload.yaml"
    layer.write_text(OFFLOAD)
    result = satc(
        "compile",
        "configs/cogvideox_5b_lora.yaml",
        "configs/sft.yaml",
        str(layer),
        *[item for value in sets for item in ("--set", value)],
        "-o",
        str(tmp_path / "b"),
        cwd=cogvideo_sat(),
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "b").exists()
    lines = [line for line in result.stderr.splitlines() if not line.startswith("    ")]
    assert len(lines) == len(set(lines)), result.stderr  # nothing twice
    return _errors(result.stderr)


def test_a_deepspeed_rule_reports_beside_a_schema_error(tmp_path: Path) -> None:
    """Z1 (a rule of the DeepSpeed config, not of the model) in the same run as the type
    error of an args key it does not read."""
    errors = _compile_offload(tmp_path, "args.lr=fast")
    assert len(errors) == 2, errors
    assert "error: deepspeed.zero_optimization.cpu_offload: offloads the optimizer" in errors[0]
    assert errors[0].endswith("[Z1]")
    assert "error: args.lr: expected a number, got string 'fast'" in errors[1]


def test_a_rule_that_reads_the_refused_key_waits(tmp_path: Path) -> None:
    """Z1 reads zero_force_ds_cpu_optimizer: refused, its default would decide Z1."""
    errors = _compile_offload(tmp_path, "deepspeed.zero_force_ds_cpu_optimizer=[1]")
    assert len(errors) == 1 and "deepspeed.zero_force_ds_cpu_optimizer: expected true or false" in errors[0]


def test_training_data_rule_does_not_judge_a_refused_train_data(tmp_path: Path) -> None:
    """T1 (no train_data) would fire on the default the refused value leaves."""
    errors = _compile_offload(tmp_path, "args.train_data=5")
    assert not any("[T1]" in line for line in errors), errors
    assert any("args.train_data: expected a list" in line for line in errors), errors
    assert any(line.endswith("[Z1]") for line in errors), errors
