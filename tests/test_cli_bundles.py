"""The committed-bundle commands through click: schema, help, shell completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from satc.compiler import resources
from satc.compiler.cli import main
from support import require_tool, satc


def test_schema_prints_the_json_schema_byte_for_byte() -> None:
    result = satc("schema")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == resources.editor_schema_text()
    schema = json.loads(result.stdout)
    assert {"args", "deepspeed", "launch", "model", "data"} <= set(schema["properties"])
    assert {k: v for k, v in schema.items() if k not in ("properties", "$defs")} == {
        k: v for k, v in resources.schema().items() if k not in ("properties", "$defs")
    }


@pytest.mark.parametrize("command", ["check", "explain", "diff", "schema"])
def test_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"], prog_name="satc")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: satc {command}")


def test_check_help_lists_its_three_forms() -> None:
    out = CliRunner().invoke(main, ["check", "--help"], prog_name="satc").stdout
    assert "satc check CONFIG... -o DIR [--set K=V]..." in out
    assert "satc check --all [--root DIR]" in out
    # The exit-code rule over several targets, and the hook's case, are documented.
    words = " ".join(out.split())
    assert "2 if any target is invalid, else 1 if any drifted, else 0" in words
    assert "--all over a root holding no bundles says so and exits 0" in words


def test_bash_completion_through_the_real_shell(tmp_path: Path) -> None:
    bash = require_tool("bash")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "satc"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m satc "$@"\n')
    wrapper.chmod(0o755)
    script = (
        'eval "$(_SATC_COMPLETE=bash_source satc)"\n'
        "COMP_WORDS=(satc ch); COMP_CWORD=1; _satc_completion satc\n"
        'printf "<%s>\\n" "${COMPREPLY[@]}"\n'
        "COMPREPLY=(); COMP_WORDS=(satc check --al); COMP_CWORD=2; _satc_completion satc\n"
        'printf "<%s>\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        [bash, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["<check>", "<--all>"]


def test_python_m_satc_reads_as_satc() -> None:
    result = satc("--help")
    assert result.returncode == 0 and result.stdout.startswith("Usage: satc ")
