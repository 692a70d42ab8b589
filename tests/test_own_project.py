"""A researcher's own copy of a project: what its code defines compiles with no change to satc.

The test copies CogVideoX's ``sat/`` folder (../shared/reference/cogvideo-sat) and edits it
the way people edit their forks: a new argument in ``arguments.py``, a new parameter of
``DiffusionTransformer.__init__``, a new top-level section that ``process_config_to_args``
reads.  Configs using them compile from the copy (cwd = the entrypoint folder) with no
error and no hint, and the bundle's args equal the copy's own ``get_args``
(tests/reference/project_get_args.py).  Typos of real keys -- old and new -- are still
located errors whose did-you-mean names the key the user meant, and never another
setting the project also defines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from project_support import PER_PROCESS, launcher_variables, run_harness, to_json
from support import cogvideo_sat, require_module, satc

BASES = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")

# (file, anchor, replacement): each anchor must be in the pristine tree exactly once.
EDITS = (
    (
        "arguments.py",
        '    group.add_argument("--image2video", action="store_true")\n',
        '    group.add_argument("--image2video", action="store_true")\n'
        '    group.add_argument("--pose-guidance-scale", type=float, default=1.0)\n',
    ),
    (
        "dit_video_concat.py",
        "        ofs_embed_dim=None,\n",
        "        ofs_embed_dim=None,\n        use_pose=False,\n",
    ),
    (
        "arguments.py",
        '    if "data" in config:\n',
        '    if "pose" in config:\n'
        '        args.pose_config = config.pop("pose", OmegaConf.create())\n'
        '    if "data" in config:\n',
    ),
)

NEW_KEYS = (
    "args:\n  pose_guidance_scale: 2.5\n"
    "model:\n  network_config:\n    params:\n      use_pose: true\n"
    "pose:\n  keypoints: 17\n  source: openpose\n"
)

# (layer, the key as typed, the suggestion that must be offered)
TYPOS = {
    "new argument": (
        "args:\n  pose_guidance_scal: 2.5\n",
        "args.pose_guidance_scal",
        "args.pose_guidance_scale",
    ),
    "new model parameter": (
        "model:\n  network_config:\n    params:\n      use_posee: true\n",
        "model.network_config.params.use_posee",
        "use_pose",
    ),
    "new section": ("poes:\n  keypoints: 17\n", "poes", "pose"),
    "existing model parameter": (
        "model:\n  network_config:\n    params:\n      use_SwiGLUU: true\n",
        "model.network_config.params.use_SwiGLUU",
        "model.network_config.params.use_SwiGLU",
    ),
    "existing argument": (
        "args:\n  sampling_num_frame: 13\n",
        "args.sampling_num_frame",
        "args.sampling_num_frames",
    ),
}


@pytest.fixture(scope="module")
def own_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of CogVideoX's sat/ with the three edits applied."""
    tree = tmp_path_factory.mktemp("own-project") / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    for name, anchor, replacement in EDITS:
        path = tree / name
        text = path.read_text(encoding="utf-8")
        assert text.count(anchor) == 1, f"{name} changed upstream: {anchor!r} is not there once"
        path.write_text(text.replace(anchor, replacement), encoding="utf-8")
    (tree / "configs" / "own.yaml").write_text(NEW_KEYS, encoding="utf-8")
    return tree


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("satc-cache")


def compile_in(tree: Path, out: Path, cache: Path, *configs: str) -> subprocess.CompletedProcess[str]:
    return satc("compile", *configs, "-o", str(out), cwd=tree, env={"SATC_CACHE_DIR": str(cache)})


def _lines_about(stderr: str, *needles: str) -> list[str]:
    """Each diagnostic (its line and hint lines) that mentions one of the needles."""
    blocks: list[str] = []
    for line in stderr.splitlines():
        if line.startswith(" ") and blocks:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return [block for block in blocks if any(needle in block for needle in needles)]


def test_new_argument_parameter_and_section_compile_unchanged(
    own_tree: Path, tmp_path: Path, cache_dir: Path
) -> None:
    out = tmp_path / "bundle"
    result = compile_in(own_tree, out, cache_dir, *BASES, "configs/own.yaml")
    mentions = _lines_about(result.stderr, "pose_guidance_scale", "use_pose", "pose")
    assert result.returncode == 0, result.stderr
    assert not mentions, "diagnostics about keys the project defines:\n" + "\n".join(mentions)
    assert ": error:" not in result.stderr, result.stderr


