"""The 4k+1 frame rule follows the engine that hands frames to the 3D VAE.

CogVideoX's ``encode_first_stage`` gives the batch's frames to the VAE as they are
(diffusion_video.py:232-244 at e519ece), so a clip of 48 frames cannot become the 13
latent frames the network expects: M10 is an error there.  LV-Robotics-Lab/LayerFlow
(0a8a65c, sat/diffusion_video.py:395-398) prepends the first frame before the VAE and ships
16-frame layers; there the count is the project's business.  A copy of CogVideoX's real
``sat/`` is changed the same way: the same config then compiles, with a warning.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from support import cogvideo_sat, satc

LAYER = """\
model:
  network_config:
    params:
      patch_size: [1, 2, 2]
"""
DIRECT = "        n_samples = default(self.en_and_decode_n_samples_a_time, x.shape[0])\n"
PREPENDS = "        x = torch.cat([x[:, :, 0:1], x], dim=2)\n" + DIRECT


def _project(tmp_path: Path) -> Path:
    sat = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), sat, ignore=shutil.ignore_patterns("__pycache__", "*.pt", "ckpts*"))
    (sat / "layer.yaml").write_text(LAYER)
    return sat


def _compile(sat: Path):
    return satc(
        "compile",
        "configs/cogvideox_5b_lora.yaml",
        "layer.yaml",
        "configs/sft.yaml",
        "--set",
        "data.params.max_num_frames=48",
        "-o",
        "b",
        cwd=sat,
    )


def test_frames_the_engine_hands_to_the_vae_unchanged_must_be_4k_plus_1(tmp_path: Path) -> None:
    sat = _project(tmp_path)
    refused = _compile(sat)
    assert refused.returncode == 2, refused.stderr
    assert "data.params.max_num_frames: 48 frames: the 3D VAE needs 4k+1 video frames" in refused.stderr
    assert "hint: use 49" in refused.stderr
    assert not (sat / "b").exists()


def test_an_engine_that_changes_the_frame_count_before_the_vae_leaves_it_to_the_project(
    tmp_path: Path,
) -> None:
    sat = _project(tmp_path)
    engine = sat / "diffusion_video.py"
    text = engine.read_text()
    assert text.count(DIRECT) == 1, "diffusion_video.py changed upstream"
    engine.write_text(text.replace(DIRECT, PREPENDS))
    result = _compile(sat)
    assert result.returncode == 0, result.stderr
    assert "the 3D VAE needs" not in result.stderr
    assert (
        "warning: data.params.max_num_frames: 48 frames: CogVideoX's 3D VAE takes 4k+1 video frames, "
        "but this project changes the frame count before it (diffusion_video.py:239): left to its code [M10]"
    ) in result.stderr
    assert "[M12]" not in result.stderr


def test_an_engine_subclass_without_its_own_encode_first_stage_runs_its_bases(tmp_path: Path) -> None:
    """A project engine that subclasses CogVideoX's and keeps its ``encode_first_stage``
    hands frames to the VAE as CogVideoX does: the rule still refuses."""
    sat = _project(tmp_path)
    engine = sat / "diffusion_video.py"
    engine.write_text(engine.read_text() + "\n\nclass LayerEngine(SATVideoDiffusionEngine):\n    pass\n")
    for name in ("train_video.py", "sample_video.py"):
        script = sat / name
        text = script.read_text()
        assert "model_cls=SATVideoDiffusionEngine" in text, f"{name} changed upstream"
        script.write_text(
            text.replace("model_cls=SATVideoDiffusionEngine", "model_cls=LayerEngine").replace(
                "from diffusion_video import SATVideoDiffusionEngine\n",
                "from diffusion_video import LayerEngine, SATVideoDiffusionEngine\n",
            )
        )
    refused = _compile(sat)
    assert refused.returncode == 2, refused.stderr
    assert "data.params.max_num_frames: 48 frames: the 3D VAE needs 4k+1 video frames" in refused.stderr
