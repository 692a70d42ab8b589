"""Model awareness through the real CLI, on top of CogVideoX's official configs.

Every case layers one small file over an official model config and `sft.yaml` or
`inference.yaml` (copied from CogVideoX's `sat/configs/`, located by SATC_COGVIDEO_SAT),
compiles, and checks the exit code, the file:line:col of the offending key, the rule's
message and its hint.  docs/model-rules.md explains every rule id used here.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import cogvideo_sat, satc

# 1.0 models with the shipped inference.yaml (which samples like 1.5): the README's values.
_POS = "model.network_config.params.modules.pos_embed_config.params"
SAMPLE_1_0 = "args:\n  sampling_num_frames: 13\n  sampling_image_size: [480, 720]\n"


@dataclass(frozen=True)
class Case:
    name: str
    configs: tuple[str, ...]  # official files; "layer.yaml" is the case's own text
    layer: str
    exit: int
    where: str  # file:line:col the message starts with
    key: str
    message: str
    hint: str
    flags: tuple[str, ...] = ()


def case(
    name: str, configs: str, layer: str, exit: int, where: str, key: str, message: str, hint: str
) -> Case:
    return Case(name, tuple(configs.split()), layer, exit, where, key, message, hint)


CASES = [
    case(
        "unknown-network-param",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      num_layer: 12\n",
        2,
        "layer.yaml:4:7",
        "model.network_config.params.num_layer",
        "takes no parameter 'num_layer'; its keywords flow through DiffusionTransformer -> BaseModel -> BaseTransformer [M1]",
        "did you mean model.network_config.params.num_layers?",
    ),
    case(
        "unknown-lora-param",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      modules:\n        lora_config:\n"
        "          params:\n            lora_rnak: 64\n",
        2,
        "layer.yaml:7:13",
        "model.network_config.params.modules.lora_config.params.lora_rnak",
        "unknown parameter of sat.model.finetune.lora2.LoraMixin",
        "valid: cross_attention, layer_range, lora_alpha, lora_dropout, qlora, r",
    ),
    case(
        "unknown-data-param",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "data:\n  params:\n    video_sise: [480, 720]\n",
        2,
        "layer.yaml:3:5",
        "data.params.video_sise",
        "unknown parameter of data_video.SFTDataset: SFTDataset (data_video.py:365)",
        "did you mean data.params.video_size?",
    ),
    case(
        "unknown-target",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      modules:\n        pos_embed_config:\n"
        "          target: dit_video_concat.Rotary3DPositionEmbedingMixin\n",
        0,
        "layer.yaml:6:11",
        "model.network_config.params.modules.pos_embed_config.target",
        "warning: model.network_config.params.modules.pos_embed_config.target: unknown target",
        "did you mean dit_video_concat.Rotary3DPositionEmbeddingMixin?",
    ),
    case(
        "missing-required-param",
        "cogvideox_2b.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      modules:\n        pos_embed_config:\n"
        "          target: dit_video_concat.Rotary3DPositionEmbeddingMixin\n",
        2,
        "cogvideox_2b.yaml:51:11",
        "model.network_config.params.modules.pos_embed_config.params",
        "missing required parameter 'hidden_size_head' of dit_video_concat.Rotary3DPositionEmbeddingMixin",
        "add model.network_config.params.modules.pos_embed_config.params.hidden_size_head",
    ),
    case(
        "param-the-parent-passes",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      modules:\n        pos_embed_config:\n"
        "          params:\n            height: 30\n",
        2,
        "layer.yaml:7:13",
        "model.network_config.params.modules.pos_embed_config.params.height",
        "DiffusionTransformer passes height to Rotary3DPositionEmbeddingMixin itself (dit_video_concat.py:793)",
        "delete it: the parent computes it",
    ),
    case(
        "param-the-engine-sets",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      dtype: fp16\n",
        0,
        "layer.yaml:4:7",
        "model.network_config.params.dtype",
        "SATVideoDiffusionEngine passes dtype to DiffusionTransformer itself (diffusion_video.py:74): "
        "your value is replaced [M4]",
        "delete it",
    ),
    case(
        "engine-key-typo",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  latent_imput: true\n",
        2,
        "layer.yaml:2:3",
        "model.latent_imput",
        "SATVideoDiffusionEngine (diffusion_video.py:25) never reads model.latent_imput: it is ignored [M5]",
        "did you mean model.latent_input?",
    ),
    case(
        "engine-key-unread",
        "cogvideox1.5_5b_i2v.yaml inference.yaml layer.yaml",
        "args:\n  image2video: true\n",
        0,
        "cogvideox1.5_5b_i2v.yaml:8:3",
        "model.augmentation_dropout",
        "SATVideoDiffusionEngine (diffusion_video.py:25) never reads model.augmentation_dropout: it is ignored [M5]",
        "delete it, or read it in your own engine",
    ),
    case(
        "builder-key-typo",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  sampler_config:\n    parms:\n      num_steps: 25\n",
        2,
        "layer.yaml:3:5",
        "model.sampler_config.parms",
        "instantiate_from_config reads only target and params here; this key is ignored [M5]",
        "did you mean params?",
    ),
    case(
        "heads-vs-model-parallel-one-gpu",
        "cogvideox_2b.yaml sft.yaml layer.yaml",
        "args:\n  model_parallel_size: 4\n",
        2,
        "layer.yaml:2:3",
        "args.model_parallel_size",
        "30 attention heads do not split 4 ways (model.network_config.params.num_attention_heads) [M18]",
        "use a model_parallel_size that divides 30: 1, 2, 3, 5, 6",
    ),
    case(
        "heads-do-not-divide-hidden-size",
        "cogvideox_5b.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      num_attention_heads: 47\n",
        2,
        "layer.yaml:4:7",
        "model.network_config.params.num_attention_heads",
        "hidden_size 3072 does not split into 47 attention heads: DiffusionTransformer builds SAT's "
        "BaseTransformer (its keywords flow through DiffusionTransformer -> BaseModel -> BaseTransformer)",
        "use a num_attention_heads that divides 3072, such as 48",
    ),
    case(
        "transformer-args-typo",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      transformer_args:\n        checkpoint_activation: true\n",
        2,
        "layer.yaml:5:9",
        "model.network_config.params.transformer_args.checkpoint_activation",
        "never read transformer_args.checkpoint_activation: it would be ignored [M6]",
        "did you mean model.network_config.params.transformer_args.checkpoint_activations?",
    ),
    case(
        "conditioner-item-typo",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  conditioner_config:\n    params:\n      emb_models:\n"
        "        - target: sgm.modules.encoders.modules.FrozenT5Embedder\n"
        "          input_key: txt\n          ucg_rat: 0.1\n"
        "          params: {model_dir: t5-v1_1-xxl, max_length: 226}\n",
        2,
        "layer.yaml:7:11",
        "model.conditioner_config.params.emb_models[0].ucg_rat",
        "GeneralConditioner never reads this key of an item of emb_models [M6]",
        "did you mean ucg_rate?",
    ),
    case(
        "ignored-vae-param",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  first_stage_config:\n    params:\n      encoder_config:\n        params:\n"
        "          z_chanels: 16\n",
        0,
        "layer.yaml:6:11",
        "model.first_stage_config.params.encoder_config.params.z_chanels",
        "ignored by vae_modules.cp_enc_dec.ContextParallelEncoder3D",
        "did you mean model.first_stage_config.params.encoder_config.params.z_channels?",
    ),
    case(
        "param-type-from-default",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      modules:\n        lora_config:\n"
        "          params:\n            lora_dropout: high\n",
        2,
        "layer.yaml:7:13",
        "model.network_config.params.modules.lora_config.params.lora_dropout",
        "expected a number (the default of LoraMixin.lora_dropout is 0.0",
        "write a number",
    ),
    case(
        "network-shape-type",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      num_frames: '49'\n",
        2,
        "layer.yaml:4:7",
        "model.network_config.params.num_frames",
        "expected a positive integer, got '49' [M9]",
        "write a positive integer",
    ),
    case(
        "frames-yaml-boolean",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "data:\n  params:\n    max_num_frames: yes\n",
        2,
        "layer.yaml:3:5",
        "data.params.max_num_frames",
        "expected a positive integer, got true [M9]",
        "write a positive integer",
    ),
    case(
        "video-size-shape",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "data:\n  params:\n    video_size: 480\n",
        2,
        "layer.yaml:3:5",
        "data.params.video_size",
        "expected [height, width], two positive integers, got 480 [M9]",
        "write [height, width], two positive integers",
    ),
    case(
        "frames-not-4k-plus-1",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "data:\n  params:\n    max_num_frames: 50\n",
        2,
        "layer.yaml:3:5",
        "data.params.max_num_frames",
        "50 frames: the 3D VAE needs 4k+1 video frames [M10]",
        "use 49",  # as M12 says: 53 would not fit the network's 49 (one source for both hints)
    ),
    case(
        "frames-not-trained",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      num_frames: 45\ndata:\n  params:\n    max_num_frames: 45\n",
        0,
        "layer.yaml:4:7",
        "model.network_config.params.num_frames",
        "CogVideoX-5B is trained on 8N+1 frames with 1 <= N <= 6; got 45 [M11]",
        "use 49 (or 41, 33, ...)",
    ),
    case(
        "data-frames-exceed-network",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "data:\n  params:\n    max_num_frames: 81\n",
        2,
        "layer.yaml:3:5",
        "data.params.max_num_frames",
        "81 frames do not fit the network: model.network_config.params.num_frames is 49: a grid of "
        "13 latent frames (49 video frames), the clips give 21 [M12]",
        "use 49",
    ),
    case(
        # the network counts latent frames: num_frames 47 is a grid of 12 (45 video frames); the
        # hint is a count M10 accepts, never the network's own off-grid number
        "data-frames-exceed-off-grid-network",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      num_frames: 47\n"
        "data:\n  params:\n    max_num_frames: 49\n",
        2,
        "layer.yaml:7:5",
        "data.params.max_num_frames",
        "49 frames do not fit the network: model.network_config.params.num_frames is 47: a grid of "
        "12 latent frames (45 video frames), the clips give 13 [M12]",
        "use 45",
    ),
    case(
        "video-size-1-0",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "data:\n  params:\n    video_size: [720, 1280]\n",
        2,
        "layer.yaml:3:5",
        "data.params.video_size",
        "720x1280 does not match the latent grid 60x90 of CogVideoX-5B (fixed at 480x720) [M13]",
        "use video_size: [480, 720]",
    ),
    case(
        "video-size-1-5-not-16",
        "cogvideox1.5_5b_i2v.yaml sft.yaml layer.yaml",
        "data:\n  params:\n    video_size: [770, 1360]\n",
        2,
        "layer.yaml:3:5",
        "data.params.video_size",
        "770x1360: both sides must be multiples of 16 (VAE 8x, patch 2) [M13]",
        "",
    ),
    case(
        "sampling-frames-video-not-latent",
        "cogvideox_5b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_num_frames: 49\n  sampling_image_size: [480, 720]\n",
        2,
        "layer.yaml:2:3",
        "args.sampling_num_frames",
        "CogVideoX-5B samples 13 or 11 or 9 latent frames; got 49 [M14]",
        "it counts latent frames: 49 video frames are 13",
    ),
    case(
        # the YAML path sets text as written; sample_video.py:157 builds torch.randn's shape from it
        "sampling-frames-text",
        "cogvideox_5b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_num_frames: '13'\n  sampling_image_size: [480, 720]\n",
        2,
        "layer.yaml:2:3",
        "args.sampling_num_frames",
        "sampling_num_frames '13' is not an integer: sampling builds the latent's shape from it "
        "(sample_video.py:157) and torch fails on it (TypeError) once the model has loaded [M14]",
        "write args.sampling_num_frames: 13 (an integer, no quotes)",
    ),
    case(
        "latent-channels-float",
        "cogvideox_5b.yaml inference.yaml layer.yaml",
        "args:\n  latent_channels: 16.0\n  sampling_image_size: [480, 720]\n",
        2,
        "layer.yaml:2:3",
        "args.latent_channels",
        "latent_channels 16.0 is not an integer: sampling builds the latent's shape from it "
        "(sample_video.py:157) and torch fails on it (TypeError) once the model has loaded [M27]",
        "write args.latent_channels: 16 (an integer, no quotes)",
    ),
    case(
        # a list or a mapping reaches the same shape: torch.randn(1, [13], ...) fails too
        "sampling-frames-list",
        "cogvideox_5b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_num_frames: [13]\n  sampling_image_size: [480, 720]\n",
        2,
        "layer.yaml:2:3",
        "args.sampling_num_frames",
        "sampling_num_frames [13] is not an integer: sampling builds the latent's shape from it "
        "(sample_video.py:157) and torch fails on it (TypeError) once the model has loaded [M14]",
        "write args.sampling_num_frames: 13 (an integer, no quotes)",
    ),
    case(
        "sampling-frames-word",
        "cogvideox_5b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_num_frames: thirteen\n  sampling_image_size: [480, 720]\n",
        2,
        "layer.yaml:2:3",
        "args.sampling_num_frames",
        "sampling_num_frames 'thirteen' is not an integer",
        "write an integer for args.sampling_num_frames",
    ),
    case(
        # sample_video.py:199-200 takes image_size[0], image_size[1] and divides them
        "sampling-image-size-number",
        "cogvideox1.5_5b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_image_size: 768\n",
        2,
        "layer.yaml:2:3",
        "args.sampling_image_size",
        "768 is not a [height, width] list of integers: sampling reads its first two items as the "
        "sides and divides them (sample_video.py:199-200); this fails there [M15]",
        "set args.sampling_image_size: [768, 1360] (two integers, no quotes)",
    ),
    case(
        "sampling-image-size-text-1-0",
        "cogvideox_5b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_num_frames: 13\n  sampling_image_size: 480x720\n",
        2,
        "layer.yaml:3:3",
        "args.sampling_image_size",
        "'480x720' is not a [height, width] list of integers",
        "set args.sampling_image_size: [480, 720] (two integers, no quotes)",
    ),
    case(
        "sampling-frames-1-5",
        "cogvideox1.5_5b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_num_frames: 13\n",
        2,
        "layer.yaml:2:3",
        "args.sampling_num_frames",
        "CogVideoX1.5-5B samples 22 or 42 latent frames; got 13 [M14]",
        "set args.sampling_num_frames: 22",
    ),
    case(
        "sampling-frames-exceed-grid",
        "cogvideox1.5_5b.yaml inference.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      num_frames: 49\nargs:\n  sampling_num_frames: 42\n",
        2,
        "layer.yaml:6:3",
        "args.sampling_num_frames",
        "42 latent frames do not fit the network's 13 (num_frames 49) [M14]",
        "sample at most 26 latent frames",
    ),
    case(
        "sampling-size-default-on-1-0",
        "cogvideox_2b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_num_frames: 13\n  fp16: true\n  bf16: false\n",
        2,
        "inference.yaml:9:3",
        "args.sampling_image_size",
        "CogVideoX-2B samples only at 480x720; got 768x1360 [M15]",
        "set args.sampling_image_size: [480, 720]",
    ),
    case(
        "fp16-on-5b",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "deepspeed:\n  bf16:\n    enabled: false\n  fp16:\n    enabled: true\n",
        2,
        "layer.yaml:5:5",
        "deepspeed.fp16.enabled",
        "CogVideoX-5B was trained in bf16: fp16 gives black videos or NaN [M16]",
        "use bf16",
    ),
    case(
        "bf16-on-2b",
        "cogvideox_2b.yaml sft.yaml",
        "",
        0,
        "sft.yaml:47:7",
        "deepspeed.bf16.enabled",
        "CogVideoX-2B was trained in fp16; CogVideoX's README runs it in fp16 [M16]",
        "use fp16",
    ),
    case(
        "text-length-vs-t5",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      modules:\n        pos_embed_config:\n"
        "          params:\n            text_length: 224\n",
        2,
        "layer.yaml:7:13",
        "model.network_config.params.modules.pos_embed_config.params.text_length",
        "text_length 224 differs from the T5 max_length 226 (model.conditioner_config.params.emb_models[0].params.max_length) [M17]",
        "set both to 226",
    ),
    case(
        "heads-vs-model-parallel",
        "cogvideox_2b.yaml inference.yaml layer.yaml",
        SAMPLE_1_0 + "  model_parallel_size: 4\nlaunch:\n  gpus_per_node: 8\n",
        2,
        "layer.yaml:4:3",
        "args.model_parallel_size",
        "30 attention heads do not split 4 ways (model.network_config.params.num_attention_heads) [M18]",
        "use a model_parallel_size that divides 30: 1, 2, 3, 5, 6",
    ),
    case(
        "mp-spans-nodes",
        "cogvideox_5b.yaml inference.yaml layer.yaml",
        SAMPLE_1_0
        + "  model_parallel_size: 16\nlaunch:\n  nodes: 2\n  gpus_per_node: 8\n  master_addr: node-0\n",
        0,
        "layer.yaml:4:3",
        "args.model_parallel_size",
        "model-parallel groups of 16 span nodes of 8 GPUs [M19]",
        "use a model_parallel_size that divides launch.gpus_per_node (8)",
    ),
    case(
        "mp-training",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "args:\n  model_parallel_size: 2\nlaunch:\n  gpus_per_node: 8\n",
        2,
        "layer.yaml:2:3",
        "args.model_parallel_size",
        "model parallel 2 is unsupported for CogVideoX training (adaLN parameters are not split) [M20]",
        "use model_parallel_size: 1",
    ),
    case(
        "latent-input-with-videos",
        "cogvideox1.5_5b.yaml sft.yaml",
        "",
        2,
        "cogvideox1.5_5b.yaml:4:3",
        "model.latent_input",
        "latent_input is true but data_video.SFTDataset yields video frames, not latents [M21]",
        "set model.latent_input: false",
    ),
    case(
        "sat-finetune-1-5",
        "cogvideox1.5_5b_i2v.yaml sft.yaml",
        "",
        0,
        "sft.yaml:5:3",
        "args.mode",
        "CogVideoX's maintainers do not support fine-tuning CogVideoX1.5-5B-I2V with SAT [M22]",
        "fine-tune 1.5 with the diffusers version (CogVideo #645)",
    ),
    case(
        "lora-rank-zero",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      modules:\n        lora_config:\n"
        "          params:\n            r: 0\n",
        2,
        "layer.yaml:7:13",
        "model.network_config.params.modules.lora_config.params.r",
        "LoRA rank r is 0: LoraMixin divides lora_alpha by r [M23]",
        "set r (128 or 256)",
    ),
    case(
        "lora-alpha",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      modules:\n        lora_config:\n"
        "          params:\n            lora_alpha: 128\n",
        0,
        "layer.yaml:7:13",
        "model.network_config.params.modules.lora_config.params.lora_alpha",
        "lora_alpha 128: SAT's CogVideoX LoRA trains with lora_alpha 1 (scale 1/r); export and "
        "load_cogvideox_lora.py assume it [M23]",
        "remove lora_alpha",
    ),
    case(
        "lora-trains-everything",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        "model:\n  not_trainable_prefixes: []\n",
        0,
        "cogvideox_5b_lora.yaml:56:9",
        "model.network_config.params.modules.lora_config",
        "LoRA without model.not_trainable_prefixes: ['all'] trains the whole transformer as well [M23]",
        "add model.not_trainable_prefixes: ['all']",
    ),
    case(
        "i2v-without-image2video",
        "cogvideox1.5_5b_i2v.yaml inference.yaml",
        "",
        2,
        "inference.yaml:1:1",
        "args.image2video",
        "CogVideoX1.5-5B-I2V is an image-to-video model: sampling it without args.image2video",
        "set args.image2video: true",
    ),
    case(
        "i2v-in-channels",
        "cogvideox_5b_i2v.yaml sft.yaml layer.yaml",
        "model:\n  network_config:\n    params:\n      in_channels: 16\n",
        2,
        "layer.yaml:4:7",
        "model.network_config.params.in_channels",
        "in_channels 16 with noised_image_input true: the network gets 32 channels [M24]",
        "set in_channels: 32",
    ),
    case(
        "i2v-ignores-sampling-size",
        "cogvideox1.5_5b_i2v.yaml inference.yaml layer.yaml",
        "args:\n  image2video: true\n",
        0,
        "inference.yaml:9:3",
        "args.sampling_image_size",
        "ignored: image-to-video sampling takes its size from the input image (sample_video.py:175) [M15]",
        "remove it",
    ),
    case(
        "latent-channels-default",
        "cogvideox1.5_5b.yaml layer.yaml",
        "args:\n  mode: inference\n  sampling_num_frames: 22\n  bf16: true\n",
        2,
        "layer.yaml:1:1",
        "args.latent_channels",
        "latent_channels 32 (the default) differs from the network's out_channels 16 [M27]",
        "set args.latent_channels: 16",
    ),
    case(
        "integer-patch-size",
        "cogvideox_5b_lora.yaml sft.yaml",
        "",
        2,
        "cogvideox_5b_lora.yaml:33:7",
        "model.network_config.params.patch_size",
        "patch_size 2: the network indexes patch_size (dit_video_concat.py:695) and needs [t, h, w]",
        "write patch_size: [1, 2, 2]",
    ),
    case(
        "interpolation-passed-twice",
        "cogvideox_2b_lora.yaml sft.yaml",
        "",
        2,
        "cogvideox_2b_lora.yaml:54:13",
        "model.network_config.params.modules.pos_embed_config.params.height_interpolation",
        "DiffusionTransformer passes height_interpolation to Basic3DPositionEmbeddingMixin itself "
        "(dit_video_concat.py:793): TypeError (multiple values) when the model is built [M4]",
        "set model.network_config.params.height_interpolation instead",
    ),
    case(
        "video-size-not-16",
        "cogvideox1.5_5b_i2v.yaml sft.yaml layer.yaml",
        "data:\n  params:\n    video_size: [770, 1360]\n",
        2,
        "layer.yaml:3:5",
        "data.params.video_size",
        "770x1360: both sides must be multiples of 16 (VAE 8x, patch 2) [M13]",
        "use video_size: [768, 1360]",
    ),
    case(
        "sampling-size-not-16",
        "cogvideox1.5_5b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_image_size: [770, 1360]\n",
        2,
        "layer.yaml:2:3",
        "args.sampling_image_size",
        "770x1360: both sides must be multiples of 16 [M15]",
        "set args.sampling_image_size: [768, 1360]",
    ),
    case(
        "sampling-size-three-items",
        "cogvideox1.5_5b.yaml inference.yaml layer.yaml",
        "args:\n  sampling_image_size: [770, 1360, 3]\n",
        2,
        "layer.yaml:2:3",
        "args.sampling_image_size",
        "770x1360: both sides must be multiples of 16 [M15]",
        "set args.sampling_image_size: [768, 1360]",
    ),
    case(
        "sampling-size-text",
        "cogvideox1.5_5b.yaml inference.yaml layer.yaml",
        'args:\n  sampling_image_size: ["768", 1360]\n',
        2,
        "layer.yaml:2:25",
        "args.sampling_image_size[0]",
        "expected an integer, got string '768'",
        "remove the quotes: 768",
    ),
    case(
        "placeholder",
        "cogvideox_5b_lora.yaml sft.yaml",
        "",
        0,
        "sft.yaml:6:3",
        "args.load",
        "placeholder '{your CogVideoX SAT folder}' left in the value [M26]",
        "replace it with the real path before launching",
    ),
    case(
        "placeholder-prose",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml",
        'args:\n  train_data: [ "your train data path" ]\n',
        0,
        "layer.yaml:2:17",
        "args.train_data[0]",
        "placeholder 'your train data path' left in the value [M26]",
        "replace it with the real path before launching",
    ),
    case(
        "shadowed-layer",
        "cogvideox_5b_lora.yaml sft.yaml layer.yaml sft.yaml",
        "args:\n  train_iters: 5\n",
        0,
        "layer.yaml:2:3",
        "args.train_iters",
        "every value in this file is overridden by later layers (e.g. args.train_iters by sft.yaml:",
        "check the order of the configs: later files win",
    ),
]


def _run(case: Case, tmp_path: Path, *flags: str) -> tuple[int, str]:
    code, stderr, _ = _run_out(case, tmp_path, *flags)
    return code, stderr


# What a 1.0 config needs to build on CogVideoX's network at e519ece (M25, M4): layered
# right after the official file, except in the cases about those crashes themselves.
FIX_1_0 = "model:\n  network_config:\n    params:\n      patch_size: [1, 2, 2]\n"
FIX_2B = FIX_1_0 + "      height_interpolation: 1.875\n      width_interpolation: 1.875\n"
UNFIXED = ("integer-patch-size", "interpolation-passed-twice", "")
MOVED = tuple(f"--set={_POS}.{side}_interpolation=null" for side in ("height", "width"))


def _with_fixes(case: Case) -> tuple[list[str], list[str]]:
    configs: list[str] = []
    flags: list[str] = []
    for name in case.configs:
        configs.append(name)
        if case.name in UNFIXED or not name.startswith("cogvideox_"):
            continue
        configs.append("fix_2b.yaml" if name.startswith("cogvideox_2b") else "fix_1_0.yaml")
        flags += list(MOVED) if name.startswith("cogvideox_2b") else []
    return configs, flags


def _run_out(case: Case, tmp_path: Path, *flags: str) -> tuple[int, str, str]:
    configs = cogvideo_sat() / "configs"
    for name in set(case.configs) - {"layer.yaml"}:
        shutil.copy(configs / name, tmp_path / name)
    (tmp_path / "layer.yaml").write_text(case.layer, encoding="utf-8")
    (tmp_path / "fix_1_0.yaml").write_text(FIX_1_0, encoding="utf-8")
    (tmp_path / "fix_2b.yaml").write_text(FIX_2B, encoding="utf-8")
    names, fixes = _with_fixes(case)
    result = satc("compile", *names, "-o", "out", *fixes, *flags, cwd=tmp_path)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr, result.stdout


def _problem(stderr: str, case: Case) -> str:
    """The message (and its hint) for the case's key, located where the case says."""
    lines = stderr.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"{case.where}: ") and f": {case.key}: " in line and case.message in line:
            hint = (
                lines[index + 1]
                if index + 1 < len(lines) and lines[index + 1].startswith("    hint:")
                else ""
            )
            return f"{line}\n{hint}"
    raise AssertionError(f"no {case.where} {case.key}: {case.message!r} in:\n{stderr}")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case, tmp_path: Path) -> None:
    code, stderr = _run(case, tmp_path)
    assert code == case.exit, stderr
    found = _problem(stderr, case)
    assert ("error:" in found) == (case.exit == 2), found
    if case.hint:
        assert case.hint in found.splitlines()[1], found
    if case.exit == 2:
        assert stderr.rstrip().endswith("nothing written")
        assert not (tmp_path / "out").exists()


