"""Run CogVideoX's own entrypoints on a tiny model, the satc way and the reference way.

* ``workspace``: a copy of CogVideoX's ``sat/`` folder (read through
  ``support.cogvideo_sat()``, copied at test time, never into the repository) with
  the one-line import change, plus a tiny random T5 + tokenizer and a few tiny clips,
  all generated here: nothing is downloaded.
* ``reference_workspace``: the same folder unchanged, for CogVideoX's own ``get_args``.
* ``run_satc`` starts ``bash BUNDLE/launch.sh`` from the copied ``sat/`` directory, as
  the README tells users; ``run_reference`` starts CogVideoX's unchanged script under
  torchrun with ``--base`` the same configs.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from support import ROOT, cogvideo_sat, require, satc

FIXTURES = ROOT / "tests" / "fixtures" / "cogvideox"
TINY_LAYER = ROOT / "examples" / "cogvideox" / "tiny_lora_cpu.yaml"
# ci/test.sh installs torchvision and PyAV (to write the clips) here, beside (not into) the
# venv: PyPI's torchvision wheels are CUDA builds whose import needs the harness's
# sitecustomize, which only CogVideoX runs get.
EXTRA_SITE = Path(sys.prefix) / "cogvideox-extra"
IMPORT_LINE = "from arguments import get_args"
SATC_IMPORT = "from satc.runtime import get_args"
CONFIGS = ("configs/cogvideox_5b_lora.yaml", "configs/sft.yaml")
# What the reference needs to train on CPU at all: its get_args refuses training when
# args.device ('cpu', no GPU) differs from args.local_rank (0), so both say 'cpu'
# (DeepSpeed resets args.local_rank from LOCAL_RANK later). satc needs none of this.
REFERENCE_LAYER = "args:\n  device: cpu\n  local_rank: cpu\n  distributed_backend: gloo\n"
# Sampling needs only the backend (the reference defaults to nccl; satc's D8 picks gloo).
REFERENCE_SAMPLING_LAYER = "args:\n  distributed_backend: gloo\n"
WORDS = [
    "a",
    "tiny",
    "clip",
    "of",
    "a",
    "red",
    "square",
    "moving",
    "over",
    "a",
    "blue",
    "field",
    "while",
    "the",
    "camera",
    "pans",
]
# SAT's log line: "iteration 1/ 2 | ... | total loss 1.155447E+00 | loss 1.155447E+00 |..."
LOSS = re.compile(r"iteration\s+(\d+)/\s*\d+ \|.*?\| loss ([0-9.Ee+-]+)")


def require_cogvideox_stack() -> None:
    for package in ("torchvision", "av"):
        require(
            EXTRA_SITE.joinpath(package).is_dir(), f"{package} not installed in {EXTRA_SITE} (ci/test.sh)"
        )
    for module in ("decord", "sentencepiece", "transformers"):
        require(_importable(module), f"python module {module} not installed")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _copy_sat(target: Path) -> Path:
    shutil.copytree(
        cogvideo_sat(), target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.md", "LICENSE")
    )
    return target


def _one_line_change(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    assert text.count(IMPORT_LINE) == 1, f"{script.name}: expected one `{IMPORT_LINE}`"
    script.write_text(text.replace(IMPORT_LINE, SATC_IMPORT), encoding="utf-8")


def _tiny_t5(directory: Path) -> None:
    """A random T5 encoder (d_model 32) and a sentencepiece tokenizer trained on a few words."""
    import sentencepiece
    import torch
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    directory.mkdir(parents=True)
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([" ".join(WORDS)] * 50),
        model_writer=model,
        vocab_size=32,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        minloglevel=2,
    )
    (directory / "spiece.model").write_bytes(model.getvalue())
    tokenizer = T5Tokenizer(vocab_file=str(directory / "spiece.model"), extra_ids=0)
    tokenizer.save_pretrained(directory)
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=1,
        num_heads=4,
        feed_forward_proj="gated-gelu",
        is_encoder_decoder=False,
    )
    T5EncoderModel(config).save_pretrained(directory)


def _tiny_clips(directory: Path, count: int = 2) -> None:
    """``count`` 8-frame 32x32 mp4 clips with captions, in SFTDataset's videos/labels layout."""
    import av
    import numpy as np

    rng = np.random.default_rng(0)
    (directory / "videos").mkdir(parents=True)
    (directory / "labels").mkdir(parents=True)
    for index in range(count):
        with av.open(str(directory / "videos" / f"{index}.mp4"), "w") as container:
            stream = container.add_stream("mpeg4", rate=8)
            stream.width = stream.height = 32
            stream.pix_fmt = "yuv420p"
            for _ in range(8):
                pixels = rng.integers(0, 255, size=(32, 32, 3), dtype=np.uint8)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
            container.mux(stream.encode())
        (directory / "labels" / f"{index}.txt").write_text(" ".join(WORDS[index : index + 5]) + "\n")


