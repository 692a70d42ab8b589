"""Parameter counts by formula (compiler/memory/sizes.py) against the real models built
on the meta device: CogVideoX's DiT with its LoRA (dit_video_concat.py from the
reference folder, read in place), the 3D VAE, and the T5 v1.1 encoder (transformers)."""

from __future__ import annotations

import copy
import sys
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
import yaml
from satc.compiler.memory import sizes
from support import cogvideo_sat, require_module


@pytest.fixture(scope="module")
def reference(request: pytest.FixtureRequest) -> Any:
    require_module("torch")
    require_module("sat")
    folder = cogvideo_sat()
    import torch

    sys.path.insert(0, str(folder))
    patches = pytest.MonkeyPatch()
    # The rotary mixin moves its tables with .cuda() and LoRA moves layers with .to():
    # on the meta device neither has anywhere to go.
    patches.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self)
    patches.setattr(torch.nn.Module, "to", lambda self, *a, **k: self)
    # SAT builds its own one-rank groups when none exist; groups another test of this
    # process left behind (a runtime test, the dry run) would be half of that state.
    import sat.mpu.initialize as mpu_state

    for name in ("_MODEL_PARALLEL_GROUP", "_DATA_PARALLEL_GROUP", "_NODE_GROUP"):
        patches.setattr(mpu_state, name, None)
    request.addfinalizer(patches.undo)
    request.addfinalizer(lambda: sys.path.remove(str(folder)))
    return folder


def _network(reference: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((reference / "configs" / name).read_text())["model"]["network_config"]["params"]


def _build_dit(net: dict[str, Any]) -> tuple[int, int]:
    import dit_video_concat
    import torch
    from omegaconf import OmegaConf

    params = copy.deepcopy(net)
    patch = params["patch_size"]
    params["patch_size"] = [1, patch, patch] if isinstance(patch, int) else patch
    params["transformer_args"] = Namespace(**params["transformer_args"])
    modules = params.pop("modules")
    position = modules["pos_embed_config"].setdefault("params", {})
    for key in ("height_interpolation", "width_interpolation", "time_interpolation"):
        if key in position:  # the 2B config puts them here; DiffusionTransformer passes its own
            params[key] = position.pop(key)
    with torch.device("meta"):
        model = dit_video_concat.DiffusionTransformer(modules=OmegaConf.create(modules), **params)
    total = sum(p.numel() for p in model.parameters())
    lora = sum(p.numel() for n, p in model.named_parameters() if "matrix_" in n)
    return total, lora


def _tiny(net: dict[str, Any], **changes: Any) -> dict[str, Any]:
    tiny = copy.deepcopy(net)
    tiny.update(hidden_size=64, num_layers=2, num_attention_heads=4, time_embed_dim=32)
    tiny.update(num_frames=9, latent_width=12, latent_height=8)
    modules = tiny["modules"]
    modules["pos_embed_config"]["params"]["text_length"] = 6
    if "hidden_size_head" in modules["pos_embed_config"]["params"]:
        modules["pos_embed_config"]["params"]["hidden_size_head"] = 16
    modules["patch_embed_config"]["params"]["text_hidden_size"] = 48
    if "lora_config" in modules:
        modules["lora_config"]["params"]["r"] = 4
    tiny.update(changes)
    return tiny


# Full-size shapes keep every width, head count, patch grid, text length and LoRA rank
# of the official config but build 2 of its layers: SAT allocates its linear layers on
# a real device even inside torch.device("meta") (all 30 layers of 2B take 6 GB of RAM),
# and the count is linear in the layers, which the formula is checked for below.
CASES = {
    "2b-lora": ("cogvideox_2b_lora.yaml", {"num_layers": 2}),
    "5b-lora": ("cogvideox_5b_lora.yaml", {"num_layers": 2}),
    "5b-i2v": ("cogvideox_5b_i2v.yaml", {"num_layers": 2}),
    "1.5-i2v": ("cogvideox1.5_5b_i2v.yaml", {"num_layers": 2}),
    "2b-lora-tiny": ("cogvideox_2b_lora.yaml", {"tiny": True}),
    "5b-lora-tiny-no-affine": ("cogvideox_5b_lora.yaml", {"tiny": True, "elementwise_affine": False}),
    "1.5-i2v-tiny-ofs": ("cogvideox1.5_5b_i2v.yaml", {"tiny": True, "ofs_embed_dim": 24}),
}


@pytest.mark.parametrize("case", CASES)
def test_dit_and_lora_counts_match_the_reference_model(reference: Path, case: str) -> None:
    name, options = CASES[case]
    net = _network(reference, name)
    options = dict(options)
    if options.pop("tiny", False):
        net = _tiny(net, **options)
    else:
        net.update(options)
    total, lora, _, _ = sizes.dit_params(net)
    assert (total, lora) == _build_dit(net)


def test_counts_grow_by_one_layer_and_its_lora_per_layer(reference: Path) -> None:
    net = _network(reference, "cogvideox_5b_lora.yaml")
    h, r, te = net["hidden_size"], net["modules"]["lora_config"]["params"]["r"], net["time_embed_dim"]
    per_layer = sizes.layer_params(h) + sizes.lora_params(h, 1, r) + te * 12 * h + 12 * h + 4 * (h // 48)
    counts = [sizes.dit_params({**net, "num_layers": n})[0] for n in (2, 42)]
    assert counts[1] - counts[0] == 40 * per_layer
    assert counts[1] == 5_702_600_256  # all 42 layers, as SAT reports for CogVideoX-5B + LoRA r128


def test_the_vae_count_matches_the_reference_vae(reference: Path) -> None:
    import torch
    from sgm.util import instantiate_from_config

    config = yaml.safe_load((reference / "configs" / "cogvideox_5b_lora.yaml").read_text())
    first_stage = config["model"]["first_stage_config"]["params"]
    counted = 0
    for part in ("encoder_config", "decoder_config"):
        with torch.device("meta"):
            counted += sum(p.numel() for p in instantiate_from_config(first_stage[part]).parameters())
    assert counted == sizes.VAE_PARAMS_AT_CH128 == sizes.read(config["model"], config.get("data")).vae_params


@pytest.mark.parametrize("size", ["xxl", "base"])
def test_t5_counts_match_transformers(size: str) -> None:
    require_module("transformers")
    import torch
    from transformers import T5Config, T5EncoderModel

    shape = sizes.T5_SHAPES[size]
    config = T5Config(
        vocab_size=shape.vocab,
        d_model=shape.d_model,
        d_ff=shape.d_ff,
        d_kv=shape.d_kv,
        num_layers=shape.layers,
        num_heads=shape.heads,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
    )
    with torch.device("meta"):
        model = T5EncoderModel(config)
    assert sizes.t5_params(shape) == sum(p.numel() for p in model.parameters())
