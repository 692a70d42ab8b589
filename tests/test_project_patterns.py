"""Patterns seen in public SAT-derived projects that satc once refused although the
project's code runs them (benchmarks/projects_trial.md has the measurements).

Each test compiles, from a copy of CogVideoX's ``sat/`` (../shared/reference/cogvideo-sat)
with a small edit written here, a config that uses the pattern, as a user of such a project
would (cwd = the entrypoint folder).  No code of those projects is copied; each edit only
reproduces the shape of theirs, cited per test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support import cogvideo_sat, satc

INFERENCE_1_5 = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")

# A dataset family whose base defines the factory once; the subclass adds a parameter.
OWN_DATASET = '''

class CaptionedClips(SFTDataset):
    """Clips whose captions get a suffix; built through the inherited factory."""

    def __init__(self, data_dir, video_size, fps, max_num_frames, skip_frms_num=3, caption_suffix=""):
        super().__init__(data_dir, video_size, fps, max_num_frames, skip_frms_num)
        self.caption_suffix = caption_suffix
'''

# A second conditioner embedder whose tokens the project appends to the T5's.
OWN_EMBEDDER = '''"""Extra conditioning tokens for the cross-attention context."""


class PathTokens:
    def __init__(self, tokens=9, width=4096):
        self.tokens = tokens
        self.width = width
'''


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of CogVideoX's sat/ with an inheriting dataset class and an extra embedder."""
    root = tmp_path_factory.mktemp("patterns") / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    with (root / "data_video.py").open("a", encoding="utf-8") as handle:
        handle.write(OWN_DATASET)
    (root / "path_tokens.py").write_text(OWN_EMBEDDER, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("satc-cache")


def compile_with(
    tree: Path, cache: Path, tmp_path: Path, bases: tuple[str, ...], layer: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "layer.yaml").write_text(layer, encoding="utf-8")
    return satc(
        "compile",
        *bases,
        str(tmp_path / "layer.yaml"),
        "-o",
        str(tmp_path / "bundle"),
        cwd=tree,
        env={"SATC_CACHE_DIR": str(cache)},
    )


def older_cogvideox(tmp_path: Path) -> Path:
    """CogVideoX's sat/ as its 1.0-era forks have it: no --sampling-image-size argument."""
    root = tmp_path / "older" / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    arguments = root / "arguments.py"
    line = '    group.add_argument("--sampling-image-size", type=list, default=[768, 1360])\n'
    text = arguments.read_text(encoding="utf-8")
    assert text.count(line) == 1
    arguments.write_text(text.replace(line, ""), encoding="utf-8")
    return root


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error:" in line]


def test_a_dataset_factory_inherited_from_a_base_builds_the_subclass(
    tree: Path, cache_dir: Path, tmp_path: Path
) -> None:
    """aayank-singhai/ReSim-Exp@9acfff2: sat/data_share.py:261 defines
    ``create_dataset_function`` on SharedDataset; WaymoDataset (data_waymo.py:14) inherits it,
    so ``data_dir`` comes from the factory and ``cls`` is the subclass."""
    layer = (
        "data:\n  target: data_video.CaptionedClips\n  params:\n"
        "    video_size: [480, 720]\n    fps: 8\n    max_num_frames: 49\n    caption_suffix: ' hd'\n"
    )
    result = compile_with(
        tree, cache_dir, tmp_path, ("configs/cogvideox1.5_5b_i2v.yaml", "configs/sft.yaml"), layer
    )
    assert not [line for line in errors(result.stderr) if "data." in line], result.stderr
    assert result.returncode == 0, result.stderr
    # A real missing parameter of the subclass is still caught.
    layer = "data:\n  target: data_video.CaptionedClips\n  params:\n    video_size: [480, 720]\n    fps: 8\n"
    result = compile_with(tree, cache_dir, tmp_path, ("configs/cogvideox1.5_5b_i2v.yaml",), layer)
    assert "missing required parameter 'max_num_frames' of data_video.CaptionedClips" in result.stderr


def test_text_length_beside_a_second_embedder_is_the_projects_business(
    tree: Path, cache_dir: Path, tmp_path: Path
) -> None:
    """aayank-singhai/ReSim-Exp@9acfff2: the conditioner joins 9 trajectory tokens to the
    T5's 226 along the sequence (sat/sgm/modules/encoders/modules.py:75), and its configs
    set text_length 235.  With the T5 alone a mismatch is still an error (M17)."""
    t5 = (
        "        - is_trainable: false\n          input_key: txt\n          ucg_rate: 0.1\n"
        "          target: sgm.modules.encoders.modules.FrozenT5Embedder\n"
        "          params: {model_dir: t5, max_length: 224}\n"
    )
    network = "  network_config:\n    params:\n      modules:\n        pos_embed_config:\n"
    network += "          params: {text_length: 233}\n"
    second = (
        "        - is_trainable: true\n          input_key: path\n          ucg_rate: 0.5\n"
        "          target: path_tokens.PathTokens\n          params: {tokens: 9}\n"
    )
    head = "model:\n" + network + "  conditioner_config:\n    params:\n      emb_models:\n"
    result = compile_with(tree, cache_dir, tmp_path, INFERENCE_1_5, head + t5 + second)
    assert "M17" not in result.stderr and result.returncode == 0, result.stderr
    result = compile_with(tree, cache_dir, tmp_path, INFERENCE_1_5, head + t5)
    assert "text_length 233 differs from the T5 max_length 224" in result.stderr
    assert result.returncode == 2


def test_fewer_latent_frames_than_the_grid_is_a_warning(tree: Path, cache_dir: Path, tmp_path: Path) -> None:
    """NJU-PCALab/STAR@69b8bc5 cogvideox-based/sat/configs/cogvideox_5b/cogvideox_5b_infer_sr.yaml:8
    samples 7 latent frames with CogVideoX-5B: the network slices its position grid
    (dit_video_concat.py:313), so only the maintainers' list is left out."""
    layer = (
        "model:\n  network_config:\n    params:\n      patch_size: [1, 2, 2]\n"
        "args:\n  sampling_num_frames: 7\n  sampling_image_size: [480, 720]\n"
    )
    bases = ("configs/cogvideox_5b.yaml", "configs/inference.yaml")
    result = compile_with(tree, cache_dir, tmp_path, bases, layer)
    assert result.returncode == 0, result.stderr
    assert "warning: args.sampling_num_frames: CogVideoX-5B samples 13 or 11 or 9" in result.stderr
    # Past the grid (13 latent frames for num_frames 49) the network cannot place them.
    result = compile_with(tree, cache_dir, tmp_path, bases, layer.replace(": 7", ": 15"))
    assert "error: args.sampling_num_frames" in result.stderr and result.returncode == 2


def test_a_child_config_the_class_never_builds_is_ignored_not_required(
    tree: Path, cache_dir: Path, tmp_path: Path
) -> None:
    """harshit810/cogVideoFinetuning@eb3867d: its DiffusionTransformer dropped the LoRA block
    (sat/dit_video_concat.py:712 builds four modules), its LoRA configs keep lora_config;
    LoraMixin's required layer_num is no crash there: nothing builds it."""
    layer = (
        "model:\n  network_config:\n    params:\n      modules:\n        extra_lora_config:\n"
        "          target: sat.model.finetune.lora2.LoraMixin\n          params: {r: 4}\n"
    )
    result = compile_with(tree, cache_dir, tmp_path, INFERENCE_1_5, layer)
    assert result.returncode == 0, result.stderr
    assert "never builds modules.extra_lora_config" in result.stderr and "[M5]" in result.stderr
    assert "layer_num" not in result.stderr


def test_a_vendored_sat_missing_a_table_leaves_transformer_args_unjudged(tmp_path: Path) -> None:
    """MoCa-VideoGen/MoCa@f67a575 vendors a SAT without sat/transformer_defaults.py, whose
    ARGS_DEFAULT tells which transformer_args SAT's BaseModel reads: satc cannot list them,
    so it does not call checkpoint_activations unread (M6)."""
    import sat

    project = tmp_path / "project"
    shutil.copytree(cogvideo_sat(), project / "sat", ignore=shutil.ignore_patterns("__pycache__"))
    vendored = project / "modules" / "SwissArmyTransformer" / "sat"
    shutil.copytree(Path(sat.__file__).parent, vendored, ignore=shutil.ignore_patterns("__pycache__"))
    (vendored / "transformer_defaults.py").unlink()
    result = satc(
        "compile",
        *INFERENCE_1_5,
        "-o",
        str(tmp_path / "bundle"),
        cwd=project / "sat",
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert "transformer_args.checkpoint_activations" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr


def test_a_same_named_setting_of_another_type_is_not_suggested(
    tree: Path, cache_dir: Path, tmp_path: Path
) -> None:
    """MoCa-VideoGen/MoCa@f67a575 sat/configs/tora/train_dense.yaml:48 writes
    ``deepspeed.debug: {verbose: true}``, which DeepSpeed never reads: an error, whose hint
    must not send a mapping to ``deepspeed.comms_logger.debug``, a flag of the comms logger.
    A flag written in the wrong place still gets that place."""
    bases = ("configs/cogvideox1.5_5b_i2v.yaml", "configs/sft.yaml")
    result = compile_with(tree, cache_dir, tmp_path, bases, "deepspeed:\n  debug:\n    verbose: true\n")
    assert "error: deepspeed.debug: unknown key under deepspeed" in result.stderr, result.stderr
    assert "comms_logger" not in result.stderr
    result = compile_with(tree, cache_dir, tmp_path, bases, "deepspeed:\n  debug: true\n")
    assert "did you mean deepspeed.comms_logger.debug?" in result.stderr, result.stderr


def test_a_later_cogvideox_argument_an_older_tree_drops_is_a_warning(tmp_path: Path) -> None:
    """THUDM/CogVideo@db309f3, ML-GSAI/Concat-ID@b15cb95, VideoVLA-Project/VideoVLA@af26b81
    and PhoenixGS/cognvs@f89e260 ship an inference.yaml with ``sampling_image_size``, which
    their parsers never declare: ``if hasattr(args, key)`` drops it, nothing fails.  A typo
    and a setting no CogVideoX has stay errors."""
    root = older_cogvideox(tmp_path)
    bases = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")
    env = {"SATC_CACHE_DIR": str(tmp_path / "cache")}
    result = satc("compile", *bases, "-o", str(tmp_path / "bundle"), cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    assert "warning: args.sampling_image_size: not an argument of this project" in result.stderr
    # Not in the project's namespace, so not in the bundle's, and no rule judges it (M15).
    args = json.loads((tmp_path / "bundle" / "args.json").read_text(encoding="utf-8"))["args"]
    assert "sampling_image_size" not in args
    odd = tmp_path / "odd.yaml"
    odd.write_text("args:\n  sampling_image_size: [100, 100]\n", encoding="utf-8")
    result = satc("compile", *bases, str(odd), "-o", str(tmp_path / "b1"), cwd=root, env=env)
    assert result.returncode == 0 and "M15" not in result.stderr, result.stderr
    layer = tmp_path / "layer.yaml"
    layer.write_text("args:\n  sampling_num_frame: 22\n  sequence_parallel_size: 2\n", encoding="utf-8")
    result = satc("compile", *bases, str(layer), "-o", str(tmp_path / "b2"), cwd=root, env=env)
    assert "error: args.sampling_num_frame: unknown key under args" in result.stderr
    assert "error: args.sequence_parallel_size: unknown key under args" in result.stderr
    assert result.returncode == 2


def test_a_sibling_projects_vendored_sat_is_not_this_projects(tmp_path: Path) -> None:
    """ML-GSAI/Concat-ID@b15cb95 keeps arguments.py at the top of its checkout: its parent
    folder holds the user's other checkouts, such as aayank-singhai/ReSim-Exp with its own
    SwissArmyTransformer/.  Concat-ID runs the installed SAT, not ReSim's."""
    import sat

    code = tmp_path / "code"
    project = code / "Concat"
    shutil.copytree(cogvideo_sat(), project, ignore=shutil.ignore_patterns("__pycache__"))
    other = code / "Other"
    shutil.copytree(cogvideo_sat(), other / "sat", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        Path(sat.__file__).parent,
        other / "SwissArmyTransformer" / "sat",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    out = tmp_path / "bundle"
    result = satc(
        "compile",
        *INFERENCE_1_5,
        "-o",
        str(out),
        cwd=project,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert "Other" not in (out / "args.json").read_text(encoding="utf-8")
    # The other project's own SAT is still found from its entry folder.
    result = satc(
        "compile",
        *INFERENCE_1_5,
        "-o",
        str(tmp_path / "other-bundle"),
        cwd=other / "sat",
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert "SwissArmyTransformer/sat" in (tmp_path / "other-bundle" / "args.json").read_text(encoding="utf-8")


# An entry script that always conditions on an image: it never reads args.image2video.
IMAGE_ONLY_SCRIPT = '''"""Sample from a first frame: the image is always the condition."""

from arguments import get_args


def main(args):
    return args.input_file, args.sampling_num_frames


if __name__ == "__main__":
    main(get_args())
'''

# The same, with the flag read by a helper module of its folder.
HELPER_READS_FLAG = """def wants_image(args):
    return args.image2video
"""


def test_an_entry_script_that_never_reads_image2video_needs_no_flag(tmp_path: Path) -> None:
    """Metalicana/DiTCtrl@1b91ee4 sat/sample_video_i2v.py (run_i2v_multi_prompt.sh) samples
    CogVideoX-5B-I2V and always concatenates the image latents; it never reads
    args.image2video, which M24 requires for CogVideoX's sample_video.py:160 branch.  The
    rule guards the script launched; a helper module of its folder reading the flag counts."""
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "sample_first_frame.py").write_text(IMAGE_ONLY_SCRIPT, encoding="utf-8")
    bases = ("configs/cogvideox1.5_5b_i2v.yaml", "configs/inference.yaml")
    cache = tmp_path / "cache"
    launched = "launch:\n  entrypoint: {}\n"
    result = compile_with(root, cache, tmp_path, bases, launched.format("sample_first_frame.py"))
    assert "M24" not in result.stderr and result.returncode == 0, result.stderr
    # CogVideoX's own script branches on the flag: still an error there.
    result = compile_with(root, cache, tmp_path, bases, launched.format("sample_video.py"))
    assert "sampling it without args.image2video" in result.stderr and result.returncode == 2
    # A helper that reads the flag for it, beside the script or in a package of its folder:
    # the rule applies again.
    (root / "first_frame_helpers.py").write_text(HELPER_READS_FLAG, encoding="utf-8")
    (root / "sgm" / "first_frame.py").write_text(HELPER_READS_FLAG, encoding="utf-8")
    for module in ("first_frame_helpers", "sgm.first_frame"):
        imported = f"from {module} import wants_image\nfrom arguments"
        script = IMAGE_ONLY_SCRIPT.replace("from arguments", imported)
        (root / "sample_first_frame.py").write_text(script, encoding="utf-8")
        result = compile_with(root, cache, tmp_path, bases, launched.format("sample_first_frame.py"))
        assert "sampling it without args.image2video" in result.stderr and result.returncode == 2, module


def test_a_network_parameter_under_transformer_args_is_judged_by_the_value_the_run_uses(
    tree: Path, cache_dir: Path, tmp_path: Path
) -> None:
    """suimuc/MTV_Framework@5704fe6 configs/cogvideox_5b.yaml:59 sets
    transformer_args.num_layers_dual: 4; nothing reads it there, and its BaseTransformer
    takes num_layers_dual (default 4) through the network's **kwargs.  SAT's BaseTransformer
    takes init_method_std (default 0.02) the same way here: the ignored key is a warning
    where the run uses the same value, an error pointing at the parameter's place where
    not; a typo of a key transformer_args does carry stays an error with its suggestion."""
    head = "model:\n  network_config:\n    params:\n      transformer_args:\n"
    result = compile_with(tree, cache_dir, tmp_path, INFERENCE_1_5, head + "        init_method_std: 0.02\n")
    assert result.returncode == 0, result.stderr
    assert "warning: model.network_config.params.transformer_args.init_method_std" in result.stderr
    assert "by default the same 0.02 [M6]" in result.stderr
    result = compile_with(tree, cache_dir, tmp_path, INFERENCE_1_5, head + "        init_method_std: 0.01\n")
    assert result.returncode == 2
    assert "error: model.network_config.params.transformer_args.init_method_std" in result.stderr
    assert "the run uses its default 0.02" in result.stderr
    assert "set model.network_config.params.init_method_std: 0.01 instead" in result.stderr
    result = compile_with(
        tree, cache_dir, tmp_path, INFERENCE_1_5, head + "        checkpoint_activation: true\n"
    )
    assert result.returncode == 2
    assert (
        "did you mean model.network_config.params.transformer_args.checkpoint_activations?" in result.stderr
    )


def test_a_quoted_number_under_transformer_args_is_suggested_once_as_a_number(
    tree: Path, cache_dir: Path, tmp_path: Path
) -> None:
    """``init_method_std: '0.02'`` under transformer_args: the run uses the default 0.02
    from the network's own params; the hint names the place and the number once,
    unquoted (text there would reach BaseTransformer as a string)."""
    head = "model:\n  network_config:\n    params:\n      transformer_args:\n"
    result = compile_with(
        tree, cache_dir, tmp_path, INFERENCE_1_5, head + "        init_method_std: '0.02'\n"
    )
    assert result.returncode == 0, result.stderr
    assert "by default the same 0.02 [M6]" in result.stderr, result.stderr
    assert (
        "hint: move it to model.network_config.params.init_method_std (unquoted: a number, not text)\n"
        in result.stderr
    )
    assert "'0.02'" not in result.stderr
    result = compile_with(
        tree, cache_dir, tmp_path, INFERENCE_1_5, head + '        init_method_std: "0.01"\n'
    )
    assert result.returncode == 2, result.stderr
    assert (
        "hint: set model.network_config.params.init_method_std: 0.01 instead (unquoted: a number, not text)\n"
        in result.stderr
    )
    assert "'0.01'" not in result.stderr


def test_an_engine_key_read_as_an_attribute_is_read(tmp_path: Path) -> None:
    """fudan-generative-vision/hallo3@e342dce hallo3/diffusion_video.py:114 reads
    ``model_config.ref_net_path`` (its stage-1 reference net) by attribute, not ``.get``;
    satc called model.ref_net_path "ignored".  Attribute and subscript reads are reads, and a
    typo of such a key is still an error that names it."""
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    engine = root / "diffusion_video.py"
    anchor = '        log_keys = model_config.get("log_keys", None)\n'
    text = engine.read_text(encoding="utf-8")
    assert text.count(anchor) == 1
    reads = '        self.reference_path = model_config.reference_path\n        self.extra = model_config["extra_key"]\n'
    engine.write_text(text.replace(anchor, anchor + reads), encoding="utf-8")
    cache = tmp_path / "cache"
    layer = "model:\n  reference_path: ./ref\n  extra_key: 1\n"
    result = compile_with(root, cache, tmp_path, INFERENCE_1_5, layer)
    assert "[M5]" not in result.stderr and result.returncode == 0, result.stderr
    result = compile_with(root, cache, tmp_path, INFERENCE_1_5, "model:\n  reference_pth: ./ref\n")
    assert "did you mean model.reference_path?" in result.stderr and result.returncode == 2


# A demo app that fixes its own command line before the project's parser reads it.
OWN_ARGV_SCRIPT = '''"""A demo with its configs fixed in the script."""

import sys

from arguments import get_args

sys.argv = ["demo.py", "--base", "configs/cogvideox1.5_5b.yaml", "configs/inference.yaml"]
ARGS = get_args(sys.argv[1:])
'''


def test_an_entry_script_writing_its_own_command_line_is_named(tmp_path: Path) -> None:
    """tpc2233/Humn_p2v@4ab39b1 app_t1.py:125 sets sys.argv to --base and two configs, then
    hands the parsed list to get_args: satc.runtime.get_args refuses any argument list, so
    launching that script from a bundle stops at once.  The compile says so (G2)."""
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "demo_fixed.py").write_text(OWN_ARGV_SCRIPT, encoding="utf-8")
    cache = tmp_path / "cache"
    launched = "launch:\n  entrypoint: {}\n"
    result = compile_with(root, cache, tmp_path, INFERENCE_1_5, launched.format("demo_fixed.py"))
    assert result.returncode == 0, result.stderr
    assert "demo_fixed.py writes its own command line (demo_fixed.py:7)" in result.stderr
    assert "[G2]" in result.stderr
    result = compile_with(root, cache, tmp_path, INFERENCE_1_5, launched.format("sample_video.py"))
    assert "writes its own command line" not in result.stderr
    # fudan-generative-vision/hallo3@e342dce hallo3/app.py:149-155: a list literal handed to
    # get_args from a class's __init__ (the script is no entry script by satc's reading).
    (root / "demo_class.py").write_text(OWN_LIST_SCRIPT, encoding="utf-8")
    result = compile_with(root, cache, tmp_path, INFERENCE_1_5, launched.format("demo_class.py"))
    assert "demo_class.py writes its own command line (demo_class.py:8)" in result.stderr


OWN_LIST_SCRIPT = '''"""A demo app whose generator fixes its configs."""

from arguments import get_args


class Generator:
    def __init__(self):
        fixed = [
            "--base",
            "configs/cogvideox1.5_5b.yaml",
        ]
        self.args = get_args(fixed)
'''


# A script reaching CogVideoX's sampling_main (sample_video.py:160 reads args.image2video)
# two imports away, or through a package's re-export (a relative import).
DEEP_SAMPLING = {
    "my_sample.py": "from pipeline import run\nfrom arguments import get_args\n\n"
    'if __name__ == "__main__":\n    run(get_args())\n',
    "pipeline.py": "from tools_sampling import sample_all\n\n\ndef run(args):\n    return sample_all(args)\n",
    "tools_sampling.py": "from sample_video import sampling_main\nfrom diffusion_video import SATVideoDiffusionEngine\n\n\n"
    "def sample_all(args):\n    return sampling_main(args, model_cls=SATVideoDiffusionEngine)\n",
    "my_packaged.py": "from mypkg import sampling_main\nfrom diffusion_video import SATVideoDiffusionEngine\n"
    "from arguments import get_args\n\n"
    'if __name__ == "__main__":\n    sampling_main(get_args(), model_cls=SATVideoDiffusionEngine)\n',
    "mypkg/__init__.py": "from .sampler import sampling_main\n",
    "mypkg/sampler.py": "from sample_video import sampling_main\n",
    "my_unknown.py": "from mypkg.gone import run\nfrom arguments import get_args\n\n"
    'if __name__ == "__main__":\n    run(get_args())\n',
}


def test_a_script_reaching_the_flag_through_its_imports_needs_it(tmp_path: Path) -> None:
    """M24's sampling half is skipped only where no project module the script imports, at
    any depth, reads args.image2video: a script reaching CogVideoX's sampling_main two
    imports away, or through a package's ``__init__`` re-export, needs the flag, and so does
    one whose project import satc cannot follow."""
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "mypkg").mkdir()
    for name, text in DEEP_SAMPLING.items():
        (root / name).write_text(text, encoding="utf-8")
    bases = ("configs/cogvideox1.5_5b_i2v.yaml", "configs/inference.yaml")
    for script in ("my_sample.py", "my_packaged.py", "my_unknown.py"):
        result = compile_with(root, tmp_path / "cache", tmp_path, bases, f"launch:\n  entrypoint: {script}\n")
        assert "sampling it without args.image2video" in result.stderr and result.returncode == 2, script


# CogVideoX's sample_video.py with the flag set by its own __main__ before sampling.
SETS_FLAG = "    args.image2video = True\n    sampling_main(args, model_cls=SATVideoDiffusionEngine)\n"


def test_a_script_that_sets_image2video_itself_needs_no_key(tmp_path: Path) -> None:
    """A script whose ``__main__`` sets ``args.image2video = True`` before it calls
    sampling_main takes the I2V branch without the key: M24 does not ask for it.  Set after
    sampling, only under a condition, or on a namespace get_args did not return, the key is
    still needed."""
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    text = (root / "sample_video.py").read_text(encoding="utf-8")
    call = "    sampling_main(args, model_cls=SATVideoDiffusionEngine)\n"
    assert text.count(call) == 1
    variants = {
        "sample_i2v_own.py": (text.replace(call, SETS_FLAG), 0),
        "sample_i2v_other.py": (
            text.replace(call, SETS_FLAG.replace("args.image2video", "known.image2video")),
            2,
        ),
        "sample_i2v_late.py": (text.replace(call, call + "    args.image2video = True\n"), 2),
        "sample_i2v_maybe.py": (
            text.replace(call, "    if known:\n    " + SETS_FLAG.replace("\n    s", "\n        s")),
            2,
        ),
    }
    bases = ("configs/cogvideox1.5_5b_i2v.yaml", "configs/inference.yaml")
    for script, (source, _code) in variants.items():
        (root / script).write_text(source, encoding="utf-8")
    for script, (_, code) in variants.items():
        result = compile_with(root, tmp_path / "cache", tmp_path, bases, f"launch:\n  entrypoint: {script}\n")
        assert result.returncode == code, (script, result.stderr)
        assert ("sampling it without args.image2video" in result.stderr) == bool(code), script


def _vendored_sat(tmp_path: Path, missing: str) -> Path:
    """CogVideoX's sat/ with SAT copied into it as ``sat/sat`` (the project's own copy,
    which Python imports before the installed one), less ``missing``."""
    import sat

    project = tmp_path / "project" / "sat"
    shutil.copytree(cogvideo_sat(), project, ignore=shutil.ignore_patterns("__pycache__"))
    vendored = project / "sat"
    shutil.copytree(Path(sat.__file__).parent, vendored, ignore=shutil.ignore_patterns("__pycache__"))
    if missing:
        target = vendored / missing
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return project


@pytest.mark.parametrize(
    ("missing", "module", "where"),
    [
        # rubenvillarreal/scail-wan2gp-integration@e3bafb2: its .gitignore's `model/` kept
        # sat/model out of the repository; sat/__init__.py imports .model for every script
        ("model", "sat.model", "sat/__init__.py:3"),
        # a module only the launched script imports at module level
        ("training/model_io.py", "sat.training.model_io", "sample_video.py:16"),
    ],
)
def test_a_vendored_sat_without_a_module_its_start_up_imports_is_refused(
    tmp_path: Path, missing: str, module: str, where: str
) -> None:
    project = _vendored_sat(tmp_path, missing)
    result = satc(
        "compile",
        *INFERENCE_1_5,
        "-o",
        str(tmp_path / "bundle"),
        "--set",
        "launch.entrypoint=sample_video.py",
        cwd=project,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 2, result.stderr
    found = errors(result.stderr)
    assert len(found) == 1, result.stderr
    assert f"has no {module}: the import at {where} raises ModuleNotFoundError" in found[0]
    assert "[V1]" in found[0]
    # the classes the copy lacks are not judged: no "never read" on transformer_args (M6)
    assert "never read" not in result.stderr, result.stderr


def test_a_complete_vendored_sat_compiles(tmp_path: Path) -> None:
    project = _vendored_sat(tmp_path, "")
    result = satc(
        "compile",
        *INFERENCE_1_5,
        "-o",
        str(tmp_path / "bundle"),
        cwd=project,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    assert "[V1]" not in result.stderr


def test_a_vendored_sat_beside_the_project_without_a_module_is_a_warning(tmp_path: Path) -> None:
    """A copy at ../modules/SwissArmyTransformer/sat (Tora's layout) runs only where it is
    installed (pip install -e): satc says so instead of refusing."""
    import sat

    project = tmp_path / "project"
    shutil.copytree(cogvideo_sat(), project / "sat", ignore=shutil.ignore_patterns("__pycache__"))
    vendored = project / "modules" / "SwissArmyTransformer" / "sat"
    shutil.copytree(Path(sat.__file__).parent, vendored, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(vendored / "model")
    result = satc(
        "compile",
        *INFERENCE_1_5,
        "-o",
        str(tmp_path / "bundle"),
        cwd=project / "sat",
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "[V1]" in line]
    assert len(warned) == 1 and "warning: launch.entrypoint:" in warned[0], result.stderr
    assert "modules/SwissArmyTransformer/sat/ has no sat.model" in warned[0]
    assert "never read" not in result.stderr, result.stderr
