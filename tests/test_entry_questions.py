"""M24 asks whether the launched script (or a project module it imports) reads
`image2video`: a script satc can follow and that never reads it needs no key; one it cannot
follow is judged as CogVideoX's sample_video.py, and the message says why."""

from __future__ import annotations

import shutil
from pathlib import Path

from support import cogvideo_sat, satc

I2V = ("configs/cogvideox1.5_5b_i2v.yaml", "configs/inference.yaml")
SCRIPT = "from arguments import get_args\n\nif __name__ == '__main__':\n    args = get_args()\n"


def _compile(root: Path, tmp_path: Path, script: str) -> tuple[int, str]:
    done = satc(
        "compile",
        script,
        *I2V,
        "-o",
        str(tmp_path / "out"),
        cwd=root,
        env={"SATC_CACHE_DIR": str(tmp_path / "c")},
    )
    assert "Traceback" not in done.stderr
    return done.returncode, done.stderr


def test_a_script_that_never_reads_it_and_one_satc_cannot_follow(tmp_path: Path) -> None:
    root = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (root / "s1.py").write_text(SCRIPT)
    rc, stderr = _compile(root, tmp_path, "s1.py")
    assert rc == 0 and "M24" not in stderr, stderr
    # the same script in a subfolder: `python scripts/s1.py` imports from scripts/, which
    # satc does not follow; the rule applies and says so
    (root / "scripts").mkdir()
    (root / "scripts" / "s1.py").write_text(SCRIPT)
    (root / "s1.py").unlink()
    rc, stderr = _compile(root, tmp_path, "scripts/s1.py")
    assert rc == 2
    assert "satc could not follow s1.py or one of the project modules it imports" in stderr, stderr
    # sample_video.py reads it: the rule applies, with nothing to excuse
    rc, stderr = _compile(root, tmp_path, "sample_video.py")
    assert rc == 2 and "[M24]" in stderr and "could not follow" not in stderr, stderr