def test_strict_makes_a_model_warning_an_error(tmp_path: Path) -> None:
    placeholder = next(c for c in CASES if c.name == "placeholder")
    code, stderr = _run(placeholder, tmp_path, "--strict")
    assert code == 2
    assert "sft.yaml:6:3: error: args.load: placeholder" in stderr and "(--strict)" in stderr


# Every official model config with sft.yaml and inference.yaml.  The shipped inference.yaml
# samples like CogVideoX 1.5 (22 latent frames at 768x1360) and leaves image2video commented
# out; 1.5's T2V config reads latents while sft.yaml's SFTDataset yields videos.
M25 = ("M25", "model.network_config.params.patch_size", "write patch_size: [1, 2, 2]")
M4 = tuple(
    ("M4", f"{_POS}.{side}_interpolation", f"set model.network_config.params.{side}_interpolation instead")
    for side in ("height", "width")
)
SAMPLING_1_0 = (
    ("M15", "args.sampling_image_size", "set args.sampling_image_size: [480, 720]"),
    ("M14", "args.sampling_num_frames", "set args.sampling_num_frames: 13"),
)
I2V = (("M24", "args.image2video", "set args.image2video: true"),)
# The 1.0 configs' integer patch_size (M25) and the 2B configs' interpolation under the
# position embedding (M4) crash CogVideoX's network at e519ece: errors, all in one run.
OFFICIAL = {
    ("cogvideox_2b.yaml", "sft.yaml"): (M25, *M4),
    ("cogvideox_2b_lora.yaml", "sft.yaml"): (M25, *M4),
    ("cogvideox_5b.yaml", "sft.yaml"): (M25,),
    ("cogvideox_5b_lora.yaml", "sft.yaml"): (M25,),
    ("cogvideox_5b_i2v.yaml", "sft.yaml"): (M25,),
    ("cogvideox_5b_i2v_lora.yaml", "sft.yaml"): (M25,),
    ("cogvideox1.5_5b_i2v.yaml", "sft.yaml"): (),
    ("cogvideox1.5_5b.yaml", "sft.yaml"): (("M21", "model.latent_input", "set model.latent_input: false"),),
    ("cogvideox1.5_5b.yaml", "inference.yaml"): (),
    ("cogvideox1.5_5b_i2v.yaml", "inference.yaml"): I2V,
    ("cogvideox_2b.yaml", "inference.yaml"): (M25, *M4, *SAMPLING_1_0),
    ("cogvideox_2b_lora.yaml", "inference.yaml"): (M25, *M4, *SAMPLING_1_0),
    ("cogvideox_5b.yaml", "inference.yaml"): (M25, *SAMPLING_1_0),
    ("cogvideox_5b_lora.yaml", "inference.yaml"): (M25, *SAMPLING_1_0),
    ("cogvideox_5b_i2v.yaml", "inference.yaml"): (M25, *I2V, *SAMPLING_1_0),
    ("cogvideox_5b_i2v_lora.yaml", "inference.yaml"): (M25, *I2V, *SAMPLING_1_0),
}


