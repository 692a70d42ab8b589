"""satc sweep through the real CLI: one bundle per grid point, unique names, check-clean,
and nothing written when any point is invalid."""

from __future__ import annotations

import json
from pathlib import Path

from support import REFERENCE, satc, tree_digest

CONFIGS = (str(REFERENCE / "cogvideox_5b_lora.yaml"), str(REFERENCE / "sft.yaml"))
BASE = ("--set", "launch.gpus_per_node=8", "--set", "launch.master_addr=node0", "--set", "launch.gpu=H200")


def test_a_2x3_grid_gives_six_unique_check_clean_bundles(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    done = satc(
        "sweep",
        *CONFIGS,
        *BASE,
        "--set",
        "launch.global_batch_size=64",
        "--sweep",
        "launch.nodes=1,2",
        "--sweep",
        "deepspeed.optimizer.params.lr=1e-4,3e-4,1e-3",
        "-o",
        str(root),
    )
    assert done.returncode == 0, done.stderr
    index = json.loads((root / "sweep.json").read_text())
    assert index["format"] == "satc.sweep/1" and len(index["points"]) == 6
    names, saves, lrs, accumulations = set(), set(), set(), set()
    for point in index["points"]:
        bundle = json.loads((root / point["bundle"] / "args.json").read_text())
        names.add(bundle["args"]["experiment_name"])
        saves.add(bundle["args"]["save"])
        lrs.add(bundle["deepspeed_config"]["optimizer"]["params"]["lr"])
        accumulations.add(
            (bundle["topology"]["nodes"], bundle["deepspeed_config"]["gradient_accumulation_steps"])
        )
        assert bundle["deepspeed_config"]["train_batch_size"] == 64
        assert point["fits"] is True  # 78 GiB on a 140 GiB H200
    assert len(names) == len(saves) == 6 and lrs == {1e-4, 3e-4, 1e-3}
    assert accumulations == {(1, 4), (2, 2)}
    assert "lora-disney-nodes2-lr3e-4" in names
    check = satc("check", "--all", "--root", str(root))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "6 bundle(s), 0 drifted, 0 with invalid input" in check.stdout
    assert "sweep.json: up to date" in check.stdout
    # The index is covered too: a point's bundle gone is drift.
    import shutil

    shutil.rmtree(root / "nodes1-lr1e-3")
    check = satc("check", "--all", "--root", str(root))
    assert check.returncode == 1, check.stdout + check.stderr
    assert "sweep.json: DRIFT" in check.stdout and "point nodes1-lr1e-3: no readable bundle" in check.stdout


def test_one_invalid_point_writes_nothing(tmp_path: Path) -> None:
    before = tree_digest(tmp_path)
    done = satc(
        "sweep",
        *CONFIGS,
        *BASE,
        "--set",
        "launch.global_batch_size=64",
        "--sweep",
        "launch.nodes=1,3",
        "--sweep",
        "deepspeed.optimizer.params.lr=1e-4,3e-4",
        "-o",
        str(tmp_path / "sweep"),
    )
    assert done.returncode == 2
    assert (
        "sweep point nodes3-lr1e-4 (launch.nodes=3, deepspeed.optimizer.params.lr=1e-4): INVALID"
        in done.stderr
    )
    assert "64 / (2 micro x 24 dp)" in done.stderr
    assert "2 of 4 sweep point(s) invalid; nothing written" in done.stderr
    assert tree_digest(tmp_path) == before and not (tmp_path / "sweep").exists()


def test_a_point_that_does_not_fit_the_gpu_writes_nothing(tmp_path: Path) -> None:
    done = satc(
        "sweep",
        *CONFIGS,
        *BASE,
        "--set",
        "launch.gpu=A100-40G",
        "--sweep",
        "deepspeed.train_micro_batch_size_per_gpu=1,2",
        "-o",
        str(tmp_path / "sweep"),
    )
    assert done.returncode == 2
    assert "does not fit" in done.stderr and not (tmp_path / "sweep").exists()


def test_malformed_axis_is_a_usage_error(tmp_path: Path) -> None:
    done = satc("sweep", *CONFIGS, "--sweep", "launch.nodes", "-o", str(tmp_path / "s"))
    assert done.returncode == 2 and "expected KEY=v1,v2" in done.stderr and "Traceback" not in done.stderr
