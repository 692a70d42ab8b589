"""Located problems: every message satc prints points at a file:line or a --set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..scrub import escape as escape

Severity = Literal["error", "warning"]

# Ranks order locations: input files in command-line order, then --set, then satc's
# own derivations, so problems sort the way a user reads their configs.
SET_RANK = 1_000_000
DERIVED_RANK = 2_000_000


@dataclass(frozen=True, order=True)
class Location:
    """Where a value came from: a file position, a --set override, or a default/rule."""

    rank: int
    line: int = 0
    col: int = 0
    label: str = field(default="", compare=False)

    def __str__(self) -> str:
        if self.line:
            return f"{escape(self.label)}:{self.line}:{self.col}"
        return escape(self.label)


def file_location(rank: int, label: str, line: int, col: int) -> Location:
    return Location(rank=rank, line=line, col=col, label=label)


def derived_location(label: str) -> Location:
    return Location(rank=DERIVED_RANK, label=label)


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) with the input, located and explained."""

    location: Location | None
    key: str
    message: str
    severity: Severity = "error"
    hint: str | None = None

    def render(self) -> str:
        """One line (two with a hint) whatever the key, value or file name held: every
        user-controlled character a terminal would act on is escaped."""
        where = f"{self.location}: " if self.location else ""
        what = f"{escape(self.key)}: " if self.key else ""
        text = f"{where}{self.severity}: {what}{escape(self.message)}"
        if self.hint:
            text += f"\n    hint: {escape(self.hint)}"
        return text

    def sort_key(self) -> tuple[Location, str]:
        return (self.location or Location(rank=DERIVED_RANK * 2), self.key)


class ConfigError(Exception):
    """Invalid input: carries every problem found, so the user fixes them in one pass."""

    def __init__(self, problems: list[Problem], note: str | None = None) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
        self.note = note  # one line printed before the problems (no project found)
        super().__init__("\n".join(p.render() for p in self.problems))


def fail(location: Location | None, key: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError([Problem(location, key, message, hint=hint)])


def dotted(path: tuple[str | int, ...]) -> str:
    """('deepspeed', 'optimizer', 'params', 'betas', 0) -> 'deepspeed.optimizer.params.betas[0]'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
