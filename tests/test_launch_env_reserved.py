"""`launch.env` can set no variable that launch.sh itself uses, proven on every target
with the real script: bash records every variable the script holds while it runs (a
DEBUG trap after each command, in functions and subshells too), and each of those
names, put in launch.env, must be refused at compile time with exit 2."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from launch_helpers import compile_bundle, fake_bin, write_config
from support import satc

CAPTURE = """\
script="$1"
shift
set -o functrace
trap 'compgen -v >> "${SATC_T_VARS}"' DEBUG
# shellcheck disable=SC1090
source "${script}" "$@"
"""

LAYOUTS: list[tuple[str, dict[str, Any], dict[str, str], tuple[str, ...]]] = [
    ("torchrun-one-node", {"target": "torchrun"}, {}, ()),
    ("torchrun-pinned-port", {"target": "torchrun", "master_port": 29511}, {}, ()),
    (
        "torchrun-two-nodes",
        {"target": "torchrun", "nodes": 2, "master_addr": "10.0.0.1"},
        {},
        ("--node-rank", "1"),
    ),
    ("deepspeed-one-node", {"target": "deepspeed"}, {}, ()),
    ("deepspeed-pdsh", {"target": "deepspeed", "force_multi": True}, {}, ()),
    ("slurm-in-allocation", {"target": "slurm"}, {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "fakenode"}, ()),
    ("slurm-submits-itself", {"target": "slurm"}, {}, ()),
]


def _variables(tmp_path: Path, script: Path, env: dict[str, str], argv: tuple[str, ...]) -> set[str]:
    """Every variable name bash held while running ``script`` with fake launchers first
    on PATH, less those of a bare bash with the same environment."""
    record = tmp_path / "vars.txt"
    capture = tmp_path / "capture.sh"
    capture.write_text(CAPTURE)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    environment.update(
        PATH=f"{fake_bin(tmp_path)}{os.pathsep}{os.environ['PATH']}",
        FAKE_DUMP=str(tmp_path / "dump.jsonl"),
        SATC_T_VARS=str(record),
        **env,
    )
    run = subprocess.run(
        ["bash", str(capture), str(script), *argv],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    bare = subprocess.run(
        ["bash", "-c", "compgen -v"], env=environment, capture_output=True, text=True, timeout=30, check=True
    )
    return set(record.read_text().split()) - set(bare.stdout.split()) - {"script"}


@pytest.mark.parametrize("name,launch,env,argv", LAYOUTS, ids=[layout[0] for layout in LAYOUTS])
def test_no_variable_of_the_real_script_can_be_set_through_launch_env(
    tmp_path: Path, name: str, launch: dict[str, Any], env: dict[str, str], argv: tuple[str, ...]
) -> None:
    options = {**launch, "entrypoint": "train.py", "env": {"MY_FLAG": "kept"}}
    if launch.get("target") == "deepspeed" and (launch.get("nodes", 1) > 1 or launch.get("force_multi")):
        options["hosts"] = ["localhost"]
    bundle = compile_bundle(tmp_path, options)
    used = _variables(tmp_path, bundle / "launch.sh", env, argv) - {"MY_FLAG"}
    assert {"ENTRYPOINT", "BUNDLE_DIR"} <= used, sorted(used)  # the capture saw the script

    config = write_config(
        tmp_path / "hostile.yaml", {**options, "env": dict.fromkeys(sorted(used), "/usr/bin/env")}
    )
    result = satc("compile", str(config), "-o", str(tmp_path / "refused"))
    assert result.returncode == 2, result.stdout + result.stderr
    refused = {
        line.split("error: launch.env.", 1)[1].split(":", 1)[0]
        for line in result.stderr.splitlines()
        if "error: launch.env." in line
    }
    assert used - refused == set(), f"launch.env may set what launch.sh uses: {sorted(used - refused)}"
    assert not (tmp_path / "refused").exists()


def _rank_sources() -> set[str]:
    """Every environment name satc.runtime reads to learn its place in the job: the
    upper-case string constants of runtime/environment.py (its tables of sources)."""
    import ast

    tree = ast.parse((Path(__file__).resolve().parent.parent / "runtime" / "environment.py").read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.isupper()
        and node.value.replace("_", "").isalnum()
        and "_" in node.value + "_"
        and len(node.value) > 3
    }


def test_every_rank_source_of_the_runtime_is_refused_in_launch_env(tmp_path: Path) -> None:
    sources = _rank_sources()
    assert {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_PROCID", "LOCAL_SIZE"} <= sources
    # The class, not the list: a name the runtime may read tomorrow is refused today.
    names = sorted(sources | {"OMPI_COMM_WORLD_NODE_RANK", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK"})
    config = write_config(
        tmp_path / "ranks.yaml",
        {"target": "torchrun", "entrypoint": "train.py", "env": dict.fromkeys(names, "0")},
    )
    result = satc("compile", str(config), "-o", str(tmp_path / "refused"))
    assert result.returncode == 2, result.stdout + result.stderr
    refused = {
        line.split("error: launch.env.", 1)[1].split(":", 1)[0]
        for line in result.stderr.splitlines()
        if "error: launch.env." in line
    }
    assert set(names) - refused == set(), sorted(set(names) - refused)
    assert "the runtime, DeepSpeed or torch.distributed read it" in result.stderr
    assert not (tmp_path / "refused").exists()
