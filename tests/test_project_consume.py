"""satc judges a config by the code of the project it compiles for.

Against CogVideoX's real `sat/` folder (SATC_COGVIDEO_SAT), copies of it changed the way
a fork changes it, and the forks in ../shared/reference/forks: the rules follow the
code read from the project, a key the project defines is never unknown, and a bundle
records the files that judged it (`satc check` reports when they change).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import ROOT, cogvideo_sat, forks, require, satc

LIST_PATCH = "model:\n  network_config:\n    params:\n      patch_size: [1, 2, 2]\n"


def _project_copy(tmp_path: Path) -> Path:
    """A writable copy of CogVideoX's sat/ folder (code and configs, no checkpoints)."""
    copy = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), copy, ignore=shutil.ignore_patterns("__pycache__", "*.pt", "ckpts*"))
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1))


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error: " in line]


def test_the_integer_patch_size_is_an_error_where_the_network_indexes_it(tmp_path: Path) -> None:
    sat = cogvideo_sat()
    result = satc(
        "compile", "configs/cogvideox_5b_lora.yaml", "configs/sft.yaml", "-o", str(tmp_path / "b"), cwd=sat
    )
    assert result.returncode == 2, result.stderr
    (error,) = _errors(result.stderr)
    assert error.startswith(
        "configs/cogvideox_5b_lora.yaml:33:7: error: model.network_config.params.patch_size:"
    )
    assert "indexes patch_size (dit_video_concat.py:695)" in error and "[M25]" in error
    assert "hint: write patch_size: [1, 2, 2]" in result.stderr
    assert "note: no project found" not in result.stderr


def test_the_duplicated_interpolation_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "fix.yaml").write_text(LIST_PATCH)
    result = satc(
        "compile",
        "configs/cogvideox_2b_lora.yaml",
        "configs/sft.yaml",
        str(tmp_path / "fix.yaml"),
        "-o",
        str(tmp_path / "b"),
        cwd=cogvideo_sat(),
    )
    assert result.returncode == 2, result.stderr
    keys = sorted(line.split(": ")[2] for line in _errors(result.stderr))
    pos = "model.network_config.params.modules.pos_embed_config.params"
    assert keys == [f"{pos}.height_interpolation", f"{pos}.width_interpolation"]
    assert "TypeError (multiple values)" in result.stderr and "[M4]" in result.stderr
    assert "hint: set model.network_config.params.height_interpolation instead" in result.stderr


def test_a_network_that_takes_an_integer_patch_size_compiles_the_same_config_clean(tmp_path: Path) -> None:
    sat = _project_copy(tmp_path)
    _edit(sat / "dit_video_concat.py", "reduce(mul, patch_size[1:])", "(patch_size * patch_size)")
    result = satc("compile", "configs/cogvideox_5b_lora.yaml", "configs/sft.yaml", "-o", "b", cwd=sat)
    assert result.returncode == 0, result.stderr
    assert "M25" not in result.stderr
    recorded = json.loads((sat / "b" / "args.json").read_text())["provenance"]["project"]
    assert recorded["origin"] == "scanned" and recorded["path"] == ".."
    assert "dit_video_concat.py" in {item["path"] for item in recorded["files"]}


def test_a_mutated_project_compiles_without_changing_satc(tmp_path: Path) -> None:
    sat = _project_copy(tmp_path)
    _edit(
        sat / "arguments.py",
        '    group.add_argument("--device", type=int, default=-1)\n',
        '    group.add_argument("--device", type=int, default=-1)\n'
        '    group.add_argument("--sequence-parallel-size", type=int, default=1)\n',
    )
    _edit(
        sat / "dit_video_concat.py",
        "        ofs_embed_dim=None,\n",
        "        ofs_embed_dim=None,\n        motion_scale=1.0,\n",
    )
    _edit(
        sat / "arguments.py",
        '    if "data" in config:\n',
        '    if "motion" in config:\n        args.motion_config = config.pop("motion")\n    if "data" in config:\n',
    )
    layer = sat / "mine.yaml"
    layer.write_text(
        "args:\n  sequence_parallel_size: 2\n"
        "model:\n  network_config:\n    params:\n      patch_size: [1, 2, 2]\n      motion_scale: 0.5\n"
        "motion:\n  strength: 3\n"
    )
    result = satc(
        "compile", "configs/cogvideox_5b_lora.yaml", "configs/sft.yaml", "mine.yaml", "-o", "b", cwd=sat
    )
    assert result.returncode == 0, result.stderr
    args = json.loads((sat / "b" / "args.json").read_text())
    assert args["args"]["sequence_parallel_size"] == 2
    assert args["model_config"]["network_config"]["params"]["motion_scale"] == 0.5
    # The same keys against the unchanged project: each one is refused, as its code would ignore it.
    shutil.copy(layer, tmp_path / "mine.yaml")
    pristine = satc(
        "compile",
        "configs/cogvideox_5b_lora.yaml",
        "configs/sft.yaml",
        str(tmp_path / "mine.yaml"),
        "-o",
        str(tmp_path / "b"),
        cwd=cogvideo_sat(),
    )
    assert pristine.returncode == 2
    refused = {line.split(": ")[2] for line in _errors(pristine.stderr)}
    assert refused == {"args.sequence_parallel_size", "model.network_config.params.motion_scale", "motion"}
    # did-you-mean never offers another setting the project defines for a key it lacks
    assert "did you mean args.model_parallel_size" not in pristine.stderr


