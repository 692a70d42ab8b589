"""Try satc on public SAT-derived projects as their users launch them; print the evidence.

    python benchmarks/projects_trial.py --trees DIR [--group G] [--only NAME...] [--json OUT]

G: first (the first round, the default), patched (researchers' patched copies of
CogVideoX's sat/), second (the second round of other projects), third (a third round of
CogVideoX video projects), fourth (SAT projects that are not CogVideoX video forks), or all.

``DIR`` holds the projects, unpacked from their public repositories (one folder each,
named as in ``LAUNCHES``); nothing of them is in this repository.  For every launch its
README or scripts start: ``satc compile`` from the entrypoint folder (errors, warnings,
exit code), the project's OWN ``get_args`` on the same argv (tests/reference/
project_get_args.py, rank 0 of 1), and the keys where the bundle's namespace
(``satc.runtime.load``) differs from it -- compared as tests/test_fork_parity.py does.
Which satc error is a true catch and which a false refusal is decided by reading the
project's code; benchmarks/projects_trial.md records that judgement next to these counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]


@dataclass(frozen=True)
class Launch:
    name: str
    tree: str  # the entrypoint folder under --trees
    bases: tuple[str, ...]
    entrypoint: str
    source: str
    mode: str = "inference"
    flags: tuple[str, ...] = ()  # after --base on the project's command line
    sets: tuple[str, ...] = ()  # the same for satc compile --set
    # Where the project's own get_args runs, when not in the tree itself (a stand-in copy:
    # see STANDINS); absolute, or relative to --trees.
    reference_tree: str = ""
    # A flag's JSON file given to satc as a layer: --deepspeed_config FILE is the
    # `deepspeed:` section (satc freezes it into the bundle).
    deepspeed_json: str = ""
    # --deepspeed_config FILE in inference, where the project's get_args keeps the path
    # string and tests keys on it (`"fp16" in deepspeed_config`: substring tests that find
    # none): what it derives is what an empty `deepspeed:` section gives (R6).
    deepspeed_path_only: bool = False
    # Where the README's command runs, when not the entrypoint folder (relative to --trees):
    # satc compiles from there with launch.entrypoint relative to it; the project's
    # get_args still runs in ``tree``, given the --base files as absolute paths.
    cwd: str = ""
    # The launch's world size where it is not 1 (its README starts 8 GPUs): the project's
    # get_args and satc's runtime both run as rank 0 of it.
    world: int = 1


# A project whose own code cannot start as shipped runs its get_args in a copy with the
# smallest stand-in; the copy is made by prepare_standins() under --standins.
STANDINS = {
    # MoCa's vendored SAT lacks sat/transformer_defaults.py (its base_model imports it):
    # the copy takes that one file from the SAT Tora vendors, whose fork MoCa is.
    "MoCa": ("modules/SwissArmyTransformer/sat/transformer_defaults.py", "Tora"),
    # rubenvillarreal/scail-wan2gp-integration's .gitignore (`model/`) kept its vendored
    # sat/model out of the repository: the copy takes that folder from zai-org/SCAIL (the
    # project it derives from, unpacked beside it under --trees), whose mpu is the same.
    "rubenvillarreal+scail-wan2gp-integration": ("sat/model", "trees:SCAIL"),
}


SEED = (("--seed", "4242"), ("args.seed=4242",))

LAUNCHES = (
    Launch(
        "star-sr",
        "STAR/cogvideox-based/sat",
        ("configs/cogvideox_5b/cogvideox_5b_infer_sr.yaml",),
        "sample_sr.py",
        "NJU-PCALab/STAR cogvideox-based/sat/inference_sr.sh",
    ),
    Launch(
        "moca-sample",
        "MoCa/sat",
        ("configs/tora/model/cogvideox_5b_tora_train.yaml", "configs/tora/inference_sparse.yaml"),
        "sample_video.py",
        "MoCa-VideoGen/MoCa (README empty; Tora's README launch on MoCa's configs)",
        reference_tree="standin:MoCa/sat",
    ),
    Launch(
        "moca-train-dense",
        "MoCa/sat",
        ("configs/tora/model/cogvideox_5b_tora_train.yaml", "configs/tora/train_dense.yaml"),
        "train_video.py",
        "MoCa-VideoGen/MoCa (Tora README stage 1)",
        mode="finetune",
        reference_tree="standin:MoCa/sat",
    ),
    Launch(
        "moca-train-sparse",
        "MoCa/sat",
        ("configs/tora/model/cogvideox_5b_tora_train.yaml", "configs/tora/train_sparse.yaml"),
        "train_video.py",
        "MoCa-VideoGen/MoCa (Tora README stage 2)",
        mode="finetune",
        reference_tree="standin:MoCa/sat",
    ),
    Launch(
        "resim-train",
        "ReSim-Exp/sat",
        ("configs/train.yaml",),
        "train_video.py",
        "ReSim README: bash finetune_single_gpu_custom.sh configs/train.yaml",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "resim-infer-nus",
        "ReSim-Exp/sat",
        ("configs/infer_nus.yaml",),
        "sample_video.py",
        "ReSim README: bash inference_custom.sh configs/infer_nus.yaml",
    ),
    Launch(
        "resim-infer-nvidia",
        "ReSim-Exp/sat",
        ("configs/infer_nvidia.yaml",),
        "sample_video.py",
        "ReSim sat/configs/infer_nvidia.yaml through inference_custom.sh",
    ),
    Launch(
        "repvideo-sample",
        "RepVideo/sat",
        ("configs/cogvideox_2b.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "Vchitect/RepVideo sat/run.sh",
        flags=("--seed", "42"),
        sets=("args.seed=42",),
    ),
    Launch(
        "cvft-inference-sh",
        "cogVideoFinetuning/sat",
        ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "harshit810/cogVideoFinetuning sat/inference.sh (--deepspeed --deepspeed_config ...)",
        flags=("--deepspeed", "--deepspeed_config", "configs/deepspeed_config.json", *SEED[0]),
        sets=("args.deepspeed=true", *SEED[1]),
        deepspeed_path_only=True,
    ),
    Launch(
        "cvft-finetune-single",
        "cogVideoFinetuning/sat",
        ("configs/cogvideox_2b_lora.yaml", "configs/sft.yaml"),
        "train_video.py",
        "harshit810/cogVideoFinetuning sat/finetune_single_gpu.sh",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "cvft-5b-i2v-lora-sft",
        "cogVideoFinetuning/sat",
        ("configs/cogvideox_5b_i2v_lora.yaml", "configs/sft.yaml"),
        "train_video.py",
        "harshit810/cogVideoFinetuning sat/README (I2V LoRA fine-tuning)",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "concatid-infer-single",
        "Concat-ID",
        ("configs/cogvideox_5b.yaml", "configs/inference/inference_single_identity.yaml"),
        "sample_video.py",
        "ML-GSAI/Concat-ID inference_single_identity.sh",
        flags=("--seed", "42"),
        sets=("args.seed=42",),
    ),
    Launch(
        "concatid-infer-two",
        "Concat-ID",
        ("configs/cogvideox_5b.yaml", "configs/inference/inference_two_identities.yaml"),
        "sample_video.py",
        "ML-GSAI/Concat-ID inference_two_identities.sh",
        flags=("--seed", "42"),
        sets=("args.seed=42",),
    ),
    Launch(
        "concatid-train-single",
        "Concat-ID",
        ("configs/cogvideox_5b.yaml", "configs/training/sft_single_identity.yaml"),
        "train_video.py",
        "ML-GSAI/Concat-ID finetune_single_identity.sh (torchrun, 8 GPUs)",
        mode="finetune",
        flags=("--seed", "42"),
        sets=("args.seed=42",),
    ),
    Launch(
        "concatid-train-two",
        "Concat-ID",
        ("configs/cogvideox_5b.yaml", "configs/training/sft_two_identities.yaml"),
        "train_video.py",
        "ML-GSAI/Concat-ID finetune_two_identities.sh (torchrun, 8 GPUs)",
        mode="finetune",
        flags=("--seed", "42"),
        sets=("args.seed=42",),
    ),
    Launch(
        "videovla-infer",
        "VideoVLA",
        (
            "config_use/action_config/videovla_config.yaml",
            "config_use/action_config/inference_config/inference.yaml",
        ),
        "sample_video_action.py",
        "VideoVLA-Project/VideoVLA README, Inference",
    ),
    Launch(
        "cognvs-inference-sh",
        "cognvs",
        ("configs/cogvideox_5b.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "PhoenixGS/cognvs inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "cognvs-finetune-single",
        "cognvs",
        ("configs/cogvideox_2b_lora.yaml", "configs/sft.yaml"),
        "train_video.py",
        "PhoenixGS/cognvs finetune_single_gpu.sh",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "cv0917-inference-sh",
        "CogVideo-db309f3/sat",
        ("configs/cogvideox_5b.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "THUDM/CogVideo@db309f3 sat/inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "cv0917-finetune-single",
        "CogVideo-db309f3/sat",
        ("configs/cogvideox_2b_lora.yaml", "configs/sft.yaml"),
        "train_video.py",
        "THUDM/CogVideo@db309f3 sat/finetune_single_gpu.sh",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "cv0917-5b-i2v-sample",
        "CogVideo-db309f3/sat",
        ("configs/cogvideox_5b_i2v.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "THUDM/CogVideo@db309f3 sat/README (I2V inference)",
        flags=SEED[0],
        sets=SEED[1],
    ),
)


def _patched(name: str, tree: str, bases: tuple[str, ...], entrypoint: str, source: str, **more) -> Launch:
    return Launch(name, tree, bases, entrypoint, source, **more)


# Researchers' patched copies of CogVideoX's sat/ (public forks with commits of their own on
# top of THUDM/CogVideo), each at the commit and branch the table names, unpacked into
# DIR/<owner>+<name>.  Flags the launch gives after --base are given as --set.
PATCHED = (
    _patched(
        "sg-inference-sh",
        "SanGilbert+CogVideo/sat",
        ("configs/cogvideox_5b.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "SanGilbert/CogVideo@58f6a87 (gy_dev) sat/inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "sg-finetune-single",
        "SanGilbert+CogVideo/sat",
        ("configs/cogvideox_2b.yaml", "configs/sft.yaml"),
        "train_video.py",
        "SanGilbert/CogVideo@58f6a87 (gy_dev) sat/finetune_single_gpu.sh",
        mode="finetune",
        flags=("--seed", "42"),
        sets=("args.seed=42",),
    ),
    _patched(
        "tx-inference-sh",
        "Texaser+CogVideo/sat",
        ("configs/cogvideox_5b_i2v_lora.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "Texaser/CogVideo@21a08dc sat/inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "tx-finetune-single",
        "Texaser+CogVideo/sat",
        ("configs/cogvideox_5b_i2v_lora.yaml", "configs/sft.yaml"),
        "train_video.py",
        "Texaser/CogVideo@21a08dc sat/finetune_single_gpu.sh (and sat/slurm.sh)",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "hg-inference",
        "hologerry+CogVideo",
        ("configs/cogvideox_5b_lora.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "hologerry/CogVideo@88c13d7 tools/inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "hg-finetune-blue-cam0",
        "hologerry+CogVideo",
        ("configs/cogvideox_5b_lora.yaml", "configs/sft_blue_cam0.yaml"),
        "train_video.py",
        "hologerry/CogVideo@88c13d7 tools_single/finetune_blue_cam0.sh",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "hg-pi2v-blue-cam0",
        "hologerry+CogVideo",
        ("configs/cogvideox_5b_lora_prefixi2v.yaml", "configs/sft_blue_cam0_pi2v.yaml"),
        "train_image_to_video.py",
        "hologerry/CogVideo@88c13d7 tools_single/finetune_blue_cam0_pi2v.sh",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "hg-sdedit",
        "hologerry+CogVideo",
        ("configs/cogvideox_5b_lora.yaml", "configs_sdedit/sdedit.yaml"),
        "sdedit_video.py",
        "hologerry/CogVideo@88c13d7 tools_sdedit/sdedit_video.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "hg-zero123-ott-blue",
        "hologerry+CogVideo",
        ("configs/cogvideox_5b_lora_prefixi2v.yaml", "configs_sdedit/sdedit_zero123_ott_blue.yaml"),
        "sdedit_video_zero123_onetwothree.py",
        "hologerry/CogVideo@88c13d7 tools_sdedit/sdedit_video_zero123_ott_blue.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "hg-vae",
        "hologerry+CogVideo",
        ("configs/cogvideox_5b.yaml", "configs/vae.yaml"),
        "vae_video.py",
        "hologerry/CogVideo@88c13d7 tools/vae_video.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "xj-train-oci",
        "xvjiarui+CogVideo/sat",
        ("configs/oci/sft/5b_lora_mambav2_f145_sft.yaml", "configs/oci/dataset/tandj_f145.yaml"),
        "train_video_oci.py",
        "xvjiarui/CogVideo@e7da55f (dit_mamba) README_oci.md training (its config moved to sft/archive; "
        "the current 5b mamba LoRA config)",
        mode="finetune",
        flags=("--tag", "debug-bs8", "--save-interval", "10"),
        sets=("args.tag=debug-bs8", "args.save_interval=10"),
    ),
    _patched(
        "xj-train-readme",
        "xvjiarui+CogVideo/sat",
        ("configs/oci/sft/archive/5b_full_mambad_f145_sft.yaml", "configs/oci/dataset/tandj_f145.yaml"),
        "train_video_oci.py",
        "xvjiarui/CogVideo@e7da55f (dit_mamba) README_oci.md training, its config as archived",
        mode="finetune",
        flags=("--tag", "debug-bs8", "--save-interval", "10"),
        sets=("args.tag=debug-bs8", "args.save_interval=10"),
    ),
    _patched(
        "xj-sample-oci",
        "xvjiarui+CogVideo/sat",
        ("configs/oci/sft/5b_lora_mambav2_f145_sft.yaml", "configs/oci/inference/f145_infer.yaml"),
        "sample_video_oci.py",
        "xvjiarui/CogVideo@e7da55f (dit_mamba) README_oci.md / sat/inference_oci.sh sampling",
        flags=("--output-dir", "output/inference/debug", "--input-file", "configs/test_pixabay.txt"),
        sets=("args.output_dir=output/inference/debug", "args.input_file=configs/test_pixabay.txt"),
    ),
    _patched(
        "xj-inference-sh",
        "xvjiarui+CogVideo/sat",
        ("configs/cogvideox_5b.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "xvjiarui/CogVideo@e7da55f (dit_mamba) sat/inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "yx-inference-i2v",
        "Yuancheng-Xu+CogVideo/sat",
        ("configs/cogvideox_5b_i2v.yaml", "configs/inference_yc_I2V.yaml"),
        "sample_video.py",
        "Yuancheng-Xu/CogVideo@59cc0f7 sat/inference_yc.sh (the active line)",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "yx-inference-lora",
        "Yuancheng-Xu+CogVideo/sat",
        ("configs/cogvideox_5b_lora.yaml", "configs/inference_yc.yaml"),
        "sample_video.py",
        "Yuancheng-Xu/CogVideo@59cc0f7 sat/inference_yc.sh (LoRA line)",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "yx-finetune-t2v",
        "Yuancheng-Xu+CogVideo/sat",
        ("configs/cogvideox_5b_lora.yaml", "configs/sft_yc.yaml"),
        "train_video.py",
        "Yuancheng-Xu/CogVideo@59cc0f7 sat/finetune_multi_gpus_yc.sh (T2V, torchrun 8)",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "yx-finetune-i2v",
        "Yuancheng-Xu+CogVideo/sat",
        ("configs/cogvideox_5b_i2v_lora.yaml", "configs/sft_I2V_yc.yaml"),
        "train_video.py",
        "Yuancheng-Xu/CogVideo@59cc0f7 sat/finetune_multi_gpus_yc.sh (I2V line)",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "vk-inference-sh",
        "vukrosic+CogVideo/sat",
        ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "vukrosic/CogVideo@5a8dabc sat/inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "vk-finetune-single",
        "vukrosic+CogVideo/sat",
        ("configs/cogvideox_2b_lora.yaml", "configs/sft.yaml"),
        "train_video.py",
        "vukrosic/CogVideo@5a8dabc sat/finetune_single_gpu.sh",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "lg-inference-sh",
        "Leo-Ngok+CogVideoY/sat",
        ("configs/cogvideox_5b.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "Leo-Ngok/CogVideoY@2ef20aa (dev) sat/inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    _patched(
        "lg-finetune-single",
        "Leo-Ngok+CogVideoY/sat",
        ("configs/cogvideox_2b_lora.yaml", "configs/sft.yaml"),
        "train_video.py",
        "Leo-Ngok/CogVideoY@2ef20aa (dev) sat/finetune_single_gpu.sh",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
)


# A second round on projects satc had never been tried on (benchmarks/projects_trial.md,
# "Second round"): folders as unpacked under --trees, named <owner>+<name>.
def _ditctrl(
    name: str, tree: str, entry: str, case: str, source: str, bases=("configs/cogvideox_2b.yaml",)
) -> Launch:
    return Launch(
        name,
        tree,
        (*bases, "configs/inference.yaml") if len(bases) == 1 else bases,
        entry,
        source,
        flags=("--custom-config", case),
        sets=(f"args.custom_config={case}",),
    )


LAUNCHES_SECOND = (
    Launch(
        "cogip-inference-sh",
        "Ttttttttyj+CogvideoX_IP",
        ("configs/cogvideox_2b_ip_attention.yaml", "configs/inference.yaml"),
        "sample_video_ip_attention.py",
        "Ttttttttyj/CogvideoX_IP inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "cogip-finetune-single",
        "Ttttttttyj+CogvideoX_IP",
        ("configs/cogvideox_2b_ip_attention.yaml", "configs/sft.yaml"),
        "train_video.py",
        "Ttttttttyj/CogvideoX_IP finetune_single_gpu.sh (and finetune_multi_gpus.sh, torchrun)",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "humn-sample-sh",
        "tpc2233+Humn_p2v",
        (
            "configs/video_model/Wan2.1-i2v-14Bsc-pose-xc-latent.yaml",
            "configs/sampling/wan_pose_14Bsc_xc_cli.yaml",
        ),
        "sample_video.py",
        "tpc2233/Humn_p2v scripts/sample_sgl_14Bsc_xc_cli.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "humn-app-t1",
        "tpc2233+Humn_p2v",
        (
            "configs/video_model/Wan2.1-i2v-14Bsc-pose-xc-latent.yaml",
            "configs/sampling/wan_pose_14Bsc_xc_cli.yaml",
        ),
        "app_t1.py",
        "tpc2233/Humn_p2v app_t1.sh (app_t1.py sets this argv itself)",
    ),
    _ditctrl(
        "metal-multi-prompt",
        "Metalicana+DiTCtrl/sat",
        "sample_video.py",
        "inference_case_configs/multi_prompts/rose.yaml",
        "Metalicana/DiTCtrl sat/run_multi_prompt.sh",
    ),
    _ditctrl(
        "metal-sample-i2v",
        "Metalicana+DiTCtrl/sat",
        "sample_video.py",
        "inference_case_configs/i2v.yaml",
        "Metalicana/DiTCtrl sat/run_sample_i2v.sh",
        bases=("configs/cogvideox_2b_contextKV.yaml",),
    ),
    _ditctrl(
        "metal-i2v-multi-prompt",
        "Metalicana+DiTCtrl/sat",
        "sample_video_i2v.py",
        "inference_case_configs/multi_prompts/rose2.yaml",
        "Metalicana/DiTCtrl sat/run_i2v_multi_prompt.sh",
        bases=("configs/cogvideox_5b_i2v.yaml", "configs/inference_i2v.yaml"),
    ),
    _ditctrl(
        "metal-edit",
        "Metalicana+DiTCtrl/sat",
        "sample_video_edit.py",
        "inference_case_configs/edit/cat_dog.yaml",
        "Metalicana/DiTCtrl sat/run_edit_video.sh",
    ),
    _ditctrl(
        "metal-reweight",
        "Metalicana+DiTCtrl/sat",
        "sample_video_edit.py",
        "inference_case_configs/reweight/bear_0.yaml",
        "Metalicana/DiTCtrl sat/run_reweight_video.sh",
    ),
    _ditctrl(
        "svjack-multi-prompt",
        "svjack+DiTCtrl/sat",
        "sample_video.py",
        "inference_case_configs/multi_prompts/rose.yaml",
        "svjack/DiTCtrl sat/run_multi_prompt.sh",
    ),
    _ditctrl(
        "svjack-edit",
        "svjack+DiTCtrl/sat",
        "sample_video_edit.py",
        "inference_case_configs/edit/suv.yaml",
        "svjack/DiTCtrl sat/run_edit_video.sh",
    ),
)


def _mtv(name: str, tree: str, entry: str, bases: tuple[str, ...], source: str, extra=(), **kw) -> Launch:
    return Launch(
        name,
        f"{tree}/mtv",
        bases,
        entry,
        source,
        flags=(*SEED[0], *(x for pair in extra for x in (f"--{pair[0].replace('_', '-')}", pair[1]))),
        sets=(*SEED[1], *(f"args.{key}={value}" for key, value in extra)),
        cwd=tree,
        **kw,
    )


LAUNCHES_SECOND += (
    _mtv(
        "mtv-long",
        "suimuc+MTV_Framework",
        "mtv/sample_video.py",
        ("./configs/cogvideox_5b.yaml", "./configs/inference.yaml"),
        "suimuc/MTV_Framework README: bash scripts/inference_long.sh ./examples/One_person.txt output",
        extra=(("input_file", "./examples/One_person.txt"), ("output_dir", "output")),
    ),
    _mtv(
        "mtv-long-multi",
        "suimuc+MTV_Framework",
        "mtv/sample_video.py",
        ("./configs/cogvideox_5b.yaml", "./configs/inference_accm.yaml"),
        "suimuc/MTV_Framework README: bash scripts/inference_long_multi.sh ./examples/Multi_person.txt output",
        extra=(("input_file", "./examples/Multi_person.txt"), ("output_dir", "output")),
    ),
    _mtv(
        "mtv-finetune",
        "suimuc+MTV_Framework",
        "mtv/train_video.py",
        ("configs/cogvideox_5b.yaml", "configs/training.yaml"),
        "suimuc/MTV_Framework scripts/finetune_mtv.sh (torchrun, 8 GPUs)",
        mode="finetune",
    ),
    _mtv(
        "mtvrunpod-long",
        "sruckh+MTVCraft-RunPod",
        "mtv/sample_video.py",
        ("./configs/cogvideox_5b.yaml", "./configs/inference.yaml"),
        "sruckh/MTVCraft-RunPod scripts/inference_long.sh ./examples/samples.txt output",
        extra=(("input_file", "./examples/samples.txt"), ("output_dir", "output")),
    ),
)


def _hallo3(name: str, tree: str, entry: str, bases: tuple[str, ...], source: str, extra=(), flags=(), **kw):
    launch = _mtv(name, tree, entry, bases, source, extra=extra, **kw)
    return replace(
        launch, tree=f"{tree}/hallo3", flags=(*launch.flags, *flags), sets=(*launch.sets, *kw_sets(flags))
    )


def kw_sets(flags: tuple[str, ...]) -> tuple[str, ...]:
    """A flag without a value (``--wandb``) as satc's ``--set args.wandb=true``."""
    return tuple(f"args.{flag[2:].replace('-', '_')}=true" for flag in flags)


