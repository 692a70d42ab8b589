"""GPUs satc knows by name: memory as `nvidia-smi` reports it (MiB / 1024)."""

from __future__ import annotations

GPU_GIB: dict[str, float] = {
    "A100-40G": 40.0,
    "A100-80G": 80.0,
    "H100-80G": 79.6,
    "H100-94G": 93.6,
    "H200": 140.4,
    "H20": 95.6,
    "B200": 179.1,
    "L40S": 45.0,
    "L40": 45.0,
    "A6000": 48.0,
    "A40": 45.0,
    "A10": 22.5,
    "L4": 22.5,
    "RTX4090": 24.0,
    "RTX3090": 24.0,
    "V100-16G": 16.0,
    "V100-32G": 32.0,
}

# Estimates above this share of the card are where real runs start to OOM: the
# allocator's fragmentation and transient peaks the model does not see
# (Fujii et al., arXiv:2411.06465, compare estimates with measured peaks).
SAFE_FRACTION = 0.8