PROFILES = {
    "cogvideox_2b.yaml": "CogVideoX-2B",
    "cogvideox_2b_lora.yaml": "CogVideoX-2B",
    "cogvideox_5b.yaml": "CogVideoX-5B",
    "cogvideox_5b_lora.yaml": "CogVideoX-5B",
    "cogvideox_5b_i2v.yaml": "CogVideoX-5B-I2V",
    "cogvideox_5b_i2v_lora.yaml": "CogVideoX-5B-I2V",
    "cogvideox1.5_5b.yaml": "CogVideoX1.5-5B",
    "cogvideox1.5_5b_i2v.yaml": "CogVideoX1.5-5B-I2V",
}


def test_every_official_pair_is_listed() -> None:
    models = sorted(p.name for p in (cogvideo_sat() / "configs").glob("cogvideox*.yaml"))
    assert sorted({pair for pair in OFFICIAL}) == sorted(
        (model, run) for model in models for run in ("sft.yaml", "inference.yaml")
    )


@pytest.mark.parametrize("pair", sorted(OFFICIAL), ids=["+".join(p) for p in sorted(OFFICIAL)])
def test_official_configs(pair: tuple[str, str], tmp_path: Path) -> None:
    expected = OFFICIAL[pair]
    code, stderr, stdout = _run_out(Case("", pair, "", 0, "", "", "", ""), tmp_path)
    if not expected:
        assert f"  model: {PROFILES[pair[0]]} (CogVideoX " in stdout, stdout
    errors = [line for line in stderr.splitlines() if ": error: " in line]
    assert code == (2 if expected else 0), stderr
    assert len(errors) == len(expected), stderr
    for rule, key, hint in expected:
        line = next(line for line in errors if f": error: {key}: " in line and f"[{rule}]" in line)
        assert f"hint: {hint}" in stderr.split(line, 1)[1].splitlines()[1], stderr


