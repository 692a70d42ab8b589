"""CogVideoX's rules: what its code and maintainers require of a config, one function each.

Each rule cites where the constraint comes from (a line of CogVideoX's `sat/` code, its
SAT README, an issue or PR of THUDM/CogVideo).  Errors where the run would crash or
silently train the wrong thing; warnings for the maintainers' recommendations.  The rules
run on the resolved plan (after R6 decided the precision, after the topology), so they
see what the job will really get.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ....project import select
from ...work import Work
from . import profiles
from .context import Model
from .network import m16_precision, m17_text_length, m24_image_to_video, m25_patch_size_list
from .parallel import m18_heads_divisible_by_mp, m19_mp_within_node, m20_no_mp_training
from .training import m21_latent_input_with_pixels, m22_no_sat_finetune_1_5, m23_lora
from .video import (
    SHAPE_PARAMS,
    m9_shapes,
    m10_frames_4k_plus_1,
    m11_trained_frames,
    m12_data_frames_vs_network,
    m13_video_size,
    m14_sampling_num_frames,
    m15_sampling_image_size,
    m27_latent_channels,
)

RULES: tuple[Callable[[Model], None], ...] = (
    m9_shapes,
    m10_frames_4k_plus_1,
    m11_trained_frames,
    m12_data_frames_vs_network,
    m13_video_size,
    m14_sampling_num_frames,
    m15_sampling_image_size,
    m16_precision,
    m17_text_length,
    m19_mp_within_node,
    m20_no_mp_training,
    m21_latent_input_with_pixels,
    m22_no_sat_finetune_1_5,
    m23_lora,
    m24_image_to_video,
    m25_patch_size_list,
    m27_latent_channels,
)


# The code fact every CogVideoX rule guards: the project's network class takes
# CogVideoX's shape parameters (dit_video_concat.py:661 at e519ece).
NETWORK_FACT = ("num_frames", "time_compressed_rate", "latent_width", "latent_height", "patch_size")


def _network_is_cogvideox(work: Work) -> bool:
    entry = select.for_config(work.config).targets.get(profiles.NETWORK_TARGET) or {}
    return all(name in entry.get("params", {}) for name in NETWORK_FACT)


def _applies(work: Work, rule: Callable[[Model], None]) -> bool:
    """A rule that reads `args.X` guards code that reads X: it applies only where the
    project's parser defines X (and, for M18, where mp is not fixed to 1: G4)."""
    project = select.for_config(work.config)
    if rule is m18_heads_divisible_by_mp and project.get_args.model_parallel == "fixed:1":
        return False
    return all(
        key[len("args.") :] in project.arguments
        for key in CHECKED_KEYS.get(rule, ())
        if key.startswith("args.")
    )


def cogvideox_parallel_rules(work: Work) -> None:
    """M18 runs before the topology rules: a world size mp does not divide stops them,
    and the heads are the better reason to give."""
    params = profiles.network_params(work.config.tree)
    if params is not None and _network_is_cogvideox(work) and _applies(work, m18_heads_divisible_by_mp):
        m18_heads_divisible_by_mp(Model(work, params, profiles.identify(work.config.tree)))


def cogvideox_rules(work: Work) -> None:
    """Every CogVideoX rule, on configs whose network is CogVideoX's DiffusionTransformer
    (in the project's code: NETWORK_FACT), each where the args it reads exist."""
    params = profiles.network_params(work.config.tree)
    if params is None or not _network_is_cogvideox(work):
        return
    model = Model(work, params, profiles.identify(work.config.tree))
    for rule in RULES:
        if _applies(work, rule):
            rule(model)


# The keys each rule reads, so `satc explain KEY` can say which rules checked a value.
T5_LENGTH = "model.conditioner_config.params.emb_models[*].params.max_length"
_NET = "model.network_config.params"
CHECKED_KEYS: dict[Callable[[Model], None], tuple[str, ...]] = {
    m9_shapes: (
        *(f"{_NET}.{name}" for name in SHAPE_PARAMS),
        f"{_NET}.patch_size",
        "data.params.max_num_frames",
        "data.params.video_size",
    ),
    m10_frames_4k_plus_1: (f"{_NET}.num_frames", "data.params.max_num_frames"),
    m11_trained_frames: (f"{_NET}.num_frames", "data.params.max_num_frames"),
    m12_data_frames_vs_network: ("data.params.max_num_frames", f"{_NET}.num_frames"),
    m13_video_size: ("data.params.video_size", f"{_NET}.latent_height", f"{_NET}.latent_width"),
    m14_sampling_num_frames: ("args.sampling_num_frames",),
    m15_sampling_image_size: ("args.sampling_image_size",),
    m16_precision: ("args.fp16", "args.bf16", "deepspeed.fp16.enabled", "deepspeed.bf16.enabled"),
    m17_text_length: (f"{_NET}.modules.pos_embed_config.params.text_length", T5_LENGTH),
    m18_heads_divisible_by_mp: (
        "args.model_parallel_size",
        f"{_NET}.num_attention_heads",
        f"{_NET}.hidden_size",
    ),
    m19_mp_within_node: ("args.model_parallel_size", "launch.gpus_per_node", "launch.nodes"),
    m20_no_mp_training: ("args.model_parallel_size", "args.mode"),
    m21_latent_input_with_pixels: ("model.latent_input", "data.target"),
    m22_no_sat_finetune_1_5: ("args.mode",),
    m23_lora: (
        f"{_NET}.modules.lora_config.params.r",
        f"{_NET}.modules.lora_config.params.lora_alpha",
        "model.not_trainable_prefixes",
    ),
    m24_image_to_video: (
        f"{_NET}.in_channels",
        f"{_NET}.out_channels",
        "model.noised_image_input",
        "args.image2video",
    ),
    m25_patch_size_list: (f"{_NET}.patch_size",),
    m27_latent_channels: ("args.latent_channels", f"{_NET}.out_channels"),
}


def checks_for(key: str, tree: dict[str, Any]) -> list[str]:
    """`M10: <what it checks and its source>` for every rule that reads ``key``."""
    if profiles.network_params(tree) is None:
        return []
    general = re.sub(r"\[\d+\]", "[*]", key)
    found = []
    for rule in (m18_heads_divisible_by_mp, *RULES):
        if general in CHECKED_KEYS.get(rule, ()):
            text = " ".join((rule.__doc__ or "").split())
            rule_id, _, what = text.partition(": ")
            found.append(f"{rule_id}: {what}")
    return found


def profile_line(model_config: Any) -> str | None:
    """The summary's model line: which profile's rules applied."""
    tree = {"model": model_config}
    if profiles.network_params(tree) is None:
        return None
    profile = profiles.identify(tree)
    if profile is None:
        return "  model: CogVideoX DiffusionTransformer, unknown profile (generic checks only)"
    return f"  model: {profile.name} (CogVideoX {profile.version} rules)"
