"""Generated launch scripts, run against fake launchers: hostile values round-trip
exactly or are refused with exit 2, nothing runs, and every target honours the
same contract (world size, rank -> node map, environment)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from string import Template
from typing import Any

import pytest
import support
from launch_helpers import compile_bundle, run_with_fakes, shellcheck, write_config

TARGETS = ("torchrun", "deepspeed", "slurm")


def hostile_values(sentinel: Path) -> list[str]:
    return [
        f"$(touch {sentinel})",
        f"`touch {sentinel}`",
        f"; touch {sentinel}",
        f"' ; touch {sentinel} '",
        "'\"",
        "a b  c",
        "*",
        "$HOME",
        "--help",
        "ünïcødé-名前",
        "back\\slash",
        "a|b&c>d<e",
        "",
    ]


def _launcher_record(records: list[dict[str, Any]], name: str) -> dict[str, Any]:
    matching = [record for record in records if record["name"] == name]
    assert len(matching) == 1, records
    return matching[0]


def _static_checks(script: Path) -> None:
    syntax = subprocess.run(
        ["bash", "-n", str(script)], check=False, capture_output=True, text=True, timeout=30
    )
    assert syntax.returncode == 0, syntax.stderr
    lint = shellcheck(script)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("target", TARGETS)
def test_hostile_values_round_trip_and_never_run(tmp_path: Path, target: str) -> None:
    sentinel = tmp_path / "pwned"
    values = hostile_values(sentinel)
    env = {f"V{i}": value for i, value in enumerate(values)}
    # The bundle directory and the working directory are hostile too.
    out = "bundle $(touch pwned) 'x'"
    entrypoint = f"train $(touch {sentinel}).py"
    bundle = compile_bundle(
        tmp_path,
        {"target": target, "entrypoint": entrypoint, "entrypoint_args": values, "env": env},
        f'args.experiment_name="$(touch {sentinel}) x"',
        out=out,
    )
    script = bundle / "launch.sh"
    _static_checks(script)
    cwd = tmp_path / "cwd `touch x` *"
    cwd.mkdir()
    runtime = [f"$(touch {sentinel})", "--help", "two words"]
    slurm_env = {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "fakenode"} if target == "slurm" else {}
    result, records = run_with_fakes(script, tmp_path, *runtime, env=slurm_env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    launcher = _launcher_record(records, {"slurm": "srun"}.get(target, target))
    received = launcher["argv"][-(1 + len(values) + len(runtime)) :]
    if target == "torchrun":  # what a rank gets after torch elastic's ${local_rank} pass (script too)
        received = [Template(arg).safe_substitute(local_rank="0") for arg in received]
    assert received == [entrypoint, *values, *runtime]
    assert launcher["env"]["SATC_BUNDLE"] == str(bundle.resolve() / "args.json")
    assert launcher["env"]["LOCAL_WORLD_SIZE"] == "2"
    for name, value in env.items():
        assert launcher["env"][name] == value
    assert launcher["cwd"] == str(cwd)
    assert not sentinel.exists()
    assert [path.name for path in tmp_path.rglob("*") if path.name in ("pwned", "x")] == []


def test_slurm_script_submits_itself_outside_an_allocation(tmp_path: Path) -> None:
    bundle = compile_bundle(tmp_path, {"target": "slurm", "entrypoint": "t.py"}, out="b 'q' $(x)")
    result, records = run_with_fakes(bundle / "launch.sh", tmp_path, "a b", "$(y)")
    assert result.returncode == 0, result.stderr
    sbatch = _launcher_record(records, "sbatch")
    assert sbatch["argv"] == [str(bundle.resolve() / "launch.sh"), "a b", "$(y)"]
    # The spooled copy finds the bundle from the job's Command, never from the environment.
    assert "SATC_BUNDLE_DIR" not in sbatch["env"]


def test_slurm_multi_node_takes_master_addr_from_the_allocation(tmp_path: Path) -> None:
    bundle = compile_bundle(tmp_path, {"target": "slurm", "nodes": 2, "entrypoint": "t.py"})
    result, records = run_with_fakes(
        bundle / "launch.sh",
        tmp_path,
        env={"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "gpu[01-02]", "FAKE_HOSTS": "gpu01,gpu02"},
    )
    assert result.returncode == 0, result.stderr
    srun = _launcher_record(records, "srun")
    assert (srun["env"]["MASTER_ADDR"], srun["env"]["MASTER_PORT"]) == ("gpu01", "29500")


REFUSED = [
    # (launch section, --set overrides, the key the error names)
    ({"target": "slurm", "slurm": {"partition": "$(touch X)"}}, (), "launch.slurm.partition"),
    ({"target": "slurm", "slurm": {"time": "1:00 --wrap=x"}}, (), "launch.slurm.time"),
    ({"target": "slurm", "slurm": {"account": "a\\b"}}, (), "launch.slurm.account"),
    ({"target": "slurm"}, ('launch.slurm.job_name="x#y"',), "launch.slurm.job_name"),
    ({"entrypoint_args": ["a\nb"]}, (), "launch.entrypoint_args[0]"),
    ({"env": {"A": "\u001b[31m"}}, (), "launch.env.A"),
    ({"env": {"BAD NAME": "x"}}, (), "launch.env"),
    ({"entrypoint": "--help"}, (), "launch.entrypoint"),
    ({}, ('launch.entrypoint="x\\ny"',), "launch.entrypoint"),
    ({"master_addr": "$(touch X)", "nodes": 2}, (), "launch.master_addr"),
    # The deepspeed launcher's pdsh path pastes values into a remote shell unquoted.
    (
        {"target": "deepspeed", "force_multi": True, "entrypoint_args": ["$(touch X)"]},
        (),
        "launch.entrypoint_args[0]",
    ),
    (
        {"target": "deepspeed", "nodes": 2, "master_addr": "h0", "hosts": ["h0", "h1"], "env": {"A": "a b"}},
        (),
        "launch.env.A",
    ),
    # pdsh expands %n, %h, %u and %% in the remote command, and drops an empty word with
    # every argument after it.
    (
        {"target": "deepspeed", "force_multi": True, "entrypoint_args": ["a%nb"]},
        (),
        "launch.entrypoint_args[0]",
    ),
    ({"target": "deepspeed", "force_multi": True, "env": {"P": "c%hd"}}, (), "launch.env.P"),
    (
        {"target": "deepspeed", "force_multi": True, "entrypoint_args": ["a", "", "b"]},
        (),
        "launch.entrypoint_args[1]",
    ),
    ({"target": "deepspeed", "nodes": 2, "master_addr": "h0"}, (), "launch.hosts"),
    ({"target": "deepspeed", "nodes": 2, "master_addr": "h0", "hosts": ["h0", "h0"]}, (), "launch.hosts"),
    ({"target": "torchrun", "hosts": ["h0"]}, (), "launch.hosts"),
]


@pytest.mark.parametrize(("launch", "sets", "key"), REFUSED)
def test_unsafe_values_are_refused_with_exit_2(
    tmp_path: Path, launch: dict[str, Any], sets: tuple[str, ...], key: str
) -> None:
    config = write_config(tmp_path / "c.yaml", launch)
    argv = ["compile", str(config), "-o", str(tmp_path / "out")]
    for item in sets:
        argv += ["--set", item]
    result = support.satc(*argv)
    assert result.returncode == 2, result.stderr
    assert key in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "env", "fragment"),
    [
        (("a%nb",), {}, "remote shell"),
        (("a", "", "b"), {}, "empty argument"),
        ((), {"PYTHONX": "$(touch {pwned})"}, "$PYTHONX would pass through the remote shell"),
        ((), {"NCCL_DEBUG_FILE": "a b"}, "$NCCL_DEBUG_FILE would pass through"),
    ],
)
def test_deepspeed_pdsh_script_refuses_what_pdsh_would_mangle(
    tmp_path: Path, argv: tuple[str, ...], env: dict[str, str], fragment: str
) -> None:
    bundle = compile_bundle(tmp_path, {"target": "deepspeed", "force_multi": True, "entrypoint": "t.py"})
    pwned = tmp_path / "pwned"
    env = {name: value.format(pwned=pwned) for name, value in env.items()}
    result, records = run_with_fakes(bundle / "launch.sh", tmp_path, *argv, env=env)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr
    assert "touch" not in result.stderr  # names only: a forwarded value may be a secret
    assert records == []
    assert not pwned.exists()


def test_deepspeed_pdsh_script_refuses_unsafe_runtime_values(tmp_path: Path) -> None:
    bundle = compile_bundle(tmp_path, {"target": "deepspeed", "force_multi": True, "entrypoint": "t.py"})
    result, records = run_with_fakes(bundle / "launch.sh", tmp_path, f"$(touch {tmp_path}/pwned)")
    assert result.returncode == 2
    assert "remote shell" in result.stderr
    assert records == []
    assert not (tmp_path / "pwned").exists()


def _node_map(record: dict[str, Any]) -> tuple[int, list[int]]:
    """(world size, node of each global rank) as the launcher will lay it out."""
    argv = record["argv"]

    def option(*names: str) -> str:
        for index, item in enumerate(argv):
            for name in names:
                if item == name:
                    return str(argv[index + 1])
                if item.startswith(name + "="):
                    return str(item.split("=", 1)[1])
        raise AssertionError(f"none of {names} in {argv}")

    if record["name"] == "torchrun":
        nodes, per_node = int(option("--nnodes")), int(option("--nproc-per-node"))
    elif record["name"] == "srun":
        assert option("--distribution") == "block"
        nodes, per_node = int(option("--nodes")), int(option("--ntasks-per-node"))
    else:  # deepspeed: the hostfile, in order
        slots = [int(line.split("slots=")[1]) for line in record["files"]["hostfile"].splitlines()]
        return sum(slots), [node for node, count in enumerate(slots) for _ in range(count)]
    return nodes * per_node, [rank // per_node for rank in range(nodes * per_node)]


@pytest.mark.parametrize(("nodes", "per_node"), [(1, 1), (1, 2), (2, 2), (3, 4)])
def test_every_target_honours_the_same_contract(tmp_path: Path, nodes: int, per_node: int) -> None:
    from satc.compiler.commands.topology_table import layout

    launch = {
        "nodes": nodes,
        "gpus_per_node": per_node,
        "entrypoint": "t.py",
        "device": "cuda",
        "env": {"A": "1"},
        "cuda_alloc_conf": "expandable_segments:True",
    }
    contracts = {}
    for target in TARGETS:
        extra: dict[str, Any] = {}
        if nodes > 1 and target != "slurm":  # SLURM takes it from the allocation
            extra["master_addr"] = "127.0.0.1"
        if nodes > 1 and target == "deepspeed":
            extra["hosts"] = [f"h{i}" for i in range(nodes)]
        work = tmp_path / target
        work.mkdir()
        bundle = compile_bundle(work, {**launch, "target": target, **extra})
        _static_checks(bundle / "launch.sh")
        env = {"NODE_RANK": "0", "SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "h0", "FAKE_HOSTS": "127.0.0.1"}
        result, records = run_with_fakes(bundle / "launch.sh", work, env=env)
        assert result.returncode == 0, result.stderr
        record = _launcher_record(records, {"slurm": "srun"}.get(target, target))
        exported = {
            name: record["env"].get(name) for name in ("LOCAL_WORLD_SIZE", "A", "PYTORCH_CUDA_ALLOC_CONF")
        }
        exported["SATC_BUNDLE"] = Path(record["env"]["SATC_BUNDLE"]).relative_to(work).as_posix()
        if "ds_env" in record["files"]:  # what pdsh forwards to every host
            forwarded = dict(line.split("=", 1) for line in record["files"]["ds_env"].splitlines())
            assert forwarded == {
                **{k: v for k, v in exported.items() if k != "SATC_BUNDLE"},
                "SATC_BUNDLE": record["env"]["SATC_BUNDLE"],
            }
        contracts[target] = (_node_map(record), exported)
    expected_map = [place.node for place in layout_of(nodes, per_node, layout)]
    expected = (
        (nodes * per_node, expected_map),
        {
            "LOCAL_WORLD_SIZE": str(per_node),
            "A": "1",
            "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
            "SATC_BUNDLE": "bundle/args.json",
        },
    )
    assert contracts == dict.fromkeys(TARGETS, expected)


def layout_of(nodes: int, per_node: int, layout: Any) -> Any:
    from satc.compiler.plan import Topology

    return layout(Topology(nodes, per_node, nodes * per_node, 1, nodes * per_node, 1))


def test_topology_command_prints_the_rank_table(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        {"nodes": 2, "gpus_per_node": 2, "master_addr": "127.0.0.1"},
        {"model_parallel_size": 2},
    )
    result = support.satc("topology", str(config), "--full")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[3:]]
    assert rows == [
        ["0", "0", "0", "0:[0,1]", "0:[0,2]", "0:[0,1]"],
        ["0", "1", "1", "0:[0,1]", "1:[1,3]", "0:[0,1]"],
        ["1", "0", "2", "1:[2,3]", "0:[0,2]", "1:[2,3]"],
        ["1", "1", "3", "1:[2,3]", "1:[1,3]", "1:[2,3]"],
    ]
    assert result.stdout.startswith("world 4 = 2 node(s) x 2 rank(s) via torchrun; model-parallel 2")


def test_topology_command_reports_bad_input_with_exit_2(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml", {"nodes": 3, "master_addr": "127.0.0.1"}, {"model_parallel_size": 4}
    )
    result = support.satc("topology", str(config))
    assert result.returncode == 2
    assert "args.model_parallel_size" in result.stderr and "Traceback" not in result.stderr
