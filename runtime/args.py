"""``get_args``: CogVideoX's ``arguments.get_args`` as a drop-in, answered from the bundle.

    from satc.runtime import get_args     # the whole change to train_video.py

The bundle froze every argument at compile time (D5: the seed too), so flags given
after ``launch.sh`` are refused, each named with the compile-time way to set it, the
way argparse refuses a bad flag: a message on stderr and exit status 2.  A flag that
was silently dropped (CogVideoX's scripts pass ``--seed $RANDOM``) would make the run
differ from what the bundle records.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from .bundle import read_bundle
from .errors import RuntimeConfigError

PROG = "satc.runtime.get_args"


def _flag_name(token: str) -> str:
    return token.split("=", 1)[0]


def _value_after(tokens: Sequence[str], index: int) -> str | None:
    token = tokens[index]
    if "=" in token:
        return token.split("=", 1)[1]
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    return following if following is not None and not following.startswith("-") else None


def _safe(text: str) -> str:
    """A command-line word for a message: tokens redacted, control characters and
    newlines escaped (a newline in a flag would otherwise forge a line of its own)."""
    from ..scrub import escape, redact

    return escape(redact(text))


def _suggestion(dest: str, value: str | None, args: Mapping[str, Any]) -> str:
    shown = _safe(value) if value is not None else "VALUE"
    if dest in ("base", "deepspeed_config", "local_rank"):
        return f"satc sets args.{dest} itself; change the configs and recompile"
    if dest not in args:
        return "it is not an argument of this bundle; pass it to your own script another way"
    return (
        f"the bundle has args.{dest} = {args[dest]!r}; to change it, recompile: "
        f"satc compile CONFIG... -o DIR --set {shlex.quote(f'args.{dest}={shown}')}"
    )


def refused_flags(tokens: Sequence[str], args: Mapping[str, Any]) -> list[str]:
    """One line per command-line flag, with the compile-time way to set it (``args``: the
    bundle's frozen arguments); words after a flag are its values, words before any
    flag are positional arguments."""
    lines = []
    seen_flag = False
    for index, token in enumerate(tokens):
        if token.startswith("-") and token not in ("-", "--"):
            seen_flag = True
            flag = _flag_name(token)
            dest = flag.lstrip("-").replace("-", "_")
            lines.append(f"  {_safe(flag)}: {_suggestion(dest, _value_after(tokens, index), args)}")
        elif not seen_flag and token != "--":
            lines.append(f"  {_safe(repr(token))}: a positional argument; CogVideoX's get_args takes none")
    return lines


def _exit(message: str) -> NoReturn:
    # Flags, their values and the bundle path are the user's text: tokens redacted, and
    # escape sequences, bidi overrides and newlines shown escaped, as satc's CLI does.
    from ..scrub import terminal_text

    rank = os.environ.get("RANK") or os.environ.get("SLURM_PROCID")
    where = f" (rank {rank})" if rank is not None else ""
    print(terminal_text(f"{PROG}{where}: error: {message}"), file=sys.stderr, flush=True)
    raise SystemExit(2)


def get_args(args_list: Sequence[str] | None = None) -> argparse.Namespace:
    """The namespace CogVideoX's get_args returns, initialised: ``init()`` of $SATC_BUNDLE.

    ``args_list`` (default: this process's command line, as argparse reads it) must be
    empty: a flag is refused, never ignored.  Any problem with the bundle or the launch
    ends the process with a one-paragraph message and exit status 2, as argparse does.
    """
    from . import init

    tokens = list(sys.argv[1:] if args_list is None else args_list)
    try:
        if tokens:
            lines = refused_flags(tokens, read_bundle().args)
            # An argument list the script built itself (a second namespace from another
            # config stack) is named where it is made: the caller's file and line.
            caller = sys._getframe(1)
            called = (
                ""
                if args_list is None
                else f" (get_args called at {caller.f_code.co_filename}:{caller.f_lineno})"
            )
            _exit(
                f"command-line arguments are not read{called}: the bundle "
                f"{os.environ.get('SATC_BUNDLE', '')} froze every argument at compile time.\n"
                + "\n".join(lines)
            )
        return init()
    except RuntimeConfigError as exc:
        _exit(str(exc))
