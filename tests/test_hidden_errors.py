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
