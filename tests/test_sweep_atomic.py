"""A sweep is one result: all its points and sweep.json, or what was there before.

Real `satc sweep` processes, interrupted by real signals while points are being written;
axes that would replace a whole section; grids too big to write; re-running a sweep over
its own root; the index's mode; names `check --all` must print escaped."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import satc, tree_digest

CONFIG = "args: {mode: pretrain, train_iters: 10, batch_size: 1, train_data: [d]}\nlaunch: {device: cpu}\n"
LRS = ",".join(f"{n}e-5" for n in range(1, 41))  # 40 points: a few seconds to write


def _config(tmp_path: Path) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return str(path)


def _staging(parent: Path) -> list[Path]:
    return [entry for entry in parent.iterdir() if entry.name.startswith(".satc-tmp-")]


def test_an_axis_that_names_a_section_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path)
    for axis in (
        "args=1,2",
        "deepspeed.zero_optimization=1,2",
        "launch.slurm=a,b",
        "launch.env=a,b",
        "launch=x,y",
    ):
        result = satc("sweep", config, "--sweep", axis, "-o", str(tmp_path / "s"))
        assert result.returncode == 2, result.stdout + result.stderr
        key = axis.split("=")[0]
        assert f"--sweep {key}: {key} is a section (a mapping)" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and not (tmp_path / "s").exists()
    leaf = satc("sweep", config, "--sweep", "args.train_iters=10,20", "-o", str(tmp_path / "s"))
    assert leaf.returncode == 0, leaf.stderr
    iters = {
        json.loads((p / "args.json").read_text())["args"]["train_iters"]
        for p in (tmp_path / "s").iterdir()
        if p.is_dir()
    }
    assert iters == {10, 20}


def test_a_grid_past_the_cap_is_refused_with_its_count_at_once(tmp_path: Path) -> None:
    hundred = ",".join(str(n) for n in range(1, 101))
    started = time.monotonic()
    result = satc(
        "sweep", _config(tmp_path), "--sweep", f"args.train_iters={hundred}", "--sweep", f"args.seed={hundred}",
        "--sweep", f"args.save_interval={hundred}", "-o", str(tmp_path / "s"),
    )  # fmt: skip
    assert result.returncode == 2
    assert (
        "the --sweep grid has 1,000,000 points (100 x 100 x 100); satc sweep writes at most 4,096"
        in result.stderr
    )
    assert time.monotonic() - started < 20 and not (tmp_path / "s").exists()


def test_a_sweep_reruns_over_its_own_root_and_replaces_it(tmp_path: Path) -> None:
    config, root = _config(tmp_path), tmp_path / "s"
    first = satc("sweep", config, "--sweep", "args.train_iters=10,20,30", "-o", str(root))
    assert first.returncode == 0, first.stderr
    again = satc("sweep", config, "--sweep", "args.seed=1,2", "-o", str(root))
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in root.iterdir()) == ["seed1", "seed2", "sweep.json"]
    assert not _staging(tmp_path)
    check = satc("check", "--all", "--root", str(root))
    assert check.returncode == 0 and "2 bundle(s), 0 drifted" in check.stdout, check.stdout
    (root / "notes.txt").write_text("mine\n")
    refused = satc("sweep", config, "--sweep", "args.seed=3,4", "-o", str(root))
    assert refused.returncode == 2 and "also holds what satc did not write (notes.txt)" in refused.stderr
    assert (root / "seed1").is_dir() and (root / "notes.txt").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "data.txt").write_text("x")
    foreign = satc("sweep", config, "--sweep", "args.seed=3,4", "-o", str(tmp_path / "mine"))
    assert foreign.returncode == 2 and "is a directory that is not a satc sweep" in foreign.stderr


def test_sweep_json_has_the_mode_of_the_bundles(tmp_path: Path) -> None:
    root = tmp_path / "s"
    done = subprocess.run(
        ["bash", "-c", 'umask 022 && exec "$@"', "-", sys.executable, "-m", "satc", "sweep", _config(tmp_path),
         "--sweep", "args.seed=1,2", "-o", str(root)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((root / "sweep.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "seed1" / "args.json").stat().st_mode) == 0o644
    assert stat.S_IMODE(root.stat().st_mode) == 0o755


def _interrupt(tmp_path: Path, root: Path, signum: int) -> int:
    """Start a 40-point sweep into ``root`` and send ``signum`` once some points are
    written into its staging directory; returns the exit status."""
    process = subprocess.Popen(
        [sys.executable, "-m", "satc", "sweep", _config(tmp_path), "--sweep", f"args.lr={LRS}", "-o", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        staged = _staging(root.parent)
        if staged and sum(1 for entry in staged[0].iterdir() if entry.is_dir()) >= 3:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the sweep ended before it could be interrupted"
    process.send_signal(signum)
    process.communicate(timeout=60)
    return process.returncode


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["TERM", "INT", "KILL"]
)
def test_an_interrupted_sweep_leaves_the_previous_one(tmp_path: Path, signum: int) -> None:
    config, root = _config(tmp_path), tmp_path / "s"
    # Interrupted first sweep: no root at all, never a partial one.
    status = _interrupt(tmp_path, root, signum)
    assert status != 0
    assert not root.exists()
    # Interrupted re-sweep: the previous sweep, byte for byte, and check says it is clean.
    assert satc("sweep", config, "--sweep", "args.seed=1,2,3", "-o", str(root)).returncode == 0
    before = tree_digest(root)
    status = _interrupt(tmp_path, root, signum)
    assert status != 0
    assert tree_digest(root) == before
    check = satc("check", "--all", "--root", str(root))
    assert check.returncode == 0 and "3 bundle(s), 0 drifted" in check.stdout, check.stdout
    if signum != signal.SIGKILL:
        assert not _staging(tmp_path), "TERM and INT unwind: no staging directory is left"
    # Whatever was left behind, the next sweep completes and removes it.
    done = satc("sweep", config, "--sweep", f"args.lr={LRS}", "-o", str(root))
    assert done.returncode == 0, done.stderr
    assert len(json.loads((root / "sweep.json").read_text())["points"]) == 40
    assert not _staging(tmp_path)


def test_check_all_prints_a_newline_in_a_name_escaped(tmp_path: Path) -> None:
    config = _config(tmp_path)
    forged = "x\nsatc check: 9 bundle(s), 0 drifted, 0 with invalid input"
    (tmp_path / "all").mkdir()
    assert (
        satc("sweep", config, "--sweep", "args.seed=1,2", "-o", str(tmp_path / "all" / forged)).returncode
        == 0
    )
    assert satc("compile", config, "-o", str(tmp_path / "all" / f"b{forged}")).returncode == 0
    os.remove(tmp_path / "all" / f"b{forged}" / "launch.sh")  # drift, so every line prints
    check = satc("check", "--all", "--root", str(tmp_path / "all"))
    assert check.returncode == 1, check.stdout + check.stderr
    lines = check.stdout.splitlines()
    assert lines[-1] == "satc check: 3 bundle(s), 1 drifted, 0 with invalid input", lines
    assert not any(line.startswith("satc check: 9") for line in lines), lines
    assert any(
        "x\\nsatc check: 9 bundle(s)" in line and "sweep.json: up to date" in line for line in lines
    ), lines


def test_a_save_directory_deferred_to_launch_time_is_not_named_per_point(tmp_path: Path) -> None:
    config = tmp_path / "afe.yaml"
    config.write_text(CONFIG.replace("{device: cpu}", "{device: cpu, args_from_env: {save: CKPT_DIR}}"))
    root = tmp_path / "s"
    done = satc("sweep", str(config), "--sweep", "args.seed=1,2", "-o", str(root))
    assert done.returncode == 0, done.stderr
    for point in ("seed1", "seed2"):
        document = json.loads((root / point / "args.json").read_text())
        assert document["args"]["save"] is None and document["launch"]["args_from_env"] == {
            "save": "CKPT_DIR"
        }
        assert document["args"]["experiment_name"].endswith(point)
