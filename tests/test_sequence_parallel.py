"""Sequence parallelism of a project's vendored SAT (SP1): the groups satc builds and
shows are the ones that SAT builds, and a world that does not divide is refused.

The layout is compared against sequence_parallel_support.vendored_layout, our own
restatement of zai-org/SCAIL@563652d864dbb68a306d9cd779c38a95123e36d2
sat/mpu/initialize.py (see that module), at several worlds: pure, on torch's fake
process group (what `satc dryrun` runs) and on real gloo ranks under torchrun with a
stand-in vendored SAT (sequence_parallel_sat) first on the path.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sequence_parallel_sat
import sequence_parallel_support as sps
from reference import harness
from satc.compiler.errors import ConfigError
from support import ROOT, require, require_module, satc

SEQUENCE_KINDS = ("sequence_parallel", "data_broadcast", "sequence_data_parallel")
KINDS = ("data_parallel", "model_parallel", *SEQUENCE_KINDS)
# (world, mp, sp): worlds 1-32, sp 1 (SAT hands out the data-parallel group), mp 1-4.
COMBOS = [
    (1, 1, 1),
    (2, 1, 2),
    (4, 1, 2),
    (4, 1, 4),
    (4, 2, 2),
    (8, 2, 1),
    (8, 2, 2),
    (8, 1, 8),
    (12, 2, 3),
    (16, 4, 2),
    (24, 2, 4),
    (32, 4, 4),
]


@pytest.mark.parametrize(("world", "mp", "sp"), COMBOS)
def test_layout_is_the_vendored_formula(world: int, mp: int, sp: int) -> None:
    from satc.runtime import groups

    want = sps.vendored_layout(world, mp, sp)
    for rank in range(world):
        plan = groups.layout(rank, world, mp, math.gcd(world, 8), sp)
        for kind in KINDS:
            assert getattr(plan, kind) == want[rank][kind], (world, mp, sp, rank, kind)


def test_without_a_sequence_parallel_size_the_layout_is_sat_0_4s() -> None:
    """Projects without the argument keep R11's groups and no sequence kinds."""
    from satc.runtime import groups

    plan = groups.layout(5, 8, 2, 8)
    assert plan.data_parallel == (1, 3, 5, 7) and plan.sequence_parallel is None
    assert [kind for kind, _ in plan.to_create()] == ["data_parallel", "model_parallel", "node"]


@pytest.mark.parametrize(("world", "mp", "sp"), COMBOS)
def test_dry_run_on_the_fake_process_group(world: int, mp: int, sp: int) -> None:
    """What `satc dryrun` runs: real new_group calls, members only, the vendored members."""
    require_module("torch")
    from satc.runtime import dryrun

    report = dryrun.check(
        dryrun.simulate(world, dryrun.satc_build(world, mp, math.gcd(world, 8), timedelta(seconds=60), sp))
    )
    assert report.ok, (report.waits, report.divergences)
    want = sps.vendored_layout(world, mp, sp)
    for run in report.runs:
        assert all(call.local for call in run.calls)
        for kind in KINDS:
            members, group_rank = run.joined[kind]
            assert members == want[run.rank][kind], (world, mp, sp, run.rank, kind)
            assert group_rank == members.index(run.rank)
        # sp == 1: SAT's sequence-data-parallel group is its data-parallel group, not a new one.
        extra = (1 if mp > 2 else 0) + (0 if sp == 1 else 1)
        assert len(run.calls) == 5 + extra


