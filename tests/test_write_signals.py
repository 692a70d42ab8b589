"""SIGTERM, SIGINT or SIGHUP during a bundle write -- at every write step, and again
during the cleanup -- leaves the complete old bundle or the complete new one and no
`.satc-tmp-*` beside it; the process then ends as the signal would have ended it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import satc

CONFIG = "args:\n  mode: finetune\n  train_iters: 10\n  train_data: [disney]\nlaunch:\n  device: cpu\n"


def _contents(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())} if directory.exists() else {}


def _stray(workdir: Path) -> list[str]:
    return [p.name for p in workdir.iterdir() if p.name.startswith(".satc-tmp-")]


def _compile(workdir: Path, config: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "satc", "compile", config, "-o", "out"],
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def two_bundles(tmp_path: Path) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    for name, gpus in (("a.yaml", 1), ("b.yaml", 2)):
        (tmp_path / name).write_text(CONFIG + f"  gpus_per_node: {gpus}\n")
    contents = []
    for name in ("b.yaml", "a.yaml"):
        assert satc("compile", name, "-o", "out", cwd=tmp_path, timeout=60).returncode == 0
        contents.append(_contents(tmp_path / "out"))
    return tmp_path, contents[1], contents[0]


@pytest.mark.parametrize(
    ("signals", "second"),
    [("TERM", False), ("INT", False), ("HUP", False), ("TERM,INT", True), ("INT,INT", True)],
)
def test_a_signal_at_every_write_step_leaves_no_temporary(
    two_bundles: tuple[Path, dict[str, bytes], dict[str, bytes]], signals: str, second: bool
) -> None:
    workdir, old, new = two_bundles
    first = getattr(signal, f"SIG{signals.split(',')[0]}")
    interrupted = 0
    for step in range(1, 40):
        before = _contents(workdir / "out")
        target, config = (new, "b.yaml") if before == old else (old, "a.yaml")
        # With a second signal: it comes at the next step, which is during the cleanup.
        steps = f"{step},{step + 1}" if second else str(step)
        result = _compile(workdir, config, {"SATC_TEST_KILL_AT_STEP": steps, "SATC_TEST_SIGNAL": signals})
        after = _contents(workdir / "out")
        assert after in (before, target), f"step {step}: a mix of bundles"
        assert _stray(workdir) == [], f"step {step} ({signals}): {_stray(workdir)}"
        if result.returncode == 0:
            break  # past the last step: no signal was sent
        interrupted += 1
        assert b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
        if first != signal.SIGINT:  # SIGINT is the CLI's (KeyboardInterrupt)
            assert result.returncode == -first, (step, result.returncode, result.stderr[-2000:])
    assert interrupted >= 5