LAUNCHES_SECOND += (
    _hallo3(
        "hallo3-long-batch",
        "fudan-generative-vision+hallo3",
        "hallo3/sample_video.py",
        ("./configs/cogvideox_5b_i2v_s2.yaml", "./configs/inference.yaml"),
        "fudan-generative-vision/hallo3 README: bash scripts/inference_long_batch.sh ./examples/inference/input.txt ./output",
        extra=(("input_file", "./examples/inference/input.txt"), ("output_dir", "./output")),
    ),
    _hallo3(
        "hallo3-finetune-s1",
        "fudan-generative-vision+hallo3",
        "hallo3/train_video.py",
        ("configs/cogvideox_5b_i2v_s1.yaml", "configs/sft_s1.yaml"),
        "fudan-generative-vision/hallo3 README: bash scripts/finetune_multi_gpus_s1.sh",
        mode="finetune",
    ),
    _hallo3(
        "hallo3-finetune-s2",
        "fudan-generative-vision+hallo3",
        "hallo3/train_video.py",
        ("configs/cogvideox_5b_i2v_s2.yaml", "sat/configs/sft_s2.yaml"),
        "fudan-generative-vision/hallo3 README: bash scripts/finetune_multi_gpus_s2.sh (as shipped)",
        mode="finetune",
    ),
    _hallo3(
        "hallo3cs-inference",
        "CyberSculptor96+hallo3",
        "hallo3/sample_video.py",
        ("./configs/cogvideox_5b_i2v_s2.yaml", "./configs/inference.yaml"),
        "CyberSculptor96/hallo3 scripts/inference_long_batch.sh",
        extra=(("input_file", "./examples/inference/input.txt"), ("output_dir", "./output")),
    ),
    _hallo3(
        "hallo3cs-finetune-s1",
        "CyberSculptor96+hallo3",
        "hallo3/train_video.py",
        ("configs/cogvideox_5b_i2v_s1.yaml", "configs/sft_s1.yaml"),
        "CyberSculptor96/hallo3 scripts/finetune_multi_gpus_s1.sh (--wandb)",
        mode="finetune",
        flags=("--wandb",),
    ),
    _hallo3(
        "hallo3cs-finetune-s2",
        "CyberSculptor96+hallo3",
        "hallo3/train_video.py",
        ("configs/cogvideox_5b_i2v_s2.yaml", "configs/sft_s2.yaml"),
        "CyberSculptor96/hallo3 scripts/finetune_multi_gpus_s2.sh (--wandb)",
        mode="finetune",
        flags=("--wandb",),
    ),
)

