"""Text that reaches a terminal or a log: tokens redacted, control characters escaped.

Shared by the compiler's messages and the runtime's (which imports nothing from the
compiler), so both hide the same secrets and show the same escapes.
"""

from __future__ import annotations

import re

TOKEN_PATTERNS = {
    # No leading word boundary: a token glued to the text before it (`xhf_...`, an escape
    # sequence's final letter) is still a token.  Their prefixes are distinctive enough.
    "AWS access key": re.compile(r"(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Hugging Face token": re.compile(r"hf_[A-Za-z0-9]{30,}\b"),
    "GitHub token": re.compile(r"(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b|github_pat_[A-Za-z0-9_]{60,}"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9_-]{32,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
}


# A text holding none of a pattern's literal parts cannot match it: every value, key and
# output file is checked, and a substring test is far cheaper than the expressions
# (``\b[a-z][a-z0-9+.-]*://`` tries every word of a bundle).
TOKEN_LITERALS = {
    "AWS access key": ("AKIA", "ASIA"),
    "Hugging Face token": ("hf_",),
    "GitHub token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "Slack token": ("xox",),
    "OpenAI-style key": ("sk-",),
    "private key": ("-----BEGIN ",),
    "password in a URL": ("://",),
}


def token_kinds(text: str) -> list[str]:
    """The kinds of token ``text`` holds (TOKEN_PATTERNS' names, in their order)."""
    return [
        name
        for name, pattern in TOKEN_PATTERNS.items()
        if any(part in text for part in TOKEN_LITERALS[name]) and pattern.search(text)
    ]


def redact(text: str) -> str:
    for name, pattern in TOKEN_PATTERNS.items():
        if any(part in text for part in TOKEN_LITERALS[name]):
            text = pattern.sub("[REDACTED]", text)
    return text


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


def terminal_text(text: str) -> str:
    """What satc prints on any output path: tokens redacted and, line by line, every
    character a terminal would act on escaped."""
    return "\n".join(escape(line) for line in redact(text).split("\n"))
