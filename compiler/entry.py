"""The `satc` console script: Ctrl-C ends every command with one line and status 130.

Imports nothing at module level beyond what the interpreter has already loaded, so
that a Ctrl-C while click, jsonschema and the compiler load is caught here too (it
would otherwise print a traceback).  The SIGINT handler raises `Interrupted`, a
BaseException that neither click (which turns KeyboardInterrupt into "Aborted!" and
status 1, the code for drift) nor a command's own error handling catches; `finally`
blocks still run, so an interrupted compile leaves the old bundle or the new one.
"""

from __future__ import annotations

import gc
import os
import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process Ctrl-C ended


class Interrupted(BaseException):
    """SIGINT arrived: unwind (running `finally` blocks) and exit 130."""


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted


def install() -> object:
    """Route SIGINT to Interrupted; returns the previous handler (None off the main
    thread, where an embedding caller keeps its own)."""
    import signal

    try:
        return signal.signal(signal.SIGINT, _raise_interrupted)
    except (ValueError, OSError):
        return None


def report_interrupt() -> None:
    """One line on stderr, then status 130; quiet when stderr has gone away too."""
    try:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt this
    except BaseException:  # noqa: BLE001 - interrupted again while importing: exit anyway
        pass
    try:
        sys.stderr.write("satc: interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(EXIT_INTERRUPTED)


def main(*args: object, **kwargs: object) -> object:
    # A command is one short run that allocates many objects it keeps (modules, the
    # project's syntax trees, the schema) and makes little cyclic garbage: the cycle
    # collector's passes over them were a tenth of a cold compile's CPU.  Reference
    # counting still frees everything else; the collector is back on for any caller
    # that embeds this function.
    collecting = gc.isenabled()
    gc.disable()
    try:
        install()
        from .cli import main as command

        kwargs.setdefault("prog_name", "satc")
        return command(*args, **kwargs)
    except (Interrupted, KeyboardInterrupt):
        report_interrupt()
    finally:
        if collecting:
            gc.enable()
    return None