LAUNCHES_SECOND += (
    _hallo3(
        "hallo3-app",
        "fudan-generative-vision+hallo3",
        "hallo3/app.py",
        ("./configs/cogvideox_5b_i2v_s2.yaml", "./configs/inference.yaml"),
        "fudan-generative-vision/hallo3 README: python hallo3/app.py (its VideoGenerator builds this argv)",
    ),
    _mtv(
        "mtvrunpod-app",
        "sruckh+MTVCraft-RunPod",
        "mtv/app.py",
        ("./configs/cogvideox_5b.yaml", "./configs/inference.yaml"),
        "sruckh/MTVCraft-RunPod scripts/app.sh output",
        extra=(("output_dir", "output"),),
    ),
)

# Fourth round: SAT projects that are not CogVideoX video forks (an image model on
# CogView3's sat/, a Wan-2.1 14B SAT project with its own vendored SAT, a brain-signal
# to video generator).
SCAILWAN = "standin:rubenvillarreal+scail-wan2gp-integration"
LAUNCHES_FOURTH = (
    Launch(
        "cv3plus-sample-dit",
        "choucisan+CogView3-Plus",
        ("configs/cogview3_plus.yaml",),
        "sample_dit.py",
        "choucisan/CogView3-Plus README: python sample_dit.py --base configs/cogview3_plus.yaml",
    ),
    Launch(
        "scailwan-sample-14b",
        "rubenvillarreal+scail-wan2gp-integration",
        (
            "configs/video_model/Wan2.1-i2v-14Bsc-pose-xc-latent.yaml",
            "configs/sampling/wan_pose_14Bsc_xc_cli.yaml",
        ),
        "sample_video.py",
        "rubenvillarreal/scail-wan2gp-integration scripts/sample_sgl_14Bsc_xc_cli.sh",
        flags=SEED[0],
        sets=SEED[1],
        reference_tree=SCAILWAN,
    ),
    Launch(
        "scailwan-sample-1.3b",
        "rubenvillarreal+scail-wan2gp-integration",
        (
            "configs/video_model/Wan2.1-Fun-1.3Bsc-pose-xc-latent.yaml",
            "configs/sampling/wan_pose_14Bsc_xc_cli.yaml",
        ),
        "sample_video.py",
        "rubenvillarreal/scail-wan2gp-integration README (1.3B model config, the shipped sampling config)",
        flags=SEED[0],
        sets=SEED[1],
        reference_tree=SCAILWAN,
    ),
    Launch(
        "scailwan-runpod",
        "rubenvillarreal+scail-wan2gp-integration",
        (
            "configs/video_model/Wan2.1-i2v-14Bsc-pose-xc-latent.yaml",
            "configs/sampling/wan_pose_14Bsc_xc_cli.yaml",
        ),
        "sample_video.py",
        "rubenvillarreal/scail-wan2gp-integration runpod_handler.py:_run_sampler (--distributed-backend gloo)",
        flags=("--distributed-backend", "gloo", *SEED[0]),
        sets=("args.distributed_backend=gloo", *SEED[1]),
        reference_tree=SCAILWAN,
    ),
    Launch(
        "scailwan-sample-14b-restored",
        SCAILWAN,
        (
            "configs/video_model/Wan2.1-i2v-14Bsc-pose-xc-latent.yaml",
            "configs/sampling/wan_pose_14Bsc_xc_cli.yaml",
        ),
        "sample_video.py",
        "scailwan-sample-14b in the stand-in copy (sat/model restored from zai-org/SCAIL)",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "cinebrain-infer-sub02",
        "yanweifu-sii+CineBrain",
        ("configs/cogvideox_5b_lora_brain_va.yaml", "configs/infer_brain_va_5b_sub02.yaml"),
        "sample_brain_va.py",
        "yanweifu-sii/CineBrain inference.sh",
        flags=("--seed", "42", "--jsonpath", "./CineBrain/sub02_test.json"),
        sets=("args.seed=42", "args.jsonpath=./CineBrain/sub02_test.json"),
    ),
    Launch(
        "cinebrain-finetune",
        "yanweifu-sii+CineBrain",
        ("configs/cogvideox_5b_lora_brain_va.yaml", "configs/sft_5b_brain_va_clip_sub05.yaml"),
        "train_video_fmri.py",
        "yanweifu-sii/CineBrain finetune_multi_gpus.sh (as shipped)",
        mode="finetune",
        flags=("--seed", "42"),
        sets=("args.seed=42",),
    ),
    Launch(
        "cinebrain-finetune-clip",
        "yanweifu-sii+CineBrain",
        ("configs/cogvideox_5b_lora_brain_va.yaml", "configs/sft_5b_brain_va_clip.yaml"),
        "train_video_fmri.py",
        "yanweifu-sii/CineBrain finetune_multi_gpus.sh with the sft config the repository has",
        mode="finetune",
        flags=("--seed", "42"),
        sets=("args.seed=42",),
    ),
)

