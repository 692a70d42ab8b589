"""One message per key: where a rule refuses a value, the weaker argparse type warning on
the same key is not printed beside it.

``--set args.sampling_num_frames=abc`` on CogVideoX's tree is an error (M14: sampling
builds the latent's shape from it, sample_video.py:157) and also a value of another type
than ``type=int`` (arguments.py:48), a warning on its own.  The user sees the error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import cogvideo_sat, satc

BASES = ("configs/cogvideox1.5_5b.yaml", "configs/inference.yaml")


def _stderr(tmp_path: Path, *sets: str) -> tuple[int, str]:
    out = tmp_path / "bundle"
    result = satc(
        "compile",
        *BASES,
        "-o",
        str(out),
        *[item for value in sets for item in ("--set", value)],
        cwd=cogvideo_sat(),
        env={"SATC_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert "Traceback" not in result.stderr
    assert not out.exists() or result.returncode == 0
    return result.returncode, result.stderr


def _lines_about(stderr: str, key: str) -> list[str]:
    return [line for line in stderr.splitlines() if f": {key}: " in line]


@pytest.mark.parametrize("value", ["abc", "13.5", "'13'"])
def test_a_rule_error_replaces_the_type_warning_on_its_key(tmp_path: Path, value: str) -> None:
    rc, stderr = _stderr(tmp_path, f"args.sampling_num_frames={value}")
    assert rc == 2, stderr
    lines = _lines_about(stderr, "args.sampling_num_frames")
    assert len(lines) == 1, stderr
    assert "error: args.sampling_num_frames:" in lines[0] and "[M14]" in lines[0]


def test_beside_another_refused_key_too(tmp_path: Path) -> None:
    """Validation refuses args.batch_size first; the model rules still run (one round) and
    their M14 error replaces the type warning there as well."""
    rc, stderr = _stderr(tmp_path, "args.batch_size=abc", "args.sampling_num_frames=abc")
    assert rc == 2, stderr
    lines = _lines_about(stderr, "args.sampling_num_frames")
    assert len(lines) == 1 and "[M14]" in lines[0], stderr
    assert len(_lines_about(stderr, "args.batch_size")) == 1, stderr


def test_the_type_warning_stays_where_no_rule_covers_the_key(tmp_path: Path) -> None:
    rc, stderr = _stderr(tmp_path, "args.sampling_fps=abc")
    assert rc == 0, stderr
    assert "warning: args.sampling_fps: argparse declares an integer" in stderr


def test_a_trusted_rule_error_replaces_the_type_warning_too(tmp_path: Path) -> None:
    """satc.trust shows the reviewed error as a warning: still the one message on its key."""
    rc, stderr = _stderr(tmp_path, "args.sampling_num_frames='22'", "satc.trust=[args.sampling_num_frames]")
    assert rc == 0, stderr
    lines = _lines_about(stderr, "args.sampling_num_frames")
    assert len(lines) == 1, stderr
    assert "trusted (satc.trust: args.sampling_num_frames)" in lines[0]
