"""C1: the checkpoint folder is checked before anything starts. A table of fabricated
SAT run folders, each refused with one located message naming the fix (or accepted),
and the continuation each launch.resume policy picks. No torch: the checks read files."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from satc.runtime.checkpoints import CheckpointError
from satc.runtime.resume import describe, plan
from support import satc

RUN = "ckpts/exp-12-05-10-00"


def _shard(folder: Path, tag: str, *names: str) -> None:
    (folder / tag).mkdir(parents=True, exist_ok=True)
    for name in names or ("mp_rank_00_model_states.pt",):
        (folder / tag / name).write_bytes(b"")


def _latest(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latest").write_text(text)


def _good(root: Path) -> None:
    _shard(root / RUN, "2")
    _shard(root / RUN, "2-ema")
    _shard(root / RUN, "4")
    _latest(root / RUN, "4")


def _no_latest(root: Path) -> None:
    _shard(root / RUN, "4")
    (root / RUN / "latest").mkdir()  # a folder where the file should be: not a `latest` file


def _ema(root: Path) -> None:
    _good(root)
    _latest(root / RUN, "4-ema")


def _tag(root: Path) -> None:
    _good(root)
    _latest(root / RUN, "release")


def _missing(root: Path) -> None:
    _good(root)
    _latest(root / RUN, "6")


def _mp(root: Path) -> None:
    _shard(root / RUN, "4", "mp_rank_00_model_states.pt", "mp_rank_01_model_states.pt")
    _latest(root / RUN, "4")


def _zero3(root: Path) -> None:
    _shard(root / RUN, "4", "z3_rank_00_model_states.pt", "z3_rank_01_model_states.pt")
    _latest(root / RUN, "4")


def _empty_tag(root: Path) -> None:
    (root / RUN / "4").mkdir(parents=True)
    _latest(root / RUN, "4")


def _latest_zero(root: Path) -> None:
    _good(root)
    _shard(root / RUN, "0")
    _latest(root / RUN, "0")


def _latest_zero_alone(root: Path) -> None:
    _shard(root / RUN, "0")
    _latest(root / RUN, "0")


def _state(text: str):
    def make(root: Path) -> None:
        _good(root)
        (root / RUN / "4" / "satc-state.json").write_text(text)

    return make


STATE = f"{RUN}/4/satc-state.json"

# (case, folder, policy, base model, expected: iteration or (file, words in the message))
CASES = [
    ("fresh", None, "auto", None, 0),
    ("complete", _good, "auto", None, 4),
    ("named iteration", _good, 2, None, 2),
    ("never", _good, "never", None, 0),
    ("tag folder path", _good, f"{RUN}/2", None, 2),
    ("run folder path", _good, RUN, None, 4),
    ("latest but none", None, "latest", None, ("ckpts", "no checkpoint of experiment 'exp'")),
    ("no latest", _no_latest, "auto", None, (f"{RUN}/latest", "no `latest` file", "launch.resume: N")),
    ("no latest (path)", _no_latest, RUN, None, (f"{RUN}/latest", "no `latest` file")),
    ("ema tag", _ema, "auto", None, (f"{RUN}/latest", "names the EMA tag '4-ema'", "echo N >")),
    ("not an iteration", _tag, "auto", None, (f"{RUN}/latest", "'release', not an iteration")),
    ("missing tag folder", _missing, "auto", None, (f"{RUN}/6", "no such folder", "names iteration 6")),
    ("mp shards", _mp, "auto", None, (f"{RUN}/4", "model-parallel size 1", "args.model_parallel_size=2")),
    ("zero-3 shards", _zero3, "auto", None, (f"{RUN}/4", "ZeRO-3 shards", "consolidate")),
    ("no shard", _empty_tag, "auto", None, (f"{RUN}/4", "no mp_rank_XX_model_states.pt", "earlier")),
    ("no such iteration", _good, 8, None, ("ckpts", "has a checkpoint 8")),
    ("latest 0", _latest_zero, "auto", None, (f"{RUN}/latest", "names iteration 0", "echo N >", "is 4)")),
    ("latest 0 alone", _latest_zero_alone, "auto", None, (f"{RUN}/latest", "iteration 0", "delete this run")),
    ("state negative", _state('{"consumed_samples": -5}'), "auto", None, (STATE, "consumed_samples is -5")),
    ("state bool", _state('{"consumed_samples": true}'), "auto", None, (STATE, "expected an integer")),
    (
        "state batch 0",
        _state('{"consumed_samples": 8, "global_batch": 0}'),
        "auto",
        None,
        (STATE, "at least 1"),
    ),
    ("state list", _state("[1, 2]"), "auto", None, (STATE, "holds a list, not the JSON object", "delete it")),
    ("state malformed", _state("{"), "auto", None, (STATE, "unreadable (JSONDecodeError)", "delete it")),
    ("base model missing", None, "auto", "weights/transformer", ("weights/transformer", "does not exist")),
]


def _bundle(policy: object) -> SimpleNamespace:
    topology = SimpleNamespace(model_parallel_size=1, data_parallel_size=2)
    return SimpleNamespace(launch={"resume": policy}, topology=topology)


def _namespace(load: str | None) -> argparse.Namespace:
    return argparse.Namespace(
        mode="finetune",
        save="ckpts",
        experiment_name="exp",
        load=load,
        batch_size=2,
        gradient_accumulation_steps=1,
    )


@pytest.mark.parametrize(("case", "make", "policy", "load", "expected"), CASES, ids=[c[0] for c in CASES])
def test_checkpoint_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, make, policy, load, expected
) -> None:
    monkeypatch.chdir(tmp_path)
    if make:
        make(tmp_path)
    if isinstance(expected, int):
        continuation = plan(_bundle(policy), _namespace(load))
        assert continuation.iteration == expected
        if expected:
            assert continuation.consumed_samples == expected * 4  # no satc-state.json: assumed
            derived = {d.key: (d.value, d.rule) for d in continuation.derived}
            assert derived["args.mode"] == ("pretrain", "C2")
            assert derived["args.no_load_rng"] == (True, "C3")
            assert derived["args.resume_dataloader"] == (False, "C4")
            assert describe(continuation)[0].endswith("(rule C1)")
        return
    with pytest.raises(CheckpointError) as raised:
        plan(_bundle(policy), _namespace(load))
    message = str(raised.value)
    where, *words = expected
    assert message.startswith(f"{where}: "), message
    for word in words:
        assert word in message, message
    assert "\n" not in message


def test_satc_state_gives_the_samples_consumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _good(tmp_path)
    state = {"consumed_samples": 24, "global_batch": 6, "lineage": []}
    (tmp_path / RUN / "4" / "satc-state.json").write_text(json.dumps(state))
    continuation = plan(_bundle("auto"), _namespace(None))
    assert continuation.consumed_samples == 24
    # The global batch changed (6 then, 4 now): said, and the samples still continue at 24.
    assert any("global batch 6 when saved, 4 now" in note for note in continuation.notes)


def test_a_refused_checkpoint_stops_every_rank_before_init_with_exit_2(tmp_path: Path) -> None:
    """Through get_args, as CogVideoX's entrypoints call it: exit 2, the message, no traceback."""
    (tmp_path / "c.yaml").write_text(
        "args:\n  mode: pretrain\n  experiment_name: exp\n  save: ckpts\n  train_data: [x]\n"
        "launch:\n  device: cpu\n  entrypoint: entry.py\n",
        encoding="utf-8",
    )
    assert satc("compile", "c.yaml", "-o", "bundle", cwd=tmp_path).returncode == 0
    _ema(tmp_path)
    (tmp_path / "entry.py").write_text("from satc.runtime import get_args\nget_args()\n")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["SATC_BUNDLE"] = str(tmp_path / "bundle" / "args.json")
    result = subprocess.run(
        [sys.executable, "entry.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert f"{RUN}/latest: names the EMA tag '4-ema'" in result.stderr
    assert "Traceback" not in result.stderr