def test_a_users_own_model_gets_the_generic_checks_only(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "model:\n  network_config:\n    target: my_lab.VideoDiT\n    params:\n      num_frames: 50\n"
        "args:\n  mode: finetune\n  model_parallel_size: 2\n  train_iters: 10\n  train_data: [clips]\n"
        "launch:\n  gpus_per_node: 2\n",
        encoding="utf-8",
    )
    result = satc("compile", "mine.yaml", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "mine.yaml:3:5: warning: model.network_config.target: unknown target 'my_lab.VideoDiT'"
        in result.stderr
    )
    assert "[M1" not in result.stderr and "[M2" in result.stderr
    assert not any(f"[M{n}]" in result.stderr for n in range(10, 26))
    assert json.loads((tmp_path / "out" / "args.json").read_text())["model_config"]["network_config"][
        "params"
    ] == {"num_frames": 50}


def test_every_model_rule_id_is_documented() -> None:
    import re

    from support import ROOT

    source = "".join(p.read_text("utf-8") for p in sorted((ROOT / "compiler" / "rules").rglob("*.py")))
    ids = set(re.findall(r'"((?:M|S)\d+)"', source)) | set(re.findall(r"\[(S\d+)\]", source))
    docs = (ROOT / "docs" / "model-rules.md").read_text("utf-8")
    headings = set(re.findall(r"^### ([A-Z]+\d+)$", docs, re.M))
    assert len(ids) >= 25
    assert ids - headings == set()


