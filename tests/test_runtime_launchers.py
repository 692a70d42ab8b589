"""D9 on real processes: the same 2-rank job started with the variables of torchrun, the
deepspeed launcher, SLURM and Open MPI (set by the test), checked against R11-R14."""

from __future__ import annotations

from pathlib import Path

import pytest
from reference import harness
from support import require_module

WORLD, MP = 2, 1


def _dialect_env(dialect: str, rank: int, port: int) -> dict[str, str]:
    if dialect == "torchrun":
        return {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(WORLD),
            "LOCAL_WORLD_SIZE": str(WORLD),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    if dialect == "deepspeed":  # deepspeed/launcher/launch.py
        return {
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(WORLD),
            "LOCAL_SIZE": str(WORLD),
            "CROSS_RANK": "0",
            "CROSS_SIZE": "1",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    # SLURM and Open MPI export no rendezvous: the bundle's launch.master_* is used.
    if dialect == "slurm":  # srun --ntasks 2 on one node
        return {
            "SLURM_PROCID": str(rank),
            "SLURM_LOCALID": str(rank),
            "SLURM_NTASKS": str(WORLD),
            "SLURM_NODEID": "0",
            "SLURM_TASKS_PER_NODE": str(WORLD),
            "SLURM_JOB_NODELIST": "localhost",
        }
    return {
        "OMPI_COMM_WORLD_RANK": str(rank),
        "OMPI_COMM_WORLD_LOCAL_RANK": str(rank),
        "OMPI_COMM_WORLD_SIZE": str(WORLD),
        "OMPI_COMM_WORLD_LOCAL_SIZE": str(WORLD),
    }


@pytest.mark.parametrize("dialect", ["torchrun", "deepspeed", "slurm", "openmpi"])
def test_every_launcher_dialect_gets_the_compiled_layout(tmp_path: Path, dialect: str) -> None:
    for module in ("torch", "deepspeed", "sat"):
        require_module(module)
    port = harness.free_port()
    bundle = harness.compile_bundle(tmp_path, WORLD, MP, timeout=60, port=port)
    envs = [
        {"SATC_BUNDLE": str(bundle / "args.json"), **_dialect_env(dialect, rank, port)}
        for rank in range(WORLD)
    ]
    results, _ = harness.spawn_ranks(envs, tmp_path / "out", timeout=180)
    for result in results:
        assert result.returncode == 0, result.stdout[-4000:]
    reports = harness.reports(tmp_path / "out", "satc")
    assert sorted(reports) == list(range(WORLD))
    for report in reports.values():
        harness.assert_rank_matches(report, WORLD, MP)


def test_a_plain_python_process_is_one_rank(tmp_path: Path) -> None:
    """No launcher at all (`python train.py`): rank 0 of 1, rendezvous on a free port."""
    for module in ("torch", "deepspeed", "sat"):
        require_module(module)
    bundle = harness.compile_bundle(tmp_path, 1, 1, timeout=60)
    (result,), _ = harness.spawn_ranks(
        [{"SATC_BUNDLE": str(bundle / "args.json")}], tmp_path / "out", timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:]
    (report,) = harness.reports(tmp_path / "out", "satc").values()
    harness.assert_rank_matches(report, 1, 1)
