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
from dataclasses import dataclass
from typing import Any

from ...errors import dotted
from ...tree import value_at
from ..work import Work
from . import cogvideox_profiles as profiles
from .cogvideox_profiles import NETWORK, Profile
from .targets import problem

Path = tuple[str | int, ...]
POS_EMBED = (*NETWORK, "modules", "pos_embed_config", "params")
LORA = (*NETWORK, "modules", "lora_config")
DATA = ("data", "params")
PIXEL_DATASETS = ("data_video.SFTDataset",)  # yield decoded video frames (data_video.py:454)
T5_TARGET = "sgm.modules.encoders.modules.FrozenT5Embedder"


@dataclass(frozen=True)
class Model:
    """What the rules read: the network's params and the identified profile (or None)."""

    work: Work
    params: dict[str, Any]
    profile: Profile | None

    def value(self, path: Path) -> tuple[bool, Any]:
        return value_at(self.work.config.tree, path)

    def int_at(self, path: Path) -> int | None:
        found, value = self.value(path)
        return value if found and isinstance(value, int) and not isinstance(value, bool) else None

    def error(self, path: Path, rule: str, message: str, hint: str | None = None) -> None:
        self.work.errors.append(problem(self.work.config, path, rule, message, hint))

    def warn(self, path: Path, rule: str, message: str, hint: str | None = None) -> None:
        self.work.warnings.append(problem(self.work.config, path, rule, message, hint, "warning"))

    @property
    def latent_frames(self) -> int | None:
        frames = self.int_at((*NETWORK, "num_frames"))
        rate = self.int_at((*NETWORK, "time_compressed_rate")) or 4
        return (frames - 1) // rate + 1 if frames else None


def _nearest_4k1(value: int) -> str:
    low = (value - 1) // 4 * 4 + 1
    return f"{low} or {low + 4}" if low != value else str(value)


SHAPE_PARAMS = (
    "num_frames",
    "time_compressed_rate",
    "latent_width",
    "latent_height",
    "in_channels",
    "out_channels",
    "hidden_size",
    "num_layers",
    "num_attention_heads",
)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def m9_shapes(model: Model) -> None:
    """M9: the network's sizes are positive integers, `patch_size` an integer or [t, h, w]
    (the model divides and indexes them: dit_video_concat.py:695, :797), the dataset's
    `max_num_frames` a positive integer and `video_size` [height, width] (data_video.py:454)."""
    checks: list[tuple[Path, Any, str]] = []
    for name in SHAPE_PARAMS:
        found, value = model.value((*NETWORK, name))
        if found and not _positive_int(value):
            checks.append(((*NETWORK, name), value, "a positive integer"))
    found, patch = model.value((*NETWORK, "patch_size"))
    if found and not (
        _positive_int(patch)
        or (isinstance(patch, list) and len(patch) == 3 and all(map(_positive_int, patch)))
    ):
        checks.append(((*NETWORK, "patch_size"), patch, "a positive integer or [t, h, w]"))
    found, frames = model.value((*DATA, "max_num_frames"))
    if found and not _positive_int(frames):
        checks.append(((*DATA, "max_num_frames"), frames, "a positive integer"))
    found, size = model.value((*DATA, "video_size"))
    if found and not (isinstance(size, list) and len(size) == 2 and all(map(_positive_int, size))):
        checks.append(((*DATA, "video_size"), size, "[height, width], two positive integers"))
    for path, value, expected in checks:
        model.error(path, "M9", f"expected {expected}, got {value!r}")


def m10_frames_4k_plus_1(model: Model) -> None:
    """M10: the 3D VAE compresses time 4x after the first frame: video frames are 4k+1
    (`compressed_num_frames = (num_frames - 1) // time_compressed_rate + 1`,
    dit_video_concat.py:797; CogVideo PR #678)."""
    rate = model.int_at((*NETWORK, "time_compressed_rate")) or 4
    for path in ((*NETWORK, "num_frames"), (*DATA, "max_num_frames")):
        frames = model.int_at(path)
        if frames is not None and frames >= 1 and (frames - 1) % rate:
            model.error(
                path,
                "M10",
                f"{frames} frames: the 3D VAE needs {rate}k+1 video frames",
                f"use {_nearest_4k1(frames)}",
            )


