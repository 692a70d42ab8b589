"""satc plan through the real CLI: verdicts, explicit GPU memory, bad GPU names, sampling."""

from __future__ import annotations

import json
import re
from pathlib import Path

import support
from support import REFERENCE, cogvideo_sat, satc

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
    combined = {s["change"]: s for s in at_risk["suggestions"]}["all of the above except more GPUs"]
    assert combined["fits"] is True


def test_every_suggested_change_compiles(tmp_path: Path) -> None:
    # The official SFTDataset yields frames (no latent_input, M21); one node grows by GPUs
    # (more nodes would need launch.master_addr).
    suggestions = _plan(*LORA, "--set", "launch.gpu=A100-40G")["memory"]["suggestions"]
    assert suggestions
    for index, suggestion in enumerate(suggestions):
        sets = [arg for item in suggestion["set"] for arg in ("--set", item)]
        done = satc("compile", *LORA, "--set", "launch.gpu=A100-40G", *sets, "-o", str(tmp_path / str(index)))
        assert done.returncode == 0, (suggestion, done.stderr)


def _official_stacks() -> list[tuple[str, ...]]:
    """The official model configs on sft.yaml; the 1.0 ones with what makes them build on
    the network of their own sat/ folder (M25, M4), which every option must also pass."""
    sat = cogvideo_sat() / "configs"
    sft = str(sat / "sft.yaml")
    stacks = []
    for model in ("cogvideox_5b_lora", "cogvideox_5b", "cogvideox_2b", "cogvideox_2b_lora"):
        layers, sets = support.buildable_1_0(model)
        stacks.append((str(sat / f"{model}.yaml"), *layers, sft, *(a for s in sets for a in ("--set", s))))
    stacks.append((str(sat / "cogvideox1.5_5b.yaml"), sft, "--set", "model.latent_input=false"))
    return stacks


def test_every_option_plan_prints_for_the_official_configs_compiles() -> None:
    """Over the official configs, cards and topologies: each printed option compiles as
    `satc compile <the same inputs> --set ...` would, DeepSpeed's and SAT's start-up rules
    included (ZeRO-Offload with SAT's client optimizer, Z1; the global batch, B1)."""
    from satc.compiler.errors import ConfigError
    from satc.compiler.pipeline import compile_bundle

    seen = 0
    for stack in _official_stacks():
        configs = [item for item in stack if item.endswith(".yaml")]
        given = [stack[i + 1] for i, item in enumerate(stack) if item == "--set"]
        for gpu in ("RTX4090", "A100-40G", "A100-80G", "H100-80G"):
            for per_node in ("1", "8"):
                sets = [*given, f"launch.gpu={gpu}", f"launch.gpus_per_node={per_node}"]
                doc = _plan(*configs, *(a for s in sets for a in ("--set", s)))
                for suggestion in doc["memory"]["suggestions"]:
                    seen += 1
                    try:
                        compile_bundle(configs, [*sets, *suggestion["set"]], Path("."))
                    except ConfigError as exc:
                        raise AssertionError((configs, sets, suggestion, str(exc))) from None
                if doc["memory"]["fits"] is False and not any(
                    s["fits"] for s in doc["memory"]["suggestions"]
                ):
                    assert doc["memory"]["advice"][0].startswith("nothing satc can set fits"), doc["memory"]
    assert seen > 40


def test_options_for_a_committed_bundle_compile_as_its_retarget(tmp_path: Path) -> None:
    """`satc plan BUNDLE`: each option is what `satc compile BUNDLE --set ...` accepts,
    which keeps the bundle's global batch on a new topology (more GPUs then need a smaller
    micro-batch, and the option says so)."""
    cluster = str(support.ROOT / "examples" / "cogvideox" / "cluster.yaml")
    bundle = tmp_path / "lora"
    assert satc("compile", *LORA, cluster, "-o", str(bundle)).returncode == 0
    for gpu in ("A100-40G", "A100-80G"):
        doc = _plan(str(bundle), "--set", f"launch.gpu={gpu}")
        options = doc["memory"]["suggestions"]
        assert any("twice the GPUs" in s["change"] for s in options)
        for index, suggestion in enumerate(options):
            sets = [a for item in suggestion["set"] for a in ("--set", item)]
            out = tmp_path / f"{gpu}-{index}"
            done = satc("compile", str(bundle), "--set", f"launch.gpu={gpu}", *sets, "-o", str(out))
            assert done.returncode == 0, (suggestion, done.stderr)
    # A node-adding option whose other settings fit on the GPUs at hand says so.
    doc = _plan(str(bundle), "--set", "launch.gpu=A100-80G")
    [more] = [s for s in doc["memory"]["suggestions"] if "twice the GPUs" in s["change"]]
    assert more["note"].startswith("not needed: without the extra GPUs these settings fit on the 16 GPU(s)")


def test_the_example_in_plan_help_works() -> None:
    help_text = satc("plan", "--help").stdout
    example = re.search(r"e\.g\. --set (\S+?)\)", " ".join(help_text.split()))
    assert example, help_text
    done = satc("plan", *LORA, "--set", example.group(1))
    assert done.returncode == 0, done.stderr


