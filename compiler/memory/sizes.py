"""Model sizes read from the config: the DiT, its LoRA, the frozen T5 and the VAE.

Every count is a formula over `model.network_config.params` (and the conditioner and
first-stage configs), checked in tests against the reference code built on the meta
device.  Nothing here depends on a model family: a config with other shapes gets its
own numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class T5Shape:
    d_model: int
    d_ff: int
    layers: int
    heads: int
    d_kv: int
    vocab: int = 32128
    relative_buckets: int = 32


# The T5 v1.1 encoders (Hugging Face config.json of google/t5-v1_1-*), keyed by the
# size word in `model_dir`: CogVideoX names the checkpoint directory, not its shape.
T5_SHAPES = {
    "small": T5Shape(512, 1024, 8, 6, 64),
    "base": T5Shape(768, 2048, 12, 12, 64),
    "large": T5Shape(1024, 2816, 24, 16, 64),
    "xxl": T5Shape(4096, 10240, 24, 64, 64),
    "xl": T5Shape(2048, 5120, 24, 32, 64),
}
# CogVideoX's 3D VAE (vae_modules.cp_enc_dec, ch 128, ch_mult [1,2,2,4], 3 res blocks,
# z 16): encoder 92,215,456 + decoder 123,368,451 parameters, counted from the reference
# code on the meta device (tests/test_memory_sizes.py holds this number to it).
VAE_PARAMS_AT_CH128 = 92_215_456 + 123_368_451
VAE_REFERENCE_CH = 128
# The VAE halves the resolution once per level after the first and compresses time 4x.
VAE_TIME_COMPRESSION = 4


@dataclass(frozen=True)
class ModelSizes:
    """What the memory model needs to know about one CogVideoX-style model."""

    hidden: int
    layers: int
    heads: int
    dit_params: int  # every DiT parameter, LoRA matrices included
    lora_params: int
    trainable_params: int
    largest_layer_params: int
    text_encoder_params: int
    text_encoder_hidden: int
    text_length: int
    vae_params: int
    vae_channels: int
    vae_context_parallel: int  # first_stage_config.params.cp_size: ranks that split the encode in time
    video_frames: int  # pixel frames of one training sample
    video_height: int
    video_width: int
    latent_input: bool  # the data loader yields latents: no VAE encode while training
    tokens: int  # sequence length of the DiT: latent patches + text
    assumptions: tuple[str, ...]


def _get(tree: Any, *path: str, default: Any = None) -> Any:
    node = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _patch(value: Any) -> tuple[int, int, int]:
    """CogVideoX 1.0 writes `patch_size: 2` (spatial only), 1.5 writes [t, h, w]."""
    if isinstance(value, list) and len(value) == 3 and all(isinstance(v, int) for v in value):
        return value[0], value[1], value[2]
    size = _int(value, 2)
    return 1, size, size


def layer_params(hidden: int, affine: bool = True) -> int:
    """One SAT transformer layer: QKV (3h^2 + 3h), dense (h^2 + h), MLP h->4h->h
    (8h^2 + 5h) and two LayerNorms (4h, only with elementwise_affine): 12h^2 + 13h."""
    return 12 * hidden * hidden + 9 * hidden + (4 * hidden if affine else 0)


def lora_params(hidden: int, layers: int, rank: int) -> int:
    """sat.model.finetune.lora2.LoraMixin: A (r x h) and B (h x r) for the dense
    projection and one pair per Q, K, V of query_key_value: 8 r h per layer."""
    return 8 * rank * hidden * layers


def dit_params(net: dict[str, Any]) -> tuple[int, int, int, int]:
    """(all, LoRA, trainable-when-not-LoRA extras excluded, frozen position table) of
    dit_video_concat.DiffusionTransformer, mixin by mixin."""
    h = _int(net.get("hidden_size"), 1920)
    layers = _int(net.get("num_layers"), 30)
    heads = _int(net.get("num_attention_heads"), 30)
    te = _int(net.get("time_embed_dim"), h)
    pt, ph, pw = _patch(net.get("patch_size"))
    patch = pt * ph * pw
    modules = net.get("modules") if isinstance(net.get("modules"), dict) else {}
    affine = net.get("elementwise_affine", True) is not False
    frames = (_int(net.get("num_frames"), 49) - 1) // _int(net.get("time_compressed_rate"), 4) + 1
    grid = (_int(net.get("latent_height"), 60) // ph) * (_int(net.get("latent_width"), 90) // pw) * frames
    transformer = layers * layer_params(h, affine) + (2 * h if affine else 0)  # + final_layernorm
    # time_embed: Linear(h, te) + Linear(te, te)
    time_embed = h * te + te + te * te + te
    ofs = net.get("ofs_embed_dim")
    ofs_embed = 2 * (ofs * ofs + ofs) if isinstance(ofs, int) and ofs > 0 else 0
    # ImagePatchEmbeddingMixin: proj Linear(c_in * patch, h) + text_proj Linear(text_hidden, h)
    text_hidden = _get(modules, "patch_embed_config", "params", "text_hidden_size")
    patch_embed = _int(net.get("in_channels"), 16) * patch * h + h
    if isinstance(text_hidden, int):
        patch_embed += text_hidden * h + h
    # AdaLNMixin: per layer Linear(te, 12h) and, with qk_ln, two LayerNorms over a head
    qk_ln = _get(modules, "adaln_layer_config", "params", "qk_ln", default=True) is not False
    adaln = layers * (te * 12 * h + 12 * h)
    if qk_ln and affine:
        adaln += layers * 2 * 2 * (h // heads)
    # FinalLayerMixin: LayerNorm, Linear(h, patch * c_out), adaLN Linear(te, 2h)
    final = (2 * h if affine else 0) + h * patch * _int(net.get("out_channels"), 16)
    final += patch * _int(net.get("out_channels"), 16) + te * 2 * h + 2 * h
    # Position: Basic*PositionEmbeddingMixin owns a frozen (text + patches) x h table and
    # replaces SAT's; with rotary, SAT keeps its max_sequence_length x h table and the
    # mixin adds a learnable (patches + text) x h table only when asked.
    pos = _dict(_get(modules, "pos_embed_config"))
    pos_params = _dict(pos.get("params"))
    text_length = _int(pos_params.get("text_length"), 226)
    frozen_table = 0
    if "Rotary" in str(pos.get("target", "")):
        position = _int(_get(net, "transformer_args", "max_sequence_length"), 64) * h
        if pos_params.get("learnable_pos_embed"):
            position += (grid + text_length) * h
    else:
        frozen_table = position = (grid + text_length) * h
    lora_rank = _get(modules, "lora_config", "params", "r")
    lora = lora_params(h, layers, lora_rank) if isinstance(lora_rank, int) and lora_rank > 0 else 0
    total = transformer + time_embed + ofs_embed + patch_embed + adaln + final + position + lora
    return total, lora, frozen_table, layer_params(h, affine) + te * 12 * h


def t5_params(shape: T5Shape) -> int:
    """T5EncoderModel: token embedding, per layer self-attention (4 d x heads*d_kv) +
    gated-GELU FFN (3 d x d_ff) + 2 RMSNorms, the relative-position bias, final norm."""
    inner = shape.heads * shape.d_kv
    per_layer = 4 * shape.d_model * inner + 3 * shape.d_model * shape.d_ff + 2 * shape.d_model
    bias = shape.relative_buckets * shape.heads
    return shape.vocab * shape.d_model + shape.layers * per_layer + bias + shape.d_model


def _t5(model: dict[str, Any]) -> tuple[T5Shape, int, str]:
    embedders = _get(model, "conditioner_config", "params", "emb_models", default=[])
    for item in embedders if isinstance(embedders, list) else []:
        if isinstance(item, dict) and "T5" in str(item.get("target", "")):
            params = _dict(item.get("params"))
            name = str(params.get("model_dir", "t5-v1_1-xxl")).lower()
            length = _int(params.get("max_length"), 226)
            for word in ("xxl", "xl", "large", "base", "small"):
                if word in name.rsplit("/", 1)[-1]:
                    return T5_SHAPES[word], length, f"T5 v1.1 {word.upper()} encoder (from model_dir {name})"
            return T5_SHAPES["xxl"], length, f"T5 v1.1 XXL encoder assumed (model_dir {name} names no size)"
    return T5_SHAPES["xxl"], 226, "T5 v1.1 XXL encoder assumed (no T5 in conditioner_config)"


def _vae(model: dict[str, Any]) -> tuple[int, int]:
    encoder = _get(model, "first_stage_config", "params", "encoder_config", "params", default={})
    ch = _int(_get(encoder, "ch"), VAE_REFERENCE_CH)
    # Convolution weights grow with the square of the channel width.
    return round(VAE_PARAMS_AT_CH128 * (ch / VAE_REFERENCE_CH) ** 2), ch


def _video(data: Any, net: dict[str, Any]) -> tuple[int, int, int, str]:
    """Pixel frames x height x width of one sample: the data loader's video_size and
    max_num_frames when given, else the DiT's latent grid times the VAE's compression."""
    params = _get(data, "params", default={})
    size = params.get("video_size") if isinstance(params, dict) else None
    frames = params.get("max_num_frames") if isinstance(params, dict) else None
    if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        height, width = size
        source = "data.params.video_size"
    else:
        height, width = _int(net.get("latent_height"), 60) * 8, _int(net.get("latent_width"), 90) * 8
        source = "the latent grid x 8"
    if not (isinstance(frames, int) and frames > 0):
        frames = _int(net.get("num_frames"), 49)
    return frames, height, width, source


def read(model: Any, data: Any, trains_lora_only: bool | None = None) -> ModelSizes:
    """The sizes of the model in `model:` trained on the videos of `data:`."""
    model = model if isinstance(model, dict) else {}
    net = _get(model, "network_config", "params", default={})
    net = net if isinstance(net, dict) else {}
    total, lora, frozen_table, largest = dit_params(net)
    h = _int(net.get("hidden_size"), 1920)
    layers = _int(net.get("num_layers"), 30)
    heads = _int(net.get("num_attention_heads"), 30)
    t5, text_length, t5_note = _t5(model)
    vae, vae_ch = _vae(model)
    frames, height, width, video_source = _video(data, net)
    pt, ph, pw = _patch(net.get("patch_size"))
    tcr = _int(net.get("time_compressed_rate"), VAE_TIME_COMPRESSION)
    latent_frames = math.ceil(((frames - 1) // tcr + 1) / pt)
    patches = latent_frames * (height // 8 // ph) * (width // 8 // pw)
    not_trainable = model.get("not_trainable_prefixes")
    lora_only = bool(lora) and isinstance(not_trainable, list) and "all" in not_trainable
    if trains_lora_only is not None:
        lora_only = trains_lora_only
    trainable = lora if lora_only else total - frozen_table
    return ModelSizes(
        hidden=h,
        layers=layers,
        heads=heads,
        dit_params=total,
        lora_params=lora,
        trainable_params=trainable,
        largest_layer_params=largest,
        text_encoder_params=t5_params(t5),
        text_encoder_hidden=t5.d_model,
        text_length=text_length,
        vae_params=vae,
        vae_channels=vae_ch,
        vae_context_parallel=_int(_get(model, "first_stage_config", "params", "cp_size"), 1),
        video_frames=frames,
        video_height=height,
        video_width=width,
        latent_input=model.get("latent_input") is True,
        tokens=patches + text_length,
        assumptions=(
            t5_note,
            f"video {frames} x {height} x {width} from {video_source}; "
            f"{latent_frames} latent frame(s) x {height // 8 // ph} x {width // 8 // pw} patches "
            f"+ {text_length} text tokens = {patches + text_length} tokens",
            "trains the LoRA matrices only (not_trainable_prefixes: ['all'])"
            if lora_only
            else "trains every DiT parameter but the frozen position table",
        ),
    )
