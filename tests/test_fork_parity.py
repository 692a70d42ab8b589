"""Every config combination a SAT-derived project's README and scripts launch compiles from
its entrypoint folder, and the bundle's args equal the project's OWN get_args, key by key.

The projects are the real trees in ../shared/reference/ (CogVideoX's ``sat/``, the Tora
and CogView3 forks), read in place.  Their ``get_args`` runs in a subprocess
(tests/reference/project_get_args.py: the tree's own ``arguments.py`` and the SAT it
imports, neutralised the same way for every tree, CogVideoX's in tests/test_reference_args.py);
satc runs as a user runs it: ``satc compile`` with the same files, cwd = the entrypoint
folder, then ``satc.runtime.load``.  Each launch is compared at rank 0 of 1 and at rank 3
of 4 (a project's seed rule: +data-parallel rank, +global rank, or none in inference).

Excluded from the comparison, each checked for its own value instead:
* per-process fields (``PER_PROCESS``, as tests/test_reference_args.py): the runtime fills
  them from the live launch;
* ``base``: at run time the bundle's merged ``config.yaml`` (README, "Paths"); args.json
  records the input files;
* training only: ``zero_stage`` equals the DeepSpeed stage (D3) and ``deepspeed_config``
  gains ``train_batch_size`` (D4), as in tests/test_reference_args.py.
Command-line flags the README passes after ``--base`` are given to satc as ``--set``
(D2, D5: the bundle freezes every argument); none of them is also set in the YAML, so the
project's "YAML beats flags" never decides them.  The script the README starts
(``python sample_dit.py``) is ``launch.entrypoint``.

Also here: launches whose code certainly fails are refused naming the key (``refuse``);
typos of a fork's own keys get the fork's key as the suggestion; a user's YAML ``null``
and ``--set KEY=null``; compiling writes nothing into the project; the harness is shown
to run each project's own code.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from project_support import PER_PROCESS, launcher_variables, run_harness, to_json
from support import ROOT, cogvideo_sat, require_module, satc, tree_digest

LAYERS = ROOT / "tests" / "data" / "fork_layers"  # users' own layers over a project's configs
RANKS = ((0, 1), (3, 4))


@dataclass(frozen=True)
class Launch:
    """One way a project's README or script starts it."""

    name: str
    tree: str  # the entrypoint folder, relative to ../shared/reference
    bases: tuple[str, ...]  # --base, relative to the tree
    source: str  # where the project launches it
    entrypoint: str = ""  # the script it starts, in the tree (given to satc as launch.entrypoint)
    mode: str = "inference"
    flags: tuple[str, ...] = ()  # what the command line passes after --base
    sets: tuple[str, ...] = ()  # the same values for satc compile --set
    # A certain failure of the project's own code: satc must refuse, naming these.
    refuse: tuple[str, ...] = ()
    why: str = ""


TORA = "forks/Tora/sat"
COGVIEW3 = "forks/CogView3/sat"
COGVIDEOX = "cogvideo-sat"
TORA_T2V = "configs/tora/model/cogvideox_5b_tora.yaml"
TORA_I2V = "configs/tora/model/cogvideox_5b_tora_i2v.yaml"

