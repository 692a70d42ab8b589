"""A shell that remembers the last job: launch.sh reads only the environment of the launch
it is in.  A bundle directory, rank variables or an mpirun's OMPI_* left in the shell are
ignored by name; the bundle comes from the script's own (real) path; every check that can
fail before a job queues runs before sbatch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import support
from launch_helpers import PROBE, compile_bundle, read_probe, run_with_fakes

LEFTOVERS = {
    "RANK": "5",
    "WORLD_SIZE": "8",
    "LOCAL_RANK": "1",
    "LOCAL_SIZE": "8",
    "OMPI_COMM_WORLD_RANK": "3",
    "OMPI_COMM_WORLD_LOCAL_RANK": "1",
    "OMPI_COMM_WORLD_SIZE": "4",
    "TORCHELASTIC_RUN_ID": "old",
}


def _record(records: list[dict], name: str) -> dict:
    matching = [record for record in records if record["name"] == name]
    assert len(matching) == 1, records
    return matching[0]


def _two_bundles(tmp_path: Path, launch: dict) -> tuple[Path, Path]:
    """Job A's bundle and job B's, compiled from the same launch section."""
    bundles = []
    for name in ("A", "B"):
        (tmp_path / name.lower()).mkdir()
        bundles.append(compile_bundle(tmp_path / name.lower(), launch, out=name))
    return bundles[0], bundles[1]


@pytest.mark.parametrize("target", ["torchrun", "deepspeed", "slurm"])
def test_leftovers_from_another_job_are_ignored_by_name(tmp_path: Path, target: str) -> None:
    bundle_a, bundle_b = _two_bundles(tmp_path, {"target": target, "entrypoint": "t.py"})
    env = {"SATC_BUNDLE_DIR": str(bundle_a), "SATC_BUNDLE": str(bundle_a / "args.json"), **LEFTOVERS}
    if target == "slurm":  # inside an allocation: the job step starts here
        env.update(SLURM_JOB_ID="7", SLURM_JOB_NODELIST="fakenode")
    result, records = run_with_fakes(bundle_b / "launch.sh", tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    launcher = _record(records, {"slurm": "srun"}.get(target, target))
    assert launcher["env"]["SATC_BUNDLE"] == str(bundle_b.resolve() / "args.json")
    for name in (*LEFTOVERS, "SATC_BUNDLE_DIR"):
        assert name not in launcher["env"], name
        assert name in result.stderr  # named, not silently dropped
    if target == "deepspeed":  # forwarded through the launcher's own env file too
        assert "OMPI" not in launcher["files"].get("ds_env", "")


def test_slurm_submission_from_a_stale_shell_carries_no_leftovers(tmp_path: Path) -> None:
    bundle_a, bundle_b = _two_bundles(tmp_path, {"target": "slurm", "entrypoint": "t.py"})
    env = {"SATC_BUNDLE_DIR": str(bundle_a), **LEFTOVERS}
    result, records = run_with_fakes(bundle_b / "launch.sh", tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    sbatch = _record(records, "sbatch")
    assert sbatch["argv"] == [str(bundle_b.resolve() / "launch.sh")]
    for name in (*LEFTOVERS, "SATC_BUNDLE_DIR"):
        assert name not in sbatch["env"], name


def test_the_spooled_copy_finds_its_bundle_from_the_job_not_the_environment(tmp_path: Path) -> None:
    """sbatch runs a copy from its spool directory: the bundle is the job's Command."""
    bundle_a, bundle_b = _two_bundles(tmp_path, {"target": "slurm", "entrypoint": "t.py"})
    spool = tmp_path / "spool" / "job7"
    spool.mkdir(parents=True)
    (spool / "slurm_script").write_bytes((bundle_b / "launch.sh").read_bytes())
    env = {
        "SLURM_JOB_ID": "7",
        "SLURM_JOB_NODELIST": "fakenode",
        "SATC_BUNDLE_DIR": str(bundle_a),
        "FAKE_JOB_COMMAND": f"{bundle_b}/launch.sh x",
    }
    result, records = run_with_fakes(spool / "slurm_script", tmp_path, "x", env=env)
    assert result.returncode == 0, result.stderr
    assert _record(records, "srun")["env"]["SATC_BUNDLE"] == str(bundle_b.resolve() / "args.json")


