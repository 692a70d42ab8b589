"""One part of a project read done in a forked child while the parent does the rest.

A cold read is parsing and walking the project's code; the target classes (their modules,
the VAE's, the sampler's, torch.nn bases) and the rest (arguments.py, the entry scripts,
the engine) are mostly different files, so on a machine with a second core the two halves
take about as long as the longer one.  The child starts from the parent's state at the
fork and hands back plain data (``marshal``), so the result is the same as computing it
here; where there is no ``fork`` (Windows), one core, other threads running,
``SATC_READ_JOBS=1``, or the child fails in any way, the part is computed in this process
instead.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import sys
from collections.abc import Callable
from typing import Any


class Pending:
    """A part computed here, when asked."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._work = work

    def result(self) -> Any:
        return self._work()

    def cancel(self) -> None:
        return None


class _Forked(Pending):
    """A part computed by a child process, read back from its pipe."""

    def __init__(self, work: Callable[[], Any], pid: int, fd: int) -> None:
        super().__init__(work)
        self._pid = pid
        self._fd: int | None = fd

    def result(self) -> Any:
        fd, self._fd = self._fd, None
        if fd is None:
            return self._work()
        try:
            with os.fdopen(fd, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            if status == 0:
                return marshal.loads(data)
        except (OSError, ValueError, EOFError, TypeError):
            pass
        return self._work()  # the child failed: the same part, here

    def cancel(self) -> None:
        """The read stopped before it needed the part (a located error): the child is
        stopped and reaped, so a long-lived process (a sweep, a test worker) keeps none."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        os.close(fd)  # a child still writing gets EPIPE and exits
        with contextlib.suppress(OSError):
            os.kill(self._pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(self._pid, 0)


def _cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than the
    machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _threaded() -> bool:
    """Whether other threads run here (a library's, a test runner's): a forked child has only
    this one, and any lock another thread held stays held there; one process then."""
    threading = sys.modules.get("threading")
    return threading is not None and threading.active_count() > 1


def start(work: Callable[[], Any]) -> Pending:
    """``work()`` (returning plain data ``marshal`` can write) started in a child process
    where possible; ``.result()`` gives its value, ``.cancel()`` drops it."""
    if not hasattr(os, "fork") or os.environ.get("SATC_READ_JOBS") == "1" or _cores() < 2 or _threaded():
        return Pending(work)
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return Pending(work)
    try:
        pid = os.fork()
    except Exception:  # noqa: BLE001 - OSError, or a warning made an error: one process
        os.close(read_fd)
        os.close(write_fd)
        return Pending(work)
    if pid == 0:  # the child: compute, write, and leave without running any exit handler
        status = 1
        try:
            os.close(read_fd)
            data = marshal.dumps(work())
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
            status = 0
        except BaseException:  # noqa: BLE001 - the parent computes it itself
            pass
        finally:
            os._exit(status)
    os.close(write_fd)
    return _Forked(work, pid, read_fd)
