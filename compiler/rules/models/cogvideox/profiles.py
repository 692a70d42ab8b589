"""CogVideoX's released models as plain data, and how a config says which one it is.

Each number is read from CogVideoX's official configs (`configs/cogvideox*.yaml`), its
SAT README, or a maintainer's statement cited beside it.  A config is matched by the
shape of its transformer (hidden size, layers, heads: what the checkpoint fixes), the
temporal patch (1.5 patches time by 2) and whether the network takes an image
(in_channels 2 x out_channels, or `noised_image_input`).  Anything else is a user's own
model: it gets the generic checks only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NETWORK_TARGET = "dit_video_concat.DiffusionTransformer"
NETWORK = ("model", "network_config", "params")


@dataclass(frozen=True)
class Profile:
    name: str
    version: str  # "1.0" or "1.5"
    hidden_size: int
    num_layers: int
    num_attention_heads: int
    image_to_video: bool
    # Trained in this precision; the other one gives black videos or NaN (CogVideo #593, #637).
    precision: str
    # Position embedding text length = T5 max_length (configs: 226 for 1.0, 224 for 1.5).
    text_length: int
    # Video frames are frame_step*N + 1 with 1 <= N <= max_frame_n (CogVideo PR #678).
    frame_step: int
    max_frame_n: int
    # `sampling_num_frames` counts latent frames (SAT README, inference.yaml comments).
    sampling_num_frames: tuple[int, ...]
    # 1.0 samples and trains at one size only; 1.5 at any multiple of 16 inside its grid.
    fixed_size: tuple[int, int] | None


def _v10(name: str, hidden: int, layers: int, heads: int, i2v: bool, precision: str) -> Profile:
    return Profile(name, "1.0", hidden, layers, heads, i2v, precision, 226, 8, 6, (13, 11, 9), (480, 720))


def _v15(name: str, i2v: bool) -> Profile:
    return Profile(name, "1.5", 3072, 42, 48, i2v, "bf16", 224, 16, 10, (22, 42), None)


PROFILES: tuple[Profile, ...] = (
    _v10("CogVideoX-2B", 1920, 30, 30, False, "fp16"),
    _v10("CogVideoX-5B", 3072, 42, 48, False, "bf16"),
    _v10("CogVideoX-5B-I2V", 3072, 42, 48, True, "bf16"),
    _v15("CogVideoX1.5-5B", False),
    _v15("CogVideoX1.5-5B-I2V", True),
)


def network_params(tree: dict[str, Any]) -> dict[str, Any] | None:
    """`model.network_config.params` when the network is CogVideoX's DiffusionTransformer."""
    model = tree.get("model")
    network = model.get("network_config") if isinstance(model, dict) else None
    if not isinstance(network, dict) or network.get("target") != NETWORK_TARGET:
        return None
    params = network.get("params")
    return params if isinstance(params, dict) else None


def temporal_patch(params: dict[str, Any]) -> int:
    patch = params.get("patch_size")
    if isinstance(patch, list) and len(patch) == 3 and isinstance(patch[0], int):
        return patch[0]
    return 1


def is_image_to_video(tree: dict[str, Any], params: dict[str, Any]) -> bool:
    model = tree.get("model") or {}
    if model.get("noised_image_input") is True:
        return True
    return bool(params.get("in_channels") == 2 * _int(params.get("out_channels"), 0) > 0)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def identify(tree: dict[str, Any]) -> Profile | None:
    params = network_params(tree)
    if params is None:
        return None
    shape = (params.get("hidden_size"), params.get("num_layers"), params.get("num_attention_heads"))
    version = "1.5" if temporal_patch(params) > 1 else "1.0"
    i2v = is_image_to_video(tree, params)
    for profile in PROFILES:
        same_shape = shape == (profile.hidden_size, profile.num_layers, profile.num_attention_heads)
        if same_shape and profile.version == version and profile.image_to_video == i2v:
            return profile
    return None
