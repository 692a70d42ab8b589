"""Patterns seen in researchers' patched copies of CogVideoX's ``sat/`` that satc misjudged
(benchmarks/projects_trial.md, "Patched copies of CogVideoX's sat/").

Each test compiles, from a copy of CogVideoX's ``sat/`` (../shared/reference/cogvideo-sat)
with a small edit written here, a config that uses the pattern, from the entrypoint folder
as a user would.  No code of those projects is copied; each edit only reproduces the shape
of theirs, cited per test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support import cogvideo_sat, satc

INFERENCE_1_5 = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")
# CogVideoX 1.0's 5B config with the patch size this tree's network indexes.
INFERENCE_1_0 = ("configs/cogvideox_5b.yaml", "configs/inference.yaml")
PATCH_1_0 = (
    "args:\n  sampling_num_frames: 13\n  sampling_image_size: [480, 720]\n"
    "model:\n  network_config:\n    params:\n      patch_size: [1, 2, 2]\n"
)


def edited_tree(tmp_path: Path, file: str, old: str, new: str, *more: tuple[str, str, str]) -> Path:
    root = tmp_path / "tree" / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    for name, before, after in ((file, old, new), *more):
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert text.count(before) == 1, before
        path.write_text(text.replace(before, after), encoding="utf-8")
    return root


def compile_with(
    root: Path, tmp_path: Path, bases: tuple[str, ...], layer: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "layer.yaml").write_text(layer, encoding="utf-8")
    shutil.rmtree(tmp_path / "bundle", ignore_errors=True)
    return satc(
        "compile",
        *bases,
        str(tmp_path / "layer.yaml"),
        "-o",
        str(tmp_path / "bundle"),
        cwd=root,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )


def bundle_args(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "bundle" / "args.json").read_text(encoding="utf-8"))["args"]


def test_a_loader_that_sets_every_key_keeps_an_undeclared_one(tmp_path: Path) -> None:
    """SanGilbert/CogVideo@58f6a87 comments out the ``hasattr`` guard of
    process_config_to_args (sat/arguments.py:268-269), so ``save_total_limit`` from its
    sft.yaml reaches args, and its train_video.py:150 reads it: a setting of the project.
    An undeclared key nothing reads is a warning; a near miss of a key the project declares
    or reads is a typo."""
    root = edited_tree(
        tmp_path,
        "arguments.py",
        "        if hasattr(args, key):\n            setattr(args, key, arg)\n",
        "        setattr(args, key, arg)\n",
        (
            "train_video.py",
            'if __name__ == "__main__":\n',
            'def prune(args):\n    return args.keep_last_checkpoints\n\n\nif __name__ == "__main__":\n',
        ),
    )
    result = compile_with(root, tmp_path, INFERENCE_1_5, "args:\n  keep_last_checkpoints: 2\n")
    assert result.returncode == 0, result.stderr
    assert "keep_last_checkpoints" not in result.stderr
    assert bundle_args(tmp_path)["keep_last_checkpoints"] == 2
    result = compile_with(root, tmp_path, INFERENCE_1_5, "args:\n  cleanup_every: 2\n")
    assert result.returncode == 0, result.stderr
    assert "warning: args.cleanup_every: not an argument of this project's parser" in result.stderr
    assert bundle_args(tmp_path)["cleanup_every"] == 2
    result = compile_with(
        root, tmp_path, INFERENCE_1_5, "args:\n  keep_last_checkpoint: 2\n  sampling_num_frame: 22\n"
    )
    assert "error: args.keep_last_checkpoint: unknown key under args" in result.stderr, result.stderr
    assert "did you mean args.keep_last_checkpoints?" in result.stderr
    assert "error: args.sampling_num_frame: unknown key under args" in result.stderr
    assert "did you mean args.sampling_num_frames?" in result.stderr
    assert result.returncode == 2


def test_an_own_flag_holding_a_value_is_a_warning_and_text_stays_an_error(tmp_path: Path) -> None:
    """Texaser/CogVideo@21a08dc declares ``--sampling_image_size`` as a flag
    (sat/arguments.py:50) and its inference.yaml sets ``[480, 720]``: process_config_to_args
    sets it as written and none of its code reads it.  Text for a flag reads as true."""
    root = edited_tree(
        tmp_path,
        "arguments.py",
        '    group.add_argument("--image2video", action="store_true")\n',
        '    group.add_argument("--image2video", action="store_true")\n'
        '    group.add_argument("--frame_hint", action="store_true")\n',
    )
    result = compile_with(root, tmp_path, INFERENCE_1_5, "args:\n  frame_hint: [480, 720]\n")
    assert result.returncode == 0, result.stderr
    assert "warning: args.frame_hint: argparse declares true or false" in result.stderr
    assert bundle_args(tmp_path)["frame_hint"] == [480, 720]
    result = compile_with(root, tmp_path, INFERENCE_1_5, "args:\n  frame_hint: 'False'\n")
    assert "error: args.frame_hint: expected true or false, got string 'False'" in result.stderr
    assert result.returncode == 2


def test_a_network_frame_count_off_4k_plus_1_is_a_warning(tmp_path: Path) -> None:
    """SanGilbert/CogVideo@58f6a87 sat/configs/cogvideox_2b.yaml:27 sets the network's
    num_frames to 52: the network floors it to 13 latent frames
    (dit_video_concat.py: (num_frames - 1) // time_compressed_rate + 1), the VAE never sees
    it.  The data's frame count, which reaches the VAE, stays an error (test_model_rules)."""
    layer = PATCH_1_0.replace("patch_size: [1, 2, 2]\n", "patch_size: [1, 2, 2]\n      num_frames: 52\n")
    result = compile_with(cogvideo_sat(), tmp_path, INFERENCE_1_0, layer)
    assert result.returncode == 0, result.stderr
    assert (
        "warning: model.network_config.params.num_frames: 52 frames: the network floors it to "
        "(num_frames - 1) // 4 + 1 = 13 latent frames"
    ) in result.stderr


@pytest.mark.parametrize("hand_off", ["args", "config"])
def test_an_engine_reading_model_keys_in_its_own_methods(tmp_path: Path, hand_off: str) -> None:
    """Texaser/CogVideo@21a08dc sat/diffusion_video.py:30-31: the engine's __init__ hands
    ``args.model_config`` to ``self._init_configs`` and ``args`` to
    ``self._init_model_components``, which read every `model:` key.  satc said each key
    was never read.  A key no method reads is still reported."""
    call = {
        "args": "        self._setup(args)\n\n    def _setup(self, args):\n        model_config = args.model_config\n",
        "config": "        self._setup(args, args.model_config)\n\n    def _setup(self, args, model_config):\n",
    }[hand_off]
    root = edited_tree(tmp_path, "diffusion_video.py", "        model_config = args.model_config\n", call)
    result = compile_with(root, tmp_path, INFERENCE_1_5, "")
    assert result.returncode == 0, result.stderr
    assert "never reads model." not in result.stderr
    result = compile_with(root, tmp_path, INFERENCE_1_5, "model:\n  log_key: [txt]\n")
    never = [line for line in result.stderr.splitlines() if "never reads model." in line]
    assert len(never) == 1 and "error: model.log_key:" in never[0], result.stderr
    assert "did you mean model.log_keys?" in result.stderr


# An entry script that builds the engine but runs only its 3D VAE (the shape of
# hologerry/CogVideo@88c13d7 vae_video.py: encode_first_stage, first_stage_model.decode).
VAE_ONLY = """import torch
from arguments import get_args
from diffusion_video import SATVideoDiffusionEngine
from sat.model.base_model import get_model


def round_trip(args):
    model = get_model(args, SATVideoDiffusionEngine)
    latent = model.encode_first_stage(torch.zeros(1, 3, 9, 64, 64), None)
    return model.decode_first_stage(latent)


if __name__ == "__main__":
    round_trip(get_args())
"""


def test_fp16_where_the_entry_script_never_runs_the_network_is_a_warning(tmp_path: Path) -> None:
    """hologerry/CogVideo@88c13d7 tools/vae_video.sh runs vae_video.py on the 5B config in
    fp16: the script builds the engine but only encodes and decodes with the 3D VAE
    (vae_video.py:132-168); fp16's overflow is the network's.  Sampling in fp16 stays an
    error."""
    root = tmp_path / "tree" / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "vae_round_trip.py").write_text(VAE_ONLY, encoding="utf-8")
    layer = PATCH_1_0.replace("args:\n", "args:\n  fp16: true\n  bf16: false\n")
    result = compile_with(
        root, tmp_path, (*INFERENCE_1_0,), layer + "launch:\n  entrypoint: vae_round_trip.py\n"
    )
    assert result.returncode == 0, result.stderr
    assert "warning: args.fp16: CogVideoX-5B was trained in bf16" in result.stderr
    assert "but vae_round_trip.py never samples or trains it" in result.stderr
    result = compile_with(
        root, tmp_path, (*INFERENCE_1_0,), layer + "launch:\n  entrypoint: sample_video.py\n"
    )
    assert (
        "error: args.fp16: CogVideoX-5B was trained in bf16: fp16 gives black videos or NaN [M16]"
        in result.stderr
    )
    assert result.returncode == 2


