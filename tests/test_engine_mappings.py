"""M29: a `model:` key the project's engine indexes as a mapping must be one.

CogVideoX's engine writes ``network_config["params"]["dtype"]`` (diffusion_video.py:74):
``--set model.network_config=5`` or removing it (``=null``, or ``--set model=null``) dies
with a TypeError at model build.  A copy of the tree whose engine no longer indexes it
compiles the same value: the rule follows the code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import cogvideo_sat, satc

BASES = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")
SUBSCRIPT = '        network_config["params"]["dtype"] = dtype_str\n'


def _compile(tree: Path, tmp_path: Path, *configs: str, sets: tuple[str, ...] = ()) -> tuple[int, str]:
    out = tmp_path / "bundle"
    shutil.rmtree(out, ignore_errors=True)
    result = satc(
        "compile",
        *BASES,
        *configs,
        "-o",
        str(out),
        *[item for value in sets for item in ("--set", value)],
        cwd=tree,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert (result.returncode == 0) == out.exists()
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    ("value", "found"), [("5", "int 5 is not a mapping"), ("text", "str 'text' is not a mapping")]
)
def test_a_scalar_network_config_is_an_error(tmp_path: Path, value: str, found: str) -> None:
    rc, stderr = _compile(cogvideo_sat(), tmp_path, sets=(f"model.network_config={value}",))
    assert rc == 2, stderr
    assert (
        "--set model.network_config: error: model.network_config: SATVideoDiffusionEngine (diffusion_video.py:25) "
        'indexes model.network_config["params"] (diffusion_video.py:74): ' + found
    ) in stderr, stderr
    assert "[M29]" in stderr and "hint: give model.network_config a mapping" in stderr


def test_a_null_in_a_file_is_located_there(tmp_path: Path) -> None:
    layer = tmp_path / "layer.yaml"
    layer.write_text("model:\n  network_config: null\n", encoding="utf-8")
    rc, stderr = _compile(cogvideo_sat(), tmp_path, str(layer))
    assert rc == 2, stderr
    assert "layer.yaml:2:3: error: model.network_config:" in stderr and "null is not a mapping" in stderr


@pytest.mark.parametrize("key", ["model", "model.network_config"])
def test_removing_it_with_set_null_is_refused(tmp_path: Path, key: str) -> None:
    rc, stderr = _compile(cogvideo_sat(), tmp_path, sets=(f"{key}=null",))
    assert rc == 2, stderr
    assert f"--set {key}: error: {key}: null removes" in stderr and "[M29]" in stderr, stderr
    assert f"hint: delete --set {key}=null" in stderr


def test_an_engine_that_does_not_index_it_is_not_judged_by_it(tmp_path: Path) -> None:
    tree = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    engine = tree / "diffusion_video.py"
    text = engine.read_text(encoding="utf-8")
    assert text.count(SUBSCRIPT) == 1, "diffusion_video.py changed upstream"
    engine.write_text(text.replace(SUBSCRIPT, "        pass\n"), encoding="utf-8")
    # instantiate_from_config alone takes its marker text (and builds nothing)...
    _, stderr = _compile(tree, tmp_path, sets=("model.network_config=__is_unconditional__",))
    assert "M29" not in stderr, stderr
    # ...and fails on other text (KeyError: Expected key `target`), built whenever the engine is
    _, stderr = _compile(tree, tmp_path, sets=("model.network_config=text",))
    assert "builds model.network_config with instantiate_from_config" in stderr, stderr
    _, stderr = _compile(tree, tmp_path, sets=("model.network_config=5",))
    assert "builds model.network_config with instantiate_from_config" in stderr, stderr
    assert 'indexes model.network_config["params"]' not in stderr


def test_a_scalar_where_the_engine_builds_a_target_is_an_error(tmp_path: Path) -> None:
    rc, stderr = _compile(cogvideo_sat(), tmp_path, sets=("model.denoiser_config=true",))
    assert rc == 2, stderr
    assert (
        "--set model.denoiser_config: error: model.denoiser_config: SATVideoDiffusionEngine "
        "(diffusion_video.py:25) builds model.denoiser_config with instantiate_from_config "
        "(diffusion_video.py:80): bool true is not a mapping with a target"
    ) in stderr, stderr
    # instantiate_from_config takes its marker text: not judged
    rc, stderr = _compile(cogvideo_sat(), tmp_path, sets=("model.conditioner_config=__is_unconditional__",))
    assert "M29" not in stderr, stderr


def test_a_scalar_the_engine_hands_to_its_own_builder_method_is_an_error(tmp_path: Path) -> None:
    """``self._init_first_stage(first_stage_config)`` (diffusion_video.py:88) calls
    ``instantiate_from_config(config)`` (:140): 5 there dies when the model is built."""
    rc, stderr = _compile(cogvideo_sat(), tmp_path, sets=("model.first_stage_config=5",))
    assert rc == 2, stderr
    assert (
        "--set model.first_stage_config: error: model.first_stage_config: SATVideoDiffusionEngine "
        "(diffusion_video.py:25) hands model.first_stage_config to self._init_first_stage "
        "(diffusion_video.py:88), which builds it with instantiate_from_config (diffusion_video.py:140): "
        "int 5 is not a mapping with a target"
    ) in stderr, stderr
    assert "hint: give model.first_stage_config a mapping" in stderr


def test_a_method_that_indexes_its_params_is_followed(tmp_path: Path) -> None:
    """A copy whose builder method reads ``config["params"]`` before building."""
    tree = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    engine = tree / "diffusion_video.py"
    text = engine.read_text(encoding="utf-8")
    build = "        model = instantiate_from_config(config).eval()\n"
    assert text.count(build) == 1, "diffusion_video.py changed upstream"
    indexed = '        params = config["params"]\n        model = instantiate_from_config(dict(config, params=params)).eval()\n'
    engine.write_text(text.replace(build, indexed), encoding="utf-8")
    rc, stderr = _compile(tree, tmp_path, sets=("model.first_stage_config=2.5",))
    assert rc == 2, stderr
    assert 'which indexes config["params"] (diffusion_video.py:140): float 2.5 is not a mapping' in stderr, (
        stderr
    )


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("vae.yaml", "str 'vae.yaml' is not a mapping with a target"),
        ("null", "null removes model.first_stage_config, but SATVideoDiffusionEngine"),
    ],
)
def test_text_or_null_where_the_engine_always_builds_it_is_an_error(
    tmp_path: Path, value: str, found: str
) -> None:
    """``_init_first_stage`` builds the key whenever the engine is built: text (not one of
    instantiate_from_config's markers) is a KeyError there and None a TypeError.  The loss,
    built only ``if loss_fn_config is not None`` (diffusion_video.py:90-92), takes null."""
    rc, stderr = _compile(cogvideo_sat(), tmp_path, sets=(f"model.first_stage_config={value}",))
    assert rc == 2, stderr
    assert found in stderr and "[M29]" in stderr, stderr
    rc, stderr = _compile(cogvideo_sat(), tmp_path, sets=("model.loss_fn_config=null",))
    assert rc == 0, stderr


def test_a_build_under_a_guard_is_not_judged_for_null(tmp_path: Path) -> None:
    """A copy whose engine builds the first stage only when it is given."""
    tree = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    engine = tree / "diffusion_video.py"
    text = engine.read_text(encoding="utf-8")
    call = "        self._init_first_stage(first_stage_config)\n"
    assert text.count(call) == 1, "diffusion_video.py changed upstream"
    guarded = "        if first_stage_config is not None:\n    " + call
    engine.write_text(text.replace(call, guarded), encoding="utf-8")
    rc, stderr = _compile(tree, tmp_path, sets=("model.first_stage_config=null",))
    assert rc == 0, stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (  # an early return in the builder method
            "    def _init_first_stage(self, config):\n",
            "    def _init_first_stage(self, config):\n        if config is None:\n            return\n",
        ),
        (  # the method gives it a default first
            "    def _init_first_stage(self, config):\n",
            "    def _init_first_stage(self, config):\n        config = default(config, {'target': 'x.Y'})\n",
        ),
        (  # the engine reads it with a default for a missing key
            '        first_stage_config = model_config.get("first_stage_config", None)\n',
            '        first_stage_config = model_config.get("first_stage_config", {"target": "x.Y"})\n',
        ),
    ],
    ids=["early-return", "reassigned", "get-default"],
)
def test_other_guards_take_null_too(tmp_path: Path, old: str, new: str) -> None:
    tree = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), tree, ignore=shutil.ignore_patterns("__pycache__"))
    engine = tree / "diffusion_video.py"
    text = engine.read_text(encoding="utf-8")
    assert text.count(old) == 1, "diffusion_video.py changed upstream"
    engine.write_text(text.replace(old, new), encoding="utf-8")
    rc, stderr = _compile(tree, tmp_path, sets=("model.first_stage_config=null",))
    assert rc == 0, stderr
