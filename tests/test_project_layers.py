"""A project whose code reopens ``args.base`` file by file gets the files one by one.

LV-Robotics-Lab/LayerFlow (0a8a65c) keeps ``args.log_config`` from ``for config in
args.base`` (sat/test_video.py:223), as CogVideoX's train_video.py does, and then reads
``args.log_config[1]['args']['specific_iteration']`` (sat/deepspeed_test.py:94-99).  With
the bundle's one merged config that is an IndexError, and the ``args:`` key it reads from
the layer (not a parser argument) was refused as unknown.  Here a copy of CogVideoX's real
``sat/`` is changed the same way: the bundle keeps the inputs in order and the runtime
hands them as ``args.base``; the pristine tree keeps the one merged file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from project_support import launcher_variables
from support import cogvideo_sat, satc

LAYER = """\
args:
  specific_iteration: 1000
model:
  network_config:
    params:
      patch_size: [1, 2, 2]
"""
READER = """\
def resume_iteration(args):
    # the second --base file's own args, as the project wrote it
    if 'specific_iteration' in args.log_config[1]['args']:
        return args.log_config[1]['args']['specific_iteration']
    return None
"""


def _project(tmp_path: Path, indexes: bool) -> Path:
    sat = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), sat, ignore=shutil.ignore_patterns("__pycache__", "*.pt", "ckpts*"))
    (sat / "layer.yaml").write_text(LAYER)
    if indexes:
        (sat / "resume_from.py").write_text(READER)
        script = sat / "train_video.py"
        text = script.read_text()
        assert "from arguments import get_args" in text
        script.write_text(
            text.replace(
                "from arguments import get_args",
                "from arguments import get_args\nfrom resume_from import resume_iteration",
                1,
            )
        )
    return sat


def _compile(sat: Path, *extra: str):
    return satc(
        "compile",
        "configs/cogvideox_5b_lora.yaml",
        "layer.yaml",
        "configs/sft.yaml",
        "-o",
        "b",
        *extra,
        cwd=sat,
    )


def _namespace(bundle: Path, monkeypatch: pytest.MonkeyPatch):
    import satc.runtime

    for variable in launcher_variables():
        monkeypatch.delenv(variable)
    return satc.runtime.load(bundle)


def test_a_project_that_indexes_args_base_gets_the_inputs_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sat = _project(tmp_path, indexes=True)
    result = _compile(sat, "--set", "args.seed=7")
    assert result.returncode == 0, result.stderr
    assert "specific_iteration" not in result.stderr  # a key the project's code reads
    bundle = sat / "b"
    document = json.loads((bundle / "args.json").read_text())
    assert [entry["path"] for entry in document["config_layers"]] == [f"base.{n}.yaml" for n in (1, 2, 3, 4)]
    assert "resume_from.py" in {item["path"] for item in document["provenance"]["project"]["files"]}
    namespace = _namespace(bundle, monkeypatch)
    assert namespace.base == [str((bundle / f"base.{n}.yaml").resolve()) for n in (1, 2, 3, 4)]
    # the project's own loop (train_video.py) and reader, over what the runtime hands
    log_config = []
    for config in namespace.base:
        with open(config) as handle:
            log_config.append(yaml.safe_load(handle))
    assert log_config[1]["args"] == {"specific_iteration": 1000}
    assert log_config[3]["args"] == {"seed": 7}  # the --set overrides, last
    # the loader drops what the parser lacks (hasattr): the namespace does not have it
    assert not hasattr(namespace, "specific_iteration") and namespace.seed == 7
    # merged left to right, the layers are the bundle's config.yaml
    from omegaconf import OmegaConf

    merged = OmegaConf.to_container(OmegaConf.merge(*[OmegaConf.load(p) for p in namespace.base]))
    assert merged == yaml.safe_load((bundle / "config.yaml").read_text())


def test_an_edited_layer_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sat = _project(tmp_path, indexes=True)
    assert _compile(sat).returncode == 0
    layer = sat / "b" / "base.2.yaml"
    layer.write_text(layer.read_text().replace("1000", "2000"))
    import satc.runtime

    with pytest.raises(satc.runtime.BundleError, match="base.2.yaml: does not match the sha256"):
        _namespace(sat / "b", monkeypatch)


def test_a_project_that_does_not_index_args_base_keeps_the_merged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sat = _project(tmp_path, indexes=False)
    (sat / "layer.yaml").write_text(LAYER.replace("  specific_iteration: 1000\n", "  seed: 3\n"))
    result = _compile(sat)
    assert result.returncode == 0, result.stderr
    document = json.loads((sat / "b" / "args.json").read_text())
    assert "config_layers" not in document and not list((sat / "b").glob("base.*.yaml"))
    assert _namespace(sat / "b", monkeypatch).base == [str((sat / "b" / "config.yaml").resolve())]
    # and an args key nothing reads stays unknown
    (sat / "layer.yaml").write_text(LAYER)
    refused = _compile(sat)
    assert refused.returncode == 2 and "args.specific_iteration: unknown key under args" in refused.stderr


TWO_STAGE = """\
import sys

