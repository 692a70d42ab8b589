"""The argparse parser CogVideoX's ``sat/arguments.py:get_args`` builds.

CogVideoX's two parser functions (``add_model_config_args`` and
``add_sampling_config_args`` of its sat/arguments.py, retyped; ``sampling_image_size``
is two ints here where upstream declares ``type=list``) on top of SAT's and DeepSpeed's
own, so the schema generator and the reference-equality tests read argument names,
types and defaults from the real thing.  Dev-time only: it
imports SAT and DeepSpeed.
"""

from __future__ import annotations

import argparse


def add_model_config_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    group = parser.add_argument_group("model", "model configuration")
    group.add_argument("--base", type=str, nargs="*", help="config for input and saving")
    group.add_argument(
        "--model-parallel-size",
        type=int,
        default=1,
        help="size of the model parallel. only use if you are an expert.",
    )
    group.add_argument("--force-pretrain", action="store_true")
    group.add_argument("--device", type=int, default=-1)
    group.add_argument("--debug", action="store_true")
    group.add_argument("--log-image", type=bool, default=True)
    return parser


def add_sampling_config_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    group = parser.add_argument_group("sampling", "Sampling Configurations")
    group.add_argument("--output-dir", type=str, default="samples")
    group.add_argument("--input-dir", type=str, default=None)
    group.add_argument("--input-type", type=str, default="cli")
    group.add_argument("--input-file", type=str, default="input.txt")
    group.add_argument("--final-size", type=int, default=2048)
    group.add_argument("--sdedit", action="store_true")
    group.add_argument("--grid-num-rows", type=int, default=1)
    group.add_argument("--force-inference", action="store_true")
    group.add_argument("--lcm_steps", type=int, default=None)
    group.add_argument("--sampling-num-frames", type=int, default=32)
    group.add_argument("--sampling-fps", type=int, default=8)
    group.add_argument("--only-save-latents", type=bool, default=False)
    group.add_argument("--only-log-video-latents", type=bool, default=False)
    group.add_argument("--latent-channels", type=int, default=32)
    group.add_argument("--image2video", action="store_true")
    return parser


# CogVideoX 1.5 added this sampling argument after the annotated copy in the seed was
# taken; the official inference.yaml sets it, so satc knows it (default as upstream).
SAMPLING_IMAGE_SIZE_DEFAULT = [768, 1360]


def build_parser(with_cogvideox_1_5: bool = True) -> argparse.ArgumentParser:
    import deepspeed
    from sat.arguments import add_data_args, add_evaluation_args, add_training_args

    parser = argparse.ArgumentParser(description="sat")
    add_model_config_args(parser)
    add_sampling_config_args(parser)
    if with_cogvideox_1_5:
        parser.add_argument(
            "--sampling-image-size",
            type=int,
            nargs=2,
            default=SAMPLING_IMAGE_SIZE_DEFAULT,
            help="height and width of sampled videos (CogVideoX 1.5)",
        )
    add_training_args(parser)
    add_evaluation_args(parser)
    add_data_args(parser)
    deepspeed.add_config_arguments(parser)
    return parser
