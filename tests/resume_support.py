"""What the resume tests share (tests/test_resume_sat.py under torchrun,
tests/test_resume_slurm.py on the local SLURM cluster): SAT's real training_main on a
small BaseModel (tests/fixtures/sat_resume_entry.py: bf16 ZeRO-2, FusedEmaAdam, 2 CPU
ranks), launched through the bundle's launch.sh, and its per-step records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from reference.harness import clean_env
from support import ROOT, satc

STEPS = 6
CONFIG = f"""\
args:
  mode: pretrain
  experiment_name: tiny-resume
  train_iters: {STEPS}
  save_interval: 2
  eval_interval: 1000
  log_interval: 1
  save: ckpts
  train_data: [tokens]
  split: "1"
  num_workers: 0
  seed: 7
  lr_decay_style: cosine
model:
  num_layers: 1
  hidden_size: 16
  num_attention_heads: 2
  vocab_size: 32
  max_sequence_length: 17
deepspeed:
  train_micro_batch_size_per_gpu: 2
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
  entrypoint: sat_resume_entry.py
  init_timeout: 120
  gpus_per_node: 2
  global_batch_size: 4
"""


def workdir(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "sat_resume_entry.py", directory)
    (directory / "tiny.yaml").write_text(CONFIG, encoding="utf-8")
    return directory


def compile_config(directory: Path, out: str, *sets: str) -> Path:
    argv = [arg for item in sets for arg in ("--set", item)]
    result = satc("compile", "tiny.yaml", "-o", out, *argv, cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory / out


def launch_env(records: Path, **env: str) -> dict[str, str]:
    """The environment of a launch.sh run that records its steps in ``records``."""
    return clean_env(
        WANDB_MODE="disabled",
        SATC_SAMPLES_OUT=str(records),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        **env,
    )


def launch(directory: Path, bundle: str, records: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", f"{bundle}/launch.sh"],
        cwd=directory,
        env=launch_env(records, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )


def steps_of(records: Path) -> dict[int, dict[str, Any]]:
    """Per step: the samples of all ranks, the loss per rank and micro-batch and the rate,
    as the last attempt to run that step recorded them (a dead attempt's steps were redone)."""
    lines = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
    steps: dict[int, dict[str, Any]] = {}
    for step in sorted({line["step"] for line in lines}):
        mine = [line for line in lines if line["step"] == step]
        last = max(line["attempt"] for line in mine)
        mine = sorted((line for line in mine if line["attempt"] == last), key=lambda r: r["rank"])
        steps[step] = {
            "samples": sorted(i for line in mine for i in line["indices"]),
            "losses": [(line["rank"], line["loss"]) for line in mine],
            "lr": {line["lr"] for line in mine},
        }
    return steps


def run_folder(directory: Path) -> Path:
    [folder] = list((directory / "ckpts").glob("tiny-resume-*"))
    return folder
