"""Without torch, DeepSpeed or SAT, get_args() ends with one line naming what to install
(exit 2, no traceback), and DeepSpeed's absence shows before the rendezvous: a rank whose
peers never come still fails at once, not after launch.init_timeout."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from launch_helpers import compile_bundle
from reference import harness
from support import require_module

INIT_TIMEOUT = 30

_BLOCKED_GET_ARGS = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # `import name` now raises ModuleNotFoundError, as if uninstalled
sys.argv[1:] = []
import satc.runtime
satc.runtime.get_args()
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A training bundle: it starts DeepSpeed after the rendezvous."""
    directory = tmp_path_factory.mktemp("missing")
    launch = {"init_timeout": INIT_TIMEOUT, "master_addr": "127.0.0.1", "master_port": 29555}
    return compile_bundle(directory, launch)


@pytest.mark.parametrize(
    ("blocked", "named"),
    [
        ("deepspeed", "deepspeed"),
        ("torch", "torch"),
        ("sat", "SwissArmyTransformer"),
    ],
)
def test_a_missing_runtime_package_is_one_line_before_the_rendezvous(
    bundle: Path, tmp_path: Path, blocked: str, named: str
) -> None:
    require_module("omegaconf")
    # Rank 1 of 2 whose rank 0 never comes: the rendezvous would wait INIT_TIMEOUT.
    env = harness.clean_env(
        RANK="1",
        LOCAL_RANK="1",
        WORLD_SIZE="2",
        LOCAL_WORLD_SIZE="2",
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(harness.free_port()),
        SATC_BUNDLE=str(bundle / "args.json"),
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKED_GET_ARGS, blocked],
        env=env,
        capture_output=True,
        text=True,
        timeout=INIT_TIMEOUT * 3,
        cwd=tmp_path,
    )
    assert time.monotonic() - started < INIT_TIMEOUT, result.stderr[-2000:]
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "ModuleNotFoundError" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and "pip install" in lines[0], lines[0]
