"""Write stage: put a rendered bundle on disk atomically.

The new bundle is written into a temporary sibling directory, fsynced, and then
swapped with the old one in a single `renameat2(RENAME_EXCHANGE)`, so a crash or
SIGKILL at any point leaves either the complete old bundle or the complete new
one, and two compiles racing into one directory never mix files.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from .. import files
from .errors import ConfigError, Location, Problem

_TMP_PREFIX = ".satc-tmp-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
EXECUTABLE = frozenset({"launch.sh"})


_steps = itertools.count(1)


def _test_hook_step() -> None:
    """TEST HOOK: with SATC_TEST_KILL_AT_STEP=n the process SIGKILLs itself at the n-th
    write step, so tests/test_atomic_write.py can crash every step deterministically.
    A list (n,m) with SATC_TEST_SIGNAL=TERM,INT sends those signals at those steps."""
    target = os.environ.get("SATC_TEST_KILL_AT_STEP")
    if not target:
        return
    step = next(_steps)
    steps = [int(item) for item in target.split(",")]
    names = (os.environ.get("SATC_TEST_SIGNAL") or "KILL").split(",")
    if step in steps:
        name = names[min(steps.index(step), len(names) - 1)]
        os.kill(os.getpid(), getattr(signal, f"SIG{name}"))


# Signals that end a compile (kill, a job runner, Ctrl-C, a closed terminal): while a
# bundle is written they first remove the temporary directory.
_STOPPING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class _Stopped(BaseException):
    """A stopping signal arrived during the write (see _SignalGuard)."""


class _SignalGuard:
    """While a bundle is written, a stopping signal raises _Stopped where the write is,
    so the `finally` blocks remove what was half made; inside ``held()`` (creating and
    removing the temporary directory, the swap) it is only recorded, so a second Ctrl-C
    cannot interrupt the cleanup.  On exit the previous handlers come back and the first
    signal is delivered again: the process ends as that signal would have ended it."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.holding = False
        self.previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum
        if not self.holding:
            raise _Stopped

    def __enter__(self) -> _SignalGuard:
        if threading.current_thread() is threading.main_thread():  # handlers live there only
            for signum in _STOPPING:
                self.previous[signum] = signal.signal(signum, self._handler)
        return self

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        outer, self.holding = self.holding, True
        try:
            yield
        finally:
            self.holding = outer

    def check(self) -> None:
        """Act on a signal recorded while held."""
        if self.signum is not None:
            raise _Stopped

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> Literal[False]:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        if self.signum is None:
            return False
        signal.raise_signal(self.signum)  # the previous handler: the default ends the process
        # Still here: that handler neither ended the process nor raised.
        if self.signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + self.signum)


def _output_problem(out_dir: Path, message: str, hint: str | None = None) -> ConfigError:
    relative = os.path.relpath(out_dir)
    shown = str(out_dir if relative.startswith("..") else relative)  # as the user likely typed it
    if len(shown) > 160:  # a name over NAME_MAX or PATH_MAX would drown the message
        shown = f"{shown[:80]}...{shown[-60:]}"
    return ConfigError([Problem(Location(rank=0, label=f"-o {shown}"), "", message, hint=hint)])


BUNDLE_FILES = frozenset({"args.json", "config.yaml", "ds_config.json", "launch.sh", "hostfile"})
LAYER_FILE = re.compile(r"^base\.[1-9][0-9]{0,3}\.yaml$")  # compiler/layers.py


def _foreign_entries(directory: Path, names: set[str]) -> list[str] | None:
    """What stops ``directory`` from being replaced: only satc bundles (or empty
    directories) may be, never a user's folder.  [] when it may; None when it holds
    no satc args.json at all."""
    entries = {entry.name for entry in directory.iterdir()}
    if not entries:
        return []
    try:
        document = files.load_json(files.read_regular(directory / "args.json", files.MAX_JSON_BYTES))
    except (OSError, ValueError):
        return None
    if not (isinstance(document, dict) and str(document.get("format", "")).startswith("satc.args/")):
        return None
    return sorted(e for e in entries - names - BUNDLE_FILES if not LAYER_FILE.match(e))


def _followed(out_dir: Path) -> Path:
    """A symlinked -o names its target: the bundle is replaced there and the link stays.
    A link that leads nowhere (dangling, a loop) is refused: renaming onto it would
    replace the link itself."""
    if not out_dir.is_symlink():
        return out_dir
    try:
        return Path(os.path.realpath(out_dir, strict=True))
    except OSError:
        raise _output_problem(
            out_dir,
            "is a symbolic link that leads nowhere (dangling, or a loop)",
            "point it at a directory, or remove it",
        ) from None


def check_target(out_dir: Path, names: set[str]) -> None:
    """Refuse, before anything is written, an output path satc must not replace."""
    try:
        _check_target(out_dir, names)
    except OSError as exc:  # a name over NAME_MAX or PATH_MAX, a loop, no permission
        raise _output_problem(
            out_dir, f"cannot use this path: {exc.strerror or exc}", "choose another -o (a shorter path)"
        ) from None