def test_explain_cites_the_rules_that_read_a_value(tmp_path: Path) -> None:
    configs = cogvideo_sat() / "configs"
    for name in ("cogvideox_5b.yaml", "inference.yaml"):
        shutil.copy(configs / name, tmp_path / name)
    (tmp_path / "layer.yaml").write_text(SAMPLE_1_0 + FIX_1_0, encoding="utf-8")
    argv = ["explain", "cogvideox_5b.yaml", "inference.yaml", "layer.yaml"]
    result = satc(*argv, "sampling_num_frames", "model.network_config.params.num_layers", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "args.sampling_num_frames = 13\n  from layer.yaml:2:3\n  overrode inference.yaml:10:3\n"
        in result.stdout
    )
    assert "  checked by M14: `sampling_num_frames` counts *latent* frames" in result.stdout
    assert (
        "  checked by M1: a parameter of dit_video_concat.DiffusionTransformer, dit_video_concat.py:673"
        in result.stdout
    )
    summary = satc(*argv, cwd=tmp_path)
    assert "  model: CogVideoX-5B (CogVideoX 1.0 rules)\n" in summary.stdout


def test_a_set_over_a_file_is_no_shadowed_layer(tmp_path: Path) -> None:
    shadowed = next(c for c in CASES if c.name == "shadowed-layer")
    code, stderr = _run(
        Case(
            "set-over-file",
            ("cogvideox_5b_lora.yaml", "sft.yaml", "layer.yaml"),
            shadowed.layer,
            0,
            "",
            "",
            "",
            "",
        ),
        tmp_path,
        "--set",
        "args.train_iters=7",
    )
    assert code == 0, stderr
    assert "[S1]" not in stderr


