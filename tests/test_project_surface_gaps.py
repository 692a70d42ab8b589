"""What satc reads of a project where its code is written less plainly: arguments added
in a loop, a class alias as ``target:``, hints and entry scripts.

Each test edits a copy of CogVideoX's ``sat/`` (../shared/reference/cogvideo-sat) and
compiles from it as a user of such a project would (cwd = the entrypoint folder).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support import cogvideo_sat, satc

INFERENCE = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")
SAMPLING_GROUP = '    group = parser.add_argument_group("sampling", "Sampling Configurations")\n'


def copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "project" / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def compile_layer(root: Path, tmp_path: Path, layer: str, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "layer.yaml").write_text(layer, encoding="utf-8")
    return satc(
        "compile",
        *INFERENCE,
        str(tmp_path / "layer.yaml"),
        *extra,
        "-o",
        str(tmp_path / "bundle"),
        cwd=root,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error:" in line]


def test_arguments_added_in_a_loop_over_literal_names_are_known(tmp_path: Path) -> None:
    """A parser that adds several flags with one ``add_argument`` in a loop over a literal
    tuple (``f"--{name}"`` and ``"--" + name``) declares each of them."""
    root = copy_tree(tmp_path)
    edit(
        root / "arguments.py",
        SAMPLING_GROUP,
        SAMPLING_GROUP
        + '    for name in ("flow_weight", "depth_weight"):\n'
        + '        group.add_argument(f"--{name}", type=float, default=0.0)\n'
        + '    extra = ["mask-ratio", "edge_weight"]\n'
        + "    for name in extra:\n"
        + '        group.add_argument("--" + name, type=float, default=0.5)\n',
    )
    layer = "args:\n  flow_weight: 0.5\n  depth_weight: 0.25\n  mask_ratio: 0.1\n  edge_weight: 1.0\n"
    result = compile_layer(root, tmp_path, layer)
    assert not errors(result.stderr), result.stderr
    assert result.returncode == 0, result.stderr
    args = json.loads((tmp_path / "bundle" / "args.json").read_text(encoding="utf-8"))["args"]
    assert (args["flow_weight"], args["mask_ratio"], args["edge_weight"]) == (0.5, 0.1, 1.0)
    # A typo of one of them is still caught, with the right suggestion.
    result = compile_layer(root, tmp_path, "args:\n  flow_wieght: 0.5\n")
    assert result.returncode == 2
    assert "did you mean args.flow_weight?" in result.stderr, result.stderr


def test_an_unknown_args_key_beside_an_unreadable_add_argument_is_a_warning(tmp_path: Path) -> None:
    """Where the parser adds an argument satc cannot read, satc cannot be sure a key is
    unknown: it says so, naming that call, and does not refuse."""
    root = copy_tree(tmp_path)
    edit(
        root / "arguments.py",
        SAMPLING_GROUP,
        SAMPLING_GROUP + '    for name in sorted({"flow_weight"}):\n'
        '        group.add_argument(f"--{name}", type=float, default=0.0)\n',
    )
    result = compile_layer(root, tmp_path, "args:\n  flow_weight: 0.5\n")
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "args.flow_weight" in line]
    assert warned and all(": warning:" in line for line in warned), result.stderr
    assert "arguments.py:" in "".join(warned), result.stderr


@pytest.mark.parametrize("alias", ["DiffusionTransformer", "dit_video_concat.DiffusionTransformer"])
def test_a_module_level_alias_of_a_class_is_a_target(tmp_path: Path, alias: str) -> None:
    """``AliasNet = DiffusionTransformer`` at module level: ``dit_video_concat.AliasNet``
    builds that class, and its parameters are judged as that class's."""
    root = copy_tree(tmp_path)
    module = root / "dit_video_concat.py"
    prefix = "import dit_video_concat\n" if "." in alias else ""
    module.write_text(
        module.read_text(encoding="utf-8") + f"\n{prefix}AliasNet = {alias}\n", encoding="utf-8"
    )
    layer = "model:\n  network_config:\n    target: dit_video_concat.AliasNet\n"
    result = compile_layer(root, tmp_path, layer)
    assert not errors(result.stderr), result.stderr
    assert result.returncode == 0, result.stderr
    # A parameter the aliased class does not take is still caught.
    layer += "    params:\n      hidden_sizee: 3072\n"
    result = compile_layer(root, tmp_path, layer)
    assert result.returncode == 2
    assert "hidden_size" in result.stderr, result.stderr


def test_did_you_mean_never_offers_a_dest_satc_computes_per_process(tmp_path: Path) -> None:
    """``lora_rank`` is two edits from ``local_rank``, which the launcher sets per process:
    a config cannot set it, so it is no suggestion."""
    root = copy_tree(tmp_path)
    result = compile_layer(root, tmp_path, "args: {}\n", "--set", "args.lora_rank=64")
    assert result.returncode == 2, result.stderr
    assert "args.lora_rank" in result.stderr, result.stderr
    assert "local_rank" not in result.stderr, result.stderr


LIBRARY_MODULE = '''"""A model base whose classmethod builds its own namespace."""

from arguments import get_args


class BaseModel:
    @classmethod
    def from_command_line(cls, argv):
        return cls(cls.get_args(argv))

    def again(self):
        return self.get_args([])

    @staticmethod
    def get_args(argv):
        return get_args(argv)
'''


def test_a_library_module_calling_get_args_in_a_method_is_no_entry_script(tmp_path: Path) -> None:
    """Only a script that runs ``get_args`` (at module level, under ``__main__``, or from a
    function called there) is an entrypoint: the project's one training script is taken,
    and a library module is never offered."""
    root = copy_tree(tmp_path)
    (root / "train_video.py").rename(root / "finetune.py")
    (root / "sample_video.py").unlink()
    (root / "base_model.py").write_text(LIBRARY_MODULE, encoding="utf-8")
    (tmp_path / "layer.yaml").write_text("args: {}\n", encoding="utf-8")
    result = satc(
        "explain",
        "configs/cogvideox1.5_5b_i2v.yaml",
        "configs/sft.yaml",
        str(tmp_path / "layer.yaml"),
        "launch.entrypoint",
        cwd=root,
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert "base_model.py" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert "finetune.py" in result.stdout, result.stdout + result.stderr