def test_pristine_tree_still_refuses_the_new_keys(tmp_path: Path, cache_dir: Path) -> None:
    """The same layer against the unedited tree: the keys are unknown there (D1)."""
    layer = tmp_path / "own.yaml"
    layer.write_text(NEW_KEYS, encoding="utf-8")
    result = compile_in(cogvideo_sat(), tmp_path / "bundle", cache_dir, *BASES, str(layer))
    assert result.returncode == 2, result.stderr
    for key in ("args.pose_guidance_scale", "model.network_config.params.use_pose", "pose"):
        assert f"error: {key}:" in result.stderr, f"{key} not reported:\n{result.stderr}"
    assert not (tmp_path / "bundle").exists()


def test_args_equal_the_edited_projects_get_args(
    own_tree: Path, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_module("sat")
    configs = [*BASES, "configs/own.yaml"]
    _, (outcome,) = run_harness(own_tree, [["--base", *configs]])
    theirs = outcome["args"]
    # The edits are live in the project's own code: the values the layer sets arrive.
    assert theirs["pose_guidance_scale"] == 2.5
    assert theirs["pose_config"] == {"keypoints": 17, "source": "openpose"}
    assert theirs["model_config"]["network_config"]["params"]["use_pose"] is True

    out = tmp_path / "bundle"
    result = compile_in(own_tree, out, cache_dir, *configs)
    assert result.returncode == 0, result.stderr
    import satc.runtime

    for variable in launcher_variables():
        monkeypatch.delenv(variable)
    mine = to_json(satc.runtime.load(out))
    keys = (set(theirs) | set(mine)) - PER_PROCESS - {"base"}
    different = {key: (mine.get(key, "<absent>"), theirs.get(key, "<absent>")) for key in keys}
    different = {key: pair for key, pair in different.items() if pair[0] != pair[1]}
    assert not different, "satc != the project's get_args: " + json.dumps(different, indent=1, default=repr)


@pytest.mark.parametrize("case", sorted(TYPOS))
def test_typo_is_caught_with_the_key_meant(
    case: str, own_tree: Path, tmp_path: Path, cache_dir: Path
) -> None:
    layer, typed, meant = TYPOS[case]
    path = tmp_path / "typo.yaml"
    path.write_text(layer, encoding="utf-8")
    result = compile_in(own_tree, tmp_path / "bundle", cache_dir, *BASES, str(path))
    assert result.returncode == 2, result.stderr
    reports = [block for block in _lines_about(result.stderr, typed) if "error" in block]
    assert reports, f"{typed} not reported as an error:\n{result.stderr}"
    hints = [line for block in reports for line in block.splitlines() if "did you mean" in line]
    assert hints and all(meant in hint for hint in hints), (
        f"{typed}: want a hint naming {meant}:\n{result.stderr}"
    )
    assert not (tmp_path / "bundle").exists()


def test_a_defined_key_is_never_offered_another_setting(
    own_tree: Path, tmp_path: Path, cache_dir: Path
) -> None:
    """Keys the project defines next to a near-identical one: no error, so no hint at all.

    ``latent_channels`` / ``sampling_fps`` sit next to other existing settings; the issue's
    ``use_pose`` -> ``use_pd`` class of hint must not appear for any key the tree defines.
    """
    layer = tmp_path / "defined.yaml"
    layer.write_text(
        "args:\n  pose_guidance_scale: 0.5\n  sampling_fps: 8\n  latent_channels: 16\n"
        "model:\n  network_config:\n    params:\n      use_pose: false\n",
        encoding="utf-8",
    )
    result = compile_in(own_tree, tmp_path / "bundle", cache_dir, *BASES, str(layer))
    assert result.returncode == 0, result.stderr
    hints = [block for block in _lines_about(result.stderr, "did you mean") if str(layer.name) in block]
    assert not hints, "\n".join(hints)


# What some projects' get_args do after parsing, each at its own line of arguments.py:
# {name: (statement, the namespace key it changes (dotted), the project's value)}: with
# BASES the YAML says num_frames 81, sampling_fps 16, time_compressed_rate 4.  satc must either
# hand back the value the project computes, or say at compile time, citing that line,
# that it cannot -- never silently hand back the YAML's value.
INJECTIONS = {
    "model parameter from an argument": (
        "args.model_config.network_config.params.num_frames = args.sampling_num_frames",
        "model_config.network_config.params.num_frames",
        22,
    ),
    "argument derived from another": ("args.sampling_fps = args.sampling_fps * 2", "sampling_fps", 32),
    "model parameter from the environment": (
        'args.model_config.network_config.params.time_compressed_rate = int(os.environ.get("OWN_RATE", "2"))',
        "model_config.network_config.params.time_compressed_rate",
        2,
    ),
}
INJECT_AFTER = "        args.data_config = data_config\n"


@pytest.fixture(scope="module")
def injecting_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A copy of CogVideoX's sat/ whose process_config_to_args ends with INJECTIONS."""
    tree = tmp_path_factory.mktemp("injecting") / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    path = tree / "arguments.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(INJECT_AFTER) == 1, "arguments.py changed upstream"
    head, tail = text.split(INJECT_AFTER)
    statements = [statement for statement, _, _ in INJECTIONS.values()]
    path.write_text(head + INJECT_AFTER + "".join(f"    {s}\n" for s in statements) + tail, encoding="utf-8")
    first = head.count("\n") + INJECT_AFTER.count("\n") + 1
    return tree, {name: first + index for index, name in enumerate(INJECTIONS)}


@pytest.fixture(scope="module")
def injected(injecting_tree, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> dict:
    """The project's own namespace and satc's compile (and loaded namespace) for BASES."""
    require_module("sat")
    tree, lines = injecting_tree
    _, (outcome,) = run_harness(tree, [["--base", *BASES]], drop=("OWN_RATE",))
    out = tmp_path_factory.mktemp("injected") / "bundle"
    result = compile_in(tree, out, cache_dir, *BASES)
    return {
        "theirs": outcome["args"],
        "result": result,
        "out": out,
        "lines": lines,
    }


def _at(tree: dict, dotted: str):
    for part in dotted.split("."):
        tree = tree[part]
    return tree


@pytest.mark.parametrize("name", sorted(INJECTIONS))
def test_get_args_statement_is_reproduced_or_reported(
    name: str, injected: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    statement, dotted, value = INJECTIONS[name]
    theirs, result = injected["theirs"], injected["result"]
    line = f"arguments.py:{injected['lines'][name]}"
    assert _at(theirs, dotted) == value  # the statement really runs in the project
    reported = line in result.stderr
    if result.returncode == 0:
        import satc.runtime

        for variable in [*launcher_variables(), *(["OWN_RATE"] if "OWN_RATE" in os.environ else [])]:
            monkeypatch.delenv(variable)
        mine = to_json(satc.runtime.load(injected["out"]))
        reproduced = _at(mine, dotted) == _at(theirs, dotted)
        assert reproduced or reported, (
            f"{statement!r} ({line}) makes {dotted} = {_at(theirs, dotted)!r} in the project; satc hands back "
            f"{_at(mine, dotted)!r} and does not say it cannot reproduce it:\n{result.stderr}"
        )
    else:
        assert reported, f"refused without citing {line} ({statement!r}):\n{result.stderr}"


# --- how a parent builds its child configs ---------------------------------------------

POS_EMBED = 'pos_embed_config = module_configs["pos_embed_config"]\n'
POS_EMBED_CALL = "            instantiate_from_config(\n                pos_embed_config,\n"


def _edited_copy(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    tree = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    dit = tree / "dit_video_concat.py"
    text = dit.read_text(encoding="utf-8")
    for anchor, replacement in edits:
        assert text.count(anchor) == 1, f"dit_video_concat.py changed upstream: {anchor!r}"
        text = text.replace(anchor, replacement)
    dit.write_text(text, encoding="utf-8")
    return tree


def _m3(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "[M3]" in line]


def test_a_subclass_without_its_own_init_builds_its_children_as_its_base_does(
    tmp_path: Path, cache_dir: Path
) -> None:
    end = "class DiffusionTransformer(BaseModel):\n"
    tree = _edited_copy(tmp_path, (end, end))
    with (tree / "dit_video_concat.py").open("a", encoding="utf-8") as handle:
        handle.write("\n\nclass MyDiT(DiffusionTransformer):\n    pass\n")
    chosen = ("--set", "model.network_config.target=dit_video_concat.MyDiT")
    result = compile_in(tree, tmp_path / "bundle", cache_dir, *BASES, *chosen)
    assert result.returncode == 0, result.stderr
    assert not _m3(result.stderr), result.stderr
    # what the base passes its children is still checked: a key it passes itself is M4
    twice = ("--set", "model.network_config.params.modules.pos_embed_config.params.hidden_size=8")
    again = compile_in(tree, tmp_path / "bundle2", cache_dir, *BASES, *chosen, *twice)
    assert again.returncode == 2 and "[M4]" in again.stderr, again.stderr
    # and what its base's __init__ reads of transformer_args: a typo there is still M6
    typo = ("--set", "model.network_config.params.transformer_args.checkpoint_activation=true")
    third = compile_in(tree, tmp_path / "bundle3", cache_dir, *BASES, *chosen, *typo)
    assert third.returncode == 2 and "[M6]" in third.stderr, third.stderr
    assert "transformer_args.checkpoint_activations?" in third.stderr, third.stderr


def test_a_child_config_kept_in_an_attribute_is_followed(tmp_path: Path, cache_dir: Path) -> None:
    tree = _edited_copy(
        tmp_path,
        (POS_EMBED, "self." + POS_EMBED),
        (POS_EMBED_CALL, POS_EMBED_CALL.replace("pos_embed_config,", "self.pos_embed_config,")),
    )
    result = compile_in(tree, tmp_path / "bundle", cache_dir, *BASES)
    assert result.returncode == 0, result.stderr
    assert not _m3(result.stderr), result.stderr


def test_a_child_built_in_a_way_satc_cannot_trace_is_a_warning(tmp_path: Path, cache_dir: Path) -> None:
    copied = 'pos_embed_config = __import__("copy").copy(module_configs["pos_embed_config"])\n'
    tree = _edited_copy(tmp_path, (POS_EMBED, copied))
    result = compile_in(tree, tmp_path / "bundle", cache_dir, *BASES)
    assert result.returncode == 0, result.stderr
    lines = _m3(result.stderr)
    assert lines and all(": warning: " in line and "could not trace" in line for line in lines), result.stderr
    assert any("dit_video_concat.py:" in line and "pos_embed_config" in line for line in lines), result.stderr


# --- what the project's get_args writes below model_config -----------------------------

RETURN = "        args.data_config = data_config\n\n    return args\n"
INJECTED = ("sampling_fps", "latent_channels", "image2video")


def _injecting_copy(tmp_path: Path, extra: str = "") -> Path:
    tree = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    arguments = tree / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    assert text.count(RETURN) == 1, "arguments.py changed upstream"
    inject = (
        "        args.data_config = data_config\n\n"
        "    adaln_params = args.model_config.network_config.params.modules.adaln_layer_config.params\n"
        '    for name in ["sampling_fps", "latent_channels"]:\n'
        "        adaln_params[name] = getattr(args, name)\n"
        '    for name in ["image2video"]:\n'
        "        setattr(adaln_params, name, getattr(args, name))\n" + extra + "    return args\n"
    )
    arguments.write_text(text.replace(RETURN, inject), encoding="utf-8")
    return tree


def test_injections_through_a_local_below_model_config_reach_the_bundle(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _injecting_copy(tmp_path)
    out = tmp_path / "bundle"
    result = compile_in(tree, out, cache_dir, *BASES)
    assert result.returncode == 0, result.stderr
    assert "[G5]" not in result.stderr and "[G1]" not in result.stderr, result.stderr
    args = json.loads((out / "args.json").read_text(encoding="utf-8"))
    model = args.get("model_config") or args["args"]["model_config"]
    params = model["network_config"]["params"]["modules"]["adaln_layer_config"]["params"]
    top = args if "sampling_fps" in args else args["args"]
    assert {name: params.get(name, "<absent>") for name in INJECTED} == {name: top[name] for name in INJECTED}
    require_module("sat")
    _, (outcome,) = run_harness(tree, [["--base", *BASES]])
    import satc.runtime

    for variable in launcher_variables():
        monkeypatch.delenv(variable)
    mine = to_json(satc.runtime.load(out))
    assert mine["model_config"] == outcome["args"]["model_config"]


def test_an_injection_below_model_config_satc_cannot_reproduce_is_named(
    tmp_path: Path, cache_dir: Path
) -> None:
    extra = "    for name in args.base:\n        adaln_params[name] = 1\n"
    tree = _injecting_copy(tmp_path, extra)
    result = compile_in(tree, tmp_path / "bundle", cache_dir, *BASES)
    line = next(
        n
        for n, text in enumerate((tree / "arguments.py").read_text().splitlines(), 1)
        if "adaln_params[name] = 1" in text
    )
    reports = [x for x in result.stderr.splitlines() if f"arguments.py:{line}" in x]
    assert reports and all("warning" in x for x in reports), result.stderr


def test_the_entry_script_a_readme_runs_can_come_first(tmp_path: Path) -> None:
    """CogView3's README runs `python sample_dit.py --base configs/cogview3_plus.yaml`; with
    two scripts that call get_args, satc cannot pick one (E1) unless it is named, and
    naming it first is the README's own order."""
    from support import forks

    sat = forks() / "CogView3" / "sat"
    plain = satc("compile", "configs/cogview3_plus.yaml", "-o", str(tmp_path / "a"), cwd=sat)
    assert plain.returncode == 2 and "[E1]" in plain.stderr
    named = satc("compile", "sample_dit.py", "configs/cogview3_plus.yaml", "-o", str(tmp_path / "b"), cwd=sat)
    assert named.returncode == 0, named.stderr
    document = json.loads((tmp_path / "b" / "args.json").read_text())
    assert document["launch"]["entrypoint"] == "sample_dit.py"
    assert "launch.entrypoint=sample_dit.py" in document["provenance"]["overrides"]
    for argv in (("nope.py", "configs/cogview3_plus.yaml"), ("sample_dit.py",)):
        refused = satc("compile", *argv, "-o", str(tmp_path / "c"), cwd=sat)
        assert refused.returncode == 2 and argv[0] in refused.stderr, refused.stderr
        assert not (tmp_path / "c").exists()
