"""One function per component of a rank's GPU memory, in bytes.

Model states follow DeepSpeed's own code (`estimate_zero2_model_states_mem_needs`,
`estimate_zero3_model_states_mem_needs` in deepspeed/runtime/zero/): per trainable
parameter 2 bytes of 16-bit weights, 2 of 16-bit gradients, 4 of fp32 gradients, 4 of
fp32 master weights and K of optimizer state, with ZeRO partitioning over the
data-parallel ranks.  The ZeRO paper (Rajbhandari et al. 2020) counts 2 + 2 + 12 and no
fp32 gradient; DeepSpeed's docs quote the paper.  satc uses the code's 18 (+ K - 8),
because that is what a rank allocates (stage_1_and_2.py builds the fp32 gradient of its
partition at step time).  Activations follow Korthikanti et al. 2022 (Megatron-LM's
theoretical_memory_usage.py) for a transformer layer with flash attention.
"""

from __future__ import annotations

GIB = 1024**3

# Optimizer state bytes per trainable parameter (fp32).
OPTIMIZER_STATE_BYTES = {
    "adam": 8,  # exp_avg + exp_avg_sq
    "fusedemaadam": 12,  # sat.ops.FusedEmaAdam: exp_avg, exp_avg_sq and the EMA shadow
    "sgd": 4,  # momentum
}
# DeepSpeed's reduce_bucket_size default (elements) when the config leaves it out.
DEFAULT_REDUCE_BUCKET = 500_000_000
# Activation bytes per token per hidden unit of one CogVideoX layer, for 16-bit values:
# Megatron's 34 (attention 11, MLP 19, two LayerNorms 4; flash attention keeps no s x s
# scores) + 4 for the two AdaLN-modulated inputs (attention and MLP) + 4 for the q and
# k LayerNorm outputs (qk_ln).
LAYER_ACTIVATION_FACTOR = 42
# Feature maps of the VAE encoder alive at its peak, at full resolution and
# vae_channels wide: the residual input and the block output of a ResnetBlock3D, plus
# the causal padding copy of the conv input and cuDNN's workspace, taken together as
# half a map.  It runs under no_grad, so nothing is kept for backward.
VAE_LIVE_MAPS = 2.5
# What the encode leaves reserved once it returns, independent of the batch: cuDNN's
# workspace for the full-resolution Conv3d and the caching allocator's blocks of those
# maps, which the DiT's smaller activations reuse only in part.  The one constant of
# the model set from CogVideoX's published figures (docs/memory.md), in maps so that it
# scales with the video.
VAE_RESERVED_MAPS = 5.5


def weights(params: int, bytes_per_value: int, shards: int = 1) -> float:
    """Parameters resident on the rank: params x bytes / shards (ZeRO-3 shards them)."""
    return params * bytes_per_value / shards


def gradients_16bit(trainable: int, stage: int, dp: int, offload: bool) -> float:
    """16-bit gradients: whole on every rank for stages 0-1, partitioned from stage 2;
    with the optimizer offloaded they go to the CPU once reduced (only buckets stay)."""
    if offload:
        return 0.0
    return 2 * trainable / (dp if stage >= 2 else 1)


def gradients_fp32(trainable: int, stage: int, dp: int, offload: bool) -> float:
    """The fp32 gradient of the rank's partition (DeepSpeed's `4_grads_32bit`)."""
    return 0.0 if offload else 4 * trainable / (dp if stage >= 1 else 1)


def master_weights(trainable: int, stage: int, dp: int, offload: bool) -> float:
    """fp32 master copy of the trainable parameters (`4_params_32bit`)."""
    return 0.0 if offload else 4 * trainable / (dp if stage >= 1 else 1)


def optimizer_states(trainable: int, state_bytes: int, stage: int, dp: int, offload: bool) -> float:
    """Optimizer moments in fp32 (`8_optimizer_states_32bit` for Adam)."""
    return 0.0 if offload else state_bytes * trainable / (dp if stage >= 1 else 1)


def zero_buckets(trainable: int, stage: int, reduce_bucket: int) -> float:
    """Stage 1-2 gather gradients into reduce buckets of reduce_bucket_size elements
    (16-bit) before reducing them; a model smaller than a bucket fills only itself."""
    return 2 * min(reduce_bucket, trainable) if stage in (1, 2) else 0.0


def zero3_gathered_layer(largest_layer: int, stage: int) -> float:
    """ZeRO-3 gathers the largest layer whole in 16-bit (`largest_layer_memory`, whose
    4 bytes count weights and gradients)."""
    return 4 * largest_layer if stage >= 3 else 0.0


def dit_activations(
    tokens: int, micro: int, hidden: int, layers: int, bytes_per_value: int, checkpointed: bool
) -> float:
    """Activations of the DiT for one micro-batch (b = micro, s = tokens, h = hidden).

    Without checkpointing every layer keeps 42 s b h (16-bit).  With SAT's
    checkpoint_activations (one layer per checkpoint) each layer keeps only its 16-bit
    input (2 s b h) and backward recomputes one layer at a time (42 s b h)."""
    sbh = tokens * micro * hidden * bytes_per_value / 2
    layer = LAYER_ACTIVATION_FACTOR * sbh
    if checkpointed:
        return layers * 2 * sbh + layer
    return layers * layer


def text_encoder_activations(text_length: int, micro: int, d_model: int, bytes_per_value: int) -> float:
    """T5 runs under no_grad: a few hidden states of text_length x d_model alive at once
    (hidden, attention output, the FFN's 2.5 x wider gated input) -> ~8 per token."""
    return 8 * text_length * micro * d_model * bytes_per_value


def vae_encode(
    frames: int, height: int, width: int, channels: int, micro: int, bytes_per_value: int
) -> float:
    """The VAE encodes the whole micro-batch of videos at once (diffusion_video.py,
    encode_first_stage): VAE_LIVE_MAPS maps of channels x frames x height x width."""
    return VAE_LIVE_MAPS * micro * channels * frames * height * width * bytes_per_value


def vae_reserved(frames: int, height: int, width: int, channels: int, bytes_per_value: int) -> float:
    """Memory the encode leaves reserved (see VAE_RESERVED_MAPS), once per rank."""
    return VAE_RESERVED_MAPS * channels * frames * height * width * bytes_per_value
