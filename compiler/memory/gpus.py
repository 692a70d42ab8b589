"""GPUs satc knows by name: memory as `nvidia-smi` reports it (MiB / 1024)."""

from __future__ import annotations

import re

GPU_GIB: dict[str, float] = {
    "A100-40G": 40.0,
    "A100-80G": 80.0,
    # The A100 and H100 of the export rules (A800, H800): what CogVideoX's own labs train on.
    "A800-40G": 40.0,
    "A800-80G": 80.0,
    "H800": 79.6,
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
    "A10G": 22.5,  # AWS g5: nvidia-smi reports 23028 MiB
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


# Spellings people type or copy from nvidia-smi: case, spaces, '-' and '_' do not
# matter, "GB" means "G", and vendor words and form factors are dropped
# ("NVIDIA A100-SXM4-80GB", "rtx 4090", "RTX-4090", "A100_80GB" all name one card; nvidia-smi
# prints "NVIDIA RTX A6000" for the A6000, so "RTX" is a vendor word too).
_NOISE = re.compile(r"NVIDIA|GEFORCE|TESLA|RTX|SXM\d?|PCIE|HBM\dE?|NVL")
# Names that stand for one card without their memory (an H100 is 80 GB but for the NVL).
_ALIASES = {"H100": "H100-80G", "H200141G": "H200", "B200180G": "B200"}


def _squash(name: str) -> str:
    text = re.sub(r"[\s_\-]", "", name.upper())
    text = _NOISE.sub("", text)
    return re.sub(r"(\d+)GB?$", r"\1G", text)


_BY_SQUASHED = {_squash(name): name for name in GPU_GIB} | _ALIASES


def canonical(name: str) -> str | None:
    """The GPU_GIB name `name` spells, or None when it is none of them."""
    return name if name in GPU_GIB else _BY_SQUASHED.get(_squash(name))


def named_like(name: str) -> list[str]:
    """The cards whose name starts as `name` does (`A100` -> A100-40G, A100-80G)."""
    squashed = _squash(name)
    return sorted(card for card in GPU_GIB if squashed and _squash(card).startswith(squashed))
