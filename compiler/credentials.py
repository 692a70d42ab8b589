"""Keep credentials out of bundles, which are committed to git (RELIABILITY.md "Secrets")."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..scrub import TOKEN_PATTERNS as TOKEN_PATTERNS
from ..scrub import redact as redact
from ..scrub import terminal_text as terminal_text
from ..scrub import token_kinds
from .errors import ConfigError, Location, Problem, derived_location, dotted

# Keys that name a credential.  Anchored at the end so `password_file: /run/secrets/db`
# (where a secret lives) and `pad_token: "<pad>"` (a tokenizer setting) stay allowed.
_SERVICES = (
    "auth|access|api|bearer|refresh|session|oauth|hf|hub|huggingface|wandb|comet|neptune|mlflow"
    "|github|gh|gitlab|slack|bot|secret|personal|npm|pypi|kaggle|openai|anthropic|replicate"
    "|discord|telegram|docker|registry|aws|azure|gcp|modelscope|civitai|dropbox|client"
)
CREDENTIAL_KEY = re.compile(
    r"(?i)(?:^|[_.-])(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?key(?:[_-]?id)?"
    r"|passphrase|credentials?|private[_-]?key)$"
    r"|passw(?:or)?d$"  # also glued to a prefix: PGPASSWORD, dbpasswd
    rf"|^(?:(?:.*[_.-])?(?:{_SERVICES})[_-]?)?token$|^(?:.*[_.-])?(?:{_SERVICES})[_-]?key$"
)
# Environment variables are named by convention: whatever ends in TOKEN, SECRET, KEY,
# PASSWORD, ... holds one (NPM_TOKEN, WANDB_KEY, KAGGLE_KEY, PGPASSWORD, MY_PASS).
CREDENTIAL_ENV = re.compile(
    r"(?i)(?:token|secret|passw(?:or)?d|passphrase|credentials?|apikey)$"
    r"|(?:^|_)(?:key|pass|pwd|auth|cookie|session)$"
)
PASSTHROUGH_HINT = (
    "keep credentials out of configs: list the variable's name in launch.env_passthrough "
    "and export it before running launch.sh"
)


def is_credential_key(key: object) -> bool:
    return isinstance(key, str) and CREDENTIAL_KEY.search(key) is not None


def is_credential_env(name: object) -> bool:
    """A `launch.env` name that, by the usual conventions, holds a credential."""
    return isinstance(name, str) and (is_credential_key(name) or CREDENTIAL_ENV.search(name) is not None)


def _holds_literal(value: Any) -> bool:
    """A literal anywhere inside: a list of tokens or a mapping of them is no safer."""
    if isinstance(value, dict):
        return any(_holds_literal(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_literal(item) for item in value)
    return _is_literal(value)


def _is_literal(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False  # `use_auth_token: true` says where to look, it holds nothing
    return (isinstance(value, str) and value.strip() not in ("", "???")) or isinstance(value, int | float)


def check_tree(
    tree: Mapping[str, Any], locate: Callable[[tuple[str | int, ...]], Location | None]
) -> list[Problem]:
    """Credentials in the merged config: credential-named keys with literal values, and
    any value (or key) shaped like a token.  Messages never repeat the value."""
    problems: list[Problem] = []

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        items = (
            node.items() if isinstance(node, Mapping) else (enumerate(node) if isinstance(node, list) else ())
        )
        for key, value in items:
            here = (*path, key)
            if isinstance(key, str) and find_tokens(key):
                problems.append(
                    Problem(
                        locate(here),
                        dotted(path),
                        f"a key looks like "
                        f"{with_article(find_tokens(key)[0])}; refusing to freeze it into the "
                        "bundle",
                        hint=PASSTHROUGH_HINT,
                    )
                )
                continue
            named = is_credential_env(key) if path[:2] == ("launch", "env") else is_credential_key(key)
            if named and _holds_literal(value):
                problems.append(_credential_problem(locate(here), here))
            elif isinstance(value, str) and find_tokens(value):
                problems.append(
                    Problem(
                        locate(here),
                        dotted(here),
                        f"holds what looks like "
                        f"{with_article(find_tokens(value)[0])}; refusing to freeze it into the "
                        "bundle",
                        hint=PASSTHROUGH_HINT,
                    )
                )
            else:
                walk(value, here)

    walk(tree, ())
    return problems


def _credential_problem(location: Location | None, path: tuple[str | int, ...]) -> Problem:
    name = path[-1]
    if path[:2] == ("launch", "env"):
        hint = (
            f"move it to launch.env_passthrough: [{name}] and export {name} before "
            "running launch.sh; the script checks that it is set"
        )
    else:
        hint = (
            "remove the value and read the credential from the environment at run time "
            "(list its variable in launch.env_passthrough)"
        )
    return Problem(
        location,
        dotted(path),
        "looks like a credential and holds a literal value; bundles are committed, so it "
        "would end up in git (expected no value here)",
        hint=hint,
    )


def with_article(kind: str) -> str:
    """'an AWS access key', 'a GitHub token'."""
    return ("an " if kind[0].lower() in "aeiou" else "a ") + kind


def find_tokens(text: str) -> list[str]:
    return token_kinds(text)


def shown(text: str, limit: int = 60) -> str:
    """``text`` for a message: tokens redacted *before* it is cut to ``limit``
    characters, so a cut can never leave a token too short to be recognised."""
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scan_outputs(files: Mapping[str, str]) -> None:
    """Refuse to write a bundle in which any file carries a credential-shaped token."""
    problems = [
        Problem(
            derived_location(name),
            "",
            f"would contain {with_article(kind)}; refusing to write it",
            hint=PASSTHROUGH_HINT,
        )
        for name, text in sorted(files.items())
        for kind in find_tokens(text)
    ]
    if problems:
        raise ConfigError(problems)