from arguments import get_args

if __name__ == "__main__":
    argv = sys.argv[1:]
    args = get_args(argv)
    second_argv = list(argv)
    second_argv[1] = args.load  # a second stack, built here and not in get_args
    second_args = get_args(second_argv)
"""


def test_an_entrypoint_that_calls_get_args_twice_is_named_at_compile_and_at_run_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """FoundationVision/FlashVideo (8de4ae2) builds its second namespace in its entrypoint
    (flashvideo/dist_inf_text_file.py:361-372), where get_args' reader never looks."""
    sat = _project(tmp_path, indexes=False)
    (sat / "layer.yaml").write_text(LAYER.replace("  specific_iteration: 1000\n", "  seed: 3\n"))
    (sat / "two_stage.py").write_text(TWO_STAGE)
    result = _compile(sat, "--set", "launch.entrypoint=two_stage.py")
    assert result.returncode == 0, result.stderr
    assert (
        "warning: launch.entrypoint: two_stage.py calls get_args a second time (two_stage.py:10)"
        in result.stderr
    )
    assert "[G2]" in result.stderr
    # the same project launched through a script that calls it once: no such warning
    assert "G2" not in _compile(sat, "--set", "launch.entrypoint=train_video.py").stderr
    # at run time the script's own argument list is refused where it is made
    import satc.runtime

    monkeypatch.setenv("SATC_BUNDLE", str(sat / "b"))
    with pytest.raises(SystemExit) as stop:
        satc.runtime.get_args(["--base", "configs/stage2.yaml"])
    assert stop.value.code == 2
    assert f"get_args called at {__file__}:" in capsys.readouterr().err


OWN_LORA = """\
from sat.model.base_model import BaseMixin


class LoraMixin(BaseMixin):
    def __init__(self, layer_num, motion_r: int = 0, spatial_r: int = 0, lora_alpha: int = 1):
        super().__init__()
        self.scaling = lora_alpha / max(motion_r, spatial_r, 1)
"""
OWN_LORA_LAYER = """\
model:
  network_config:
    params:
      patch_size: [1, 2, 2]
      modules:
        lora_config:
          target: own_lora.LoraMixin
          params:
            motion_r: 8
            spatial_r: 256
"""


def test_sats_lora_rank_rule_does_not_judge_a_projects_own_lora_class(tmp_path: Path) -> None:
    """M23 guards SAT's LoraMixin (lora_alpha / r); a project's own LoraMixin that takes
    other ranks (LV-Robotics-Lab/LayerFlow 0a8a65c, sat/lora.py:209) has no `r` to check."""
    sat = _project(tmp_path, indexes=False)
    (sat / "own_lora.py").write_text(OWN_LORA)
    (sat / "layer.yaml").write_text(OWN_LORA_LAYER)
    lora = "model.network_config.params.modules.lora_config.params"
    result = _compile(sat, "--set", f"{lora}.r=null")
    assert result.returncode == 0, result.stderr
    assert "LoRA rank r is 0" not in result.stderr
    # SAT's own LoraMixin without r is still refused
    (sat / "layer.yaml").write_text(
        OWN_LORA_LAYER.replace("own_lora.LoraMixin", "sat.model.finetune.lora2.LoraMixin")
    )
    refused = _compile(
        sat, "--set", f"{lora}.r=null", "--set", f"{lora}.motion_r=null", "--set", f"{lora}.spatial_r=null"
    )
    assert refused.returncode == 2 and "LoRA rank r is 0" in refused.stderr