LAUNCHES = (
    Launch(
        "tora-t2v-sample",
        TORA,
        (TORA_T2V, "configs/tora/inference_sparse.yaml"),
        "Tora README, Inference / Text to Video: torchrun sample_video.py",
        entrypoint="sample_video.py",
        flags=(
            "--load",
            "ckpts/tora/t2v",
            "--output-dir",
            "samples",
            "--point_path",
            "trajs/coaster.txt",
            "--input-file",
            "assets/text/t2v/examples.txt",
        ),  # fmt: skip
        sets=(
            "args.load=ckpts/tora/t2v",
            "args.output_dir=samples",
            "args.point_path=[trajs/coaster.txt]",
            "args.input_file=assets/text/t2v/examples.txt",
        ),  # fmt: skip
    ),
    Launch(
        "tora-i2v-sample",
        TORA,
        (TORA_I2V, "configs/tora/inference_sparse.yaml"),
        "Tora README, Inference / Image to Video: torchrun sample_video.py",
        entrypoint="sample_video.py",
        flags=(
            "--load",
            "ckpts/tora/i2v",
            "--output-dir",
            "samples",
            "--point_path",
            "trajs/sawtooth.txt",
            "--input-file",
            "assets/text/i2v/examples.txt",
            "--img_dir",
            "assets/images",
            "--image2video",
        ),  # fmt: skip
        sets=(
            "args.load=ckpts/tora/i2v",
            "args.output_dir=samples",
            "args.point_path=[trajs/sawtooth.txt]",
            "args.input_file=assets/text/i2v/examples.txt",
            "args.img_dir=assets/images",
            "args.image2video=true",
        ),  # fmt: skip
    ),
    Launch(
        "tora-gradio-app",
        TORA,
        (TORA_T2V, "configs/tora/inference_sparse.yaml"),
        "Tora README, Gradio Demo: python app.py --load ckpts/tora/t2v (app.py builds this get_args list)",
        entrypoint="app.py",
        flags=("--load", "ckpts/tora/t2v/"),
        sets=("args.load=ckpts/tora/t2v/",),
    ),
    Launch(
        "tora-train-stage1",
        TORA,
        (TORA_T2V, "configs/tora/train_dense.yaml"),
        "Tora README, Training / Stage 1: torchrun train_video.py",
        entrypoint="train_video.py",
        mode="finetune",
        flags=("--experiment-name", "t2v-stage1"),
        sets=("args.experiment_name=t2v-stage1",),
    ),
    Launch(
        "tora-train-stage2",
        TORA,
        (TORA_T2V, "configs/tora/train_sparse.yaml"),
        "Tora README, Training / Stage 2: torchrun train_video.py",
        entrypoint="train_video.py",
        mode="finetune",
        flags=("--experiment-name", "t2v-stage2"),
        sets=("args.experiment_name=t2v-stage2",),
    ),
    Launch(
        "tora-t2v-sample-null-text-arg",
        TORA,
        (TORA_T2V, "configs/tora/inference_sparse.yaml", str(LAYERS / "tora_null_text_arg.yaml")),
        "a user's layer over Tora README's Text to Video: `flow_from_prompt: null` (sample_video.py)",
        entrypoint="sample_video.py",
    ),
    Launch(
        "cogview3-plus",
        COGVIEW3,
        ("configs/cogview3_plus.yaml",),
        "CogView3 sat/README, CogView-3Plus: python sample_dit.py",
        entrypoint="sample_dit.py",
    ),
    Launch(
        "cogview3-base",
        COGVIEW3,
        ("configs/cogview3_base.yaml",),
        "CogView3 sat/README, CogView-3-Base original: python sample_unet.py",
        entrypoint="sample_unet.py",
    ),
    Launch(
        "cogview3-base-distill-4step",
        COGVIEW3,
        ("configs/cogview3_base_distill_4step.yaml",),
        "CogView3 sat/README, CogView-3-Base distilled: python sample_unet.py",
        entrypoint="sample_unet.py",
        refuse=("model.first_stage_config.params.ddconfig.in_channels",),
        why="`in_channels: 3f` is the string '3f': AutoencoderKL builds Encoder(**ddconfig), whose "
        "torch.nn.Conv2d('3f', ...) raises TypeError (sgm/modules/diffusionmodules/model.py:516)",
    ),
    Launch(
        "cogview3-relay",
        COGVIEW3,
        ("configs/cogview3_relay.yaml",),
        "CogView3 sat/README, CogView-3-Relay original: python sample_unet.py",
        entrypoint="sample_unet.py",
    ),
    Launch(
        "cogview3-relay-distill-1step",
        COGVIEW3,
        ("configs/cogview3_relay_distill_1step.yaml",),
        "CogView3 sat/README, CogView-3-Relay distilled: python sample_unet.py",
        entrypoint="sample_unet.py",
    ),
    Launch(
        "cogvideox-inference-sh",
        COGVIDEOX,
        ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml"),
        "CogVideoX sat/inference.sh: python sample_video.py --seed $RANDOM",
        entrypoint="sample_video.py",
        flags=("--seed", "4242"),
        sets=("args.seed=4242",),
    ),
    Launch(
        "cogvideox-finetune-single-gpu-sh",
        COGVIDEOX,
        ("configs/cogvideox_2b_lora.yaml", "configs/sft.yaml"),
        "CogVideoX sat/finetune_single_gpu.sh: python train_video.py --seed $RANDOM",
        entrypoint="train_video.py",
        mode="finetune",
        flags=("--seed", "4242"),
        sets=("args.seed=4242",),
        refuse=("model.network_config.params.patch_size", "height_interpolation"),
        why="dit_video_concat.py:695 indexes patch_size[1:] (an int is a TypeError) and "
        "dit_video_concat.py:793 passes height_interpolation twice (CogVideo #480, #671)",
    ),
    Launch(
        "cogvideox-readme-2b-full-finetune",
        COGVIDEOX,
        ("configs/cogvideox_2b.yaml", "configs/sft.yaml"),
        "CogVideoX sat/README, fine-tuning example 2: train_video.py --seed $RANDOM",
        entrypoint="train_video.py",
        mode="finetune",
        flags=("--seed", "4242"),
        sets=("args.seed=4242",),
        refuse=("model.network_config.params.patch_size",),
        why="dit_video_concat.py:695 indexes patch_size[1:]: the 1.0 configs' integer 2 is a TypeError",
    ),
    Launch(
        "cogvideox-readme-lora-inference",
        COGVIDEOX,
        ("configs/cogvideox_5b_lora.yaml", "configs/inference.yaml"),
        "CogVideoX sat/README, inference with a fine-tuned LoRA: sample_video.py --seed 42",
        entrypoint="sample_video.py",
        flags=("--seed", "42"),
        sets=("args.seed=42",),
        refuse=("model.network_config.params.patch_size",),
        why="dit_video_concat.py:695 indexes patch_size[1:]: the 1.0 configs' integer 2 is a TypeError",
    ),
    Launch(
        "cogvideox-finetune-multi-gpus-sh",
        COGVIDEOX,
        ("configs/test_cogvideox_5b_i2v_lora.yaml", "configs/test_sft.yaml"),
        "CogVideoX sat/finetune_multi_gpus.sh: torchrun train_video.py --seed $RANDOM",
        entrypoint="train_video.py",
        mode="finetune",
        flags=("--seed", "4242"),
        sets=("args.seed=4242",),
        refuse=("test_cogvideox_5b_i2v_lora.yaml",),
        why="the script names configs that do not exist (the project's get_args fails too)",
    ),
)
BY_NAME = {launch.name: launch for launch in LAUNCHES}
RUNNABLE = sorted(launch.name for launch in LAUNCHES if not launch.refuse)


