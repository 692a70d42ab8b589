"""launch.global_batch_size (rule B1) through the real CLI: the accumulation is derived
for each topology, an unreachable N is a located error listing what works, and a
committed bundle retargets to more GPUs keeping its global batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import REFERENCE, satc, tree_digest

CONFIGS = (str(REFERENCE / "cogvideox_5b_lora.yaml"), str(REFERENCE / "sft.yaml"))
PINNED = ("--set", "launch.global_batch_size=64", "--set", "launch.gpus_per_node=8")


def _compile(out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return satc("compile", *CONFIGS, *PINNED, "--set", "launch.master_addr=node0", *extra, "-o", str(out))


@pytest.mark.parametrize(("nodes", "accumulation"), [(1, 4), (2, 2), (4, 1)])
def test_pinned_global_batch_survives_the_node_count(tmp_path: Path, nodes: int, accumulation: int) -> None:
    done = _compile(tmp_path / "b", "--set", f"launch.nodes={nodes}")
    assert done.returncode == 0, done.stderr
    ds = json.loads((tmp_path / "b" / "ds_config.json").read_text())
    assert (ds["train_batch_size"], ds["train_micro_batch_size_per_gpu"]) == (64, 2)
    assert ds["gradient_accumulation_steps"] == accumulation
    args = json.loads((tmp_path / "b" / "args.json").read_text())["args"]
    assert args["gradient_accumulation_steps"] == accumulation
    assert f"train_batch_size 64 = 2 x {accumulation} x {8 * nodes}" in done.stdout
    explained = satc("explain", str(tmp_path / "b"), "deepspeed.gradient_accumulation_steps")
    # B1 is the source even where sft.yaml's accumulation (1) happens to agree (4 nodes).
    assert f"  from rule B1: gradient_accumulation_steps = 64 / (2 x {8 * nodes})" in explained.stdout


def test_unreachable_global_batch_is_refused_with_the_sizes_that_work(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    before = tree_digest(tmp_path)
    done = _compile(tmp_path / "b", "--set", "launch.nodes=3")
    assert done.returncode == 2
    assert (
        "--set launch.global_batch_size: error: launch.global_batch_size: 64 / (2 micro x 24 dp)"
        in done.stderr
    )
    assert "1.333 is no whole number of accumulation steps" in done.stderr
    assert "dp 8 (8 GPUs = 1 x 8), dp 16 (16 GPUs = 2 x 8), dp 32 (32 GPUs = 4 x 8)" in done.stderr
    assert "nothing written" in done.stderr and "Traceback" not in done.stderr
    assert tree_digest(tmp_path) == before


def test_triad_mismatch_suggests_the_accumulation_that_fixes_it(tmp_path: Path) -> None:
    done = satc(
        "compile",
        *CONFIGS,
        "--set",
        "launch.gpus_per_node=8",
        "--set",
        "deepspeed.train_batch_size=64",
        "-o",
        str(tmp_path / "b"),
    )
    assert done.returncode == 2
    assert "train_batch_size is 64 but 2 x 1 x 8 (micro x grad_accum x dp) = 16" in done.stderr
    assert "hint: gradient_accumulation_steps 4 gives 64 (2 x 4 x 8)" in done.stderr
    assert "launch.global_batch_size: 64" in done.stderr


def test_a_committed_bundle_retargets_from_16_to_32_gpus_keeping_its_batch(tmp_path: Path) -> None:
    first = satc(
        "compile",
        *CONFIGS,
        "--set",
        "launch.gpus_per_node=8",
        "--set",
        "launch.nodes=2",
        "--set",
        "launch.master_addr=node0",
        "--set",
        "deepspeed.gradient_accumulation_steps=2",
        "-o",
        str(tmp_path / "b16"),
    )
    assert first.returncode == 0, first.stderr
    assert json.loads((tmp_path / "b16" / "ds_config.json").read_text())["train_batch_size"] == 64
    done = satc("compile", str(tmp_path / "b16"), "--set", "launch.nodes=4", "-o", str(tmp_path / "b32"))
    assert done.returncode == 0, done.stderr
    assert "keeping" in done.stderr and "global batch of 64" in done.stderr
    ds = json.loads((tmp_path / "b32" / "ds_config.json").read_text())
    assert (ds["train_batch_size"], ds["gradient_accumulation_steps"]) == (64, 1)
    assert json.loads((tmp_path / "b32" / "args.json").read_text())["topology"]["world_size"] == 32
    assert satc("check", "-o", str(tmp_path / "b32")).returncode == 0
    plan = satc("plan", str(tmp_path / "b32"), "--format", "json")
    assert json.loads(plan.stdout)["batch"] == {
        "global": 64,
        "micro": 2,
        "grad_accum": 1,
        "data_parallel": 32,
    }