def test_a_typo_of_a_real_key_is_caught_with_the_right_suggestion(tmp_path: Path) -> None:
    (tmp_path / "typo.yaml").write_text("args:\n  sampling_num_frame: 13\n" + LIST_PATCH)
    result = satc(
        "compile",
        "configs/cogvideox_5b_lora.yaml",
        "configs/sft.yaml",
        str(tmp_path / "typo.yaml"),
        "-o",
        str(tmp_path / "b"),
        cwd=cogvideo_sat(),
    )
    assert result.returncode == 2
    assert "error: args.sampling_num_frame: unknown key under args" in result.stderr
    assert "hint: did you mean args.sampling_num_frames?" in result.stderr


def test_check_reports_a_change_of_the_code_that_judged_the_bundle(tmp_path: Path) -> None:
    sat = _project_copy(tmp_path)
    (sat / "fix.yaml").write_text(LIST_PATCH)
    argv = ("compile", "configs/cogvideox_5b_lora.yaml", "configs/sft.yaml", "fix.yaml", "-o", "b")
    assert satc(*argv, cwd=sat).returncode == 0
    assert satc("check", "-o", "b", cwd=sat).returncode == 0
    with (sat / "dit_video_concat.py").open("a") as code:
        code.write("\n# a local patch\n")
    drift = satc("check", "-o", "b", cwd=sat)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "b: DRIFT" in drift.stdout
    assert "the project's code changed: dit_video_concat.py" in drift.stdout


