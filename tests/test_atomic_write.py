"""A bundle is replaced all at once: a SIGKILL at any point of writing leaves the complete
old bundle or the complete new one, and racing compiles never mix their files."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import satc

BASE = "args:\n  mode: finetune\n  train_iters: 10\n  train_data: [disney]\nlaunch:\n  device: cpu\n"


def _config(seed: int, keys: int = 0) -> str:
    model = "".join(f"    key{i}: {'v' * 40}{i}\n" for i in range(keys))
    return (
        BASE
        + f"  gpus_per_node: {1 + seed % 2}\nmodel:\n  seed_of_test: {seed}\n  params:\n"
        + (model or "    x: 1\n")
    )


def _contents(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())} if directory.exists() else {}


def _stray(workdir: Path) -> list[str]:
    return [p.name for p in workdir.iterdir() if p.name.startswith(".satc-tmp-")]


@pytest.fixture
def two_bundles(tmp_path: Path) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """a.yaml and b.yaml compiled into the same `out`: returns their complete contents."""
    (tmp_path / "a.yaml").write_text(_config(1, keys=3000))
    (tmp_path / "b.yaml").write_text(_config(2, keys=3000))
    bundles = []
    for name in ("b.yaml", "a.yaml"):
        result = satc("compile", name, "-o", "out", cwd=tmp_path, timeout=60)
        assert result.returncode == 0, result.stderr
        bundles.append(_contents(tmp_path / "out"))
    new, old = bundles
    assert old != new and set(old) == set(new)
    return tmp_path, old, new


def _run_killed(workdir: Path, config: str, env: dict[str, str]) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "satc", "compile", config, "-o", "out"],
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode


def test_sigkill_at_every_write_step_leaves_old_or_new(two_bundles) -> None:
    workdir, old, new = two_bundles
    outcomes = []
    for step in range(1, 40):
        before = _contents(workdir / "out")
        target, config = (new, "b.yaml") if before == old else (old, "a.yaml")
        code = _run_killed(workdir, config, {"SATC_TEST_KILL_AT_STEP": str(step)})
        after = _contents(workdir / "out")
        assert after in (before, target), f"step {step}: a mix of bundles"
        outcomes.append((code, after == target))
        if code == 0:
            break  # past the last step: the hook never fired
    killed = [o for o in outcomes if o[0] == -signal.SIGKILL]
    assert len(killed) >= 8, outcomes  # every file half and fully written, swap, fsync, cleanup
    assert any(swapped for _, swapped in killed) and any(not swapped for _, swapped in killed)
    # The next compile cleans up what the killed ones left beside the bundle.
    assert satc("compile", "a.yaml", "-o", "out", cwd=workdir, timeout=60).returncode == 0
    assert _contents(workdir / "out") == old
    assert _stray(workdir) == []


def test_sigkill_at_random_moments_leaves_old_or_new(two_bundles) -> None:
    workdir, old, new = two_bundles
    start = time.monotonic()
    assert _run_killed(workdir, "b.yaml", {}) == 0
    duration = time.monotonic() - start
    rng = random.Random(7)
    swapped = 0
    for _ in range(20):
        before = _contents(workdir / "out")
        target, config = (new, "b.yaml") if before == old else (old, "a.yaml")
        process = subprocess.Popen(
            [sys.executable, "-m", "satc", "compile", config, "-o", "out"],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        after = _contents(workdir / "out")
        assert after in (before, target), "a mix of bundles"
        swapped += after == target
    assert satc("compile", "a.yaml", "-o", "out", cwd=workdir, timeout=60).returncode == 0
    assert _stray(workdir) == []


@pytest.mark.parametrize("start_empty", [False, True], ids=["over-a-bundle", "no-directory-yet"])
def test_concurrent_compiles_never_mix_files(two_bundles, start_empty: bool) -> None:
    workdir, old, new = two_bundles
    for _ in range(6):
        if start_empty:
            subprocess.run(["rm", "-rf", str(workdir / "out")], check=True)
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(
                pool.map(
                    lambda name: satc("compile", name, "-o", "out", cwd=workdir, timeout=60),
                    ["a.yaml", "b.yaml"],
                )
            )
        for result in results:
            assert result.returncode == 0, result.stderr
        assert _contents(workdir / "out") in (old, new)
        assert _stray(workdir) == []