def test_a_spanning_model_parallel_group_is_one_warning(tmp_path: Path) -> None:
    spans = next(c for c in CASES if c.name == "mp-spans-nodes")
    code, stderr = _run(spans, tmp_path)
    assert code == 0
    assert stderr.count("warning: args.model_parallel_size:") == 1, stderr


def test_data_frames_are_counted_in_the_networks_latent_frames(tmp_path: Path) -> None:
    """A network num_frames of 50 is the grid of a 49-frame clip ((50 - 1) // 4 + 1 = 13
    latent frames, dit_video_concat.py:797): M12 is silent about the data's 49; only M10
    names the off-grid network value."""
    layer = "model:\n  network_config:\n    params:\n      num_frames: 50\n"
    silent = Case("grid-50", ("cogvideox_5b_lora.yaml", "sft.yaml", "layer.yaml"), layer, 0, "", "", "", "")
    code, stderr = _run(silent, tmp_path)
    assert code == 0, stderr
    assert "[M12]" not in stderr
    assert "50 frames: the network floors it" in stderr and "[M10]" in stderr


def test_a_model_rule_on_an_args_default_names_the_projects_line(tmp_path: Path) -> None:
    """No input has an ``args:`` section naming latent_channels: M27's error is located at the
    project's argparse default (arguments.py), not printed without a place."""
    configs = cogvideo_sat() / "configs"
    shutil.copy(configs / "cogvideox_5b_i2v.yaml", tmp_path / "cogvideox_5b_i2v.yaml")
    result = satc(
        "compile",
        "cogvideox_5b_i2v.yaml",
        "--set", "args.mode=inference", "--set", "args.load=/ck", "--set", "args.image2video=true",
        "-o", "out",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    line = next(x for x in result.stderr.splitlines() if "[M27]" in x)
    assert (
        line.startswith("arguments.py:") and "(the project's default): error: args.latent_channels" in line
    ), line
