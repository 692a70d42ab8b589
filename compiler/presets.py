"""DeepSpeed presets used when a training config has no `deepspeed:` section (docs/rules.md, R5).

Stages 0-2 are SAT's own ``sat/training/deepspeed_zero{0,1,2}.json`` value for value
(tests compare them with the installed SAT), quirks included: stage 1 carries the
deprecated ``cpu_offload`` and stage 2 a top-level ``offload_optimizer`` that DeepSpeed
never reads.  One exception: SAT's stage 0 sets ``fp16.min_loss_scale: 0.01``, which
DeepSpeed 0.19.8 refuses (the field is an integer), so a reference run with that preset
fails in ``deepspeed.initialize``; satc emits 1, DeepSpeed's own default.
Stage 3 is satc's (docs/rules.md, D3): SAT ships none.
"""

from __future__ import annotations

import copy
from typing import Any

# SAT's 0.01 is not an integer; DeepSpeed 0.19.8 rejects it (see the module docstring).
MIN_LOSS_SCALE_FIX = 1
_FP16 = {"enabled": True, "loss_scale": 0, "loss_scale_window": 400, "hysteresis": 2, "min_loss_scale": 1}
_ADAM = {"type": "Adam", "params": {"lr": 0.0002, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 1e-4}}

_PRESETS: dict[int, dict[str, Any]] = {
    0: {
        "train_micro_batch_size_per_gpu": 4,
        "gradient_accumulation_steps": 1,
        "gradient_clipping": 0.1,
        "fp16": {
            "enabled": True,
            "loss_scale": 0,
            "loss_scale_window": 200,
            "hysteresis": 2,
            "min_loss_scale": MIN_LOSS_SCALE_FIX,
        },
        "bf16": {"enabled": False},
        "optimizer": {"type": "AdamW", "params": {"lr": 0.0004, "weight_decay": 1e-2}},
    },
    1: {
        "train_micro_batch_size_per_gpu": 1,
        "gradient_accumulation_steps": 1,
        "gradient_clipping": 0.1,
        "zero_optimization": {
            "stage": 1,
            "cpu_offload": False,
            "contiguous_gradients": False,
            "overlap_comm": True,
            "reduce_scatter": True,
            "reduce_bucket_size": 4e7,
            "allgather_bucket_size": 1e8,
            "load_from_fp32_weights": False,
        },
        "zero_allow_untested_optimizer": True,
        "fp16": _FP16,
        "bf16": {"enabled": False},
        "optimizer": _ADAM,
        "activation_checkpointing": {"partition_activations": False, "contiguous_memory_optimization": False},
        "wall_clock_breakdown": False,
    },
    2: {
        "train_micro_batch_size_per_gpu": 1,
        "gradient_accumulation_steps": 1,
        "steps_per_print": 1,
        "gradient_clipping": 0.1,
        "zero_optimization": {
            "stage": 2,
            "contiguous_gradients": False,
            "overlap_comm": True,
            "reduce_scatter": True,
            "reduce_bucket_size": 4e7,
            "allgather_bucket_size": 1e8,
            "load_from_fp32_weights": False,
            "round_robin_gradients": False,
        },
        "offload_optimizer": {"device": "cpu", "pin_memory": True},
        "zero_allow_untested_optimizer": True,
        "fp16": _FP16,
        "bf16": {"enabled": False},
        "optimizer": _ADAM,
        "activation_checkpointing": {
            "partition_activations": False,
            "contiguous_memory_optimization": False,
            "cpu_checkpointing": False,
        },
        "wall_clock_breakdown": False,
    },
}


def _zero3() -> dict[str, Any]:
    """satc's ZeRO-3: SAT's stage-2 settings with parameters partitioned and nothing
    offloaded (offloading is a per-cluster choice the user makes explicitly)."""
    config = copy.deepcopy(_PRESETS[2])
    del config["offload_optimizer"]  # SAT's misplaced top-level key: DeepSpeed never reads it
    zero = config["zero_optimization"]
    del zero["round_robin_gradients"]
    zero.update(
        stage=3,
        contiguous_gradients=True,
        stage3_prefetch_bucket_size=4e7,
        stage3_param_persistence_threshold=1e5,
        stage3_max_live_parameters=1e9,
        stage3_max_reuse_distance=1e9,
        stage3_gather_16bit_weights_on_model_save=True,
    )
    return config


_PRESETS[3] = _zero3()


def preset(stage: int) -> dict[str, Any]:
    """A fresh copy of the preset for ZeRO ``stage`` (0-3)."""
    return copy.deepcopy(_PRESETS[stage])
