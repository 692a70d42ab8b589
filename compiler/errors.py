"""Located problems: every message satc prints points at a file:line or a --set."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

# Ranks order locations: input files in command-line order, then --set, then satc's
# own derivations, so problems sort the way a user reads their configs.
SET_RANK = 1_000_000
DERIVED_RANK = 2_000_000


# What a terminal or a log reader would act on instead of showing: C0/C1 controls (ESC
# starts colour and OSC title/hyperlink sequences), DEL, line and paragraph separators
# (a newline in a key would forge a whole `file:line: error:` line), and the bidi
# controls that reorder what is displayed (U+202E "right-to-left override").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    # \u for DEL and above, so JSON output (which escapes only C0 itself) stays JSON.
    return f"\\x{ord(char):02x}" if ord(char) < 0x20 else f"\\u{ord(char):04x}"


def escape(text: str) -> str:
    """``text`` with every character a terminal would act on written as a visible escape
    (``\\x1b``, ``\\n``, ``\\u202e``); everything else is left as it was."""
    return _UNSAFE.sub(_visible, text) if _UNSAFE.search(text) else text


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

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
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
