"""The SAT-native way to read a config, timed by bench.py as the baseline.

What every CogVideoX process does before it can start (its sat/arguments.py): merge the ``--base`` YAML files with OmegaConf, hand the ``args:``
section to SwissArmyTransformer's argparse, and let ``sat.arguments.get_args`` import
torch and DeepSpeed, derive its settings and initialise torch.distributed.  Here the
section becomes SAT's own command-line flags, in inference mode (no GPU is needed),
with the gloo backend and a world of one.

Usage: python benchmarks/sat_native.py CONFIG.yaml...   (MASTER_ADDR/MASTER_PORT set)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def sat_parser() -> argparse.ArgumentParser:
    """The parser get_args builds, to learn which flags SAT accepts."""
    import deepspeed
    from sat import arguments

    parser = argparse.ArgumentParser(add_help=False)
    for add in (
        arguments.add_model_config_args,
        arguments.add_training_args,
        arguments.add_evaluation_args,
        arguments.add_data_args,
        arguments.add_tokenization_args,
        arguments.add_text_generate_args,
    ):
        parser = add(parser)
    return deepspeed.add_config_arguments(parser)


def as_flags(section: dict[str, Any], parser: argparse.ArgumentParser) -> list[str]:
    """``{lr: 1e-4, fp16: true, train_data: [a]}`` -> ``--lr 0.0001 --fp16 --train-data a``.

    Keys only CogVideoX's own parser knows are left out, as is ``mode`` (we force
    inference so no GPU or DeepSpeed engine is needed)."""
    flags: list[str] = []
    for key, value in section.items():
        if key == "mode":
            continue
        option = f"--{key.replace('_', '-')}"
        action = parser._option_string_actions.get(option) or parser._option_string_actions.get(f"--{key}")
        if action is None or value is None:
            continue
        option = action.option_strings[0]
        if action.nargs == 0:  # store_true / store_false
            if bool(value) == isinstance(action, argparse._StoreTrueAction):
                flags.append(option)
        elif isinstance(value, list):
            flags += [option, *(str(item) for item in value)]
        else:
            flags += [option, str(value)]
    return flags


def main(paths: list[str]) -> None:
    from omegaconf import OmegaConf
    from sat.arguments import get_args

    config = OmegaConf.merge(*(OmegaConf.load(path) for path in paths))
    section = OmegaConf.to_container(config.get("args", {}), resolve=True)
    assert isinstance(section, dict)
    argv = ["--mode", "inference", "--distributed-backend", "gloo", *as_flags(section, sat_parser())]
    args = get_args(argv)
    print(f"sat get_args: mode={args.mode} world_size={args.world_size} flags={len(argv)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