@pytest.mark.parametrize("target", ["torchrun", "deepspeed", "slurm"])
def test_a_symlink_to_launch_sh_runs_the_bundle_it_points_to(tmp_path: Path, target: str) -> None:
    bundle = compile_bundle(tmp_path, {"target": target, "entrypoint": "t.py"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "run.sh").symlink_to(bundle / "launch.sh")
    env = {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "fakenode"} if target == "slurm" else {}
    result, records = run_with_fakes(elsewhere / "run.sh", tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    launcher = _record(records, {"slurm": "srun"}.get(target, target))
    assert launcher["env"]["SATC_BUNDLE"] == str(bundle.resolve() / "args.json")


@pytest.mark.parametrize("value", ["08", "010", "00", "+1", "1e0", " 1", "99999999999999999999", "2"])
def test_a_node_rank_that_is_not_plain_decimal_is_refused(tmp_path: Path, value: str) -> None:
    bundle = compile_bundle(
        tmp_path, {"target": "torchrun", "entrypoint": "t.py", "nodes": 2, "master_addr": "h0"}
    )
    result, records = run_with_fakes(bundle / "launch.sh", tmp_path, env={"NODE_RANK": value})
    assert result.returncode == 2, result.stderr
    assert records == []
    assert "value too great" not in result.stderr and "syntax error" not in result.stderr
    assert "0..1" in result.stderr and "without leading zeros" in result.stderr
    assert f'got "{value}"' in result.stderr


@pytest.mark.parametrize(
    ("launch", "missing"),
    [
        ({"env_passthrough": ["SATC_TEST_UNSET_SECRET"]}, "SATC_TEST_UNSET_SECRET"),
        ({"args_from_env": {"save": "SATC_TEST_UNSET_CKPT"}}, "SATC_TEST_UNSET_CKPT"),
    ],
)
def test_slurm_refuses_before_sbatch_what_the_job_would_fail_on(
    tmp_path: Path, launch: dict, missing: str
) -> None:
    assert missing not in os.environ
    bundle = compile_bundle(tmp_path, {"target": "slurm", "entrypoint": "t.py", **launch})
    result, records = run_with_fakes(bundle / "launch.sh", tmp_path)
    assert result.returncode != 0
    assert missing in result.stderr
    assert records == []  # nothing was submitted


def test_slurm_creates_the_log_folder_before_sbatch(tmp_path: Path) -> None:
    bundle = compile_bundle(
        tmp_path, {"target": "slurm", "entrypoint": "t.py", "slurm": {"output": "logs/run/%x-%j.out"}}
    )
    result, records = run_with_fakes(bundle / "launch.sh", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "logs" / "run").is_dir()
    assert _record(records, "sbatch")


def test_slurm_refuses_a_log_folder_only_the_job_can_name(tmp_path: Path) -> None:
    bundle = compile_bundle(
        tmp_path, {"target": "slurm", "entrypoint": "t.py", "slurm": {"output": "logs/%j/out.txt"}}
    )
    result, records = run_with_fakes(bundle / "launch.sh", tmp_path)
    assert result.returncode == 2, result.stderr
    assert "launch.slurm.output" in result.stderr and "%j" in result.stderr
    assert records == [] and not (tmp_path / "logs").exists()


# ---------------------------------------------------------------- real launchers

_DEEPSPEED_CHECK = """
import argparse, os, types, json
from deepspeed.runtime.engine import DeepSpeedEngine
# The check DeepSpeed's engine runs in deepspeed.initialize (engine._configure_with_arguments).
DeepSpeedEngine._configure_with_arguments(types.SimpleNamespace(), argparse.Namespace(), None)
with open(os.environ["OUT"], "a") as out:
    out.write(json.dumps({"rank": os.environ["RANK"], "local_rank": os.environ["LOCAL_RANK"]}) + "\\n")
"""


def test_launch_sh_started_by_mpirun_gives_deepspeed_consistent_local_ranks(tmp_path: Path) -> None:
    """mpirun starts launch.sh once per node with OMPI_COMM_WORLD_* describing launch.sh
    itself; torchrun's rank 1 inherited OMPI_COMM_WORLD_LOCAL_RANK=0 and DeepSpeed stopped."""
    support.require_tool("torchrun")
    support.require_module("deepspeed")
    entry = tmp_path / "entry.py"
    entry.write_text(_DEEPSPEED_CHECK)
    bundle = compile_bundle(tmp_path, {"target": "torchrun", "entrypoint": str(entry)})
    out = tmp_path / "ranks.jsonl"
    mpirun_env = {
        "OMPI_COMM_WORLD_RANK": "0",
        "OMPI_COMM_WORLD_SIZE": "1",
        "OMPI_COMM_WORLD_LOCAL_RANK": "0",
        "OMPI_COMM_WORLD_LOCAL_SIZE": "1",
        "OMPI_COMM_WORLD_NODE_RANK": "0",
    }
    result = subprocess.run(
        ["bash", str(bundle / "launch.sh")],
        env={**os.environ, **mpirun_env, "OUT": str(out)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LOCAL_RANK (1) != OMPI_COMM_WORLD_LOCAL_RANK" not in result.stderr
    assert sorted(out.read_text().splitlines()) == [
        '{"rank": "0", "local_rank": "0"}',
        '{"rank": "1", "local_rank": "1"}',
    ]


def _slurm_ready() -> None:
    support.require_tool("sbatch")
    support.slurm_node()


def _real_slurm_bundles(tmp_path: Path, **slurm: str) -> tuple[Path, Path]:
    launch = {"target": "slurm", "entrypoint": str(PROBE), "slurm": {"time": "00:05:00", **slurm}}
    return _two_bundles(tmp_path, launch)


def test_real_slurm_job_from_a_stale_shell_trains_its_own_bundle(tmp_path: Path) -> None:
    """`bash B/launch.sh` from a shell that ran A (SATC_BUNDLE_DIR) and a torchrun job
    (RANK, WORLD_SIZE): sbatch --wait, and the job's ranks are B's, laid out by SLURM.
    The log folder of launch.slurm.output does not exist beforehand."""
    _slurm_ready()
    bundle_a, bundle_b = _real_slurm_bundles(tmp_path, output="logs/%x-%j.out", job_name="satc-stale")
    out = tmp_path / "ranks.jsonl"
    env = {
        **os.environ,
        "SATC_PROBE_OUT": str(out),
        "SATC_BUNDLE_DIR": str(bundle_a),
        "SBATCH_WAIT": "1",
        **LEFTOVERS,
    }
    result = subprocess.run(
        ["bash", str(bundle_b / "launch.sh")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    logs = sorted((tmp_path / "logs").glob("satc-stale-*.out")) if (tmp_path / "logs").is_dir() else []
    job_log = "".join(path.read_text() for path in logs)
    assert result.returncode == 0, result.stderr + job_log
    assert len(logs) == 1, result.stderr
    records = read_probe(out)
    assert [record["rank"] for record in records] == [0, 1]
    assert {record["world_size"] for record in records} == {2}
    assert {record["bundle"] for record in records} == {str(bundle_b.resolve() / "args.json")}


def test_real_slurm_allocation_runs_the_bundle_of_the_script_started(tmp_path: Path) -> None:
    """Inside salloc, `bash B/launch.sh` from a shell with A's SATC_BUNDLE_DIR runs B."""
    _slurm_ready()
    salloc = support.require_tool("salloc")
    bundle_a, bundle_b = _real_slurm_bundles(tmp_path)
    out = tmp_path / "ranks.jsonl"
    env = {**os.environ, "SATC_PROBE_OUT": str(out), "SATC_BUNDLE_DIR": str(bundle_a), **LEFTOVERS}
    result = subprocess.run(
        [salloc, "-N1", "--ntasks-per-node=2", "--time=00:05:00", "bash", str(bundle_b / "launch.sh")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    records = read_probe(out)
    assert [record["rank"] for record in records] == [0, 1]
    assert {record["bundle"] for record in records} == {str(bundle_b.resolve() / "args.json")}


def test_real_slurm_names_a_rank_when_every_task_fails_together(tmp_path: Path) -> None:
    _slurm_ready()
    salloc = support.require_tool("salloc")
    entry = tmp_path / "fail.py"
    entry.write_text("import sys\nsys.exit(3)\n")
    bundle = compile_bundle(tmp_path, {"target": "slurm", "entrypoint": str(entry)})
    result = subprocess.run(
        [salloc, "-N1", "--ntasks-per-node=2", "--time=00:05:00", "bash", str(bundle / "launch.sh")],
        env={**os.environ, "SATC_PYTHON": sys.executable},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "launch.sh: rank 0 (ranks 0-1 alike) exited with code 3" in result.stderr


def test_mpirun_without_a_node_rank_is_refused_with_the_way_to_pass_it(tmp_path: Path) -> None:
    bundle = compile_bundle(
        tmp_path, {"target": "torchrun", "entrypoint": "t.py", "nodes": 2, "master_addr": "h0"}
    )
    env = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2"}
    result, records = run_with_fakes(bundle / "launch.sh", tmp_path, env=env)
    assert result.returncode == 2 and records == [], result.stderr
    assert "NODE_RANK=$OMPI_COMM_WORLD_RANK" in result.stderr