@pytest.mark.parametrize(("nodes", "per_node", "mp", "sp"), [(2, 4, 2, 2), (3, 4, 2, 3), (1, 8, 1, 4)])
def test_topology_table_places_ranks_as_the_vendored_sat(
    tmp_path: Path, nodes: int, per_node: int, mp: int, sp: int
) -> None:
    from satc.compiler.commands import topology_table

    topology = sps.resolve(tmp_path, nodes=nodes, per_node=per_node, mp=mp, sp=sp).topology
    world = nodes * per_node
    assert (topology.sequence_parallel_size, topology.data_parallel_size) == (sp, world // (mp * sp))
    assert topology.sequence_data_parallel_size == world // mp
    want = sps.vendored_layout(world, mp, sp)
    for place in topology_table.layout(topology):
        assert tuple(place.data_parallel.members) == want[place.rank]["data_parallel"]
        assert tuple(place.model_parallel.members) == want[place.rank]["model_parallel"]
        assert tuple(place.sequence_parallel.members) == want[place.rank]["sequence_parallel"]
        assert tuple(place.sequence_data_parallel.members) == want[place.rank]["sequence_data_parallel"]


# (nodes, gpus_per_node, mp, sp, the arithmetic the error prints, the sizes its hint offers)
NOT_DIVIDING = [
    (2, 4, 2, 3, "8 = 1 x 6 + 2", "8 / 2 = 4: 1, 2, 4"),
    (1, 8, 1, 3, "8 = 2 x 3 + 2", "8 / 1 = 8: 1, 2, 4, 8"),
    (1, 4, 2, 4, "4 = 0 x 8 + 4", "4 / 2 = 2: 1, 2"),
    (3, 2, 1, 4, "6 = 1 x 4 + 2", "6 / 1 = 6: 1, 2, 3, 6"),
    (2, 8, 4, 3, "16 = 1 x 12 + 4", "16 / 4 = 4: 1, 2, 4"),
]


@pytest.mark.parametrize(("nodes", "per_node", "mp", "sp", "arithmetic", "hint"), NOT_DIVIDING)
def test_a_world_that_does_not_divide_is_a_located_error(
    tmp_path: Path, nodes: int, per_node: int, mp: int, sp: int, arithmetic: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        sps.resolve(tmp_path, nodes=nodes, per_node=per_node, mp=mp, sp=sp)
    [problem] = [p for p in caught.value.problems if p.key == "args.sequence_parallel_size"]
    overlay = sps.overlay(tmp_path, nodes=nodes, per_node=per_node, mp=mp, sp=sp)
    line = overlay.read_text(encoding="utf-8").splitlines().index(f"  sequence_parallel_size: {sp}") + 1
    assert problem.severity == "error"
    assert (problem.location.label, problem.location.line) == (str(overlay), line)
    world = nodes * per_node
    assert f"world size {world} = {nodes} nodes x {per_node} gpus_per_node" in problem.message
    assert f"model_parallel_size {mp} x sequence_parallel_size {sp} = {mp * sp}" in problem.message
    assert "world = data_parallel x sequence_parallel x model_parallel (SP1)" in problem.message
    assert arithmetic in problem.message
    assert problem.hint.endswith(hint), problem.hint


def test_sequence_parallel_size_must_be_an_integer(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        sps.resolve(tmp_path, nodes=1, per_node=4, mp=1, sp='"two"')
    [problem] = [p for p in caught.value.problems if p.key == "args.sequence_parallel_size"]
    assert "must be an integer, got 'two'" in problem.message


def test_zero_runs_as_one_as_sats_mpu_does(tmp_path: Path) -> None:
    topology = sps.resolve(tmp_path, nodes=1, per_node=4, mp=2, sp=0).topology
    assert (topology.sequence_parallel_size, topology.data_parallel_size) == (1, 2)


def test_bundles_without_the_argument_keep_their_topology_keys(tmp_path: Path) -> None:
    """Only a project that defines sequence_parallel_size gets the new keys."""
    out = harness.compile_bundle(tmp_path / "plain", 4, 2)
    topology = json.loads((out / "args.json").read_text(encoding="utf-8"))["topology"]
    assert sorted(topology) == sorted(
        [
            "nodes",
            "gpus_per_node",
            "world_size",
            "model_parallel_size",
            "data_parallel_size",
            "context_parallel_size",
        ]
    )
    with_sp = sps.compile_bundle(tmp_path / "sp", nodes=1, per_node=4, mp=2, sp=2)
    topology = json.loads((with_sp / "args.json").read_text(encoding="utf-8"))["topology"]
    assert topology["sequence_parallel_size"] == 2
    assert topology["sequence_data_parallel_size"] == 2
    assert topology["data_parallel_size"] == 1


def test_satc_topology_and_dryrun_show_the_sequence_groups(tmp_path: Path) -> None:
    require_module("torch")
    # Nodes of 2 ranks, blocks of mp x sp = 4: the world must hold whole blocks.
    bundle = sps.compile_bundle(tmp_path, nodes=4, per_node=2, mp=2, sp=2)
    shown = satc("topology", str(bundle), "--full")
    assert shown.returncode == 0, shown.stderr
    assert "sequence-parallel 2, sequence-data-parallel 4" in shown.stdout
    want = sps.vendored_layout(8, 2, 2)
    rows = [line.split() for line in shown.stdout.splitlines() if line[:1].isdigit()]
    assert len(rows) == 8
    for row in rows:
        rank = int(row[2])
        sequence = tuple(int(r) for r in row[6].split(":")[1].strip("[]").split(","))
        sequence_data = tuple(int(r) for r in row[7].split(":")[1].strip("[]").split(","))
        assert sequence == want[rank]["sequence_parallel"]
        assert sequence_data == want[rank]["sequence_data_parallel"]

    result = satc("dryrun", str(bundle), "--world", "16", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] and document["sequence_parallel_size"] == 2
    want = sps.vendored_layout(16, 2, 2)
    for entry in document["ranks"]:
        for kind in KINDS:
            ranks = entry["groups"][kind]["ranks"]
            members = (
                tuple(range(ranks["start"], ranks["stop"], ranks["step"]))
                if isinstance(ranks, dict)
                else tuple(ranks)
            )
            assert members == want[entry["rank"]][kind], (entry["rank"], kind)

    refused = satc("dryrun", str(bundle), "--world", "6")
    assert refused.returncode == 2
    assert "args.sequence_parallel_size (2) = 4, e.g. --world 8" in refused.stderr


# One torchrun launch per world; the first combination is the bundle init() runs.
REAL = {2: [(1, 2), (2, 1)], 4: [(2, 2), (1, 4), (1, 2), (2, 1)]}


@pytest.mark.parametrize("world", sorted(REAL))
def test_real_gloo_ranks_build_the_vendored_groups(tmp_path: Path, world: int) -> None:
    require_module("torch")
    require(Path(harness.torchrun()).exists(), "torchrun next to the interpreter")
    combos = REAL[world]
    mp, sp = combos[0]
    bundle = sps.compile_bundle(tmp_path, nodes=1, per_node=world, mp=mp, sp=sp)
    project = sequence_parallel_sat.write(tmp_path / "project")
    env = harness.clean_env()
    env["PYTHONPATH"] = f"{project}:{env.get('PYTHONPATH', '')}"
    out = tmp_path / "out"
    probe = Path(harness.__file__).resolve().parent / "sequence_probe.py"
    result = subprocess.run(
        [
            harness.torchrun(),
            "--standalone",
            "--nproc-per-node",
            str(world),
            "--max-restarts",
            "0",
            str(probe),
            str(out),
            str(bundle),
            json.dumps(combos),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    reports = {int(p.stem[4:]): json.loads(p.read_text(encoding="utf-8")) for p in out.glob("rank*.json")}
    assert sorted(reports) == list(range(world))
    for rank, report in reports.items():
        assert report["sat"] == str(project / "sat" / "mpu" / "initialize.py")  # the vendored one
        # init(): members-only groups that hold this rank, one call per kind.
        calls = report["init_calls"]
        assert all(call["local"] and rank in call["ranks"] for call in calls), calls
        assert len(calls) == 5 + (0 if sp == 1 else 1) + (1 if mp > 2 else 0)
        # R14 with SP1: the seed adds the data-parallel rank, rank // (mp x sp).
        assert report["seed"] == harness.SEED + rank // (mp * sp)
        for cmp, csp in combos:
            key, want = f"{cmp}x{csp}", sps.vendored_layout(world, cmp, csp)[rank]
            for kind in KINDS:
                ours, theirs = report["satc"][key][kind], report["vendored"][key][kind]
                assert tuple(ours["ranks"]) == want[kind] == tuple(theirs["ranks"]), (key, rank, kind)
                assert ours["rank"] == theirs["rank"] == want[kind].index(rank)
                # A collective over the group reaches exactly its members (ranks count from 1).
                assert ours["sum"] == float(sum(r + 1 for r in want[kind])), (key, rank, kind)
            assert report["satc"][key]["node"] == report["vendored"][key]["node"] == list(range(world))


def _standin_mpu(tmp_path: Path, edit: tuple[str, str] | None = None) -> Any:
    """The stand-in vendored mpu as a module, optionally with one text replaced."""
    require_module("torch")
    text = sequence_parallel_sat.INITIALIZE
    if edit is not None:
        assert edit[0] in text
        text = text.replace(*edit)
    path = tmp_path / "initialize.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("standin_mpu_initialize", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_sat_knows_the_sequence_parallel_mpu(tmp_path: Path) -> None:
    from satc.runtime import groups

    filled = groups.check_sat(_standin_mpu(tmp_path))
    assert filled == groups.SEQUENCE_SAT_GLOBALS
    # A destroy that also resets state that is no group (a fork's FSDP2 mesh) is fine.
    mesh = _standin_mpu(
        tmp_path,
        (
            "    _NODE_GROUP = None\n\n\ndef model_parallel_is_initialized",
            "    _NODE_GROUP = None\n    global _FSDP2_DEVICE_MESH\n    _FSDP2_DEVICE_MESH = None\n\n\n"
            "def model_parallel_is_initialized",
        ),
    )
    assert groups.check_sat(mesh) == groups.SEQUENCE_SAT_GLOBALS


def test_check_sat_refuses_a_group_it_would_leave_unfilled(tmp_path: Path) -> None:
    """The GQA getter's group is accepted only while no function of the mpu assigns it."""
    from satc.runtime import RuntimeConfigError, groups

    setter = (
        "def destroy_model_parallel():",
        "def initialize_gqa():\n    global _SEQUENCE_PARALLEL_GQA_GROUP\n"
        "    _SEQUENCE_PARALLEL_GQA_GROUP = object()\n\n\ndef destroy_model_parallel():",
    )
    with pytest.raises(
        RuntimeConfigError, match=r"get_sequence_parallel_gqa_group reads \['_SEQUENCE_PARALLEL_GQA_GROUP'\]"
    ):
        groups.check_sat(_standin_mpu(tmp_path, setter))
    extra = (
        "    global _SEQUENCE_PARALLEL_GROUP,",
        "    global _PIPELINE_GROUP\n    _PIPELINE_GROUP = None\n    global _SEQUENCE_PARALLEL_GROUP,",
    )
    with pytest.raises(RuntimeConfigError, match=r"_PIPELINE_GROUP.*satc.runtime fills exactly"):
        groups.check_sat(_standin_mpu(tmp_path, extra))


def test_a_sat_without_sequence_parallelism_refuses_such_a_bundle() -> None:
    """SAT 0.4.x (installed) cannot build sequence-parallel groups: init() says so before
    creating any group."""
    require_module("sat")
    from satc.runtime import RuntimeConfigError, groups

    with pytest.raises(
        RuntimeConfigError, match=r"sequence_parallel_size 2.*has no sequence-parallel groups \(SP1\)"
    ):
        groups.initialize(0, 4, 1, 4, timedelta(seconds=5), 2)


def test_a_bundle_with_half_the_sequence_topology_is_refused(tmp_path: Path) -> None:
    from satc.bundle_format import canonical_digest
    from satc.runtime import BundleError
    from satc.runtime.bundle import read_bundle

    bundle = sps.compile_bundle(tmp_path, nodes=1, per_node=4, mp=1, sp=2)
    assert read_bundle(bundle).topology.sequence_parallel_size == 2
    args = bundle / "args.json"
    document = json.loads(args.read_text(encoding="utf-8"))
    del document["topology"]["sequence_data_parallel_size"]
    document["digest"] = canonical_digest(document)
    args.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(BundleError, match="sequence_parallel_size without sequence_data_parallel_size"):
        read_bundle(bundle)