def test_a_text_length_the_embedding_splits_into_prompts_is_judged_by_that_split(tmp_path: Path) -> None:
    """M17 guards CogVideoX's one prompt of max_length tokens; LV-Robotics-Lab/LayerFlow
    (0a8a65c, sat/dit_video_concat.py:201) takes ``text_length // 226`` prompts of 226."""
    sat = _project(tmp_path, indexes=False)
    (sat / "layer.yaml").write_text(LAYER.replace("  specific_iteration: 1000\n", "  seed: 3\n"))
    length = "model.network_config.params.modules.pos_embed_config.params.text_length"
    assert "[M17]" in _compile(sat, "--set", f"{length}=678").stderr  # CogVideoX's code: one prompt
    script = sat / "dit_video_concat.py"
    lines = script.read_text().splitlines(keepends=True)
    assert lines[301].strip() == "self.text_length = text_length", "dit_video_concat.py changed upstream"
    lines.insert(302, "        self.txt_num = text_length // 226\n")
    script.write_text("".join(lines))
    result = _compile(sat, "--set", f"{length}=678")
    assert result.returncode == 0 and "M17" not in result.stderr, result.stderr
    refused = _compile(sat, "--set", f"{length}=500")
    assert refused.returncode == 2
    assert "text_length 500 is not a whole number of 226-token prompts" in refused.stderr
    assert "(dit_video_concat.py:303)" in refused.stderr


def test_a_file_the_loader_merges_from_an_argument_is_named_not_silently_dropped(tmp_path: Path) -> None:
    """TencentARC/DiTCtrl (f1348b5, sat/arguments.py:331-334) merges the file named by
    ``--custom-config`` over the --base files inside process_config_to_args."""
    sat = _project(tmp_path, indexes=False)
    (sat / "layer.yaml").write_text(LAYER.replace("  specific_iteration: 1000\n", "  seed: 3\n"))
    (sat / "case.yaml").write_text("args:\n  seed: 11\n")
    arguments = sat / "arguments.py"
    text = arguments.read_text()
    base = '    group.add_argument("--base", type=str, nargs="*", help="config for input and saving")\n'
    merge = "    config = OmegaConf.merge(*configs)\n"
    assert text.count(base) == 1 and text.count(merge) == 1, "arguments.py changed upstream"
    text = text.replace(base, base + '    group.add_argument("--custom-config", type=str, default="")\n')
    text = text.replace(
        merge,
        merge
        + "    if args.custom_config:\n        config = OmegaConf.merge(config, OmegaConf.load(args.custom_config))\n",
    )
    arguments.write_text(text)
    result = _compile(sat, "--set", "args.custom_config=case.yaml")
    assert result.returncode == 0, result.stderr
    line = (
        text.splitlines().index(
            "        config = OmegaConf.merge(config, OmegaConf.load(args.custom_config))"
        )
        + 1
    )
    assert (
        "warning: args.custom_config: the project's config loader merges the file args.custom_config "
        f"names ('case.yaml') over the --base files (arguments.py:{line})"
    ) in result.stderr
    assert "hint: give case.yaml as the last config to satc compile instead" in result.stderr
    # unset (its default ''), nothing is merged and nothing is said
    assert "custom_config" not in _compile(sat).stderr


def test_an_injection_loop_over_a_local_list_of_names_is_reproduced(tmp_path: Path) -> None:
    """TencentARC/DiTCtrl (f1348b5, sat/arguments.py:360-374) copies args into model_config
    in ``for param in params_to_register:`` over a list bound just before."""
    sat = _project(tmp_path, indexes=False)
    (sat / "layer.yaml").write_text(LAYER.replace("  specific_iteration: 1000\n", "  sampling_fps: 12\n"))
    arguments = sat / "arguments.py"
    text = arguments.read_text()
    anchor = "        args.model_config = model_config\n"
    assert text.count(anchor) == 1, "arguments.py changed upstream"
    arguments.write_text(
        text.replace(
            anchor,
            anchor + "        names = ['sampling_fps', 'sampling_num_frames']\n"
            "        for name in names:\n"
            "            args.model_config.network_config.params[name] = getattr(args, name)\n",
        )
    )
    result = _compile(sat)
    assert result.returncode == 0, result.stderr
    assert "[G1]" not in result.stderr and "[G5]" not in result.stderr
    params = json.loads((sat / "b" / "args.json").read_text())["model_config"]["network_config"]["params"]
    assert (params["sampling_fps"], params["sampling_num_frames"]) == (12, 32)