def test_names_sat_sets_and_names_in_comments_are_not_settings(tmp_path: Path) -> None:
    """Where every args key reaches the namespace (SanGilbert/CogVideo@58f6a87's loader), a
    name the project only mentions in a comment or a string (``args.num_layers`` in a
    commented-out line, arguments.py:252) or one SAT's own training loop assigns
    (``args.iteration``, sat/training/deepspeed_training.py; train_video.py reads it) is not a
    setting: the key is warned, and a typo of it gets no hint towards it."""
    root = edited_tree(
        tmp_path,
        "arguments.py",
        "        if hasattr(args, key):\n            setattr(args, key, arg)\n",
        "        setattr(args, key, arg)\n",
        (
            "train_video.py",
            'if __name__ == "__main__":\n',
            'def note():\n    return "see args.save_every_n"\n\n\nif __name__ == "__main__":\n',
        ),
    )
    result = compile_with(
        root, tmp_path, INFERENCE_1_5, "args:\n  num_layers: 42\n  iteration: 5000\n  save_every_n: 3\n"
    )
    assert result.returncode == 0, result.stderr
    for name in ("num_layers", "iteration", "save_every_n"):
        assert f"warning: args.{name}: not an argument of this project's parser" in result.stderr, name
    result = compile_with(root, tmp_path, INFERENCE_1_5, "args:\n  iteraton: 5000\n")
    assert "did you mean args.iteration" not in result.stderr, result.stderr


