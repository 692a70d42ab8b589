"""satc.runtime.load() and the checks init() makes before any collective: in-process,
no ranks.  Bundles come from the real CLI; environments are plain mappings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import project_support
import pytest
from omegaconf import DictConfig, OmegaConf
from satc.bundle_format import canonical_digest
from satc.runtime import BundleError, TopologyError, load
from satc.runtime.bundle import read_bundle
from satc.runtime.checks import check_topology
from satc.runtime.environment import ProcessEnv, detect, slurm_first_host, slurm_tasks_on_node
from support import REFERENCE, cogvideo_sat, require_module, satc

GOLDEN = {
    "2b-sft": ["cogvideox_2b.yaml", "sft.yaml"],
    "5b-lora-sft": ["cogvideox_5b_lora.yaml", "sft.yaml"],
    "2b-inference": ["cogvideox_2b.yaml", "inference.yaml"],
    "5b-lora-inference": ["cogvideox_5b_lora.yaml", "inference.yaml"],
}
# The shipped inference.yaml samples like CogVideoX 1.5; the 1.0 models need the README's
# 13 latent frames at 480x720 (model rules M14, M15).
SAMPLING_1_0 = ("args.sampling_num_frames=13", "args.sampling_image_size=[480,720]")
# What get_args adds to the parser's dests on every rank (seed: get_args and
# initialize_distributed).
PER_PROCESS = {"cuda", "rank", "world_size", "local_rank", "device", "master_ip", "master_port"}
LAUNCHER = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "LOCAL_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "SATC_BUNDLE",
)


@pytest.fixture(autouse=True)
def _no_launcher_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LAUNCHER:
        monkeypatch.delenv(name, raising=False)


def _compile(out: Path, *configs: Path, sets: tuple[str, ...] = ()) -> Path:
    argv = [str(c) for c in configs]
    for item in sets:
        argv += ["--set", item]
    result = satc("compile", *argv, "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("golden")
    return {
        name: _compile(
            root / name, *(REFERENCE / f for f in files), sets=SAMPLING_1_0 if "inference" in name else ()
        )
        for name, files in GOLDEN.items()
    }


@pytest.fixture(scope="module")
def cpu4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2b + inference on 4 CPU ranks, model-parallel 2, seed 1234."""
    layer = tmp_path_factory.mktemp("cpu4") / "cpu.yaml"
    layer.write_text(
        "launch:\n  device: cpu\n  gpus_per_node: 4\n  master_port: 29511\n"
        "args:\n  model_parallel_size: 2\n  seed: 1234\n"
        "  sampling_num_frames: 13\n  sampling_image_size: [480, 720]\n",
        encoding="utf-8",
    )
    return _compile(
        layer.parent / "bundle", REFERENCE / "cogvideox_2b.yaml", REFERENCE / "inference.yaml", layer
    )


@pytest.fixture(scope="module")
def parser_dests() -> set[str]:
    """Every dest of the parser CogVideoX's own get_args builds (its arguments.py in
    $SATC_COGVIDEO_SAT, with SAT's and DeepSpeed's groups), run in place."""
    require_module("sat")
    require_module("deepspeed")
    return project_support.parser_dests(cogvideo_sat())


def _merged(files: list[str]) -> Any:
    return OmegaConf.merge(*(OmegaConf.load(REFERENCE / f) for f in files))


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_load_has_every_key_get_args_produces(
    bundles: dict[str, Path], parser_dests: set[str], case: str
) -> None:
    namespace = load(bundles[case])
    merged = _merged(GOLDEN[case])
    expected = parser_dests | PER_PROCESS
    expected |= {
        section for section, key in (("model_config", "model"), ("data_config", "data")) if key in merged
    }
    if namespace.mode != "inference":
        expected.add("deepspeed_activation_checkpointing")  # R8
    assert set(vars(namespace)) == expected
    # CogVideoX calls instantiate_from_config on these: OmegaConf trees, kept as written.
    assert isinstance(namespace.model_config, DictConfig)
    assert OmegaConf.to_container(namespace.model_config) == OmegaConf.to_container(merged.model)
    if "data" in merged:
        assert isinstance(namespace.data_config, DictConfig)
        assert OmegaConf.to_container(namespace.data_config) == OmegaConf.to_container(merged.data)
    if namespace.mode != "inference":
        assert isinstance(namespace.deepspeed_config, dict)
        assert namespace.deepspeed is True
    # Single process defaults, as get_args on a GPU machine without a launcher.
    assert (namespace.rank, namespace.world_size, namespace.local_rank) == (0, 1, 0)
    assert namespace.device == 0 and namespace.cuda is True