def _check_target(out_dir: Path, names: set[str]) -> None:
    out_dir = _followed(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise _output_problem(out_dir, "exists and is not a directory")
    foreign = _foreign_entries(out_dir, names) if out_dir.is_dir() else []
    if foreign is None:
        raise _output_problem(
            out_dir,
            "is a directory that is not a satc bundle; refusing to replace it",
            "choose a new or empty directory for the bundle",
        )
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise _output_problem(
            out_dir,
            f"this bundle directory also holds files satc did not write ({shown}); "
            "replacing it would delete them",
            "move them out of the bundle directory",
        )
    parent = out_dir.parent
    if parent.exists() and not parent.is_dir():
        raise _output_problem(out_dir, f"{parent} is a file, expected a directory to hold the bundle")
    if not parent.is_dir():
        raise _output_problem(
            out_dir, f"parent directory {parent} does not exist", "create it first, or choose another -o"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _output_problem(out_dir, f"parent directory {parent} is not writable")


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where unsupported."""
    import ctypes  # here, not at the top: only a bundle that exists already is swapped

    # The interpreter's own symbols, libc's among them (dlopen(NULL)): ctypes.util's
    # find_library would import subprocess and shutil for the same answer (~20 ms).
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(second))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_files(directory: Path, files: Mapping[str, str]) -> None:
    umask = os.umask(0)
    os.umask(umask)
    for name, text in sorted(files.items()):
        path = directory / name
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            half = len(text) // 2
            handle.write(text[:half])
            _test_hook_step()  # a file half written
            handle.write(text[half:])
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(path, (0o777 if name in EXECUTABLE else 0o666) & ~umask)
        _test_hook_step()
    os.chmod(directory, 0o777 & ~umask)
    _fsync_dir(directory)


def _clean_stale(parent: Path, name: str) -> None:
    """Remove temporaries left by a compile that was killed (its pid is gone)."""
    for entry in parent.glob(f"{_TMP_PREFIX}{name}.*"):
        pid_text = entry.name.rsplit(".", 2)[-2] if entry.name.count(".") >= 2 else ""
        if pid_text.isdigit() and not Path(f"/proc/{pid_text}").exists():
            shutil.rmtree(entry, ignore_errors=True)


def write_bundle(out_dir: Path, files: Mapping[str, str]) -> None:
    """Replace ``out_dir`` with exactly ``files``; all or nothing."""
    out_dir = Path(os.path.abspath(out_dir))
    check_target(out_dir, set(files))
    out_dir = _followed(out_dir)
    parent = out_dir.parent
    _clean_stale(parent, out_dir.name)
    with _SignalGuard() as guard:
        _write_guarded(guard, out_dir, parent, files)


def _write_guarded(guard: _SignalGuard, out_dir: Path, parent: Path, files: Mapping[str, str]) -> None:
    with guard.held():  # the temporary directory exists only once `staging` names it
        try:
            staging = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{out_dir.name}.{os.getpid()}.", dir=parent))
        except OSError as exc:
            raise _output_problem(out_dir, f"cannot create a directory next to it: {exc.strerror}") from None
    try:
        guard.check()
        _test_hook_step()
        _write_files(staging, files)
        _test_hook_step()
        with guard.held():
            _swap_in(staging, out_dir)
        guard.check()
        _test_hook_step()
        _fsync_dir(parent)
        _test_hook_step()
    except OSError as exc:  # a full disk, a quota, a file size limit
        raise _output_problem(
            out_dir,
            f"cannot write the bundle: {exc.strerror or exc}",
            "nothing was replaced: the previous bundle, if any, is intact",
        ) from None
    finally:
        with guard.held():
            _test_hook_step()  # a signal during the cleanup
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(staging)
    _test_hook_step()


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Make ``staging`` the bundle; afterwards ``staging`` holds what was there (if anything)."""
    if not out_dir.is_dir():
        try:
            os.rename(staging, out_dir)
            return
        except OSError as exc:
            # A concurrent compile created it since we looked: exchange with theirs.
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    if not _exchange(staging, out_dir):
        _replace_without_exchange(staging, out_dir)


def _replace_without_exchange(staging: Path, out_dir: Path) -> None:
    """Where RENAME_EXCHANGE is missing: move the old bundle aside, then rename."""
    if out_dir.exists():
        aside = out_dir.with_name(f"{_TMP_PREFIX}{out_dir.name}.{os.getpid()}.old")
        os.rename(out_dir, aside)
        os.rename(staging, out_dir)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(staging, out_dir)


def check_sweep_root(root: Path, index: str, index_format: str) -> Path:
    """Refuse, before anything is written, a sweep root satc must not replace; return the
    path to replace (a symlink's target).  It may be new, empty, or a previous satc sweep:
    its index and the bundles beside it, nothing else."""
    target = _followed(Path(os.path.abspath(root)))
    if target.exists() and not target.is_dir():
        raise _output_problem(target, "exists and is not a directory")
    if target.is_dir() and any(target.iterdir()):
        try:
            document = files.load_json(files.read_regular(target / index, files.MAX_JSON_BYTES))
        except (OSError, ValueError):
            document = None
        if not (isinstance(document, dict) and document.get("format") == index_format):
            raise _output_problem(
                target,
                f"is a directory that is not a satc sweep (no {index}); refusing to replace it",
                "choose a new or empty directory for the sweep",
            )
        foreign = [
            entry.name
            for entry in sorted(target.iterdir())
            if entry.name != index
            and not (entry.is_dir() and not entry.is_symlink() and _foreign_entries(entry, set()) == [])
        ]
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise _output_problem(
                target,
                f"this sweep directory also holds what satc did not write ({shown}); "
                "replacing the sweep would delete it",
                "move it out of the sweep directory",
            )
    parent = target.parent
    if not parent.is_dir():
        raise _output_problem(
            target, f"parent directory {parent} does not exist", "create it first, or choose another -o"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _output_problem(target, f"parent directory {parent} is not writable")
    return target


# The pieces a sweep assembles its root from (compiler/commands/sweep.py).
TMP_PREFIX = _TMP_PREFIX
clean_stale = _clean_stale
write_files = _write_files
fsync_dir = _fsync_dir
swap_in = _swap_in
