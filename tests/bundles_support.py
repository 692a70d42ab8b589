"""A repository with committed bundles, as a user keeps one, for check/diff/determinism tests.

Layout (relative paths matter: bundles record their inputs relative to themselves):
    repo/configs/{base,experiment,deepspeed}.yaml      (tests/cases/bundles)
    repo/configs/reference/*.yaml                        (CogVideoX's official configs)
    repo/bundles/<name>/                                 (compiled by the real CLI)
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import yaml
from support import CASES, REFERENCE, satc

# name -> (configs relative to the repo, overrides)
BUNDLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "exp": (("configs/base.yaml", "configs/experiment.yaml"), ("args.save=ckpt",)),
    "ds": (("configs/deepspeed.yaml",), ()),
    "sft": (
        ("configs/reference/cogvideox_5b_lora.yaml", "configs/reference/sft.yaml"),
        ("launch.device=cpu",),
    ),
    # The shipped inference.yaml samples like CogVideoX 1.5; a 1.0 model needs the README's
    # 13 latent frames at 480x720 (model rules M14, M15).
    "infer": (
        ("configs/reference/cogvideox_2b.yaml", "configs/reference/inference.yaml"),
        ("args.sampling_num_frames=13", "args.sampling_image_size=[480,720]"),
    ),
}


def make_repo(root: Path, shuffle: bool = False) -> Path:
    """Copy the configs under ``root``; with ``shuffle`` every mapping's keys are reversed."""
    configs = root / "configs"
    (configs / "reference").mkdir(parents=True)
    (root / "bundles").mkdir()
    for name in ("base.yaml", "experiment.yaml", "deepspeed.yaml"):
        shutil.copy(CASES / "bundles" / name, configs / name)
    for name in ("cogvideox_2b.yaml", "cogvideox_5b_lora.yaml", "inference.yaml", "sft.yaml"):
        shutil.copy(REFERENCE / name, configs / "reference" / name)
    if shuffle:
        for path in sorted(configs.rglob("*.yaml")):
            path.write_text(reversed_keys_yaml(path.read_text("utf-8")), "utf-8")
    return root


def reversed_keys_yaml(text: str) -> str:
    """The same values with every mapping's keys in reverse order (comments dropped).

    Loaded with OmegaConf's own YAML loader, so `1e-8` stays a float."""
    from omegaconf._yaml import get_yaml_loader

    data = yaml.load(text, Loader=get_yaml_loader())

    def reverse(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: reverse(node[key]) for key in reversed(list(node))}
        if isinstance(node, list):
            return [reverse(item) for item in node]
        return node

    return yaml.safe_dump(reverse(data), sort_keys=False, default_flow_style=False)


def compile_all(
    repo: Path, cwd: Path | None = None, prefix: str = "", env: dict[str, str] | None = None
) -> None:
    """Compile every bundle with the real CLI; paths are ``prefix`` + repo-relative."""
    for name, (configs, overrides) in BUNDLES.items():
        argv = ["compile", *(prefix + c for c in configs), "-o", f"{prefix}bundles/{name}"]
        for override in overrides:
            argv += ["--set", override]
        result = satc(*argv, cwd=cwd or repo, env=env)
        assert result.returncode == 0, result.stderr


def file_hashes(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory``, by relative path."""
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }
