"""CogVideoX's own train_video.py and sample_video.py, changed only in their get_args
import, started with `bash BUNDLE/launch.sh` from CogVideoX's sat/ directory, against
CogVideoX's own get_args path on the same configs and seed.

The model is examples/cogvideox/tiny_lora_cpu.yaml layered over the official
cogvideox_5b_lora.yaml + sft.yaml (LoRA, bf16, ZeRO-2, sat.ops.FusedEmaAdam); T5,
tokenizer and clips are random and generated here (tests/cogvideox_harness.py).
"""

from __future__ import annotations

from pathlib import Path

import cogvideox_harness as harness
import pytest
from support import satc


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    harness.require_cogvideox_stack()
    return harness.make_assets(tmp_path_factory.mktemp("tiny-assets"))


@pytest.mark.parametrize("ranks", [1, 2])
def test_train_video_equals_reference_loss_by_loss(tmp_path: Path, assets: Path, ranks: int) -> None:
    sat = harness.workspace(tmp_path / "satc", assets)
    (sat / "bundles").mkdir()
    bundle = harness.compile_tiny(sat, "bundles/tiny", ranks)
    ours = harness.run_satc(sat, "bundles/tiny").check()

    reference_sat = harness.reference_workspace(tmp_path / "reference", assets)
    theirs = harness.run_reference(reference_sat, "train_video.py", ranks).check()

    assert sorted(ours.losses) == [1, 2], ours.output[-4000:]
    assert ours.losses == theirs.losses
    import torch

    for tag in ("2", "2-ema"):  # the weights, and FusedEmaAdam's EMA weights SAT saves beside them
        mine, reference = harness.checkpoint(sat, tag), harness.checkpoint(reference_sat, tag)
        assert sorted(mine) == sorted(reference)
        assert any("matrix_A" in name for name in mine)  # LoRA (sat.model.finetune.lora2) was saved
        for name, tensor in mine.items():
            assert torch.equal(tensor, reference[name]), (tag, name)

    # CogVideoX wrote where the user launched (sat/), never into the bundle ...
    assert satc("check", "-o", "bundles/tiny", cwd=sat).returncode == 0
    assert not any(path.name.startswith("ckpts") for path in bundle.iterdir())
    # ... and its training_config.yaml records the --set override, read from args.base.
    [recorded] = list((sat / "ckpts_tiny").glob("*/training_config.yaml"))
    assert f"gpus_per_node: {ranks}\n" in recorded.read_text(encoding="utf-8")


def test_a_flag_after_launch_sh_is_refused_naming_the_compile_time_way(tmp_path: Path, assets: Path) -> None:
    sat = harness.workspace(tmp_path / "satc", assets)
    (sat / "bundles").mkdir()
    harness.compile_tiny(sat, "bundles/tiny", 1)
    run = harness.run_satc(sat, "bundles/tiny", "--seed", "4242")
    assert run.returncode == 2, run.output[-4000:]  # the rank's own status, as argparse exits
    assert "--seed: the bundle has args.seed = 42; to change it, recompile:" in run.output
    assert "--set args.seed=4242" in run.output
    assert "[rank0]: Traceback" not in run.output  # (torchrun prints its own summary)
    assert not (sat / "ckpts_tiny").exists()


def test_sample_video_builds_the_same_model_as_the_reference(tmp_path: Path, assets: Path) -> None:
    configs = ("configs/cogvideox_5b_lora.yaml", "configs/inference.yaml", str(harness.TINY_LAYER))
    sat = harness.workspace(tmp_path / "satc", assets)
    (sat / "bundles").mkdir()
    result = satc("compile", *configs, "-o", "bundles/sample", cwd=sat)
    assert result.returncode == 0, result.stderr
    assert "launch: torchrun -> sample_video.py" in result.stdout  # the inference default
    ours_report = tmp_path / "ours.json"
    harness.run_satc(sat, "bundles/sample", SATC_HARNESS_MODEL_REPORT=str(ours_report)).check()

    reference_sat = harness.reference_workspace(tmp_path / "reference", assets)
    theirs_report = tmp_path / "theirs.json"
    harness.run_reference(
        reference_sat,
        "sample_video.py",
        1,
        *configs,
        "reference_gloo.yaml",
        SATC_HARNESS_MODEL_REPORT=str(theirs_report),
    ).check()

    ours = harness.model_report(Path(f"{ours_report}.0"))
    theirs = harness.model_report(Path(f"{theirs_report}.0"))
    assert ours["class"] == "SATVideoDiffusionEngine"
    assert ours["base"] == [str((sat / "bundles" / "sample" / "config.yaml").resolve())]
    assert {k: v for k, v in ours.items() if k != "base"} == {k: v for k, v in theirs.items() if k != "base"}


def test_train_video_killed_at_a_random_step_resumes_under_torchrun(tmp_path: Path, assets: Path) -> None:
    """launch.max_restarts 1: rank 1 dies at a random step; the restarted ranks resume from
    the last checkpoint (every 2 steps) and finish all 6 steps; each sample position is
    consumed once by the attempt that kept it, in the uninterrupted order."""
    import json
    import random

    sat = harness.workspace(tmp_path / "satc", assets)
    (sat / "bundles").mkdir()
    harness.compile_tiny(
        sat, "bundles/tiny", 2, "--set", "args.train_iters=6", "--set", "launch.max_restarts=1"
    )
    kill_at = random.Random().randint(3, 6)
    samples = tmp_path / "samples.jsonl"
    run = harness.run_satc(
        sat, "bundles/tiny", SATC_HARNESS_KILL_AT=str(kill_at), SATC_HARNESS_SAMPLES=str(samples)
    ).check()
    resumed_from = (kill_at - 1) // 2 * 2
    assert f"at iteration {resumed_from}, sample {resumed_from * 2} (rule C1)" in run.output, kill_at
    assert sorted(run.losses) == [1, 2, 3, 4, 5, 6], run.output[-4000:]
    [folder] = list((sat / "ckpts_tiny").glob("tiny-lora-*"))
    assert (folder / "latest").read_text() == "6"
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    for rank in (0, 1):
        first = [r["position"] for r in records if r["rank"] == rank and r["attempt"] == 0]
        second = [r["position"] for r in records if r["rank"] == rank and r["attempt"] == 1]
        # Global batch 2 (micro 1 x dp 2): step s takes positions 2(s-1) and 2(s-1)+1.
        assert first[:resumed_from] == [2 * s + rank for s in range(resumed_from)]
        assert second == [2 * s + rank for s in range(resumed_from, 6)], (kill_at, second)
    state = json.loads((folder / "6" / "satc-state.json").read_text())
    assert state["consumed_samples"] == 12
    assert [c["restart_attempt"] for c in state["lineage"]] == [0, 1]
