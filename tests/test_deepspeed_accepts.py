"""The emitted ds_config.json is accepted by the real DeepSpeedConfig (issue 2).

DeepSpeed is the second opinion, never the only one (RELIABILITY.md): it reads the
data-parallel size from an mpu and re-derives the batch triad itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from compile_helpers import compile_layers
from support import CASES, ROOT, require_module

TRAIN = "args:\n  mode: finetune\n  train_iters: 10\n  bf16: true\n"


def _deepspeed_reads(pairs: list[tuple[Path, int]]) -> list[dict]:
    require_module("deepspeed")
    argv = [str(item) for pair in pairs for item in pair]
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "deepspeed_accepts.py"), *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_deepspeed_accepts_golden_and_preset_bundles(tmp_path: Path) -> None:
    pairs: list[tuple[Path, int]] = []
    expected: list[dict] = []
    for case in sorted(CASES.glob("*/expected/ds_config.json")):
        document = json.loads((case.parent / "args.json").read_text())
        pairs.append((case, document["topology"]["data_parallel_size"]))
        expected.append(document)
    for stage in (0, 1, 2, 3):
        folder = tmp_path / f"zero{stage}"
        folder.mkdir()
        bundle = compile_layers(
            folder,
            TRAIN + f"  zero_stage: {stage}\n  batch_size: 2\n"
            "  gradient_accumulation_steps: 3\n  model_parallel_size: 2\n"
            "launch:\n  gpus_per_node: 8\n",
        )
        path = folder / "ds_config.json"
        path.write_text(bundle.files["ds_config.json"])
        pairs.append((path, bundle.plan.topology.data_parallel_size))
        expected.append(json.loads(bundle.files["args.json"]))
    readings = _deepspeed_reads(pairs)
    assert len(readings) == len(pairs)
    for reading, document in zip(readings, expected, strict=True):
        ds, topology = document["deepspeed_config"], document["topology"]
        assert reading["world_size"] == topology["data_parallel_size"]
        assert (
            reading["train_batch_size"]
            == ds["train_batch_size"]
            == (reading["micro"] * reading["gas"] * topology["data_parallel_size"])
        )
        assert reading["zero_stage"] == document["args"]["zero_stage"]  # D3
        assert (reading["fp16"], reading["bf16"]) == (document["args"]["fp16"], document["args"]["bf16"])