def test_load_fills_per_process_fields_from_the_environment(
    cpu4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "RANK": "3",
        "LOCAL_RANK": "3",
        "WORLD_SIZE": "4",
        "LOCAL_WORLD_SIZE": "4",
        "MASTER_ADDR": "127.0.0.2",
    }.items():
        monkeypatch.setenv(name, value)
    namespace = load(cpu4 / "args.json")
    assert (namespace.rank, namespace.world_size, namespace.local_rank) == (3, 4, 3)
    assert namespace.device == "cpu" and namespace.cuda is False
    assert namespace.master_ip == "127.0.0.2"  # the launcher beats the bundle
    assert namespace.master_port == "29511"  # the bundle's, a string as in get_args
    assert namespace.seed == 1234 + 3 // 2  # R14: + data-parallel rank (rank // mp)
    assert not hasattr(namespace, "data_config")  # inference.yaml has no data section


def test_load_has_no_side_effects_and_imports_nothing_heavy(cpu4: Path) -> None:
    code = (
        "import json, os, sys\n"
        "before = dict(os.environ)\n"
        "import satc.runtime\n"
        "imported_early = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'deepspeed', 'sat', 'omegaconf'))\n"
        f"ns = satc.runtime.load({str(cpu4)!r})\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'deepspeed', 'sat'})\n"
        "compiler = sorted(m for m in sys.modules if m.startswith('satc.compiler'))\n"
        "print(json.dumps([imported_early, heavy, compiler, dict(os.environ) == before]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[], [], [], True]


def _tamper(bundle: Path, tmp_path: Path, edit: Any, redigest: bool) -> Path:
    document = json.loads((bundle / "args.json").read_text(encoding="utf-8"))
    edit(document)
    if redigest:
        document["digest"] = canonical_digest(document)
    target = tmp_path / "args.json"
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


REFUSED = [
    # (what was done to the bundle, edit, recompute digest?, words the message must have)
    ("edited", lambda d: d["args"].update(lr=1.0), False, ["digest mismatch", "edited after compile"]),
    ("topology edited", lambda d: d["topology"].update(world_size=8), False, ["digest mismatch"]),
    ("format major 2", lambda d: d.update(format="satc.args/2"), True, ["'satc.args/2'", "'satc.args/1'"]),
    ("not a satc bundle", lambda d: d.update(format="other/1"), True, ["'other/1'"]),
    ("satc major 1", lambda d: d.update(satc_version="1.0.0"), True, ["'1.0.0'", "major versions differ"]),
    ("no digest", lambda d: d.pop("digest"), False, ["digest mismatch", "None"]),
]


@pytest.mark.parametrize(("label", "edit", "redigest", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_untrustworthy_bundles_are_refused(
    cpu4: Path, tmp_path: Path, label: str, edit: Any, redigest: bool, words: list[str]
) -> None:
    path = _tamper(cpu4, tmp_path, edit, redigest)
    with pytest.raises(BundleError) as caught:
        load(path)
    for word in [str(path), *words]:
        assert word in str(caught.value)


def test_missing_and_broken_bundles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BundleError, match="SATC_BUNDLE"):
        load()
    monkeypatch.setenv("SATC_BUNDLE", str(tmp_path / "nowhere" / "args.json"))
    with pytest.raises(BundleError, match="no such bundle file.*satc compile"):
        load()
    broken = tmp_path / "args.json"
    broken.write_text('{"format": "satc.args/1",\n  "args": }', encoding="utf-8")
    with pytest.raises(BundleError, match=r"args.json:2:\d+: not valid JSON"):
        load(tmp_path)  # a directory means its args.json


def _edit_ds_config(ds: dict[str, Any], edit: str) -> str:
    """Hand edits of a training bundle's ds_config.json; returns the dotted key they touch."""
    if edit == "value":
        ds["optimizer"]["params"]["lr"] = 0.5
        return "optimizer.params.lr (ds_config.json has 0.5, args.json has 1e-05)"
    if edit == "same number, other type":  # true == 1 for Python, not for DeepSpeed
        ds["bf16"]["enabled"] = 1
        return "bf16.enabled (ds_config.json has 1, args.json has true)"
    if edit == "list item":
        ds["optimizer"]["params"]["betas"][1] = 0.999
        return "optimizer.params.betas[1]"
    if edit == "key removed":
        del ds["zero_optimization"]["overlap_comm"]
        return "zero_optimization.overlap_comm (ds_config.json has missing, args.json has true)"
    ds["zero_optimization"]["stage3_extra"] = 1  # "key added"
    return "zero_optimization.stage3_extra (ds_config.json has 1, args.json has missing)"


DS_EDITS = ["value", "same number, other type", "list item", "key removed", "key added"]


def _copy_bundle(bundle: Path, target: Path) -> Path:
    target.mkdir()
    for path in bundle.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


@pytest.mark.parametrize("edit", DS_EDITS)
def test_an_edited_ds_config_is_refused(bundles: dict[str, Path], tmp_path: Path, edit: str) -> None:
    """Entrypoints hand ds_config.json to DeepSpeed: it must still be args.json's deepspeed_config."""
    bundle = _copy_bundle(bundles["2b-sft"], tmp_path / "bundle")
    ds_path = bundle / "ds_config.json"
    read_bundle(bundle)  # as compiled, it matches
    ds = json.loads(ds_path.read_text(encoding="utf-8"))
    where = _edit_ds_config(ds, edit)
    ds_path.write_text(json.dumps(ds, indent=2), encoding="utf-8")
    for reader in (read_bundle, load):
        with pytest.raises(BundleError) as caught:
            reader(bundle / "args.json")
        message = str(caught.value)
        assert message.startswith(f"{ds_path}: does not match deepspeed_config in args.json at {where}")
        assert "satc check" in message and "satc compile" in message


def test_a_ds_config_that_is_not_json_or_not_ours(bundles: dict[str, Path], tmp_path: Path) -> None:
    training = _copy_bundle(bundles["2b-sft"], tmp_path / "training")
    (training / "ds_config.json").write_text('{"bf16": {"enabled": tru}}', encoding="utf-8")
    with pytest.raises(BundleError, match=r"ds_config.json:1:\d+: not valid JSON.*satc compile"):
        load(training)
    # An inference bundle has no deepspeed_config: any ds_config.json beside it is stray.
    inference = _copy_bundle(bundles["2b-inference"], tmp_path / "inference")
    assert not (inference / "ds_config.json").exists()
    load(inference)
    (inference / "ds_config.json").write_bytes((bundles["2b-sft"] / "ds_config.json").read_bytes())
    with pytest.raises(BundleError, match=r"has no deepspeed_config.*satc check"):
        load(inference)


def test_a_bundle_directory_and_its_args_json_load_the_same(cpu4: Path) -> None:
    assert vars(load(cpu4)) == vars(load(cpu4 / "args.json"))


# --- D9: every launcher's variables --------------------------------------------------------

DIALECTS = {
    "torchrun": {
        "RANK": "5",
        "LOCAL_RANK": "1",
        "WORLD_SIZE": "8",
        "LOCAL_WORLD_SIZE": "4",
        "MASTER_ADDR": "10.0.0.1",
        "MASTER_PORT": "29500",
    },
    "deepspeed": {
        "RANK": "5",
        "LOCAL_RANK": "1",
        "WORLD_SIZE": "8",
        "LOCAL_SIZE": "4",
        "CROSS_RANK": "1",
        "MASTER_ADDR": "10.0.0.1",
        "MASTER_PORT": "29500",
    },
    "openmpi": {
        "OMPI_COMM_WORLD_RANK": "5",
        "OMPI_COMM_WORLD_LOCAL_RANK": "1",
        "OMPI_COMM_WORLD_SIZE": "8",
        "OMPI_COMM_WORLD_LOCAL_SIZE": "4",
        "SLURM_PROCID": "0",
    },  # mpirun inside an allocation: MPI's ranks win
    "slurm": {
        "SLURM_PROCID": "5",
        "SLURM_LOCALID": "1",
        "SLURM_NTASKS": "8",
        "SLURM_NODEID": "1",
        "SLURM_TASKS_PER_NODE": "4(x2)",
        "SLURM_JOB_NODELIST": "gpu[07-08]",
    },
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_each_launcher_dialect(dialect: str) -> None:
    proc = detect(DIALECTS[dialect])
    assert proc.dialect == dialect
    assert (proc.rank, proc.local_rank, proc.world_size, proc.local_world_size) == (5, 1, 8, 4)


def test_no_launcher_is_one_rank() -> None:
    proc = detect({})
    assert (proc.dialect, proc.rank, proc.world_size, proc.local_world_size) == ("single", 0, 1, 1)


def test_slurm_hostlists() -> None:
    assert slurm_tasks_on_node("2(x3),1", 2) == 2
    assert slurm_tasks_on_node("2(x3),1", 3) == 1
    assert slurm_first_host("gpu[07-08,10],cpu1") == "gpu07"
    assert slurm_first_host("node1,node2") == "node1"
    assert detect(DIALECTS["slurm"]).allocation_host == "gpu07"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"RANK": "0", "WORLD_SIZE": "two", "LOCAL_RANK": "0"}, ["WORLD_SIZE='two'", "integer"]),
        ({"RANK": "1", "WORLD_SIZE": "2"}, ["LOCAL_RANK", "local rank"]),
        (
            {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "4", "LOCAL_SIZE": "4", "LOCAL_WORLD_SIZE": "2"},
            ["LOCAL_WORLD_SIZE=2", "LOCAL_SIZE=4"],
        ),
    ],
)
def test_unreadable_environments(env: dict[str, str], words: list[str]) -> None:
    with pytest.raises(TopologyError) as caught:
        detect(env)
    for word in words:
        assert word in str(caught.value)


def _proc(rank: int = 0, world: int = 4, local_world: int | None = 4) -> ProcessEnv:
    return ProcessEnv(
        dialect="torchrun",
        rank=rank,
        local_rank=rank % 4,
        world_size=world,
        local_world_size=local_world,
        master_addr=None,
        master_port=None,
        allocation_host=None,
        sources={"world_size": "WORLD_SIZE", "local_world_size": "LOCAL_WORLD_SIZE"},
    )


@pytest.mark.parametrize(
    ("proc", "words"),
    [
        (_proc(world=2, local_world=2), ["world size mismatch", "WORLD_SIZE=2", "world_size 4"]),
        (_proc(world=4, local_world=2), ["ranks-per-node mismatch", "LOCAL_WORLD_SIZE=2", "gpus_per_node 4"]),
    ],
)
def test_topology_mismatch_names_both_values(cpu4: Path, proc: ProcessEnv, words: list[str]) -> None:
    with pytest.raises(TopologyError) as caught:
        check_topology(read_bundle(cpu4), proc)
    for word in [*words, "launch.sh"]:
        assert word in str(caught.value)


def test_matching_topology_passes(cpu4: Path) -> None:
    for rank in range(4):
        check_topology(read_bundle(cpu4), _proc(rank=rank))