# Entry scripts that sample or train through code they import (the script's own text has
# no ``.sample`` and no ``training_main(``): M16 stays an error for each.
RUNS_THROUGH_IMPORTS = {
    # CogVideoX's sampling loop, imported: sample_video.py:154 calls model.sample
    "sample_again.py": "from sample_video import sampling_main\n"
    "from diffusion_video import SATVideoDiffusionEngine\nfrom arguments import get_args\n\n"
    'if __name__ == "__main__":\n    sampling_main(get_args(), model_cls=SATVideoDiffusionEngine)\n',
    # SAT's training loop under another name
    "train_aliased.py": "from sat.training.deepspeed_training import training_main as run_training\n"
    "from arguments import get_args\n\n"
    'if __name__ == "__main__":\n    run_training(get_args(), model_cls=None)\n',
    # a package re-exporting a helper (relative import) that samples
    "sample_packaged.py": "from runners import render\nfrom arguments import get_args\n\n"
    'if __name__ == "__main__":\n    render(get_args())\n',
    # the engine's sampler and denoiser called by hand, and its sampling by name
    "sample_by_hand.py": VAE_ONLY.replace(
        "    return model.decode_first_stage(latent)",
        "    latent = model.sampler(model.denoiser, latent, None)\n    return getattr(model, 'sample')(None)",
    ),
    # a project import satc cannot follow
    "sample_unknown.py": "from runners.missing import render\nfrom arguments import get_args\n\n"
    'if __name__ == "__main__":\n    render(get_args())\n',
}
RUNNERS_INIT = "from .render import render\n"
RUNNERS_RENDER = "def render(args):\n    model = args.model\n    return model.sample(None)\n"


def test_fp16_where_the_script_samples_or_trains_through_its_imports_is_an_error(tmp_path: Path) -> None:
    """M16 is relaxed only where satc is sure the script never runs the network: a script
    that reaches model.sample or SAT's training_main through a module it imports (CogVideoX's
    sampling_main, an alias, a package's re-export, the sampler by hand), or whose import
    satc cannot follow, keeps the error; the VAE-only script keeps its warning."""
    root = tmp_path / "tree" / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "vae_round_trip.py").write_text(VAE_ONLY, encoding="utf-8")
    for name, text in RUNS_THROUGH_IMPORTS.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "runners").mkdir()
    (root / "runners" / "__init__.py").write_text(RUNNERS_INIT, encoding="utf-8")
    (root / "runners" / "render.py").write_text(RUNNERS_RENDER, encoding="utf-8")
    layer = PATCH_1_0.replace("args:\n", "args:\n  fp16: true\n  bf16: false\n")
    launch = "launch:\n  entrypoint: {}\n"
    for name in RUNS_THROUGH_IMPORTS:
        result = compile_with(root, tmp_path, (*INFERENCE_1_0,), layer + launch.format(name))
        assert "error: args.fp16: CogVideoX-5B was trained in bf16" in result.stderr, (name, result.stderr)
        assert result.returncode == 2, name
    result = compile_with(root, tmp_path, (*INFERENCE_1_0,), layer + launch.format("vae_round_trip.py"))
    assert result.returncode == 0, result.stderr
    assert "but vae_round_trip.py never samples or trains it" in result.stderr