# Third round (trial-f): five more public CogVideoX-SAT video projects, none tried before.
_FC = "camenduru+FasterCache"
_NT = "Nicolepcx+Tora/sat"
_NT_T2V = ("configs/tora/model/cogvideox_5b_tora.yaml", "configs/tora/inference_sparse.yaml")
_NT_I2V = ("configs/tora/model/cogvideox_5b_tora_i2v.yaml", "configs/tora/inference_sparse.yaml")
_QK = "qiuk2+Kaleido"
_QK_MODEL = "configs/video_model/dit_crossattn_14B_wanvae.yaml"


# Tora's --point_path takes nargs="+": one value on the command line is a list of one.
_LISTS = ("point_path",)


def _flags(*pairs: tuple[str, str | None]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``--name value`` pairs (a value of None: a bare flag) and their satc ``--set``."""
    flags: list[str] = []
    sets: list[str] = []
    for name, value in pairs:
        flags += [f"--{name}"] + ([] if value is None else [value])
        dest = name.replace("-", "_")
        written = "true" if value is None else f"[{value}]" if dest in _LISTS else value
        sets.append(f"args.{dest}={written}")
    return tuple(flags), tuple(sets)


_NT_SAMPLE = (("load", "ckpts/tora/t2v"), ("output-dir", "samples"))
_NT_T2V_FLAGS = _flags(
    *_NT_SAMPLE, ("point_path", "trajs/coaster.txt"), ("input-file", "assets/text/t2v/examples.txt")
)
_NT_I2V_FLAGS = _flags(
    ("load", "ckpts/tora/i2v"),
    ("output-dir", "samples"),
    ("point_path", "trajs/sawtooth.txt"),
    ("input-file", "assets/text/i2v/examples.txt"),
    ("img_dir", "assets/images"),
    ("image2video", None),
)

LAUNCHES_THIRD = (
    Launch(
        "fc-2b",
        f"{_FC}/fastercache/models/cogvideox",
        ("configs/cogvideox/fastercache_sample.yaml",),
        "scripts/cogvideox/fastercache_sample_cogvideox.py",
        "camenduru/FasterCache README: bash scripts/cogvideox/fastercache_sample_cogvideox.sh",
        cwd=_FC,
    ),
    Launch(
        "fc-5b",
        f"{_FC}/fastercache/models/cogvideox",
        ("configs/cogvideox/fastercache_sample_5b.yaml",),
        "scripts/cogvideox/fastercache_sample_cogvideox.py",
        "camenduru/FasterCache README: bash scripts/cogvideox/fastercache_sample_cogvideox5b.sh",
        cwd=_FC,
    ),
    Launch(
        "fc-2b-multi-device",
        f"{_FC}/fastercache/models/cogvideox",
        ("configs/cogvideox/fastercache_sample.yaml",),
        "scripts/cogvideox/fastercache_sample_cogvideox_sp.py",
        "camenduru/FasterCache README: bash scripts/cogvideox/fastercache_sample_cogvideox_multi_device.sh",
        cwd=_FC,
    ),
    Launch(
        "ntora-t2v",
        _NT,
        _NT_T2V,
        "sample_video.py",
        "Nicolepcx/Tora README: torchrun sample_video.py (t2v, coaster trajectory)",
        flags=_NT_T2V_FLAGS[0],
        sets=_NT_T2V_FLAGS[1],
    ),
    Launch(
        "ntora-i2v",
        _NT,
        _NT_I2V,
        "sample_video.py",
        "Nicolepcx/Tora README: torchrun sample_video.py (i2v, --image2video)",
        flags=_NT_I2V_FLAGS[0],
        sets=_NT_I2V_FLAGS[1],
    ),
    Launch(
        "ntora-app",
        _NT,
        _NT_T2V,
        "app.py",
        "Nicolepcx/Tora README: python app.py --load ckpts/tora/t2v (its argv list for get_args)",
        flags=_flags(("load", "ckpts/tora/t2v"))[0],
        sets=_flags(("load", "ckpts/tora/t2v"))[1],
    ),
    Launch(
        "ntora-train-dense",
        _NT,
        ("configs/tora/model/cogvideox_5b_tora.yaml", "configs/tora/train_dense.yaml"),
        "train_video.py",
        "Nicolepcx/Tora README: train_video.py stage 1 (--experiment-name t2v-stage1)",
        mode="finetune",
        flags=_flags(("experiment-name", "t2v-stage1"))[0],
        sets=_flags(("experiment-name", "t2v-stage1"))[1],
    ),
    Launch(
        "ntora-train-sparse",
        _NT,
        ("configs/tora/model/cogvideox_5b_tora.yaml", "configs/tora/train_sparse.yaml"),
        "train_video.py",
        "Nicolepcx/Tora README: train_video.py stage 2 (--experiment-name t2v-stage2)",
        mode="finetune",
        flags=_flags(("experiment-name", "t2v-stage2"))[0],
        sets=_flags(("experiment-name", "t2v-stage2"))[1],
    ),
    Launch(
        "qk-sample-8gpu",
        _QK,
        (_QK_MODEL, "configs/sampling/sample_wanvae_concat_14b.yaml"),
        "sample_video.py",
        "qiuk2/Kaleido torchrun_multi_gpu.sh (8 GPUs a node)",
        flags=SEED[0],
        sets=(*SEED[1], "launch.gpus_per_node=8"),
        world=8,
    ),
    Launch(
        "qk-train-1gpu",
        _QK,
        (_QK_MODEL, "configs/training/video_wanx_14B_concat.yaml"),
        "train_video_concat.py",
        "qiuk2/Kaleido multi_gpu_training.sh (GPU_COUNT=1: python train_video_concat.py)",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "dai-inference-sh",
        "DeepAI-Research+CogVideo/sat",
        ("configs/cogvideox_2b_infer.yaml",),
        "sample_video.py",
        "DeepAI-Research/CogVideo sat/inference.sh",
    ),
    Launch(
        "dai-finetune-single",
        "DeepAI-Research+CogVideo/sat",
        ("configs/cogvideox_2b_sft.yaml",),
        "train_video.py",
        "DeepAI-Research/CogVideo sat/finetune_single_gpu.sh",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "lh-inference-sh",
        "leharris3+CogVideo/sat",
        ("configs/cogvideox_5b.yaml", "configs/inference.yaml"),
        "sample_video.py",
        "leharris3/CogVideo (fine-tune-nba-15) sat/inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "lh-finetune-single",
        "leharris3+CogVideo/sat",
        ("configs/cogvideox_2b_lora.yaml", "configs/sft.yaml"),
        "train_video.py",
        "leharris3/CogVideo (fine-tune-nba-15) sat/finetune_single_gpu.sh",
        mode="finetune",
        flags=SEED[0],
        sets=SEED[1],
    ),
)

_ANI = "bilibili+Index-anisora"
_ANI_INFER = f"{_ANI}/anisoraV1_infer"
_ANI_SP = "scripts/cogvideox/fastercache_sample_cogvideox_sp.py"
_VT = "VideoVerses+VideoTuna"

LAUNCHES_THIRD += (
    Launch(
        "ani-infer-1gpu",
        f"{_ANI_INFER}/fastercache/models/cogvideox",
        ("configs/cogvideox/fastercache_sample_5b.yaml",),
        _ANI_SP,
        "bilibili/Index-anisora anisoraV1_infer/README: python scripts/cogvideox/fastercache_sample_cogvideox_sp.py",
        cwd=_ANI_INFER,
    ),
    Launch(
        "ani-infer-4gpu",
        f"{_ANI_INFER}/fastercache/models/cogvideox",
        ("configs/cogvideox/fastercache_sample_5b.yaml",),
        _ANI_SP,
        "bilibili/Index-anisora anisoraV1_infer/README: torchrun --nproc_per_node=4 (offload=0)",
        cwd=_ANI_INFER,
        sets=("launch.gpus_per_node=4",),
        world=4,
    ),
    Launch(
        "ani-infer-4090",
        f"{_ANI_INFER}/fastercache/models/cogvideox",
        ("configs/cogvideox/fastercache_sample_5b4090.yaml",),
        _ANI_SP,
        "bilibili/Index-anisora anisoraV1_infer/README: torchrun --nproc_per_node=4, 4090 config (offload=1)",
        cwd=_ANI_INFER,
        sets=("launch.gpus_per_node=4",),
        world=4,
    ),
    Launch(
        "ani-train-gpu",
        f"{_ANI}/anisoraV1_train_gpu/sat",
        ("configs/cogvideox_5b_sft_fix_pretrain_gpu_720.yaml",),
        "train_video.py",
        "bilibili/Index-anisora anisoraV1_train_gpu/script/gpu_run.sh (torchrun, one node of 8 GPUs)",
        mode="finetune",
        flags=("--seed", "1234"),
        sets=("args.seed=1234", "launch.gpus_per_node=8"),
        world=8,
    ),
    Launch(
        "ani-rl-infer",
        f"{_ANI}/anisora_rl/sat",
        ("configs/cogvideox_5b_i2v_infer.yaml",),
        "sample_video.py",
        "bilibili/Index-anisora anisora_rl/README: cd sat && bash inference.sh",
        flags=SEED[0],
        sets=SEED[1],
    ),
    Launch(
        "vt-cogvideox15-t2v",
        f"{_VT}/videotuna/models/cogvideo_sat",
        ("configs/005_cogvideox1.5/cogvideox1.5_5b.yaml",),
        "scripts/inference_cogVideo_sat_refactor.py",
        "VideoVerses/VideoTuna shscripts/inference_cogVideox1.5_5b_t2v.sh",
        cwd=_VT,
        flags=(
            "--load_transformer",
            "checkpoints/cogvideo/CogVideoX1.5-5B-SAT/transformer_t2v",
            "--input_file",
            "inputs/t2v/prompts.txt",
            "--output_dir",
            "results/t2v/",
            "--mode_type",
            "t2v",
            "--sampling_num_frames",
            "22",
        ),
        sets=(
            "args.load_transformer=checkpoints/cogvideo/CogVideoX1.5-5B-SAT/transformer_t2v",
            "args.input_file=inputs/t2v/prompts.txt",
            "args.output_dir=results/t2v/",
            "args.mode_type=t2v",
            "args.sampling_num_frames=22",
        ),
    ),
)

GROUPS = {
    "first": LAUNCHES,
    "patched": PATCHED,
    "second": LAUNCHES_SECOND,
    "third": LAUNCHES_THIRD,
    "all": LAUNCHES + PATCHED + LAUNCHES_SECOND + LAUNCHES_THIRD,
}
GROUPS["fourth"] = LAUNCHES_FOURTH
GROUPS["all"] += LAUNCHES_FOURTH


def prepare_standins(trees: Path, standins: Path) -> None:
    """Copies of the projects in STANDINS with the one missing file, taken from the donor
    fork beside the CogVideoX tree SATC_COGVIDEO_SAT names (its ``../forks/``)."""
    import shutil

    forks = Path(os.environ["SATC_COGVIDEO_SAT"]).parent / "forks"
    for name, (missing, donor) in STANDINS.items():
        copy = standins / name
        if copy.exists() or not (trees / name).is_dir():
            continue
        shutil.copytree(trees / name, copy, ignore=shutil.ignore_patterns("__pycache__"))
        source = trees / donor[len("trees:") :] if donor.startswith("trees:") else forks / donor
        if (source / missing).is_dir():
            shutil.copytree(source / missing, copy / missing, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source / missing, copy / missing)


def compile_dir(launch: Launch, trees: Path, standins: Path) -> Path:
    """Where satc compiles: the tree (or the README's folder), or a stand-in copy."""
    if launch.tree.startswith("standin:"):
        return standins / launch.tree[len("standin:") :]
    return trees / (launch.cwd or launch.tree)


def reference_dir(launch: Launch, trees: Path, standins: Path) -> Path:
    if launch.tree.startswith("standin:"):
        return standins / launch.tree[len("standin:") :]
    if launch.reference_tree.startswith("standin:"):
        return standins / launch.reference_tree[len("standin:") :]
    return trees / (launch.reference_tree or launch.tree)


def reference_bases(launch: Launch, trees: Path) -> list[str]:
    if not launch.cwd:
        return list(launch.bases)
    return [str((trees / launch.cwd / base).resolve()) for base in launch.bases]


def compile_one(launch: Launch, tree: Path, out: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    sets = [*launch.sets, f"launch.entrypoint={launch.entrypoint}"]
    layers: list[str] = []
    if launch.deepspeed_json or launch.deepspeed_path_only:
        layer = out.parent / f"{launch.name}-deepspeed.yaml"
        section = (
            {}
            if launch.deepspeed_path_only
            else json.loads((tree / launch.deepspeed_json).read_text(encoding="utf-8"))
        )
        layer.write_text(json.dumps({"deepspeed": section}) + "\n", encoding="utf-8")
        layers.append(str(layer))
    command = [sys.executable, "-m", "satc", "compile", *launch.bases, *layers, "-o", str(out)]
    command += [item for value in sets for item in ("--set", value)]
    env = {**os.environ, "SATC_CACHE_DIR": str(cache), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, cwd=tree, capture_output=True, text=True, env=env, check=False)


def diagnostics(stderr: str) -> tuple[list[str], list[str]]:
    errors = [line for line in stderr.splitlines() if ": error:" in line or line.startswith("error:")]
    warnings = [line for line in stderr.splitlines() if ": warning:" in line or line.startswith("warning:")]
    return errors, warnings


def differences(launch: Launch, bundle: Path, theirs: dict) -> list[str]:
    import satc.runtime
    from project_support import launcher_variables, to_json
    from test_fork_parity import Launch as ParityLaunch
    from test_fork_parity import _differences

    for variable in launcher_variables():
        os.environ.pop(variable)
    os.environ.update({"RANK": "0", "WORLD_SIZE": str(launch.world), "LOCAL_RANK": "0"})
    mine = to_json(satc.runtime.load(bundle))
    twin = ParityLaunch(launch.name, launch.tree, launch.bases, launch.source, mode=launch.mode)
    found = _differences(twin, bundle, mine, theirs)
    # A project whose code indexes args.base gets the layers themselves (compiler/project/
    # layers.py): frozen copies inside the bundle, in order, stand for the inputs.
    layers = mine.get("base")
    if isinstance(layers, list) and layers and all(Path(p).parent == bundle for p in layers):
        found = [line for line in found if not line.startswith("base: ")]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=Path, required=True)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--group", choices=sorted(GROUPS), default="first")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--standins", type=Path, default=Path(tempfile.gettempdir()) / "satc-trial-standins")
    options = parser.parse_args()
    chosen = [launch for launch in GROUPS[options.group] if not options.only or launch.name in options.only]
    from project_support import run_harness

    prepare_standins(options.trees, options.standins)
    reference: dict[str, dict] = {}
    for tree in sorted({reference_dir(launch, options.trees, options.standins) for launch in chosen}):
        group = [x for x in chosen if reference_dir(x, options.trees, options.standins) == tree]
        try:
            header, found = run_harness(
                tree,
                [
                    [
                        *([f"@0/{x.world}"] if x.world != 1 else []),
                        "--base",
                        *reference_bases(x, options.trees),
                        *x.flags,
                    ]
                    for x in group
                ],
            )
        except AssertionError as exc:
            found = [{"error": f"harness: {str(exc)[-400:]}"}] * len(group)
        reference.update({x.name: result for x, result in zip(group, found, strict=True)})
    report = []
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch) / "cache"
        for launch in chosen:
            out = Path(scratch) / launch.name
            result = compile_one(launch, compile_dir(launch, options.trees, options.standins), out, cache)
            errors, warnings = diagnostics(result.stderr)
            theirs = reference[launch.name]
            diff: list[str] | None = None
            if result.returncode == 0 and "args" in theirs:
                diff = differences(launch, out, theirs["args"])
            report.append(
                {
                    "name": launch.name,
                    "rc": result.returncode,
                    "errors": errors,
                    "warnings": warnings,
                    "traceback": "Traceback" in result.stderr,
                    "project": "args" if "args" in theirs else theirs,
                    "diff": diff,
                    "stderr": result.stderr,
                }
            )
            print(
                f"{launch.name}: rc={result.returncode} errors={len(errors)} warnings={len(warnings)} "
                f"project={'ok' if 'args' in theirs else theirs.get('error')} "
                f"diff={'-' if diff is None else len(diff)}"
            )
            for line in errors + warnings + (diff or []):
                print("    " + line[:400])
            if "Traceback" in result.stderr:
                print(result.stderr[-3000:])
    if options.json:
        options.json.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
