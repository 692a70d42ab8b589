"""Add the components up for one rank, judge them against the GPU, and say what fits."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from . import components as c
from .gpus import GPU_GIB, SAFE_FRACTION
from .sizes import ModelSizes

# CUDA context, NCCL communicators and cuBLAS/cuDNN handles: allocated outside PyTorch's
# caching allocator, but on the card.
FRAMEWORK_GIB = 2.0


@dataclass(frozen=True)
class Setup:
    """The parts of a plan the memory model reads."""

    bytes_per_value: int  # 2 for fp16/bf16, 4 for fp32
    precision: str
    training: bool
    stage: int
    offload_optimizer: bool
    offload_params: bool
    optimizer: str
    state_bytes: int
    micro: int
    grad_accum: int
    data_parallel: int
    world: int
    gpus_per_node: int
    checkpointed: bool
    reduce_bucket: int
    gpu: str | None
    gpu_gib: float | None
    vae_encodes: bool = True  # False when the loader yields latents (model.latent_input)


@dataclass(frozen=True)
class Estimate:
    setup: Setup
    sizes: ModelSizes
    components: dict[str, float]  # bytes
    formulas: dict[str, str]
    assumptions: tuple[str, ...]

    @property
    def total(self) -> float:
        return sum(self.components.values())

    @property
    def per_gpu_gib(self) -> float:
        return self.total / c.GIB

    @property
    def fits(self) -> bool | None:
        if self.setup.gpu_gib is None:
            return None
        return self.per_gpu_gib <= SAFE_FRACTION * self.setup.gpu_gib

    @property
    def verdict(self) -> str:
        gpu = self.setup.gpu_gib
        if gpu is None:
            return "unknown: set launch.gpu (e.g. A100-80G) or launch.gpu_memory_gb"
        share = self.per_gpu_gib / gpu
        if share > 1:
            return f"does not fit: {share:.0%} of {gpu:g} GiB"
        if share > SAFE_FRACTION:
            return f"at risk: {share:.0%} of {gpu:g} GiB (above {SAFE_FRACTION:.0%}, where real runs start to OOM)"
        return f"fits: {share:.0%} of {gpu:g} GiB, {gpu - self.per_gpu_gib:.1f} GiB headroom"


def estimate(setup: Setup, sizes: ModelSizes) -> Estimate:
    s, z = setup, sizes
    b = s.bytes_per_value
    dp, stage = s.data_parallel, s.stage
    trainable = z.trainable_params if s.training else 0
    frozen_dit = z.dit_params - trainable
    shards = dp if stage >= 3 else 1
    comp: dict[str, float] = {}
    form: dict[str, str] = {}

    def add(name: str, value: float, formula: str) -> None:
        comp[name] = value
        form[name] = formula

    # ZeRO-3 with offload_param keeps the DiT's weights in CPU memory between uses.
    on_cpu = stage >= 3 and s.offload_params
    add(
        "dit_trainable_weights",
        0.0 if on_cpu else c.weights(trainable, b, shards),
        "0 (offload_param)" if on_cpu else f"{trainable:,} x {b} B" + (f" / dp {dp}" if shards > 1 else ""),
    )
    add(
        "dit_frozen_weights",
        0.0 if on_cpu else c.weights(frozen_dit, b, shards),
        "0 (offload_param)" if on_cpu else f"{frozen_dit:,} x {b} B" + (f" / dp {dp}" if shards > 1 else ""),
    )
    add(
        "text_encoder_weights",
        c.weights(z.text_encoder_params, b),
        f"T5 {z.text_encoder_params:,} x {b} B, on every GPU",
    )
    add("vae_weights", c.weights(z.vae_params, b), f"VAE {z.vae_params:,} x {b} B, on every GPU")
    if s.training:
        part = f" / dp {dp}" if stage >= 1 else ""
        add(
            "gradients_16bit",
            c.gradients_16bit(trainable, stage, dp, s.offload_optimizer),
            "0 (offloaded once reduced)"
            if s.offload_optimizer
            else "2 B x trainable" + (f" / dp {dp}" if stage >= 2 else ""),
        )
        add(
            "gradients_fp32",
            c.gradients_fp32(trainable, stage, dp, s.offload_optimizer),
            "0 (offloaded)" if s.offload_optimizer else f"4 B x trainable{part}",
        )
        add(
            "master_weights_fp32",
            c.master_weights(trainable, stage, dp, s.offload_optimizer),
            "0 (offloaded)" if s.offload_optimizer else f"4 B x trainable{part}",
        )
        add(
            "optimizer_states",
            c.optimizer_states(trainable, s.state_bytes, stage, dp, s.offload_optimizer),
            "0 (offloaded)"
            if s.offload_optimizer
            else f"{s.state_bytes} B ({s.optimizer}) x trainable{part}",
        )
        add(
            "zero_buckets",
            c.zero_buckets(trainable, stage, s.reduce_bucket),
            f"2 B x min(reduce_bucket_size {s.reduce_bucket:,}, trainable)"
            if stage in (1, 2)
            else "0 (no reduce bucket at this stage)",
        )
        add(
            "zero3_gathered_layer",
            c.zero3_gathered_layer(z.largest_layer_params, stage),
            f"4 B x largest layer {z.largest_layer_params:,}" if stage >= 3 else "0 (ZeRO-3 only)",
        )
    acts = c.dit_activations(z.tokens, s.micro, z.hidden, z.layers, b, s.checkpointed and s.training)
    if not s.training:
        # Sampling keeps no activations for backward: one layer's worth at a time.
        acts = c.LAYER_ACTIVATION_FACTOR * z.tokens * s.micro * z.hidden * b / 2
    add(
        "dit_activations",
        acts,
        (
            f"{z.layers} layers x 2 s b h + 42 s b h (checkpointed)"
            if s.checkpointed and s.training
            else f"{z.layers} x 42 s b h"
        )
        + f", s {z.tokens:,}, b {s.micro}, h {z.hidden}",
    )
    add(
        "text_encoder_activations",
        c.text_encoder_activations(z.text_length, s.micro, z.text_encoder_hidden, b),
        f"8 x {z.text_length} x b {s.micro} x {z.text_encoder_hidden}",
    )
    cp = f" / cp_size {z.vae_context_parallel}" if z.vae_context_parallel > 1 else ""
    vae = (
        0.0
        if (s.training and not s.vae_encodes)
        else c.vae_encode(z.video_frames, z.video_height, z.video_width, z.vae_channels, s.micro, b)
        / z.vae_context_parallel
    )
    add(
        "vae_encode_peak",
        vae,
        "0 (latent_input: the loader yields latents)"
        if vae == 0
        else ("" if s.training else "decode of the samples, taken as the encode: ")
        + f"{c.VAE_LIVE_MAPS} x b {s.micro} x {z.vae_channels} ch x {z.video_frames} x {z.video_height} x {z.video_width} x {b} B"
        + cp,
    )
    reserved = (
        0.0
        if vae == 0
        else c.vae_reserved(z.video_frames, z.video_height, z.video_width, z.vae_channels, b)
        / z.vae_context_parallel
    )
    add(
        "vae_reserved_after_encode",
        reserved,
        "0 (no encode)"
        if reserved == 0
        else f"{c.VAE_RESERVED_MAPS} x {z.vae_channels} ch x {z.video_frames} x {z.video_height} x {z.video_width} x {b} B"
        + cp,
    )
    add("framework", FRAMEWORK_GIB * c.GIB, f"{FRAMEWORK_GIB} GiB CUDA context, NCCL, cuBLAS/cuDNN")
    assumptions = (
        *z.assumptions,
        f"{s.precision} weights and activations ({b} B a value)",
        f"ZeRO stage {stage}"
        + (", optimizer offloaded to CPU" if s.offload_optimizer else "")
        + f", data-parallel {dp}, {s.optimizer} ({s.state_bytes} B of state a parameter)",
        "activation checkpointing on (SAT checkpoints every layer)"
        if s.checkpointed
        else "activation checkpointing off",
        "flash / memory-efficient attention (SAT calls torch's scaled_dot_product_attention)",
        "per-rank peak as PyTorch reserves it (what nvidia-smi shows), not as it allocates it",
    )
    return Estimate(setup, sizes, comp, form, assumptions)


def with_changes(setup: Setup, **changes: Any) -> Setup:
    return dataclasses.replace(setup, **changes)


def gpu_gib(launch: dict[str, Any]) -> tuple[str | None, float | None]:
    memory = launch.get("gpu_memory_gb")
    name = launch.get("gpu")
    if isinstance(memory, (int, float)) and not isinstance(memory, bool):
        return (name if isinstance(name, str) else None), float(memory)
    if isinstance(name, str) and name in GPU_GIB:
        return name, GPU_GIB[name]
    return None, None
