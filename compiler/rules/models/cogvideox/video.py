"""Frames, sizes and sampling shapes: what the 3D VAE and the position embedding take."""

from __future__ import annotations

from typing import Any

from ....project import select
from ....tree import yaml_text
from . import profiles
from .context import DATA, Model, Path
from .profiles import NETWORK

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
        model.error(path, "M9", f"expected {expected}, got {yaml_text(value)}", f"write {expected}")


def frames_reshaped(model: Model) -> str | None:
    """Why the frame count is the project's business: its engine changes it before the 3D
    VAE (the `frames_to_vae.reshaped` fact) or satc cannot read how; None where the frames
    reach the VAE as the data gave them (CogVideoX) or no engine was found (satc then
    judges by CogVideoX's engine, as M24 does)."""
    engine = select.for_config(model.work.config).engine
    if engine is None:
        return None
    fact = engine.get("frames_to_vae") or {}
    if "direct" in fact:
        return None
    if "reshaped" in fact:
        return f"this project changes the frame count before it ({fact['reshaped']})"
    return f"satc cannot read how {engine.get('target')} hands frames to it (no encode_first_stage satc can read)"


def m10_frames_4k_plus_1(model: Model) -> None:
    """M10: the 3D VAE compresses time 4x after the first frame: video frames are 4k+1
    (`compressed_num_frames = (num_frames - 1) // time_compressed_rate + 1`,
    dit_video_concat.py:797; CogVideo PR #678).  Guards an engine whose
    `encode_first_stage` hands the data's frames to the VAE unchanged (diffusion_video.py:244
    at e519ece); where the project's engine changes the frame count first, a warning.
    The network's own `num_frames` never reaches the VAE: the network floors it to a
    latent frame count, so an off-grid value sizes the position grid as the 4k+1 below it
    does (SanGilbert/CogVideo@58f6a87 trains with 52): a warning."""
    rate = model.int_at((*NETWORK, "time_compressed_rate")) or 4
    reshaped = frames_reshaped(model)
    for path in ((*NETWORK, "num_frames"), (*DATA, "max_num_frames")):
        frames = model.int_at(path)
        if frames is None or frames < 1 or not (frames - 1) % rate:
            continue
        if path == (*NETWORK, "num_frames"):
            latent = (frames - 1) // rate + 1
            model.warn(
                path,
                "M10",
                f"{frames} frames: the network floors it to (num_frames - 1) // {rate} + 1 = {latent} latent "
                f"frames, the position grid of {rate * (latent - 1) + 1} video frames: the data's clips are "
                f"what the 3D VAE takes ({rate}k+1)",
                f"write {rate * (latent - 1) + 1}, the frame count it stands for",
            )
            continue
        if reshaped is not None:
            model.warn(
                path,
                "M10",
                f"{frames} frames: CogVideoX's 3D VAE takes {rate}k+1 video frames, but {reshaped}: "
                "left to its code",
            )
            continue
        model.error(
            path,
            "M10",
            f"{frames} frames: the 3D VAE needs {rate}k+1 video frames",
            f"use {suggested_frames(model, path, frames, rate)}",
        )


def suggested_frames(model: Model, path: tuple[str, ...], frames: int, rate: int = 4) -> str:
    """The frame counts nearest to `frames` that every frame rule accepts: rate*k+1 (M10),
    trained on (M11, when the model is known) and, for the data, within the network's
    num_frames (M12): one source, so the hints of those rules never disagree."""
    profile = model.profile
    if profile is not None:
        choices = [profile.frame_step * k + 1 for k in range(1, profile.max_frame_n + 1)]
    else:
        low = (frames - 1) // rate * rate + 1
        choices = [low, low + rate] if low >= 1 else [1 + rate]
    network = model.int_at((*NETWORK, "num_frames"))
    if path == (*DATA, "max_num_frames") and network is not None:
        choices = [c for c in choices if c <= network] or [network]
    best = min(abs(c - frames) for c in choices)
    return " or ".join(str(c) for c in sorted(c for c in choices if abs(c - frames) == best))


