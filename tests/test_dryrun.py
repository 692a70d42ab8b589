"""`satc dryrun`: the runtime's group code for every rank in one process, and the hangs
it catches: CogVideoX's own context-parallel loop, run through the same recorder, is
flagged; satc's groups are not, up to 4,096 ranks."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from datetime import timedelta
from pathlib import Path

import pytest
from reference import harness
from support import cogvideo_sat, require_module, satc


@pytest.fixture(scope="module", autouse=True)
def _torch() -> None:
    require_module("torch")


def _bundle(tmp_path: Path, mp: int, per_node: int) -> Path:
    (tmp_path / "c.yaml").write_text(
        f"args:\n  mode: inference\n  model_parallel_size: {mp}\n  seed: {harness.SEED}\n"
        f"launch:\n  device: cpu\n  gpus_per_node: {per_node}\n",
        encoding="utf-8",
    )
    assert satc("compile", "c.yaml", "-o", "b", cwd=tmp_path).returncode == 0
    return tmp_path / "b"


def _members(value: object) -> list[int]:
    if isinstance(value, dict):
        return list(range(value["start"], value["stop"], value["step"]))
    assert isinstance(value, list)
    return value


@pytest.mark.parametrize("mp", [1, 2, 4])
def test_every_rank_gets_r11_r12_groups(tmp_path: Path, mp: int) -> None:
    bundle = _bundle(tmp_path, mp, per_node=4)
    result = satc("dryrun", str(bundle), "--world", "16", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and (report["world_size"], report["nodes"]) == (16, 4)
    for entry in report["ranks"]:
        rank, want = entry["rank"], harness.expected_layout(entry["rank"], 16, mp)
        got = {kind: (_members(g["ranks"]), g["rank"]) for kind, g in entry["groups"].items()}
        assert got["model_parallel"] == (want["mp"]["ranks"], want["mp"]["rank"])
        assert got["data_parallel"] == (want["dp"]["ranks"], want["dp"]["rank"])
        assert got["context_parallel"] == (want["cp"]["ranks"], want["cp"]["rank"])
        assert got["node"] == (list(range(rank - rank % 4, rank - rank % 4 + 4)), rank % 4)
        assert len(entry["calls"]) == (4 if mp > 2 else 3)
        assert all(call["members_only"] and rank in _members(call["ranks"]) for call in entry["calls"])


def test_4096_ranks(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, mp=4, per_node=8)
    result = satc("dryrun", str(bundle), "--world", "4096", "-q", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "world 4096 = 512 node(s) x 8" in result.stdout
    assert "new_group calls per rank: 4, each entered by the group's members only" in result.stdout
    assert "ok: every group completes" in result.stdout


def test_a_world_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, mp=4, per_node=8)
    result = satc("dryrun", str(bundle), "--world", "20")
    assert result.returncode == 2
    assert "--world 20: expected a multiple of launch.gpus_per_node (8)" in result.stderr
    assert "e.g. --world 24" in result.stderr and "Traceback" not in result.stderr
    huge = satc("dryrun", str(bundle), "--world", "100000000", timeout=60)
    assert huge.returncode == 2 and "Traceback" not in huge.stderr, huge.stderr
    assert "12500000 nodes of 8; launch.nodes is at most 4096" in huge.stderr
    missing = satc("dryrun", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such bundle file" in missing.stderr


def _cogvideox_sgm_util() -> types.ModuleType:
    """CogVideoX's real sgm/util.py, read in place (its package __init__ pulls the VAE)."""
    spec = importlib.util.spec_from_file_location("cogvideox_sgm_util", cogvideo_sat() / "sgm" / "util.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference_build(mp: int) -> object:
    """arguments.py's group setup: SAT's mpu, then the VAE's context parallel."""
    from sat.mpu import initialize as mpu

    sgm_util = _cogvideox_sgm_util()

    def build(rank: int) -> dict[str, object]:
        mpu.destroy_model_parallel()
        sgm_util._CONTEXT_PARALLEL_GROUP = None
        mpu.initialize_model_parallel(mp)
        if mp <= 2:
            sgm_util.set_context_parallel_group(mp, mpu.get_model_parallel_group())
        else:
            sgm_util.initialize_context_parallel(2)
        return {
            "data_parallel": mpu.get_data_parallel_group(),
            "model_parallel": mpu.get_model_parallel_group(),
            "context_parallel": sgm_util.get_context_parallel_group(),
            "node": mpu.get_node_group(),
        }

    return build


def test_the_reference_context_parallel_loop_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    """World 8, mp 4: after SAT's 7 groups, CogVideoX's loop stops at the rank's own pair,
    so ranks 0-1 make 8 calls and ranks 6-7 make 11: the pairs after [0, 1] never
    complete, since torch needs every rank in a plain new_group."""
    require_module("sat")
    from satc.runtime import dryrun

    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    report = dryrun.check(dryrun.simulate(8, _reference_build(4)))
    assert not report.ok
    calls = {run.rank: len(run.calls) for run in report.runs}
    assert calls == {0: 8, 1: 8, 2: 9, 3: 9, 4: 10, 5: 10, 6: 11, 7: 11}
    # Four shapes, two ranks each; ties go to the lowest ranks' shape.
    assert [d.ranks for d in report.divergences] == [(2, 3), (4, 5), (6, 7)]
    assert all(d.common_calls == 8 and d.index == 8 and d.common_call is None for d in report.divergences)
    # Every rank past ranks 0-1's last call waits for the ranks that left the loop.
    assert sorted(w.rank for w in report.waits) == [2, 3, 4, 5, 6, 7]
    assert all(set(w.missing) >= {0, 1} for w in report.waits)
    # Where it shares the model-parallel group (mp <= 2) the reference is consistent.
    fine = dryrun.check(dryrun.simulate(8, _reference_build(2)))
    assert fine.ok and {len(run.calls) for run in fine.runs} == {2 + 4 + 1}
    # satc's groups for the same topology: 4 members-only calls per rank, no hang.
    ours = dryrun.check(dryrun.simulate(8, dryrun.satc_build(8, 4, 8, timedelta(seconds=60))))
    assert ours.ok and {len(run.calls) for run in ours.runs} == {4}


def test_groups_created_in_different_orders_are_a_hang() -> None:
    """Members-only groups need one creation order: torch names a group from its members
    and the number of groups the rank already has, so rank 1 below names [0, 1]
    differently from rank 0 and both wait forever."""
    import torch.distributed as dist
    from satc.runtime import dryrun

    def build(rank: int) -> dict[str, object]:
        order = [[0, 1], [0, 1, 2, 3]] if rank == 0 else [[0, 1, 2, 3], [0, 1]]
        made = [dist.new_group(ranks, use_local_synchronization=True) for ranks in order]
        return {"model_parallel": made[0]}

    report = dryrun.check(dryrun.simulate(4, build))
    assert {w.rank for w in report.waits} == {0, 1, 2, 3}
    assert all(w.call.local and w.missing for w in report.waits)
    assert (0,) in {d.ranks for d in report.divergences}  # rank 0's order is the odd one


def test_a_sat_that_keeps_other_globals_fails_loudly() -> None:
    """init() refuses a SAT whose mpu sets other globals than the ones satc fills."""
    require_module("sat")
    from sat.mpu import initialize
    from satc.runtime import RuntimeConfigError, groups

    groups.check_sat(initialize)  # the installed SAT is the one satc knows
    source = Path(initialize.__file__).read_text(encoding="utf-8")
    changed = source.replace(
        "    global _NODE_GROUP\n", "    global _NODE_GROUP, _PIPELINE_GROUP\n    _PIPELINE_GROUP = None\n", 1
    )
    assert changed != source
    module = types.ModuleType("sat.mpu.initialize_changed")
    module.__file__ = initialize.__file__
    sys.modules.setdefault("sat.mpu.utils", sys.modules["sat.mpu.utils"])
    exec(
        compile(changed, initialize.__file__, "exec"),
        {**vars(initialize), "__name__": module.__name__},
        vars(module),
    )
    with pytest.raises(RuntimeConfigError, match=r"_PIPELINE_GROUP.*satc.runtime fills exactly"):
        groups.check_sat(module)


def test_without_torch_it_says_so(tmp_path: Path) -> None:
    import subprocess

    bundle = _bundle(tmp_path, mp=1, per_node=1)
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from satc.compiler.cli import main\n"
        f"main(['dryrun', {str(bundle)!r}])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "needs torch" in result.stderr and "Traceback" not in result.stderr


def _cpu_seconds(world: int) -> float:
    import time

    from satc.runtime import dryrun

    started = time.process_time()
    report = dryrun.check(dryrun.simulate(world, dryrun.satc_build(world, 1, 8, timedelta(seconds=60))))
    assert report.ok and len(report.runs) == world
    return time.process_time() - started


def test_the_dry_run_is_linear_in_the_world() -> None:
    """mp 1 is the worst case: every rank's data-parallel group is the whole world.  8x
    the ranks may cost about 8x (quadratic was 64x: 24.6 s at 8,192 ranks, 582 s at
    32,768); CPU time, so other work on the machine does not count."""
    _cpu_seconds(64)  # first-call imports
    small, large = _cpu_seconds(2048), _cpu_seconds(16384)
    assert large < 20 * small, f"2,048 ranks: {small:.2f} s, 16,384 ranks: {large:.2f} s"


def test_32768_ranks_through_the_cli(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, mp=1, per_node=8)
    result = satc("dryrun", str(bundle), "--world", "32768", "-q", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "world 32768 = 4096 node(s) x 8" in result.stdout
    assert "32768 rank(s) built their groups" in result.stdout
    assert "ok: every group completes" in result.stdout


def test_ranks_off_torch_record_what_torch_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """The middle ranks' members-only calls are answered without torch; with every rank
    on torch the recorded calls, names and groups are the same."""
    from satc.runtime import dryrun

    def runs(real: int) -> list[object]:
        monkeypatch.setattr(dryrun, "REAL_RANKS", real)
        report = dryrun.simulate(256, dryrun.satc_build(256, 4, 8, timedelta(seconds=60)))
        return [(run.rank, run.calls, dict(run.joined)) for run in report.runs]

    assert runs(4) == runs(256)
