"""satc plan through the real CLI: verdicts, explicit GPU memory, bad GPU names, sampling."""

from __future__ import annotations

import json
from pathlib import Path

from support import REFERENCE, satc

LORA = (str(REFERENCE / "cogvideox_5b_lora.yaml"), str(REFERENCE / "sft.yaml"))


def _plan(*argv: str) -> dict:
    done = satc("plan", *argv, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_verdict_follows_the_card() -> None:
    small = _plan(*LORA, "--set", "launch.gpu=A100-40G")["memory"]
    large = _plan(*LORA, "--set", "launch.gpu=H200")["memory"]
    assert small["per_gpu_gib"] == large["per_gpu_gib"]
    assert (small["fits"], large["fits"]) == (False, True)
    assert small["verdict"].startswith("does not fit") and large["verdict"].startswith("fits")
    # Each option is estimated; those that lower the peak below the card's 80% say so.
    options = {s["change"]: s for s in small["suggestions"]}
    assert all(s["per_gpu_gib"] < small["per_gpu_gib"] for s in options.values())
    at_risk = _plan(*LORA, "--set", "launch.gpu=A100-80G")["memory"]
    assert {s["change"]: s for s in at_risk["suggestions"]}["all of the above"]["fits"] is True


def test_every_suggested_change_compiles(tmp_path: Path) -> None:
    # The official SFTDataset yields frames (no latent_input, M21); one node grows by GPUs
    # (more nodes would need launch.master_addr).
    suggestions = _plan(*LORA, "--set", "launch.gpu=A100-40G")["memory"]["suggestions"]
    assert suggestions
    for index, suggestion in enumerate(suggestions):
        sets = [arg for item in suggestion["set"] for arg in ("--set", item)]
        done = satc("compile", *LORA, "--set", "launch.gpu=A100-40G", *sets, "-o", str(tmp_path / str(index)))
        assert done.returncode == 0, (suggestion, done.stderr)


def test_explicit_memory_beats_the_name_and_no_card_gives_no_verdict() -> None:
    memory = _plan(*LORA, "--set", "launch.gpu=A100-40G", "--set", "launch.gpu_memory_gb=200")["memory"]
    assert (memory["gpu_gib"], memory["fits"]) == (200.0, True)
    unknown = _plan(*LORA)["memory"]
    assert unknown["fits"] is None and unknown["gpu_gib"] is None and unknown["suggestions"] == []


def test_a_misspelt_gpu_is_a_located_error_with_a_suggestion() -> None:
    done = satc("plan", *LORA, "--set", "launch.gpu=A100-81G")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--set launch.gpu: error: launch.gpu: expected one of" in done.stderr
    assert "did you mean 'A100-80G'?" in done.stderr


def test_sampling_has_no_optimizer_and_one_layer_of_activations() -> None:
    # inference.yaml is set up for 1.5; a 1.0 model samples 13 latent frames at 480 x 720 (M14, M15).
    sample_1_0 = ("--set", "args.sampling_num_frames=13", "--set", "args.sampling_image_size=[480,720]")
    doc = _plan(str(REFERENCE / "cogvideox_2b.yaml"), str(REFERENCE / "inference.yaml"), *sample_1_0)
    components = doc["memory"]["components"]
    assert "optimizer_states" not in components and components["dit_activations"] < 2
    assert doc["model"]["trainable_params"] == 0 and doc["batch"]["grad_accum"] == 1


def test_full_fine_tuning_trains_all_but_the_frozen_position_table() -> None:
    full = _plan(str(REFERENCE / "cogvideox_2b.yaml"), str(REFERENCE / "sft.yaml"))
    assert full["model"]["trainable_params"] == full["model"]["dit_params"] - 17776 * 1920  # frozen table
    assert full["memory"]["components"]["optimizer_states"] > 1


def test_a_config_without_a_model_is_not_planned_from_guesses(tmp_path: Path) -> None:
    config = tmp_path / "args.yaml"
    config.write_text("args:\n  mode: finetune\n  train_iters: 10\n")
    done = satc("plan", str(config))
    assert done.returncode == 2 and "model.network_config: nothing to plan" in done.stderr
    compiled = satc("compile", str(config), "-o", str(tmp_path / "b"))
    assert compiled.returncode == 0 and "memory: not estimated" in compiled.stdout
