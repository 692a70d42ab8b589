"""One test per reference rule (SPEC R1-R8) and compile-time deviation (D1-D5).

Expected values are written out from the SPEC's wording, not computed by satc code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compile_helpers import compile_layers, problems

TRAIN = "args:\n  mode: finetune\n  train_iters: 10\n"


def _sat_preset(stage: int) -> dict:
    import importlib.util

    spec = importlib.util.find_spec("sat")
    if spec is None or spec.origin is None:
        pytest.skip("SAT not installed") if not _ci() else pytest.fail("SAT needed in CI")
    return json.loads((Path(spec.origin).parent / "training" / f"deepspeed_zero{stage}.json").read_text())


def _ci() -> bool:
    from support import IN_CI

    return IN_CI


def test_r1_train_iters_and_epochs_are_exclusive(tmp_path: Path) -> None:
    text = problems(tmp_path, "args:\n  mode: finetune\n  train_iters: 5\n  epochs: 2\n")
    assert "layer0.yaml:4:3: error: args.epochs: both train_iters (5) and epochs (2) are set" in text


def test_r1_neither_defaults_to_10000_with_a_warning(tmp_path: Path) -> None:
    bundle = compile_layers(tmp_path, "args:\n  mode: finetune\n")
    assert bundle.plan.args["train_iters"] == 10000
    assert any(w.key == "args.train_iters" for w in bundle.warnings)


def test_r2_weights_must_match_data(tmp_path: Path) -> None:
    text = problems(tmp_path, TRAIN + "  train_data: [a, b]\n  train_data_weights: [1]\n")
    assert "args.train_data_weights: 1 weights for 2 train_data entries" in text
    ok = compile_layers(tmp_path, TRAIN + "  train_data: [a, b]\n  train_data_weights: [1, 3]\n")
    assert ok.plan.args["train_data_weights"] == [1, 3]


def test_r3_fp16_and_bf16_are_exclusive(tmp_path: Path) -> None:
    text = problems(tmp_path, TRAIN + "  fp16: true\n  bf16: true\n")
    assert "args.bf16: both fp16 and bf16 are set" in text


@pytest.mark.parametrize("mode,expected", [("pretrain", True), ("finetune", True), ("inference", False)])
def test_r4_deepspeed_by_mode(tmp_path: Path, mode: str, expected: bool) -> None:
    bundle = compile_layers(tmp_path, f"args:\n  mode: {mode}\n  train_iters: 1\n")
    assert bundle.plan.args["deepspeed"] is expected
    assert ("ds_config.json" in bundle.files) is expected


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_r5_preset_is_sats_file_with_args_winning(tmp_path: Path, stage: int) -> None:
    bundle = compile_layers(
        tmp_path,
        TRAIN + f"  zero_stage: {stage}\n  bf16: true\n  batch_size: 3\n"
        "  gradient_accumulation_steps: 2\n  lr: 0.5\n  weight_decay: 0.25\n",
    )
    expected = _sat_preset(stage)
    if stage == 0:  # the one value satc fixes: DeepSpeed 0.19.8 refuses SAT's 0.01
        assert expected["fp16"]["min_loss_scale"] == 0.01
        expected["fp16"]["min_loss_scale"] = 1
    expected["bf16"]["enabled"] = True
    expected["fp16"]["enabled"] = False
    expected["train_micro_batch_size_per_gpu"] = 3
    expected["gradient_accumulation_steps"] = 2
    expected["optimizer"]["params"]["lr"] = 0.5
    expected["optimizer"]["params"]["weight_decay"] = 0.25
    expected["train_batch_size"] = 6  # D4: 3 x 2 x dp 1
    assert json.loads(bundle.files["ds_config.json"]) == expected


def test_r5_no_precision_disables_fp16(tmp_path: Path) -> None:
    bundle = compile_layers(tmp_path, TRAIN + "  zero_stage: 0\n")
    ds = json.loads(bundle.files["ds_config.json"])
    assert ds["fp16"]["enabled"] is False and ds["bf16"]["enabled"] is False


def test_r6_deepspeed_section_wins(tmp_path: Path) -> None:
    bundle = compile_layers(
        tmp_path,
        TRAIN + "  batch_size: 9\n  lr: 0.9\n  weight_decay: 0.9\n  fp16: true\n"
        "deepspeed:\n  train_micro_batch_size_per_gpu: 2\n  bf16:\n    enabled: true\n"
        "  optimizer:\n    type: Adam\n    params:\n      lr: 0.001\n      weight_decay: 0.01\n",
    )
    args = bundle.plan.args
    assert (args["fp16"], args["bf16"]) == (False, True)
    assert args["batch_size"] == 2
    assert args["gradient_accumulation_steps"] is None  # absent in the section
    assert (args["lr"], args["weight_decay"]) == (0.001, 0.01)
    assert json.loads(bundle.files["ds_config.json"])["gradient_accumulation_steps"] == 1


def test_r7_auto_fp16_with_zero(tmp_path: Path) -> None:
    bundle = compile_layers(tmp_path, TRAIN + "  zero_stage: 1\n")
    assert bundle.plan.args["fp16"] is True and bundle.plan.args["bf16"] is False
    assert json.loads(bundle.files["ds_config.json"])["fp16"]["enabled"] is True
    # R7 runs before R6, so a given section's precision overrides the auto-fp16.
    given = compile_layers(
        tmp_path,
        TRAIN + "  zero_stage: 2\n"
        "deepspeed:\n  zero_optimization:\n    stage: 2\n  bf16:\n    enabled: true\n",
    )
    assert given.plan.args["fp16"] is False and given.plan.args["bf16"] is True


@pytest.mark.parametrize("checkpoint", [True, False])
def test_r8_activation_checkpointing(tmp_path: Path, checkpoint: bool) -> None:
    bundle = compile_layers(tmp_path, TRAIN + f"  checkpoint_activations: {str(checkpoint).lower()}\n")
    assert bundle.plan.args["deepspeed_activation_checkpointing"] is checkpoint
    inference = compile_layers(tmp_path, "args:\n  mode: inference\n  checkpoint_activations: true\n")
    assert "deepspeed_activation_checkpointing" not in inference.plan.args


def test_d1_unknown_keys_are_located_with_a_suggestion(tmp_path: Path) -> None:
    text = problems(
        tmp_path, TRAIN + "  lerning_rate: 0.1\ndeepspeed:\n  zero_optimization:\n    stagee: 2\n"
    )
    assert "layer0.yaml:4:3: error: args.lerning_rate: unknown key under args" in text
    assert "did you mean args.lr?" in text
    assert "layer0.yaml:7:5: error: deepspeed.zero_optimization.stagee: unknown key" in text
    assert "did you mean deepspeed.zero_optimization.stage?" in text


def test_d2_set_beats_every_file(tmp_path: Path) -> None:
    bundle = compile_layers(
        tmp_path, TRAIN + "  lr: 0.1\n", TRAIN + "  lr: 0.2\n", overrides=("args.lr=0.3",)
    )
    assert bundle.plan.args["lr"] == 0.3
    assert str(bundle.config.origin[("args", "lr")]) == "--set args.lr"


def test_d3_zero_stage_follows_the_deepspeed_section(tmp_path: Path) -> None:
    bundle = compile_layers(
        tmp_path, TRAIN + "deepspeed:\n  zero_optimization:\n    stage: 2\n  bf16:\n    enabled: true\n"
    )
    assert bundle.plan.args["zero_stage"] == 2
    conflict = problems(tmp_path, TRAIN + "  zero_stage: 1\ndeepspeed:\n  zero_optimization:\n    stage: 2\n")
    assert "args.zero_stage is 1 but the deepspeed section runs ZeRO stage 2" in conflict


def test_d3_zero3_preset_exists(tmp_path: Path) -> None:
    bundle = compile_layers(tmp_path, TRAIN + "  zero_stage: 3\n  bf16: true\n")
    ds = json.loads(bundle.files["ds_config.json"])
    assert ds["zero_optimization"]["stage"] == 3 and bundle.plan.args["zero_stage"] == 3


def test_d4_batch_triad_is_computed(tmp_path: Path) -> None:
    bundle = compile_layers(
        tmp_path,
        TRAIN + "  batch_size: 2\n  gradient_accumulation_steps: 3\n"
        "  model_parallel_size: 2\nlaunch:\n  gpus_per_node: 8\n",
    )
    assert json.loads(bundle.files["ds_config.json"])["train_batch_size"] == 2 * 3 * 4


def test_d4_disagreeing_batch_prints_the_arithmetic(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        TRAIN + "deepspeed:\n  train_batch_size: 32\n"
        "  train_micro_batch_size_per_gpu: 2\n  gradient_accumulation_steps: 1\n"
        "launch:\n  gpus_per_node: 4\n",
    )
    assert (
        "layer0.yaml:5:3: error: deepspeed.train_batch_size: train_batch_size is 32 but "
        "2 x 1 x 4 (micro x grad_accum x dp) = 8" in text
    )


def test_d5_seed_is_frozen(tmp_path: Path) -> None:
    first = compile_layers(tmp_path, TRAIN + "  seed: 7\n")
    second = compile_layers(tmp_path, TRAIN + "  seed: 7\n")
    assert first.plan.args["seed"] == 7
    assert first.files["args.json"] == second.files["args.json"]
    assert compile_layers(tmp_path, TRAIN).plan.args["seed"] == 1234  # SAT's default


def test_model_parallel_must_divide_the_world(tmp_path: Path) -> None:
    text = problems(tmp_path, TRAIN + "  model_parallel_size: 4\nlaunch:\n  nodes: 1\n  gpus_per_node: 6\n")
    assert "model_parallel_size 4 does not divide the world size 6 = 1 nodes x 6 gpus_per_node" in text


def test_context_parallel_r12(tmp_path: Path) -> None:
    for mp, cp in ((1, 1), (2, 2), (4, 2), (8, 2)):
        bundle = compile_layers(
            tmp_path, TRAIN + f"  model_parallel_size: {mp}\nlaunch:\n  gpus_per_node: 8\n"
        )
        assert bundle.plan.topology.context_parallel_size == cp


def test_r6_discarding_a_set_is_an_error_and_a_file_value_a_warning(tmp_path: Path) -> None:
    section = (
        "deepspeed:\n  train_micro_batch_size_per_gpu: 2\n  bf16:\n    enabled: true\n"
        "  optimizer:\n    type: Adam\n    params:\n      lr: 0.001\n"
    )
    text = problems(tmp_path, TRAIN + section, overrides=("args.lr=0.5",))
    assert (
        "--set args.lr: error: args.lr: --set args.lr=0.5 would be replaced by "
        "deepspeed.optimizer.params.lr (0.001)" in text
    )
    assert "hint: set deepspeed.optimizer.params.lr instead" in text
    bundle = compile_layers(tmp_path, TRAIN + "  lr: 0.5\n" + section)
    assert bundle.plan.args["lr"] == 0.001  # the reference's value (R6)
    [warning] = [w for w in bundle.warnings if w.key == "args.lr"]
    assert "0.5 is replaced by deepspeed.optimizer.params.lr (0.001)" in warning.message
    assert str(warning.location).endswith("layer0.yaml:4:3")
    assert not [
        w for w in compile_layers(tmp_path, TRAIN + "  lr: 0.001\n" + section).warnings if w.key == "args.lr"
    ]  # the same value is no conflict


def test_launch_env_cannot_override_what_satc_exports(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        TRAIN + "launch:\n  env:\n    SATC_BUNDLE: /other/args.json\n"
        "    LOCAL_WORLD_SIZE: 8\n    WANDB_MODE: offline\n    WANDB_PROJECT: p\n"
        "  env_passthrough: [WANDB_PROJECT, RANK]\n",
    )
    assert "launch.env.SATC_BUNDLE: SATC_BUNDLE is set by satc" in text
    assert "launch.env.LOCAL_WORLD_SIZE: LOCAL_WORLD_SIZE is set by satc" in text
    assert "launch.env.WANDB_PROJECT: WANDB_PROJECT is also in launch.env_passthrough" in text
    assert "launch.env_passthrough: RANK is set by satc" in text
    assert "WANDB_MODE" not in text


def test_target_specific_launch_keys(tmp_path: Path) -> None:
    text = problems(tmp_path, TRAIN + "launch:\n  slurm:\n    partition: gpu\n")
    assert "launch.slurm: is only read by the slurm target, not 'torchrun'" in text


@pytest.mark.parametrize(
    "launch,fragment",
    [
        (
            "  gpus_per_node: 1\n",
            "training needs device == LOCAL_RANK, which is 0 with one rank per node, got 1",
        ),
        ("  device: cpu\n", "GPU 1 is fixed, but launch.device is cpu"),
    ],
)
def test_r9_fixed_device_is_decided_at_compile_time(tmp_path: Path, launch: str, fragment: str) -> None:
    assert fragment in problems(tmp_path, TRAIN + "  device: 1\nlaunch:\n" + launch)


def test_per_process_names_point_at_launch(tmp_path: Path) -> None:
    text = problems(tmp_path, TRAIN + "  world_size: 4\n")
    assert "args.world_size: unknown key under args" in text
    assert "hint: the world size is launch.nodes x launch.gpus_per_node" in text
