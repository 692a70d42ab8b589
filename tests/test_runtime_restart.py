"""torchrun's --max-restarts with satc's runtime: after a rank dies, the restarted ranks
initialise again (the agent's store outlives the dead attempt) and finish."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from reference.harness import clean_env
from support import ROOT, require_module, require_tool, satc

CONFIG = """\
args:
  mode: inference
  experiment_name: restart
launch:
  device: cpu
  gpus_per_node: 2
  init_timeout: 60
  max_restarts: 1
  entrypoint: restart_entry.py
"""


def test_ranks_restarted_by_torchrun_initialise_and_finish(tmp_path: Path) -> None:
    require_module("sat")
    require_tool("bash")
    shutil.copy(ROOT / "tests" / "fixtures" / "restart_entry.py", tmp_path)
    (tmp_path / "restart.yaml").write_text(CONFIG, encoding="utf-8")
    compiled = satc("compile", "restart.yaml", "-o", "bundle", cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    out = tmp_path / "ranks.jsonl"
    result = subprocess.run(
        ["bash", "bundle/launch.sh"],
        cwd=tmp_path,
        env=clean_env(
            SATC_RESTART_OUT=str(out),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # The first attempt lost rank 1 before its barrier; the second got every rank through.
    assert sorted((line["attempt"], line["rank"]) for line in lines) == [(1, 0), (1, 1)]
    assert all(line["sum"] == 3.0 for line in lines)
    assert "RendezvousError" not in result.stdout
