"""What every CogVideoX rule reads: the config's network, its profile, and where to report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ....project import select
from ....tree import value_at
from ...work import Work
from ..targets import problem
from .profiles import NETWORK, Profile

Path = tuple[str | int, ...]
POS_EMBED = (*NETWORK, "modules", "pos_embed_config", "params")
LORA = (*NETWORK, "modules", "lora_config")
DATA = ("data", "params")
PIXEL_DATASETS = ("data_video.SFTDataset",)  # yield decoded video frames (data_video.py:454)
T5_TARGET = "sgm.modules.encoders.modules.FrozenT5Embedder"


@dataclass(frozen=True)
class Model:
    """What the rules read: the network's params and the identified profile (or None)."""

    work: Work
    params: dict[str, Any]
    profile: Profile | None

    def value(self, path: Path) -> tuple[bool, Any]:
        return value_at(self.work.config.tree, path)

    def int_at(self, path: Path) -> int | None:
        found, value = self.value(path)
        return value if found and isinstance(value, int) and not isinstance(value, bool) else None

    def error(self, path: Path, rule: str, message: str, hint: str | None = None) -> None:
        self.work.errors.append(problem(self.work.config, path, rule, message, hint))

    def warn(self, path: Path, rule: str, message: str, hint: str | None = None) -> None:
        self.work.warnings.append(problem(self.work.config, path, rule, message, hint, "warning"))

    def uses(self, path: Path, param: str) -> dict[str, Any]:
        """The project's facts of how the class at ``path``'s `target` uses ``param``."""
        found, target = self.value((*path, "target"))
        if not found or not isinstance(target, str):
            return {}
        entry = select.for_config(self.work.config).targets.get(target, {})
        used: dict[str, Any] = dict(entry.get("uses", {}).get(param, {}))
        return used

    def latent_frames(self) -> int | None:
        """The latent frames the network's position grid covers."""
        frames = self.int_at((*NETWORK, "num_frames"))
        rate = self.int_at((*NETWORK, "time_compressed_rate")) or 4
        return (frames - 1) // rate + 1 if frames and frames > 0 else None
