"""init() also fills CogVideoX's own `sgm.util` context-parallel globals when `sgm` is
importable, so VAE code that imports from sgm.util works after the one-line swap.  The
`sgm.util` is the real one in $SATC_COGVIDEO_SAT (without the package's VAE-importing
``__init__``: tests/reference/project_get_args.sgm_util_only)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from support import ROOT, cogvideo_sat, require_module, satc

PROBE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])  # tests/reference
import project_get_args
project_get_args.sgm_util_only(Path(sys.argv[2]))
import satc.runtime as runtime
runtime.init()
import sgm.util
assert Path(sgm.util.__file__) == Path(sys.argv[2]) / "sgm" / "util.py", sgm.util.__file__
ours = runtime.context_parallel.get_context_parallel_group()
print("SGM", sgm.util._CONTEXT_PARALLEL_SIZE, sgm.util.get_context_parallel_group() is ours)
"""


def test_init_publishes_the_context_parallel_group_to_sgm(tmp_path: Path) -> None:
    require_module("torch")
    require_module("sat")
    (tmp_path / "c.yaml").write_text("args:\n  mode: inference\nlaunch:\n  device: cpu\n  init_timeout: 60\n")
    assert satc("compile", "c.yaml", "-o", "b", cwd=tmp_path).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "SATC_BUNDLE": str(tmp_path / "b" / "args.json"),
        "RANK": "0",
        "WORLD_SIZE": "1",
        "LOCAL_RANK": "0",
        "LOCAL_WORLD_SIZE": "1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "tests" / "reference"), str(cogvideo_sat())],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SGM 1 True" in result.stdout