def m11_trained_frames(model: Model) -> None:
    """M11: the models are trained on 8N+1 frames with N <= 6 (1.0) and 16N+1 with
    N <= 10 (1.5) (CogVideo PR #678)."""
    profile = model.profile
    if profile is None:
        return
    step, most = profile.frame_step, profile.max_frame_n
    for path in ((*NETWORK, "num_frames"), (*DATA, "max_num_frames")):
        frames = model.int_at(path)
        if frames is None or (frames - 1) % 4:
            continue  # M10 already says it
        n, rest = divmod(frames - 1, step)
        if rest or not 1 <= n <= most:
            model.warn(
                path,
                "M11",
                f"{profile.name} is trained on {step}N+1 frames with 1 <= N <= {most}; got {frames}",
                f"use one of {', '.join(str(step * k + 1) for k in range(most, 0, -1) if step * k + 1 <= 161)}"
                if profile.version == "1.5"
                else f"use {step * most + 1} (or {step * (most - 1) + 1}, {step * (most - 2) + 1}, ...)",
            )


def m12_data_frames_vs_network(model: Model) -> None:
    """M12: the dataset's clips must fit the network's position embedding, which covers
    `num_frames` video frames (dit_video_concat.py:797; 2B's table is fixed, the RoPE grid
    of the others is sliced and cannot grow)."""
    network = model.int_at((*NETWORK, "num_frames"))
    data = model.int_at((*DATA, "max_num_frames"))
    if network is None or data is None or data == network:
        return
    path = (*DATA, "max_num_frames")
    where = f"model.network_config.params.num_frames is {network}"
    if data > network:
        model.error(path, "M12", f"{data} frames do not fit the network: {where}", f"use {network}")
    else:
        model.warn(path, "M12", f"disagrees with the network: {where}", f"use {network} unless you mean it")


