"""`pip install .` ships templates and schemas and installs only the `satc` package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import CASES, ROOT


def test_wheel_install_compiles_from_anywhere(tmp_path: Path) -> None:
    target = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    installed = {p.name for p in target.iterdir() if not p.name.endswith(".dist-info")}
    assert installed - {"bin"} == {"satc"}  # no `compiler`, `tests`, `tools` in site-packages
    assert (target / "satc" / "schemas" / "satc.schema.json").is_file()
    assert list((target / "satc" / "templates").glob("*.sh.j2"))
    # and each template's precompiled code (templates/*_sh.py: no jinja2 when compiling)
    assert {p.name.removesuffix(".j2").replace(".", "_") + ".py" for p in ROOT.glob("templates/*.sh.j2")} <= {
        p.name for p in (target / "satc" / "templates").glob("*_sh.py")
    }
    case = CASES / "cogvideox_2b_sft"
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "satc",
            "compile",
            str(case / "cogvideox_2b.yaml"),
            str(case / "sft.yaml"),
            "-o",
            str(tmp_path / "bundle"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    probe = subprocess.run(
        [sys.executable, "-c", "import satc; print(satc.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip().startswith(str(target))
    assert sorted(p.name for p in (tmp_path / "bundle").iterdir()) == [
        "args.json",
        "config.yaml",
        "ds_config.json",
        "launch.sh",
    ]