def m11_trained_frames(model: Model) -> None:
    """M11: the models are trained on 8N+1 frames with N <= 6 (1.0) and 16N+1 with
    N <= 10 (1.5) (CogVideo PR #678)."""
    profile = model.profile
    if profile is None or frames_reshaped(model) is not None:
        return  # trained frame counts are counted at the VAE; the project's engine changes them
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
    `(num_frames - 1) // time_compressed_rate + 1` latent frames (dit_video_concat.py:797;
    2B's table is fixed, the RoPE grid of the others is sliced and cannot grow).  Counted in
    latent frames, as the network does: a network num_frames of 50 covers the 13 latent
    frames of a 49-frame clip, and the hint is the 4k+1 count M10 accepts."""
    network = model.int_at((*NETWORK, "num_frames"))
    data = model.int_at((*DATA, "max_num_frames"))
    latent = model.latent_frames()
    rate = model.int_at((*NETWORK, "time_compressed_rate")) or 4
    if network is None or data is None or latent is None or data < 1 or data == network:
        return
    if frames_reshaped(model) is not None:
        return  # the project's engine changes the data's frame count before the network sees it
    data_latent = (data - 1) // rate + 1
    if data_latent == latent:
        return
    grid = rate * (latent - 1) + 1
    path = (*DATA, "max_num_frames")
    where = (
        f"model.network_config.params.num_frames is {network}: a grid of {latent} latent frames "
        f"({grid} video frames), the clips give {data_latent}"
    )
    if data_latent > latent:
        model.error(path, "M12", f"{data} frames do not fit the network: {where}", f"use {grid}")
    else:
        model.warn(path, "M12", f"disagrees with the network: {where}", f"use {grid} unless you mean it")


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
        fixed_size = model.profile.fixed_size if model.profile is not None else None
        near = list(fixed_size) if fixed_size else [_near16(height), _near16(width)]
        model.error(
            path,
            "M13",
            f"{height}x{width}: both sides must be multiples of 16 (VAE 8x, patch 2)",
            f"use video_size: {near}",
        )
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
    latent of shape (T, C, H/8, W/8)), and they must fit the network's position grid of
    (num_frames - 1) / 4 + 1 latent frames, patched by patch_size[0] (dit_video_concat.py:797)."""
    work = model.work
    frames = work.args.get("sampling_num_frames")
    if work.training or _not_a_count(model, "sampling_num_frames", "M14"):
        return
    if not isinstance(frames, int):
        return
    path = ("args", "sampling_num_frames")
    profile = model.profile
    grid = model.latent_frames()
    patch = profiles.temporal_patch(model.params)
    beyond = grid is not None and frames // patch > grid
    if profile is not None and frames not in profile.sampling_num_frames:
        allowed = " or ".join(str(v) for v in profile.sampling_num_frames)
        hint = f"set args.sampling_num_frames: {profile.sampling_num_frames[0]}"
        latent = (frames - 1) // 4 + 1
        if (frames - 1) % 4 == 0 and latent in profile.sampling_num_frames:
            hint += f" (it counts latent frames: {frames} video frames are {latent})"
        message = f"{profile.name} samples {allowed} latent frames; got {frames}"
        # The list is the maintainers' advice; the code fails only past the position grid or
        # where the patch embedding cannot fold the frames into groups of patch_size[0]
        # (dit_video_concat.py:41).  Fewer frames run (NJU-PCALab/STAR samples 7 with
        # CogVideoX-5B: cogvideox-based/sat/configs/cogvideox_5b/cogvideox_5b_infer_sr.yaml:8).
        if beyond or frames % patch:
            model.error(path, "M14", message, hint)
        else:
            model.warn(path, "M14", f"{message}: the network takes it, but untested by its maintainers", hint)
        return
    if beyond and grid is not None:
        network = model.int_at((*NETWORK, "num_frames"))
        model.error(
            path,
            "M14",
            f"{frames} latent frames do not fit the network's {grid} (num_frames {network})",
            f"sample at most {grid * patch} latent frames, or raise model.network_config.params.num_frames",
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
    latent_h = model.int_at((*NETWORK, "latent_height"))
    latent_w = model.int_at((*NETWORK, "latent_width"))
    path = ("args", "sampling_image_size")
    if size is None:
        return
    if not (isinstance(size, list) and len(size) >= 2 and all(type(side) is int for side in size[:2])):
        # The YAML path sets it as written (argparse's type never runs): the code takes the
        # first two items as sides and divides them (sample_video.py:199-200), so a number,
        # a short list or text sides fail there (TypeError, IndexError) once the model loaded.
        example = list(profile.fixed_size or (768, 1360))  # 1.5's shipped inference.yaml
        model.error(
            path,
            "M15",
            f"{yaml_text(size)} is not a [height, width] list of integers: sampling reads its first two "
            "items as the sides and divides them (sample_video.py:199-200); this fails there",
            f"set args.sampling_image_size: [{example[0]}, {example[1]}] (two integers, no quotes)",
        )
        return
    height, width = size[:2]  # the code reads the first two (sample_video.py:199)
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
        model.error(
            path,
            "M15",
            f"{height}x{width}{given}: both sides must be multiples of 16",
            f"set args.sampling_image_size: [{_near16(height)}, {_near16(width)}]",
        )
    elif latent_h and latent_w and (height // 8 > latent_h or width // 8 > latent_w):
        model.error(
            path,
            "M15",
            f"{height}x{width}{given} exceeds the latent grid {latent_h}x{latent_w}",
            f"at most {latent_h * 8}x{latent_w * 8} (latent grid x 8)",
        )


def m27_latent_channels(model: Model) -> None:
    """M27: sampling draws latents of `args.latent_channels` channels (sample_video.py:157),
    which must be the network's `out_channels` (16 for every CogVideoX model); SAT's
    default is 32."""
    work = model.work
    out_channels = model.int_at((*NETWORK, "out_channels"))
    channels = work.args.get("latent_channels")
    if work.training or _not_a_count(model, "latent_channels", "M27"):
        return
    if out_channels is None or channels == out_channels:
        return
    given = "" if work.given("args", "latent_channels") else " (the default)"
    model.error(
        ("args", "latent_channels"),
        "M27",
        f"latent_channels {channels}{given} differs from the network's out_channels {out_channels}",
        f"set args.latent_channels: {out_channels}",
    )


def _not_a_count(model: Model, key: str, rule: str) -> bool:
    """Sampling builds the latent's shape from ``args.<key>`` (sample_video.py:157,
    ``shape = (T, C, H // F, W // F)``, drawn by ``torch.randn(batch_size, *shape)``): the
    YAML path sets values as written (argparse's type=int never runs), so text such as
    ``'13'`` or a float reaches torch and fails (TypeError) after the model has loaded.  An
    error, named for the rule that reads the count; True when it fired."""
    value = model.work.args.get(key)
    if value is None or isinstance(value, bool | int):
        return False  # a bool is the rule's own case (a count of True is judged as 1)
    count = _as_count(value)
    model.error(
        ("args", key),
        rule,
        f"{key} {yaml_text(value)} is not an integer: sampling builds the latent's shape from it "
        "(sample_video.py:157) and torch fails on it (TypeError) once the model has loaded",
        f"write args.{key}: {count} (an integer, no quotes)" if count else f"write an integer for args.{key}",
    )
    return True


def _as_count(value: object) -> str | None:
    """The integer a non-integer count spells (``'13'``, ``13.0``, ``[13]``), if it spells one."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, str | float | int):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return str(int(number)) if number == number and abs(number) != float("inf") else None


def _near16(side: int) -> int:
    """The multiple of 16 nearest a side (at least 16)."""
    return max(16, (side + 8) // 16 * 16)
