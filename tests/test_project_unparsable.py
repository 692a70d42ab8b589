"""A project file that does not parse is what Python stops on where it runs: the parser
(every script imports it) and the launched script are V2 errors, a target's module an M2
error; with the parser unreadable nothing else is reported (every key is judged by it)."""

from __future__ import annotations

import shutil
from pathlib import Path

from support import cogvideo_sat, satc

CONFIGS = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")


def _broken_copy(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    with (root / name).open("a", encoding="utf-8") as handle:
        handle.write("\ndef broken(:\n")
    return root


def _compile(root: Path, tmp_path: Path, *argv: str) -> tuple[int, str]:
    done = satc(
        "compile", *argv, "-o", str(tmp_path / "out"), cwd=root, env={"SATC_CACHE_DIR": str(tmp_path / "c")}
    )
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists() or done.returncode == 0
    return done.returncode, done.stderr


def test_an_unparsable_parser_is_the_one_error(tmp_path: Path) -> None:
    root = _broken_copy(tmp_path, "arguments.py")
    rc, stderr = _compile(root, tmp_path, *CONFIGS)
    assert rc == 2
    lines = [line for line in stderr.splitlines() if "error: " in line and not line.startswith("satc:")]
    assert len(lines) == 1, stderr  # not one "unknown key" per key of the config
    assert "arguments.py does not parse (arguments.py:" in lines[0] and "[V2]" in lines[0], stderr
    assert "hint: fix the syntax error (python -m py_compile arguments.py shows it)" in stderr


def test_an_unparsable_launched_script_is_an_error(tmp_path: Path) -> None:
    root = _broken_copy(tmp_path, "sample_video.py")
    rc, stderr = _compile(root, tmp_path, "sample_video.py", *CONFIGS)
    assert rc == 2
    assert "sample_video.py does not parse (sample_video.py:" in stderr and "the launched script" in stderr


def test_an_unparsable_target_module_is_an_error_without_a_guess(tmp_path: Path) -> None:
    root = _broken_copy(tmp_path, "dit_video_concat.py")
    rc, stderr = _compile(root, tmp_path, *CONFIGS)
    assert rc == 2
    assert (
        "model.network_config.target: target 'dit_video_concat.DiffusionTransformer': its module does "
        "not parse (dit_video_concat.py:"
    ) in stderr, stderr
    assert "did you mean" not in stderr  # the name is right; the file is not


def test_a_nul_byte_is_named_without_a_line(tmp_path: Path) -> None:
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    with (root / "sample_video.py").open("ab") as handle:
        handle.write(b"\n# \x00\n")
    rc, stderr = _compile(root, tmp_path, "sample_video.py", *CONFIGS)
    assert rc == 2
    assert (
        "sample_video.py does not parse (sample_video.py: source code string cannot contain null bytes)"
        in (stderr)
    ), stderr
    assert ":None" not in stderr