def test_without_a_project_one_note_names_the_builtin_profile(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("args:\n  mode: inference\n  load: ckpt\n")
    result = satc("compile", "c.yaml", "-o", "b", "--strict", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "built-in CogVideoX profile" in notes[0] and "--project DIR" in notes[0]
    recorded = json.loads((tmp_path / "b" / "args.json").read_text())["provenance"]["project"]
    assert recorded == {"label": "CogVideoX sat/ at e519ece (satc's built-in profile)", "origin": "builtin"}
    (tmp_path / "bad.yaml").write_text("args:\n  mode: inference\n  bf16: 'no'\n")
    refused = satc("compile", "bad.yaml", "-o", "b2", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.startswith("bad.yaml:3:3: error: args.bf16")
    assert "\nnote: no project found" in refused.stderr


EULER = (
    "model:\n  sampler_config:\n    target: sgm.modules.diffusionmodules.sampling.EulerEDMSampler\n"
    "  network_config:\n    params:\n      patch_size: [1, 2, 2]\n"
)


def test_a_sampler_keeps_its_required_discretization_config(tmp_path: Path) -> None:
    (tmp_path / "euler.yaml").write_text(EULER)
    argv = (
        "compile",
        "configs/cogvideox_5b_lora.yaml",
        "configs/inference.yaml",
        str(tmp_path / "euler.yaml"),
    )
    sample = ("--set", "args.sampling_num_frames=13", "--set", "args.sampling_image_size=[480,720]")
    given = satc(*argv, *sample, "-o", str(tmp_path / "b"), cwd=cogvideo_sat())
    assert given.returncode == 0, given.stderr
    dropped = ("--set", "model.sampler_config.params.discretization_config=null")
    missing = satc(*argv, *sample, *dropped, "-o", str(tmp_path / "b2"), cwd=cogvideo_sat())
    assert missing.returncode == 2
    assert "missing required parameter 'discretization_config'" in missing.stderr and "[M3]" in missing.stderr


@pytest.mark.parametrize(
    ("value", "ok"),
    [("true", True), ("'True'", True), ("false", True), ("'False'", False), ("[1]", False)],
)
def test_iterable_dataset_eval_is_judged_as_sat_reads_it(tmp_path: Path, value: str, ok: bool) -> None:
    (tmp_path / "c.yaml").write_text(f"args:\n  mode: inference\n  iterable_dataset_eval: {value}\n")
    result = satc("compile", "c.yaml", "-o", "b", "--project", str(cogvideo_sat()), cwd=tmp_path)
    assert (result.returncode == 0) is ok, result.stderr


def test_a_string_for_a_flag_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("args:\n  mode: inference\n  bf16: 'False'\n")
    result = satc("compile", "c.yaml", "-o", "b", "--project", str(cogvideo_sat()), cwd=tmp_path)
    assert result.returncode == 2
    assert "c.yaml:3:3: error: args.bf16: expected true or false, got string 'False'" in result.stderr


# Each fork's configs, combined as its README launches them, from its entrypoint folder.
FORK_RUNS = {
    "Tora": [
        ("configs/tora/model/cogvideox_5b_tora.yaml", "configs/tora/inference_sparse.yaml"),
        (
            "configs/tora/model/cogvideox_5b_tora_i2v.yaml",
            "configs/tora/inference_sparse.yaml",
            "--set",
            "args.image2video=true",
        ),
        ("configs/tora/model/cogvideox_5b_tora.yaml", "configs/tora/train_dense.yaml"),
        ("configs/tora/model/cogvideox_5b_tora.yaml", "configs/tora/train_sparse.yaml"),
    ],
    "CogView3": [
        ("configs/cogview3_plus.yaml", "--set", "launch.entrypoint=sample_dit.py"),
        ("configs/cogview3_base.yaml", "--set", "launch.entrypoint=sample_unet.py"),
        # Its `in_channels: 3f` is a certain TypeError (M8; test_fork_parity checks the refusal):
        # corrected here, the rest of the config is what this compiles.
        (
            "configs/cogview3_base_distill_4step.yaml",
            "--set",
            "launch.entrypoint=sample_unet.py",
            "--set",
            "model.first_stage_config.params.ddconfig.in_channels=3",
        ),
        ("configs/cogview3_relay.yaml", "--set", "launch.entrypoint=sample_unet.py"),
        ("configs/cogview3_relay_distill_1step.yaml", "--set", "launch.entrypoint=sample_unet.py"),
    ],
}


@pytest.mark.parametrize(
    ("fork", "argv"),
    [(fork, argv) for fork, runs in FORK_RUNS.items() for argv in runs],
    ids=[
        f"{fork}:{argv[0].rsplit('/', 1)[-1]}+{len(argv)}"
        for fork, runs in FORK_RUNS.items()
        for argv in runs
    ],
)
def test_fork_configs_compile_from_their_entrypoint_folder(
    fork: str, argv: tuple[str, ...], tmp_path: Path
) -> None:
    sat = forks() / fork / "sat"
    require(sat.is_dir(), f"{sat} (the shared reference forks)")
    result = satc("compile", *argv, "-o", str(tmp_path / "b"), cwd=sat)
    assert result.returncode == 0, result.stderr
    recorded = json.loads((tmp_path / "b" / "args.json").read_text())["provenance"]["project"]
    assert recorded["origin"] == "scanned" and "arguments.py" in {f["path"] for f in recorded["files"]}


def test_set_null_never_falls_back_silently_to_a_different_default(tmp_path: Path) -> None:
    sat = forks() / "Tora" / "sat"
    require(sat.is_dir(), f"{sat} (the shared reference forks)")
    argv = ("compile", "configs/tora/model/cogvideox_5b_tora.yaml", "configs/tora/inference_sparse.yaml")
    refused = satc(*argv, "--set", "args.flow_from_prompt=null", "-o", str(tmp_path / "b"), cwd=sat)
    assert refused.returncode == 2
    assert (
        "--set args.flow_from_prompt: error: args.flow_from_prompt: null removes the key, so the "
        in refused.stderr
    )
    assert "default 'cli' applies (arguments.py:60), not None" in refused.stderr
    # flow_path's default is None: null means exactly that
    fine = satc(*argv, "--set", "args.flow_path=null", "-o", str(tmp_path / "b2"), cwd=sat)
    assert fine.returncode == 0, fine.stderr
    assert json.loads((tmp_path / "b2" / "args.json").read_text())["args"]["flow_path"] is None


def test_the_builtin_profile_is_what_the_reader_gives_for_cogvideox() -> None:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("builtin_profile", ROOT / "tools" / "builtin_profile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["builtin_profile"] = module
    spec.loader.exec_module(module)
    committed = json.loads((ROOT / "schemas" / "builtin_project.json").read_text())
    assert module.profile(str(cogvideo_sat())) == committed, "run: python tools/builtin_profile.py"
    target = committed["targets"]["dit_video_concat.DiffusionTransformer"]
    assert target["uses"]["patch_size"]["indexed"] == "dit_video_concat.py:695"


def test_a_get_args_that_injects_an_arg_into_model_config_is_reproduced(tmp_path: Path) -> None:
    sat = _project_copy(tmp_path)
    _edit(
        sat / "arguments.py",
        "    return args\n",
        "    args.model_config.network_config.params.num_frames = args.sampling_num_frames\n    return args\n",
    )
    (sat / "fix.yaml").write_text(LIST_PATCH + "args:\n  sampling_num_frames: 49\n")
    result = satc(
        "compile", "configs/cogvideox_5b_lora.yaml", "configs/sft.yaml", "fix.yaml", "-o", "b", cwd=sat
    )
    assert result.returncode == 0, result.stderr
    model = json.loads((sat / "b" / "args.json").read_text())["model_config"]
    assert model["network_config"]["params"]["num_frames"] == 49
    explained = satc("explain", "b", "model.network_config.params.num_frames", cwd=sat)
    assert "G5" in explained.stdout, explained.stdout + explained.stderr


def test_cogview3_seeds_by_global_rank_and_fixes_model_parallel_to_one(tmp_path: Path) -> None:
    sat = forks() / "CogView3" / "sat"
    require(sat.is_dir(), f"{sat} (the shared reference forks)")
    argv = ("compile", "configs/cogview3_plus.yaml", "--set", "launch.entrypoint=sample_dit.py")
    result = satc(
        *argv,
        "--set",
        "launch.gpus_per_node=2",
        "--set",
        "args.model_parallel_size=2",
        "-o",
        str(tmp_path / "b"),
        cwd=sat,
    )
    assert result.returncode == 0, result.stderr
    assert "the topology uses 1 [G4]" in result.stderr
    document = json.loads((tmp_path / "b" / "args.json").read_text())
    assert document["seed_rule"] == "global_rank"
    assert (
        document["topology"]["model_parallel_size"] == 1 and document["topology"]["data_parallel_size"] == 2
    )

    from satc.runtime.bundle import read_bundle
    from satc.runtime.environment import ProcessEnv
    from satc.runtime.namespace import per_process_fields

    bundle = read_bundle(tmp_path / "b")
    proc = ProcessEnv("torchrun", 1, 1, 2, 2, None, None, None, {})
    assert per_process_fields(bundle, proc)["seed"] == document["args"]["seed"] + 1


def test_satc_trust_is_the_recorded_escape_when_satc_is_wrong_about_the_code(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        LIST_PATCH
        + "args:\n  sequence_parallel_size: 2\nsatc:\n  trust: [args.sequence_parallel_size, model.nothing]\n"
    )
    argv = ("compile", "configs/cogvideox_5b_lora.yaml", "configs/sft.yaml", str(tmp_path / "mine.yaml"))
    result = satc(*argv, "-o", str(tmp_path / "b"), cwd=cogvideo_sat())
    assert result.returncode == 0, result.stderr
    assert (
        "warning: args.sequence_parallel_size: trusted (satc.trust: args.sequence_parallel_size): unknown key"
        in (result.stderr)
    )
    assert "warning: satc.trust[1]: model.nothing: no error to trust" in result.stderr
    provenance = json.loads((tmp_path / "b" / "args.json").read_text())["provenance"]
    assert provenance["trusted"] == ["args.sequence_parallel_size"]
    # satc's own sections cannot be trusted away
    (tmp_path / "own.yaml").write_text(
        LIST_PATCH
        + "args:\n  sequence_parallel_size: 2\nlaunch:\n  nodez: 2\n"
        + "satc:\n  trust: [launch.nodez, args.sequence_parallel_size]\n"
    )
    own = satc(
        "compile", *argv[1:3], str(tmp_path / "own.yaml"), "-o", str(tmp_path / "c"), cwd=cogvideo_sat()
    )
    assert own.returncode == 2 and "error: launch.nodez: unknown key" in own.stderr
    # what is trusted stays visible beside what is still refused
    assert "warning: args.sequence_parallel_size: trusted (satc.trust" in own.stderr


def test_a_target_the_project_lacks_is_an_error_and_one_outside_it_a_warning(tmp_path: Path) -> None:
    pos = "model:\n  network_config:\n    params:\n      patch_size: [1, 2, 2]\n      modules:\n        pos_embed_config:\n"
    (tmp_path / "typo.yaml").write_text(
        pos + "          target: dit_video_concat.Rotary3DPositionEmbedingMixin\n"
    )
    (tmp_path / "mine.yaml").write_text(pos + "          target: my_lab.PositionEmbedding\n")
    argv = ("compile", "configs/cogvideox_5b_lora.yaml", "configs/sft.yaml")
    typo = satc(*argv, str(tmp_path / "typo.yaml"), "-o", str(tmp_path / "a"), cwd=cogvideo_sat())
    assert typo.returncode == 2
    assert "dit_video_concat.py defines no Rotary3DPositionEmbedingMixin [M2]" in typo.stderr
    assert "hint: did you mean dit_video_concat.Rotary3DPositionEmbeddingMixin?" in typo.stderr
    mine = satc(*argv, str(tmp_path / "mine.yaml"), "-o", str(tmp_path / "b"), cwd=cogvideo_sat())
    assert mine.returncode == 0, mine.stderr
    assert (
        "warning: model.network_config.params.modules.pos_embed_config.target: unknown target" in mine.stderr
    )


@pytest.mark.parametrize(
    ("rule", "mode", "offset"),
    [
        (None, "inference", 1),  # CogVideoX's: the data-parallel rank (3 // mp 2)
        ("global_rank", "inference", 3),
        ("none", "finetune", 0),
        ("data_parallel_rank_unless_inference", "inference", 0),
        ("data_parallel_rank_unless_inference", "finetune", 1),
    ],
)
def test_the_runtime_seeds_each_rank_by_the_projects_rule(
    tmp_path: Path, rule: str | None, mode: str, offset: int
) -> None:
    import dataclasses

    from satc.runtime.bundle import read_bundle
    from satc.runtime.environment import ProcessEnv
    from satc.runtime.namespace import per_process_fields

    (tmp_path / "c.yaml").write_text(
        f"args:\n  mode: {mode}\n  model_parallel_size: 2\n  train_iters: 1\n  seed: 100\nlaunch:\n  gpus_per_node: 4\n"
    )
    assert satc("compile", "c.yaml", "-o", "b", cwd=tmp_path).returncode == 0
    bundle = read_bundle(tmp_path / "b")
    assert "seed_rule" not in bundle.document  # CogVideoX's rule is the default, not written
    if rule is not None:
        bundle = dataclasses.replace(bundle, document={**bundle.document, "seed_rule": rule})
    proc = ProcessEnv("torchrun", 3, 3, 4, 4, None, None, None, {})
    assert per_process_fields(bundle, proc)["seed"] == 100 + offset


def test_a_near_miss_of_a_project_module_gets_a_did_you_mean(tmp_path: Path) -> None:
    """A top-level module the project lacks may be a package installed where it runs (a
    warning), but a near miss of one of the project's own modules is a typo of it."""
    argv = ("compile", "configs/cogvideox1.5_5b.yaml", "configs/inference.yaml", "-o", str(tmp_path / "b"))
    typo = satc(
        *argv,
        "--set",
        "model.network_config.target=dit_video_conact.DiffusionTransformer",
        cwd=cogvideo_sat(),
    )
    assert "hint: did you mean dit_video_concat.DiffusionTransformer?" in typo.stderr, typo.stderr
    mine = satc(*argv, "--set", "model.network_config.target=my_lab.Net", cwd=cogvideo_sat())
    assert (
        "unknown target 'my_lab.Net'" in mine.stderr
        and "did you mean" not in mine.stderr.split("my_lab.Net")[1].split("\n")[1]
    )
