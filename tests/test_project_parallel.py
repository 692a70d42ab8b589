"""The target classes are read in a forked child beside the rest of a cold project read
(compiler/project/parallel.py): the same facts as one process, and nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from satc.compiler.project import parallel
from support import cogvideo_sat, satc


@pytest.mark.parametrize(
    ("folder", "argv"),
    [
        ("cogvideo-sat", ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")),
        (
            "forks/Tora/sat",
            ("configs/tora/model/cogvideox_5b_tora.yaml", "configs/tora/inference_sparse.yaml"),
        ),
        ("forks/CogView3/sat", ("sample_dit.py", "configs/cogview3_plus.yaml")),
    ],
)
def test_a_cold_read_in_two_processes_gives_the_bundle_one_process_gives(
    tmp_path: Path, folder: str, argv: tuple[str, ...]
) -> None:
    cwd = cogvideo_sat().parent / folder
    bundles = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        env = {"SATC_CACHE_DIR": str(tmp_path / f"cache{jobs}"), "SATC_READ_JOBS": jobs}
        done = satc("compile", *argv, "-o", str(out), cwd=cwd, env=env)
        assert done.returncode == 0, done.stderr
        bundles[jobs] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}, done.stderr
    # the read's files (the bundle records them, the cache re-hashes them) are the same too
    assert bundles["1"] == bundles["2"]


def test_a_part_comes_back_from_the_child() -> None:
    found = parallel.start(lambda: {"pid": os.getpid(), "data": [1, "two", None]}).result()
    assert found["data"] == [1, "two", None]
    # in a process of one thread (as `satc compile` is) the part is a child's
    script = (
        "import os; from satc.compiler.project import parallel; "
        "print(parallel.start(os.getpid).result() != os.getpid())"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == ("True" if hasattr(os, "fork") else "False"), done.stderr


def test_a_child_that_fails_is_replaced_by_the_same_work_here() -> None:
    calls: list[int] = []

    def work() -> object:
        calls.append(os.getpid())
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return {"here": True}

    parent = os.getpid()
    assert parallel.start(work).result() == {"here": True}
    assert calls == [parent]  # the child's call is not in this process's list
    # a value marshal cannot write: computed here too
    assert isinstance(parallel.start(lambda: object()).result(), object)


def test_a_cancelled_part_leaves_no_process() -> None:
    pending = parallel.start(lambda: time.sleep(60))
    pid = getattr(pending, "_pid", None)
    if hasattr(os, "fork") and threading.active_count() == 1:
        assert pid is not None  # a child was started (pytest's workers run one thread)
    started = time.monotonic()
    pending.cancel()
    assert time.monotonic() - started < 10
    if pid is not None:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped: no zombie either


def test_one_process_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATC_READ_JOBS", "1")
    assert parallel.start(os.getpid).result() == os.getpid()