def test_nothing_fits_a_24_gb_card_and_plan_says_the_vae_is_why() -> None:
    memory = _plan(*LORA, "--set", "launch.gpu=RTX4090")["memory"]
    assert memory["fits"] is False and not any(s["fits"] for s in memory["suggestions"])
    assert memory["advice"][0].startswith("nothing satc can set fits on 24 GiB")
    assert "the VAE encoding" in memory["advice"][1] and "latent_input" in memory["advice"][1]
    text = satc("plan", *LORA, "--set", "launch.gpu=RTX4090").stdout
    assert "nothing satc can set fits on 24 GiB" in text


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


def test_sampling_is_not_estimated_with_a_training_model() -> None:
    """satc's memory model is a training run's: for sampling it would count a training
    VAE encode and the latent grid x 8 as the video (941 GiB for CogVideoX 1.5's
    inference.yaml). plan and compile say why there is no number instead."""
    # inference.yaml is set up for 1.5; a 1.0 model samples 13 latent frames at 480 x 720 (M14, M15).
    sample = (str(REFERENCE / "cogvideox_2b.yaml"), str(REFERENCE / "inference.yaml"))
    sample += ("--set", "args.sampling_num_frames=13", "--set", "args.sampling_image_size=[480,720]")
    doc = _plan(*sample)
    assert doc["memory"]["estimated"] is False and "args.mode is inference" in doc["memory"]["reason"]
    text = satc("plan", *sample)
    assert text.returncode == 0 and text.stdout.startswith("memory: not estimated (args.mode is inference")
    assert "GiB" not in text.stdout


def test_a_fork_s_own_network_is_not_estimated_as_cogvideox(tmp_path: Path) -> None:
    """CogView3's image DiT and UNet (forks/CogView3, compiled from its sat/ folder as its
    README runs them) are not CogVideoX's video DiT: no CogVideoX-based number, the reason
    instead, in plan (exit 0, with the batch of a training run) and in compile's summary."""
    sat = support.forks() / "CogView3" / "sat"
    train = ("--set", "args.mode=finetune", "--set", "args.train_data=[x]", "--set", "args.train_iters=2")
    for config, script in (("cogview3_plus.yaml", "sample_dit.py"), ("cogview3_base.yaml", "sample_unet.py")):
        argv = (f"configs/{config}", "--set", f"launch.entrypoint={script}")
        done = satc("plan", *argv, *train, cwd=sat)
        assert done.returncode == 0, done.stderr
        first, batch = done.stdout.splitlines()
        assert first.startswith(
            "memory: not estimated (model.network_config.target is sgm.modules.diffusionmodules."
        )
        assert "not CogVideoX's dit_video_concat.DiffusionTransformer" in first and "GiB" not in done.stdout
        assert batch.startswith("batch: global ")
        compiled = satc("compile", *argv, "-o", str(tmp_path / config), cwd=sat)
        assert compiled.returncode == 0, compiled.stderr
        assert "  memory: not estimated (model.network_config.target is sgm." in compiled.stdout
        assert "GiB per GPU" not in compiled.stdout


def test_a_network_module_the_memory_model_does_not_count_is_not_estimated(tmp_path: Path) -> None:
    layer = tmp_path / "extra.yaml"
    layer.write_text(
        "model:\n  network_config:\n    params:\n      modules:\n        traj_config: {target: mine.Traj}\n"
    )
    done = satc("plan", *LORA, str(layer), "--format", "json")
    assert done.returncode == 0, done.stderr
    memory = json.loads(done.stdout)["memory"]
    assert memory["estimated"] is False
    assert memory["reason"].startswith(
        "model.network_config.params.modules has traj_config, which satc's memory"
    )


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


def test_every_option_for_the_tiny_cpu_job_starts(tmp_path: Path) -> None:
    """The tiny CogVideoX layer on CPU, judged against a card it cannot fit: every option
    plan prints is compiled and started with CogVideoX's own train_video.py (offloading
    included: DeepSpeed's AdamW, never SAT's client optimizer, Z1)."""
    import cogvideox_harness as harness

    harness.require_cogvideox_stack()
    assets = harness.make_assets(tmp_path / "assets")
    sat = harness.workspace(tmp_path / "ws", assets)
    (sat / "bundles").mkdir()
    inputs = (*harness.CONFIGS, str(harness.TINY_LAYER), "--set", "args.train_iters=1")
    done = satc("plan", *inputs, "--set", "launch.gpu_memory_gb=0.05", "--format", "json", cwd=sat)
    assert done.returncode == 0, done.stderr
    suggestions = json.loads(done.stdout)["memory"]["suggestions"]
    assert any("offload" in s["change"] for s in suggestions)
    for index, suggestion in enumerate(suggestions):
        # A checkpoint folder of its own: on the last option's it would resume past
        # train_iters (launch.resume: auto) and train no step.
        sets = [a for item in [*suggestion["set"], f"args.save=ckpts_{index}"] for a in ("--set", item)]
        compiled = satc("compile", *inputs, *sets, "-o", f"bundles/{index}", cwd=sat)
        assert compiled.returncode == 0, (suggestion, compiled.stderr)
        run = harness.run_satc(sat, f"bundles/{index}")
        assert run.returncode == 0 and 1 in run.losses, (suggestion, run.output[-4000:])
