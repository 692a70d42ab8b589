"""Helpers for the launch tests: compile a config into a bundle, run scripts with fakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import support

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROBE = FIXTURES / "probe_ranks.py"
FAKE_NAMES = ("torchrun", "deepspeed", "srun", "sbatch", "scontrol")


def write_config(path: Path, launch: dict[str, Any], args: dict[str, Any] | None = None) -> Path:
    """JSON is YAML: every hostile string is written exactly, escapes and all."""
    config = {
        "args": {"mode": "pretrain", "train_iters": 10, "batch_size": 1, "train_data": ["d"], **(args or {})},
        "launch": {"device": "cpu", "gpus_per_node": 2, **launch},
    }
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def compile_bundle(
    tmp_path: Path,
    launch: dict[str, Any],
    *sets: str,
    out: str = "bundle",
    args: dict[str, Any] | None = None,
) -> Path:
    config = write_config(tmp_path / "config.yaml", launch, args)
    argv = ["compile", str(config), "-o", str(tmp_path / out)]
    for item in sets:
        argv += ["--set", item]
    result = support.satc(*argv)
    assert result.returncode == 0, result.stderr
    return tmp_path / out


def fake_bin(tmp_path: Path) -> Path:
    """Executables named like the launchers that dump argv and env (fixtures/fake_launcher.py)."""
    directory = tmp_path / "fakebin"
    directory.mkdir(exist_ok=True)
    source = (FIXTURES / "fake_launcher.py").read_text(encoding="utf-8")
    for name in FAKE_NAMES:
        target = directory / name
        target.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
        target.chmod(0o755)
    return directory


def run_with_fakes(
    script: Path, tmp_path: Path, *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    dump = tmp_path / "fake_dump.jsonl"
    dump.unlink(missing_ok=True)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    environment.update(
        {
            "PATH": f"{fake_bin(tmp_path)}{os.pathsep}{os.environ['PATH']}",
            "FAKE_DUMP": str(dump),
            **(env or {}),
        }
    )
    result = subprocess.run(
        ["bash", str(script), *argv],
        check=False,
        cwd=cwd or tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    records = (
        [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()] if dump.exists() else []
    )
    return result, records


def shellcheck(script: Path) -> subprocess.CompletedProcess[str]:
    tool = support.require_tool("shellcheck")
    return subprocess.run(
        [tool, "-S", "warning", str(script)], check=False, capture_output=True, text=True, timeout=60
    )


def read_probe(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return sorted(
        (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()),
        key=lambda record: record["rank"],
    )
