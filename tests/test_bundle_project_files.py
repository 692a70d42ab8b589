"""A bundle records the project files that judged its own config: the same bytes from a
cold cache as from one that other compiles (another target, an entry question a rule
asked, `satc schema`) filled with more facts -- so `satc check` on a fresh machine finds
no drift where nothing changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from support import cogvideo_sat, satc

T2V = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")
I2V = ("configs/cogvideox1.5_5b_i2v.yaml", "configs/inference.yaml", "i2v.yaml")


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # a script of the user's own that reaches its own helper, which imports sgm
    (root / "my_sample.py").write_text(
        "import my_helper\nfrom arguments import get_args\n\n"
        "if __name__ == '__main__':\n    my_helper.run(get_args())\n"
    )
    (root / "my_helper.py").write_text("import sgm\n\n\ndef run(args):\n    return args.seed\n")
    (root / "i2v.yaml").write_text("args:\n  sampling_image_size: null\n")
    return root


def _compile(root: Path, cache: Path, out: Path, *argv: str) -> dict:
    done = satc(
        "compile", "my_sample.py", *argv, "-o", str(out), cwd=root, env={"SATC_CACHE_DIR": str(cache)}
    )
    assert done.returncode == 0, done.stderr
    return json.loads((out / "args.json").read_text())


def _files(bundle: dict) -> list[str]:
    return [f["path"] for f in bundle["provenance"]["project"]["files"]]


def test_a_bundle_records_the_files_of_its_own_config_whatever_the_cache_holds(tmp_path: Path) -> None:
    root = _project(tmp_path)
    cold_t2v = _compile(root, tmp_path / "cold1", tmp_path / "a", *T2V)
    cold_i2v = _compile(root, tmp_path / "cold2", tmp_path / "b", *I2V)
    # M24 asked whether my_sample.py (or what it imports) reads image2video: the answer
    # followed its imports (my_helper.py's `import sgm`), and those files judged the I2V
    # bundle only
    assert "sgm/__init__.py" in _files(cold_i2v)
    assert "sgm/__init__.py" not in _files(cold_t2v)
    shared = tmp_path / "shared"
    assert satc("schema", cwd=root, env={"SATC_CACHE_DIR": str(shared)}).returncode == 0
    _compile(root, shared, tmp_path / "c", *I2V)
    other = satc(
        "compile",
        "my_sample.py",
        *T2V,
        "--set",
        "model.loss_fn_config.target=sgm.modules.diffusionmodules.lora.LoRALinearLayer",
        "-o",
        str(tmp_path / "d"),
        cwd=root,
        env={"SATC_CACHE_DIR": str(shared)},
    )
    assert other.returncode == 2  # refused, but its target's facts are cached now
    warm_t2v = _compile(root, shared, tmp_path / "e", *T2V)
    assert (tmp_path / "e" / "args.json").read_bytes() == (tmp_path / "a" / "args.json").read_bytes()
    assert _files(warm_t2v) == _files(cold_t2v)
    warm_i2v = _compile(root, shared, tmp_path / "f", *I2V)
    assert (tmp_path / "f" / "args.json").read_bytes() == (tmp_path / "b" / "args.json").read_bytes()
    assert _files(warm_i2v) == _files(cold_i2v)
    # and satc check with a fresh cache finds the warm bundle up to date
    check = satc("check", str(tmp_path / "e"), cwd=root, env={"SATC_CACHE_DIR": str(tmp_path / "fresh")})
    assert check.returncode == 0, check.stdout + check.stderr


def test_check_names_the_code_that_changed_when_the_config_no_longer_compiles(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _compile(root, tmp_path / "cache", tmp_path / "bundle", *T2V)
    network = root / "dit_video_concat.py"
    network.write_text(network.read_text() + "\ndef broken(:\n")  # someone's edit in progress
    check = satc("check", str(tmp_path / "bundle"), cwd=root, env={"SATC_CACHE_DIR": str(tmp_path / "cache")})
    assert check.returncode == 2, check.stdout + check.stderr
    assert "its module does not parse (dit_video_concat.py:" in check.stderr, check.stderr
    assert "since then the project's code changed: dit_video_concat.py" in check.stderr, check.stderr