def test_the_image_channel_rule_follows_where_the_engine_puts_the_image_latents(tmp_path: Path) -> None:
    """M24 guards CogVideoX's engine stacking the noised image latents on the channels
    (``batch["concat_images"]`` under noised_image_input); LV-Robotics-Lab/LayerFlow
    (0a8a65c, sat/diffusion_video.py:307-353) feeds them along time, in_channels unchanged."""
    sat = _project(tmp_path, indexes=False)
    (sat / "layer.yaml").write_text(LAYER.replace("  specific_iteration: 1000\n", "  seed: 3\n"))
    refused = _compile(sat, "--set", "model.noised_image_input=true")
    assert (
        refused.returncode == 2
        and "with noised_image_input true: the network gets 32 channels [M24]" in refused.stderr
    )
    engine = sat / "diffusion_video.py"
    text = engine.read_text()
    assert text.count('batch["concat_images"] = image') == 1, "diffusion_video.py changed upstream"
    engine.write_text(text.replace('batch["concat_images"] = image', 'batch["cond_input"] = image'))
    result = _compile(sat, "--set", "model.noised_image_input=true")
    assert result.returncode == 0 and "M24" not in result.stderr, result.stderr


def test_configs_inside_a_project_folder_below_the_cwd_name_that_project(tmp_path: Path) -> None:
    """FoundationVision/FlashVideo (8de4ae2, inf_270_1080p.sh) launches
    ``flashvideo/dist_inf_text_file.py --base flashvideo/configs/stage1.yaml`` from the
    repository root: the project is the folder below the cwd that holds arguments.py and
    the configs, not satc's built-in profile."""
    sat = _project(tmp_path, indexes=False)
    (sat / "layer.yaml").write_text(LAYER.replace("  specific_iteration: 1000\n", "  seed: 3\n"))
    result = satc(
        "compile",
        "sat/configs/cogvideox_5b_lora.yaml",
        "sat/layer.yaml",
        "sat/configs/sft.yaml",
        "-o",
        "b",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "no project found" not in result.stderr
    document = json.loads((tmp_path / "b" / "args.json").read_text())
    recorded = document["provenance"]["project"]
    assert recorded["origin"] == "scanned" and recorded["path"] == "../sat"
    # launch.sh starts the script from the folder the compile ran in, as the README does
    assert document["launch"]["entrypoint"] == "sat/train_video.py", document["launch"]
    assert "ENTRYPOINT=sat/train_video.py" in (tmp_path / "b" / "launch.sh").read_text()
    # configs from two places below the cwd name no one project: the built-in profile, said so
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "seed.yaml").write_text("args:\n  seed: 5\n")
    mixed = satc(
        "compile",
        "sat/configs/cogvideox_5b_lora.yaml",
        "sat/layer.yaml",
        "sat/configs/sft.yaml",
        "elsewhere/seed.yaml",
        "-o",
        "c",
        cwd=tmp_path,
    )
    assert "note: no project found" in mixed.stderr


def test_an_args_copy_of_a_model_key_the_loader_drops_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zai-org/SCAIL (33122ea) repeats model: keys under args: (use_i2v_clip,
    i2v_encode_video); CogVideoX's loader sets only declared args (``if hasattr(args,
    key)``), so they change nothing: a warning naming the model key, and the namespace
    lacks them, as the project's does.  A key no section has stays an unknown-key error."""
    sat = _project(tmp_path, indexes=False)
    (sat / "layer.yaml").write_text(LAYER.replace("  specific_iteration: 1000\n", "  scale_factor: 0.7\n"))
    result = _compile(sat)
    assert result.returncode == 0, result.stderr
    assert "warning: args.scale_factor: ignored: the project's loader (arguments.py:" in result.stderr
    assert "model.scale_factor is the value its code reads" in result.stderr
    assert not hasattr(_namespace(sat / "b", monkeypatch), "scale_factor")
    (sat / "layer.yaml").write_text(LAYER.replace("  specific_iteration: 1000\n", "  scale_fator: 0.7\n"))
    refused = _compile(sat)
    assert refused.returncode == 2 and "args.scale_fator: unknown key under args" in refused.stderr
