"""D8 for SAT's real training loop: a cpu bundle runs sat.training.deepspeed_training's
training_main (timers, bf16 ZeRO-2 through DeepSpeed, sat.ops.FusedEmaAdam, checkpoint
with RNG states) on a CPU-only torch, with no shim of SAT in the test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from reference.harness import clean_env
from support import ROOT, require_module, satc

CONFIG = """\
args:
  mode: finetune
  experiment_name: tiny-sat
  train_iters: 2
  save_interval: 2
  eval_interval: 1000
  log_interval: 1
  save: ckpts
  train_data: [tokens]
  split: "1"
  num_workers: 0
  seed: 7
model:
  num_layers: 1
  hidden_size: 16
  num_attention_heads: 2
  vocab_size: 32
  max_sequence_length: 17
deepspeed:
  train_micro_batch_size_per_gpu: 2
  gradient_accumulation_steps: 1
  zero_optimization:
    stage: 2
  zero_allow_untested_optimizer: true
  bf16:
    enabled: true
  optimizer:
    type: sat.ops.FusedEmaAdam
    params:
      lr: 0.001
      betas: [0.9, 0.95]
      eps: 1.0e-8
      weight_decay: 1.0e-4
launch:
  device: cpu
  entrypoint: sat_train_entry.py
  init_timeout: 120
"""


@pytest.mark.parametrize("ranks", [2])
def test_training_main_of_sat_runs_on_a_cpu_bundle(tmp_path: Path, ranks: int) -> None:
    require_module("sat")
    import torch

    shutil.copy(ROOT / "tests" / "fixtures" / "sat_train_entry.py", tmp_path)
    (tmp_path / "tiny.yaml").write_text(CONFIG, encoding="utf-8")
    compiled = satc(
        "compile", "tiny.yaml", "-o", "bundle", "--set", f"launch.gpus_per_node={ranks}", cwd=tmp_path
    )
    assert compiled.returncode == 0, compiled.stderr
    result = subprocess.run(
        ["bash", "bundle/launch.sh"],
        cwd=tmp_path,
        env=clean_env(
            WANDB_MODE="disabled", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    assert "Using optimizer sat.ops.FusedEmaAdam from sat." in result.stdout
    assert result.stdout.count("| total loss ") == 2, result.stdout[-4000:]
    assert "Saving Ema Model..." in result.stdout  # SAT saves the optimizer's EMA weights too
    [saved] = list(tmp_path.glob("ckpts/tiny-sat-*/2/mp_rank_00_model_states.pt"))
    state = torch.load(saved, map_location="cpu", weights_only=False)
    assert state["iteration"] == 2
    if not torch.cuda.is_available():
        assert state["cuda_rng_state"].numel() == 0  # no CUDA: recorded as empty
    assert any(tensor.dtype == torch.bfloat16 for tensor in state["module"].values())