def reference_root() -> Path:
    return cogvideo_sat().parent


def tree_of(launch: Launch) -> Path:
    return reference_root() / launch.tree


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One satc cache for the module: the project scan is paid once per tree."""
    return tmp_path_factory.mktemp("satc-cache")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict]:
    """Every launch through its project's own get_args at each rank: one process per tree."""
    require_module("sat")
    results: dict[tuple[str, int], dict] = {}
    for tree in sorted({launch.tree for launch in LAUNCHES}):
        launches = [launch for launch in LAUNCHES if launch.tree == tree]
        groups = [
            [f"@{rank}/{world}", "--base", *launch.bases, *launch.flags]
            for launch in launches
            for rank, world in RANKS
        ]
        header, found = run_harness(reference_root() / tree, groups)
        results[(tree, -1)] = header
        pairs = [(launch.name, rank) for launch in launches for rank, _ in RANKS]
        results.update(zip(pairs, found, strict=True))
    return results


def compile_launch(
    launch: Launch, out: Path, cache: Path, *, entrypoint: bool = True
) -> subprocess.CompletedProcess[str]:
    """``satc compile`` from the entrypoint folder; ``python SCRIPT.py`` is ``launch.entrypoint``."""
    values = [*launch.sets, *([f"launch.entrypoint={launch.entrypoint}"] if entrypoint else [])]
    sets = [item for value in values for item in ("--set", value)]
    return satc(
        "compile",
        *launch.bases,
        "-o",
        str(out),
        *sets,
        cwd=tree_of(launch),
        env={"SATC_CACHE_DIR": str(cache)},
    )


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path):
    """Each runnable launch compiled once (lazily): name -> (bundle, completed process)."""
    made: dict[str, tuple] = {}

    def get(name: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
        if name not in made:
            out = tmp_path_factory.mktemp(name) / "bundle"
            made[name] = (out, compile_launch(BY_NAME[name], out, cache_dir))
        return made[name]

    return get


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error:" in line or line.startswith("error:")]


@pytest.mark.parametrize("name", RUNNABLE)
def test_launch_compiles_from_its_entrypoint_folder(name: str, bundles) -> None:
    launch = BY_NAME[name]
    out, result = bundles(name)
    assert result.returncode == 0 and not _errors(result.stderr), (
        f"{launch.source}: satc compile {' '.join(launch.bases)} (cwd {launch.tree}) refused a launch "
        f"the project runs:\n{result.stderr}"
    )
    assert (out / "args.json").is_file()


@pytest.mark.parametrize("name", RUNNABLE)
def test_bundle_starts_the_script_the_project_starts(name: str, bundles) -> None:
    launch = BY_NAME[name]
    out, result = bundles(name)
    assert result.returncode == 0, result.stderr
    assert (tree_of(launch) / launch.entrypoint).is_file()  # the table names real scripts
    assert (
        json.loads((out / "args.json").read_text(encoding="utf-8"))["launch"]["entrypoint"]
        == launch.entrypoint
    )


@pytest.mark.parametrize("name", ["cogview3-plus", "tora-t2v-sample", "tora-train-stage1"])
def test_default_entrypoint_is_a_script_the_project_has(name: str, tmp_path: Path, cache_dir: Path) -> None:
    """Without launch.entrypoint the bundle starts a script that exists in the project, or
    the compile asks for launch.entrypoint -- never a launch.sh that cannot start.
    (CogView3 has sample_dit.py and sample_unet.py, no sample_video.py.)"""
    launch = BY_NAME[name]
    out = tmp_path / "bundle"
    result = compile_launch(launch, out, cache_dir, entrypoint=False)
    if result.returncode == 0:
        chosen = json.loads((out / "args.json").read_text(encoding="utf-8"))["launch"]["entrypoint"]
        assert (tree_of(launch) / chosen).is_file(), (
            f"launch.sh starts {chosen}, which {launch.tree} does not have"
        )
    else:
        assert "launch.entrypoint" in "\n".join(_errors(result.stderr)), result.stderr


@pytest.mark.parametrize("name", sorted(launch.name for launch in LAUNCHES if launch.refuse))
def test_certain_failure_is_refused_naming_the_key(name: str, tmp_path: Path, cache_dir: Path) -> None:
    launch = BY_NAME[name]
    out = tmp_path / "bundle"
    result = compile_launch(launch, out, cache_dir)
    errors = "\n".join(_errors(result.stderr))
    assert result.returncode == 2, (
        f"{launch.source}: {launch.why}; satc exited {result.returncode}:\n{result.stderr}"
    )
    for key in launch.refuse:
        assert key in errors, f"{launch.source}: the error must name {key} ({launch.why}):\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("name", ["tora-t2v-sample", "cogview3-plus", "cogvideox-inference-sh"])
def test_compiling_writes_nothing_into_the_project(name: str, tmp_path: Path) -> None:
    """Reading a project (with an empty cache) leaves its tree byte for byte, mtimes included:
    a shared checkout, a read-only mount, a CI cache stay as they are."""
    launch = BY_NAME[name]
    # A fork's whole checkout (Tora's vendored SAT sits beside its sat/ folder).
    project = tree_of(launch).parent if launch.tree.startswith("forks/") else tree_of(launch)
    before = tree_digest(project)
    compile_launch(launch, tmp_path / "bundle", tmp_path / "empty-cache")
    assert tree_digest(project) == before, f"satc compile wrote into {project}"


def test_the_harness_runs_each_projects_own_code(reference: dict) -> None:
    """What only the project's own code can produce, so the comparison is against it."""
    root = reference_root()
    tora, cogview3 = reference[(TORA, -1)], reference[(COGVIEW3, -1)]
    assert tora["arguments"] == str(root / TORA / "arguments.py")
    assert tora["sat"] == str(root / "forks/Tora/modules/SwissArmyTransformer/sat")  # vendored wins
    assert cogview3["arguments"] == str(root / COGVIEW3 / "arguments.py")
    t2v = reference[("tora-t2v-sample", 0)]["args"]
    assert (t2v["flow_from_prompt"], t2v["point_path"]) == (False, ["trajs/coaster.txt"])  # Tora's own flags
    plus = reference[("cogview3-plus", 0)]["args"]
    assert (plus["relay_model"], plus["sampling_image_size_x"], plus["deepspeed_config"]) == (False, 2048, {})
    # Each project's seed rule at rank 3: Tora adds no offset in inference, CogView3 adds
    # the global rank, Tora's training and CogVideoX the data-parallel rank.
    seeds = {
        name: (reference[(name, 0)]["args"]["seed"], reference[(name, 3)]["args"]["seed"])
        for name in RUNNABLE
    }
    assert seeds["tora-t2v-sample"][1] == seeds["tora-t2v-sample"][0]
    for name in ("tora-train-stage1", "cogview3-plus", "cogvideox-inference-sh"):
        assert seeds[name][1] == seeds[name][0] + 3, (name, seeds[name])


def test_set_null_never_silently_becomes_the_default(tmp_path: Path, cache_dir: Path) -> None:
    """``--set args.flow_from_prompt=null`` on Tora: its default 'cli' is truthy, the user
    asked for nothing; satc refuses naming the key, or hands back None as a YAML null does."""
    launch = BY_NAME["tora-t2v-sample"]
    out = tmp_path / "bundle"
    result = satc(
        "compile", *launch.bases, "-o", str(out), "--set", "args.flow_from_prompt=null",
        cwd=tree_of(launch), env={"SATC_CACHE_DIR": str(cache_dir)},
    )  # fmt: skip
    if result.returncode == 0:
        from satc.runtime import load

        assert load(out).flow_from_prompt is None, result.stderr
    else:
        assert "args.flow_from_prompt" in "\n".join(_errors(result.stderr)), result.stderr


# (launch, a user's layer with a typo, the key as typed, the key meant): the suggestion
# must be the fork's own key, never another setting (CogView3 has grid_num_columns and
# no grid_num_rows; Tora's engine reads trainable_modules and not_trainable_modules).
FORK_TYPOS = {
    "tora text argument": ("tora-t2v-sample", "args:\n  flow_from_promt: false\n", "args.flow_from_prompt"),
    "tora engine key": (
        "tora-train-stage1",
        "model:\n  trainable_module: [fuser]\n",
        "model.trainable_modules",
    ),
    "cogview3 argument": ("cogview3-plus", "args:\n  grid_num_column: 2\n", "args.grid_num_columns"),
    "cogview3 flag": ("cogview3-relay", "args:\n  relay_modle: true\n", "args.relay_model"),
}


@pytest.mark.parametrize("case", sorted(FORK_TYPOS))
def test_typo_in_a_fork_gets_the_forks_own_key(case: str, tmp_path: Path, cache_dir: Path) -> None:
    name, text, meant = FORK_TYPOS[case]
    launch = BY_NAME[name]
    layer = tmp_path / "typo.yaml"
    layer.write_text(text, encoding="utf-8")
    typed = text.split(":")[0] + "." + text.split("\n")[1].strip().split(":")[0]
    out = tmp_path / "bundle"
    result = satc(
        "compile", *launch.bases, str(layer), "-o", str(out), cwd=tree_of(launch),
        env={"SATC_CACHE_DIR": str(cache_dir)},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    blocks, block = [], None
    for line in result.stderr.splitlines():
        if line.startswith(" ") and block is not None:
            block.append(line)
        else:
            block = [line]
            blocks.append(block)
    about = [b for b in blocks if f"error: {typed}:" in b[0]]
    assert about, f"{typed} is not reported:\n{result.stderr}"
    hints = [line for b in about for line in b[1:] if "did you mean" in line]
    assert hints and all(f"{meant}?" in hint for hint in hints), (
        f"want a hint naming {meant}:\n{result.stderr}"
    )


def test_missing_configs_fail_in_the_project_too(reference: dict) -> None:
    """The one refusal the project's own get_args shares (its scripts name absent files)."""
    outcome = reference[("cogvideox-finetune-multi-gpus-sh", 0)]
    assert outcome.get("error", "").startswith("FileNotFoundError"), outcome


def _differences(launch: Launch, bundle: Path, mine: dict, theirs: dict) -> list[str]:
    document = json.loads((bundle / "args.json").read_text(encoding="utf-8"))
    training = theirs["mode"] != "inference"
    problems = []
    missing, extra = (
        sorted(set(theirs) - set(mine) - PER_PROCESS),
        sorted(set(mine) - set(theirs) - PER_PROCESS),
    )
    if missing or extra:
        problems.append(f"keys only in the project's namespace: {missing}; only in satc's: {extra}")
    for key in sorted(set(theirs) & set(mine) - PER_PROCESS):
        actual, expected = mine[key], theirs[key]
        if key == "base":  # the bundle's files stand for the inputs: its merged config.yaml,
            # or its frozen copy of each layer where the project reopens args.base one by one
            layers = [entry["path"] for entry in document.get("config_layers") or []]
            files = [str(bundle / name) for name in layers or ["config.yaml"]]
            if actual != files:
                problems.append(f"base: {actual!r} is not the bundle's {files!r}")
            if [Path(p).name for p in document["args"]["base"]] != [Path(p).name for p in launch.bases]:
                problems.append(f"args.json base {document['args']['base']!r} != inputs {launch.bases!r}")
            continue
        if key == "zero_stage" and training:  # D3
            expected = (document.get("deepspeed_config") or {}).get("zero_optimization", {}).get("stage", 0)
        elif key == "deepspeed_config" and training and isinstance(actual, dict):  # D4
            actual = dict(actual)
            if actual.pop("train_batch_size", None) != (
                actual.get("train_micro_batch_size_per_gpu", 0)
                * actual.get("gradient_accumulation_steps", 0)
                * document["topology"]["data_parallel_size"]
            ):
                problems.append("deepspeed_config.train_batch_size is not micro x accumulation x dp (D4)")
            if "gradient_accumulation_steps" not in expected:
                actual.pop("gradient_accumulation_steps", None)
        if actual != expected:
            problems.append(f"{key}: satc {actual!r} != project {expected!r}")
    return problems


@pytest.mark.parametrize("rank,world", RANKS, ids=[f"rank{r}of{w}" for r, w in RANKS])
@pytest.mark.parametrize("name", RUNNABLE)
def test_args_equal_the_projects_own_get_args(
    name: str, rank: int, world: int, reference: dict, bundles, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch = BY_NAME[name]
    theirs = reference[(name, rank)]
    assert "args" in theirs, f"the project's own get_args refused {name}: {theirs}"
    assert theirs["args"]["mode"] == launch.mode  # the table describes the launch it names
    out, result = bundles(name)
    assert result.returncode == 0, f"satc compile refused {name}:\n{result.stderr}"
    import satc.runtime

    for variable in launcher_variables():
        monkeypatch.delenv(variable)
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", str(world))
    monkeypatch.setenv("LOCAL_RANK", str(rank))
    mine = to_json(satc.runtime.load(out))
    problems = _differences(launch, out, mine, theirs["args"])
    assert not problems, f"{name} at rank {rank} of {world}:\n  " + "\n  ".join(problems)
