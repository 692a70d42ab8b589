"""Fine-tuning: what the data feeds the engine, 1.5's support, LoRA."""

from __future__ import annotations

from typing import Any

from ....project import select
from .context import LORA, PIXEL_DATASETS, Model


def m21_latent_input_with_pixels(model: Model) -> None:
    """M21: with `latent_input: true` the engine takes the batch as VAE latents
    (diffusion_video.py:235); SFTDataset yields decoded frames (data_video.py:454), so
    training would feed pixels as latents."""
    work = model.work
    found, latent = model.value(("model", "latent_input"))
    _, target = model.value(("data", "target"))
    if work.training and found and latent is True and target in PIXEL_DATASETS:
        model.error(
            ("model", "latent_input"),
            "M21",
            f"latent_input is true but {target} yields video frames, not latents",
            "set model.latent_input: false to encode the videos with the VAE",
        )


def m22_no_sat_finetune_1_5(model: Model) -> None:
    """M22: SAT fine-tuning of CogVideoX 1.5 is unsupported (maintainers, CogVideo #621,
    #645: use the diffusers version)."""
    if model.profile is not None and model.profile.version == "1.5" and model.work.training:
        model.warn(
            ("args", "mode"),
            "M22",
            f"CogVideoX's maintainers do not support fine-tuning {model.profile.name} with SAT",
            "fine-tune 1.5 with the diffusers version (CogVideo #645)",
        )


def m23_lora(model: Model) -> None:
    """M23: SAT's LoraMixin scales by `lora_alpha / r` (sat/model/finetune/lora2.py:199):
    r must be at least 1 (r: 0, its default, divides by zero), and SAT trains with
    lora_alpha 1, which the exported weights assume (diffusers #9412).  LoRA also needs
    `not_trainable_prefixes: ['all']`, or the whole model trains (diffusion_video.py:117)."""
    found, lora = model.value(LORA)
    if not found or not isinstance(lora, dict):
        return
    given = lora.get("params")
    params: dict[str, Any] = given if isinstance(given, dict) else {}
    rank = params.get("r", 0)
    # SAT's rank rules guard a class that takes `r`: a project's own LoraMixin with other
    # ranks (LV-Robotics-Lab/LayerFlow 0a8a65c, sat/lora.py:209: motion_r, spatial_r) is
    # judged by its signature (M3), not by SAT's arithmetic.
    entry = select.for_config(model.work.config).targets.get(str(lora.get("target"))) or {}
    sat_like = not entry or "r" in entry.get("params", {})
    if sat_like and isinstance(rank, int) and rank < 1:
        path = (*LORA, "params", "r") if "r" in params else (*LORA, "target")
        model.error(
            path, "M23", f"LoRA rank r is {rank}: LoraMixin divides lora_alpha by r", "set r (128 or 256)"
        )
    alpha = params.get("lora_alpha", 1)
    if sat_like and alpha != 1:
        model.warn(
            (*LORA, "params", "lora_alpha"),
            "M23",
            f"lora_alpha {alpha}: SAT's CogVideoX LoRA trains with lora_alpha 1 (scale 1/r); "
            "export and load_cogvideox_lora.py assume it",
            "remove lora_alpha",
        )
    found, prefixes = model.value(("model", "not_trainable_prefixes"))
    if model.work.training and not (found and isinstance(prefixes, list) and "all" in prefixes):
        model.warn(
            LORA,
            "M23",
            "LoRA without model.not_trainable_prefixes: ['all'] trains the whole transformer as well",
            "add model.not_trainable_prefixes: ['all']",
        )