def m13_video_size(model: Model) -> None:
    """M13: `video_size` / 8 (the VAE) must match the latent grid: 1.0 is fixed at
    latent_height x latent_width (60 x 90 = 480 x 720, Basic3D/Rotary3D grids built at
    dit_video_concat.py:793); 1.5 takes multiples of 16 inside its 300 x 300 RoPE grid
    (CogVideo #645)."""
    found, size = model.value((*DATA, "video_size"))
    if not found or not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)):
        return
    path = (*DATA, "video_size")
    height, width = size
    latent_h = model.int_at((*NETWORK, "latent_height"))
    latent_w = model.int_at((*NETWORK, "latent_width"))
    if height % 16 or width % 16:
        model.error(path, "M13", f"{height}x{width}: both sides must be multiples of 16 (VAE 8x, patch 2)")
        return
    if latent_h is None or latent_w is None:
        return
    fixed = model.profile is not None and model.profile.fixed_size is not None
    if fixed and (height // 8, width // 8) != (latent_h, latent_w):
        model.error(
            path,
            "M13",
            f"{height}x{width} does not match the latent grid {latent_h}x{latent_w} of "
            f"{model.profile.name if model.profile else 'this model'} (fixed at {latent_h * 8}x{latent_w * 8})",
            f"use video_size: [{latent_h * 8}, {latent_w * 8}]",
        )
    elif height // 8 > latent_h or width // 8 > latent_w:
        model.error(
            path,
            "M13",
            f"{height}x{width} exceeds the latent grid {latent_h}x{latent_w} (= {latent_h * 8}x{latent_w * 8} pixels)",
            "use a smaller video_size",
        )


def m14_sampling_num_frames(model: Model) -> None:
    """M14: `sampling_num_frames` counts *latent* frames: 13, 11 or 9 for 1.0, 22 or 42
    for 1.5 (CogVideoX's SAT README and inference.yaml; sample_video.py:157 samples a
    latent of shape (T, C, H/8, W/8))."""
    profile = model.profile
    work = model.work
    if profile is None or work.training:
        return
    frames = work.args.get("sampling_num_frames")
    if frames in profile.sampling_num_frames:
        return
    allowed = " or ".join(str(v) for v in profile.sampling_num_frames)
    hint = f"set args.sampling_num_frames: {profile.sampling_num_frames[0]}"
    if (
        isinstance(frames, int)
        and (frames - 1) % 4 == 0
        and (frames - 1) // 4 + 1 in profile.sampling_num_frames
    ):
        hint += f" (it counts latent frames: {frames} video frames are {(frames - 1) // 4 + 1})"
    model.error(
        ("args", "sampling_num_frames"),
        "M14",
        f"{profile.name} samples {allowed} latent frames; got {frames}",
        hint,
    )


def m15_sampling_image_size(model: Model) -> None:
    """M15: text-to-video sampling draws a latent of (H/8, W/8) (sample_video.py:198); the
    1.0 models only take their fixed 480x720, 1.5 any multiple of 16 inside its grid."""
    profile = model.profile
    work = model.work
    if profile is None or work.training:
        return
    if work.args.get("image2video"):
        if work.given("args", "sampling_image_size"):
            model.warn(
                ("args", "sampling_image_size"),
                "M15",
                "ignored: image-to-video sampling takes its size from the input image (sample_video.py:175)",
                "remove it (the shipped inference.yaml: 'remove this for I2V')",
            )
        return
    size = work.args.get("sampling_image_size")
    if not (isinstance(size, list) and len(size) == 2):
        return
    height, width = size
    latent_h = model.int_at((*NETWORK, "latent_height"))
    latent_w = model.int_at((*NETWORK, "latent_width"))
    path = ("args", "sampling_image_size")
    given = "" if work.given(*path) else " (SAT's default, from CogVideoX 1.5)"
    if profile.fixed_size and (latent_h, latent_w) == (
        profile.fixed_size[0] // 8,
        profile.fixed_size[1] // 8,
    ):
        if (height, width) != profile.fixed_size:
            fixed_h, fixed_w = profile.fixed_size
            model.error(
                path,
                "M15",
                f"{profile.name} samples only at {fixed_h}x{fixed_w}; got {height}x{width}{given}",
                f"set args.sampling_image_size: [{fixed_h}, {fixed_w}]",
            )
        return
    if height % 16 or width % 16:
        model.error(path, "M15", f"{height}x{width}{given}: both sides must be multiples of 16")
    elif latent_h and latent_w and (height // 8 > latent_h or width // 8 > latent_w):
        model.error(path, "M15", f"{height}x{width}{given} exceeds the latent grid {latent_h}x{latent_w}")


def m27_latent_channels(model: Model) -> None:
    """M27: sampling draws latents of `args.latent_channels` channels (sample_video.py:157),
    which must be the network's `out_channels` (16 for every CogVideoX model); SAT's
    default is 32."""
    work = model.work
    out_channels = model.int_at((*NETWORK, "out_channels"))
    channels = work.args.get("latent_channels")
    if work.training or out_channels is None or channels == out_channels:
        return
    given = "" if work.given("args", "latent_channels") else " (the default)"
    model.error(
        ("args", "latent_channels"),
        "M27",
        f"latent_channels {channels}{given} differs from the network's out_channels {out_channels}",
        f"set args.latent_channels: {out_channels}",
    )


def _precision_path(work: Work, name: str) -> Path:
    """Where the precision the job gets was decided: the DeepSpeed section wins (R6)."""
    if work.given("deepspeed", name, "enabled"):
        return ("deepspeed", name, "enabled")
    return ("args", name)


def m16_precision(model: Model) -> None:
    """M16: every model but CogVideoX-2B was trained in bf16; fp16 gives black videos or
    NaN (CogVideo #593, #637).  2B was trained in fp16 (SAT README: `fp16: True # For
    CogVideoX-2B`)."""
    profile = model.profile
    args = model.work.args
    if profile is None:
        return
    if profile.precision == "bf16" and args.get("fp16"):
        model.error(
            _precision_path(model.work, "fp16"),
            "M16",
            f"{profile.name} was trained in bf16: fp16 gives black videos or NaN",
            "use bf16 (deepspeed.bf16.enabled: true, fp16.enabled: false; or args.bf16: true)",
        )
    elif profile.precision == "fp16" and args.get("bf16"):
        model.warn(
            _precision_path(model.work, "bf16"),
            "M16",
            f"{profile.name} was trained in fp16; CogVideoX's README runs it in fp16",
            "use fp16 (deepspeed.fp16.enabled: true, bf16.enabled: false; or args.fp16: true)",
        )


def _t5(model: Model) -> tuple[Path, int] | None:
    found, embedders = model.value(("model", "conditioner_config", "params", "emb_models"))
    if not found or not isinstance(embedders, list):
        return None
    for index, item in enumerate(embedders):
        if isinstance(item, dict) and item.get("target") == T5_TARGET:
            path: Path = (
                "model",
                "conditioner_config",
                "params",
                "emb_models",
                index,
                "params",
                "max_length",
            )
            length = model.int_at(path)
            if length is not None:
                return path, length
            return path, 77  # FrozenT5Embedder's default
    return None


def m17_text_length(model: Model) -> None:
    """M17: the position embedding's `text_length` must equal the T5 `max_length`: the
    network splits its sequence at `context.shape[1]` (dit_video_concat.py:889) while the
    embedding is laid out for `text_length` (dit_video_concat.py:211).  226 for 1.0, 224
    for 1.5 (the official configs)."""
    path = (*POS_EMBED, "text_length")
    text_length = model.int_at(path)
    t5 = _t5(model)
    if text_length is None or t5 is None:
        return
    t5_path, max_length = t5
    if text_length != max_length:
        model.error(
            path,
            "M17",
            f"text_length {text_length} differs from the T5 max_length {max_length} ({dotted(t5_path)})",
            f"set both to {model.profile.text_length if model.profile else max_length}",
        )
    elif model.profile is not None and text_length != model.profile.text_length:
        model.warn(
            path,
            "M17",
            f"{model.profile.name} was trained with text_length {model.profile.text_length}",
            f"use {model.profile.text_length} here and in the T5 max_length",
        )


def m18_heads_divisible_by_mp(model: Model) -> None:
    """M18: SAT splits attention heads and the hidden size across model-parallel ranks
    (sat/mpu/utils.py `divide`: "is not divisible by"); CogVideoX-2B has 30 heads."""
    mp = model.work.args.get("model_parallel_size", 1)
    if not isinstance(mp, int) or mp <= 1:
        return
    for name in ("num_attention_heads", "hidden_size"):
        value = model.int_at((*NETWORK, name))
        if value is not None and value % mp:
            options = [d for d in range(1, 9) if value % d == 0]
            model.error(
                ("args", "model_parallel_size"),
                "M18",
                f"{value} {name.replace('num_', '').replace('_', ' ')} do not split {mp} ways "
                f"(model.network_config.params.{name})",
                f"use a model_parallel_size that divides {value}: {', '.join(map(str, options))}",
            )
            return


def m19_mp_within_node(model: Model) -> None:
    """M19: model-parallel groups are consecutive ranks (R11); a group larger than a node,
    or not aligned with nodes, sends every layer's all-reduce across the network."""
    topology = model.work.topology
    mp = topology.get("model_parallel_size", 1)
    per_node = topology.get("gpus_per_node", 1)
    if mp > 1 and topology.get("nodes", 1) > 1 and (mp > per_node or per_node % mp):
        model.warn(
            ("args", "model_parallel_size"),
            "M19",
            f"model-parallel groups of {mp} span nodes of {per_node} GPUs",
            f"use a model_parallel_size that divides launch.gpus_per_node ({per_node})",
        )


def m20_no_mp_training(model: Model) -> None:
    """M20: CogVideoX does not support model parallel > 1 for training: the adaLN
    parameters are shared, not split, between model-parallel ranks and drift apart
    (maintainers, CogVideo #154)."""
    mp = model.work.args.get("model_parallel_size", 1)
    if model.work.training and isinstance(mp, int) and mp > 1:
        model.error(
            ("args", "model_parallel_size"),
            "M20",
            f"model parallel {mp} is unsupported for CogVideoX training (adaLN parameters are not split)",
            "use model_parallel_size: 1 and scale with data parallel / ZeRO",
        )


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
    if isinstance(rank, int) and rank < 1:
        path = (*LORA, "params", "r") if "r" in params else (*LORA, "target")
        model.error(
            path, "M23", f"LoRA rank r is {rank}: LoraMixin divides lora_alpha by r", "set r (128 or 256)"
        )
    alpha = params.get("lora_alpha", 1)
    if alpha != 1:
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


def m24_image_to_video(model: Model) -> None:
    """M24: an image-to-video network takes the noised image latents concatenated to the
    video latents (diffusion_video.py:172): in_channels = 2 x out_channels exactly when
    `noised_image_input` is true; sampling it needs `args.image2video` (sample_video.py:160)."""
    _, noised = model.value(("model", "noised_image_input"))
    in_channels = model.int_at((*NETWORK, "in_channels"))
    out_channels = model.int_at((*NETWORK, "out_channels"))
    if in_channels is not None and out_channels is not None:
        doubled = in_channels == 2 * out_channels
        if doubled != (noised is True):
            want = 2 * out_channels if noised is True else out_channels
            model.error(
                (*NETWORK, "in_channels"),
                "M24",
                f"in_channels {in_channels} with noised_image_input {str(noised is True).lower()}: "
                f"the network gets {want} channels",
                f"set in_channels: {want}",
            )
    work = model.work
    if work.training or model.profile is None:
        return
    wants = model.profile.image_to_video
    if wants and not work.args.get("image2video"):
        model.error(
            ("args", "image2video"),
            "M24",
            f"{model.profile.name} is an image-to-video model: sampling it without args.image2video "
            "feeds it text-to-video latents",
            "set args.image2video: true (and give prompts as 'text@@image_path')",
        )
    elif not wants and work.args.get("image2video"):
        model.error(
            ("args", "image2video"),
            "M24",
            f"{model.profile.name} is a text-to-video model",
            "remove args.image2video, or use an I2V model",
        )


def m25_patch_size_list(model: Model) -> None:
    """M25: this version of dit_video_concat.py reads `patch_size` as [t, h, w]
    (`patch_size[1:]`, dit_video_concat.py:695); an integer fails when the model is built."""
    found, patch = model.value((*NETWORK, "patch_size"))
    if found and isinstance(patch, int) and not isinstance(patch, bool):
        model.warn(
            (*NETWORK, "patch_size"),
            "M25",
            f"patch_size {patch}: this dit_video_concat.py indexes patch_size[1:] and needs [t, h, w]",
            f"write [1, {patch}, {patch}] (CogVideoX 1.0's own release takes the integer)",
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


def cogvideox_parallel_rules(work: Work) -> None:
    """M18 runs before the topology rules: a world size mp does not divide stops them,
    and the heads are the better reason to give."""
    params = profiles.network_params(work.config.tree)
    if params is not None:
        m18_heads_divisible_by_mp(Model(work, params, profiles.identify(work.config.tree)))


def cogvideox_rules(work: Work) -> None:
    """Every CogVideoX rule, on configs whose network is CogVideoX's DiffusionTransformer."""
    params = profiles.network_params(work.config.tree)
    if params is None:
        return
    model = Model(work, params, profiles.identify(work.config.tree))
    for rule in RULES:
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
