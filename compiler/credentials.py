"""Keep credentials out of bundles, which are committed to git (RELIABILITY.md "Secrets")."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import ConfigError, Problem, derived_location

TOKEN_PATTERNS = {
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "GitHub token": re.compile(r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{60,}"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9_-]{32,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


def find_tokens(text: str) -> list[str]:
    return [name for name, pattern in TOKEN_PATTERNS.items() if pattern.search(text)]


def redact(text: str) -> str:
    for pattern in TOKEN_PATTERNS.values():
        text = pattern.sub("[REDACTED]", text)
    return text


def scan_outputs(files: Mapping[str, str]) -> None:
    """Refuse to write a bundle in which any file carries a credential-shaped token."""
    problems = [
        Problem(derived_location(name), "", f"would contain a {kind}; refusing to write it",
                hint="keep credentials out of configs: list the variable in "
                "launch.env_passthrough and set it at launch time")
        for name, text in sorted(files.items())
        for kind in find_tokens(text)
    ]
    if problems:
        raise ConfigError(problems)