def _tiny_assets(sat: Path, assets: Path) -> None:
    (sat / "tiny").symlink_to(assets, target_is_directory=True)


def make_assets(directory: Path) -> Path:
    """Tiny T5, tokenizer and clips, generated once per test session."""
    env_ready = directory / "t5" / "model.safetensors"
    if not env_ready.is_file():
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); import cogvideox_harness as h; "
            "from pathlib import Path; d = Path(sys.argv[2]); h._tiny_t5(d / 't5'); h._tiny_clips(d / 'clips')"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "tests"), str(directory)],
            env=harness_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    return directory


def workspace(directory: Path, assets: Path) -> Path:
    """sat/ with the one-line import change in train_video.py and sample_video.py."""
    sat = _copy_sat(directory / "sat")
    for name in ("train_video.py", "sample_video.py"):
        _one_line_change(sat / name)
    _tiny_assets(sat, assets)
    return sat


def reference_workspace(directory: Path, assets: Path) -> Path:
    sat = _copy_sat(directory / "sat")
    _tiny_assets(sat, assets)
    (sat / "reference_cpu.yaml").write_text(REFERENCE_LAYER, encoding="utf-8")
    (sat / "reference_gloo.yaml").write_text(REFERENCE_SAMPLING_LAYER, encoding="utf-8")
    return sat


def model_report(path: Path) -> dict[str, object]:
    import json

    return dict(json.loads(path.read_text(encoding="utf-8")))


def harness_env(reference: bool = False, **extra: str) -> dict[str, str]:
    from reference.harness import clean_env

    path = [str(FIXTURES), str(EXTRA_SITE), os.environ.get("PYTHONPATH", "")]
    env = clean_env(
        PYTHONPATH=os.pathsep.join(p for p in path if p),
        PYTHONDONTWRITEBYTECODE="1",
        SATC_HARNESS_REFERENCE="1" if reference else "0",
        WANDB_MODE="disabled",
        TOKENIZERS_PARALLELISM="false",
        **extra,
    )
    # torchrun and `python3` in launch.sh must be this interpreter.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def compile_tiny(sat: Path, out: str, ranks: int, *extra: str) -> Path:
    result = satc(
        "compile",
        *CONFIGS,
        str(TINY_LAYER),
        "-o",
        out,
        "--set",
        f"launch.gpus_per_node={ranks}",
        *extra,
        cwd=sat,
    )
    assert result.returncode == 0, result.stderr
    return sat / out


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    losses: dict[int, float]

    def check(self) -> Run:
        assert self.returncode == 0, self.output[-6000:]
        return self


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Run:
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    losses = {int(step): float(loss) for step, loss in LOSS.findall(result.stdout)}
    return Run(result.returncode, result.stdout, losses)


def run_satc(sat: Path, bundle: str, *argv: str, timeout: float = 600, **env: str) -> Run:
    return _run(["bash", f"{bundle}/launch.sh", *argv], sat, harness_env(**env), timeout)


def run_reference(sat: Path, script: str, ranks: int, *configs: str, timeout: float = 600, **env: str) -> Run:
    from reference.harness import free_port, torchrun

    command = [
        torchrun(),
        f"--nproc-per-node={ranks}",
        "--master-addr=127.0.0.1",
        f"--master-port={free_port()}",
        script,
        "--base",
        *(configs or (*CONFIGS, str(TINY_LAYER), "reference_cpu.yaml")),
    ]
    return _run(command, sat, harness_env(reference=True, LOCAL_WORLD_SIZE=str(ranks), **env), timeout)


def checkpoint(sat: Path, tag: str = "2", save: str = "ckpts_tiny") -> dict[str, object]:
    """The tensors of checkpoint TAG under sat/SAVE (SAT adds a timestamp to the folder)."""
    import torch

    found = sorted((sat / save).glob(f"*/{tag}/mp_rank_00_model_states.pt"))
    assert len(found) == 1, f"expected one checkpoint under {sat / save}, found {found}"
    state = torch.load(found[0], map_location="cpu", weights_only=False)
    return dict(state["module"])
