"""Runs that continue: SAT's real training_main (tests/fixtures/sat_resume_entry.py: a
small BaseModel, bf16 ZeRO-2, FusedEmaAdam) on 2 CPU ranks under the bundle's
launch.sh, killed at a step chosen at random, against one uninterrupted run.

What must hold (rules C1-C7, docs/resume.md): torchrun's restart resumes from the last
checkpoint and finishes; every step's samples equal the uninterrupted run's (no repeat,
no gap: the later attempt's records replace the dead one's); the learning rate of every
step is the uninterrupted one (no re-warm); an exact resume gives bit-identical losses;
a 2-rank run resumed on 1 and on 4 ranks keeps the global batch and the sample order; a
kill in the middle of a save resumes from the previous checkpoint; the bundle is
unchanged and the checkpoint folder records the lineage.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from resume_support import STEPS, compile_config, launch, run_folder, steps_of, workdir
from support import require_module, satc, tree_digest

# The uninterrupted run saves exact state too: exact mode runs TorchScript functions
# unoptimized on every step (C6), so its losses are the ones an exact resume must match;
# the sample order and the learning rates are those of any run of this config.
EXACT = "launch.exact_resume=true"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    require_module("sat")
    directory = workdir(tmp_path_factory.mktemp("uninterrupted"))
    compile_config(directory, "bundle", EXACT)
    records = directory / "records.jsonl"
    result = launch(directory, "bundle", records)
    assert result.returncode == 0, result.stdout[-6000:]
    steps = steps_of(records)
    assert sorted(steps) == list(range(1, STEPS + 1))
    assert all(len(step["samples"]) == 4 for step in steps.values())  # global batch 4
    return steps


@pytest.mark.parametrize("exact", [False, True], ids=["default", "exact-bf16"])
def test_a_rank_killed_at_a_random_step_resumes_from_the_last_checkpoint(
    tmp_path: Path, uninterrupted: dict[int, dict[str, Any]], exact: bool
) -> None:
    # Exact mode in bf16 ZeRO-2 (the test model's precision, and CogVideoX's): every loss
    # after the checkpoint, of every rank, bit for bit.
    directory = workdir(tmp_path)
    sets = ["launch.max_restarts=1"] + ([EXACT] if exact else [])
    bundle = compile_config(directory, "bundle", *sets)
    before = tree_digest(bundle)
    kill_at = random.Random().randint(3, STEPS)  # after the first checkpoint (step 2)
    records = directory / "records.jsonl"
    result = launch(directory, "bundle", records, SATC_KILL_AT=str(kill_at))
    assert result.returncode == 0, result.stdout[-6000:]
    resumed_from = (kill_at - 1) // 2 * 2
    assert f"at iteration {resumed_from}, sample {resumed_from * 4} (rule C1)" in result.stdout, kill_at

    steps = steps_of(records)
    assert sorted(steps) == list(range(1, STEPS + 1))
    for step in range(1, STEPS + 1):
        assert steps[step]["samples"] == uninterrupted[step]["samples"], (kill_at, step)
        assert steps[step]["lr"] == uninterrupted[step]["lr"], (kill_at, step)  # C5: no re-warm
    if exact:
        for step in range(resumed_from + 1, STEPS + 1):
            assert steps[step]["losses"] == uninterrupted[step]["losses"], (kill_at, step)
        assert "exact resume: optimizer state and RNG streams restored" in result.stdout
    else:
        assert "not exact (Adam moments start at zero" in result.stdout

    folder = run_folder(directory)
    assert (folder / "latest").read_text() == str(STEPS)  # the plan's optimizer steps, all
    lineage = json.loads((folder / "satc-lineage.json").read_text())
    digest = json.loads((bundle / "args.json").read_text())["digest"]
    chain = lineage["chain"]
    assert [(c["restart_attempt"], c["resumed_from"]) for c in chain[-2:]] == [
        (0, None),
        (1, {"folder": str(folder.relative_to(directory)), "iteration": resumed_from}),
    ]
    assert {c["bundle_digest"] for c in chain} == {digest}
    explained = satc("explain", "bundle", cwd=directory)  # the chain, from args.save
    resumed = f"2. continued iteration {resumed_from} of {folder.relative_to(directory)}; bundle "
    assert resumed in explained.stdout, explained.stdout[-2000:]
    state = json.loads((folder / str(STEPS) / "satc-state.json").read_text())
    assert state["consumed_samples"] == STEPS * 4
    assert tree_digest(bundle) == before  # only resumed: byte-identical
    assert not list(folder.glob(".satc-saving-*"))


def test_a_kill_in_the_middle_of_a_save_resumes_from_the_previous_checkpoint(
    tmp_path: Path, uninterrupted: dict[int, dict[str, Any]]
) -> None:
    directory = workdir(tmp_path)
    compile_config(directory, "bundle", "launch.max_restarts=1")
    records = directory / "records.jsonl"
    # Rank 0 dies in the save of iteration 4, after SAT wrote its EMA tag (SAT alone
    # would leave `latest` naming 4-ema, which no start can load).
    result = launch(directory, "bundle", records, SATC_KILL_IN_SAVE="4")
    assert result.returncode == 0, result.stdout[-6000:]
    assert "at iteration 2, sample 8 (rule C1)" in result.stdout
    steps = steps_of(records)
    assert [steps[s]["samples"] for s in range(1, STEPS + 1)] == [
        uninterrupted[s]["samples"] for s in range(1, STEPS + 1)
    ]
    assert (run_folder(directory) / "latest").read_text() == str(STEPS)


def test_a_two_rank_run_resumed_on_one_and_on_four_ranks_keeps_batch_and_order(
    tmp_path: Path, uninterrupted: dict[int, dict[str, Any]]
) -> None:
    directory = workdir(tmp_path / "two")
    compile_config(directory, "bundle")
    records = directory / "records.jsonl"
    stopped = launch(directory, "bundle", records, SATC_KILL_AT="4")  # no restarts: it ends
    assert stopped.returncode != 0
    assert (run_folder(directory) / "latest").read_text() == "2"
    for ranks, micro in ((1, 2), (4, 1)):
        moved = workdir(tmp_path / f"on{ranks}")
        shutil.copytree(directory / "ckpts", moved / "ckpts")
        shutil.copy(records, moved / "records.jsonl")
        compile_config(
            moved,
            "bundle",
            f"launch.gpus_per_node={ranks}",
            f"deepspeed.train_micro_batch_size_per_gpu={micro}",
        )
        result = launch(moved, "bundle", moved / "records.jsonl", SATC_RUN="1")
        assert result.returncode == 0, result.stdout[-6000:]
        assert "at iteration 2, sample 8 (rule C1)" in result.stdout
        steps = steps_of(moved / "records.jsonl")
        for step in range(1, STEPS + 1):
            assert steps[step]["samples"] == uninterrupted[step]["samples"], (ranks, step)
            assert steps[step]["lr"] == uninterrupted[step]["lr"], (ranks, step)
        assert (run_folder(moved) / "latest").read_text() == str(STEPS)
