"""The README's pre-commit snippets work as written: pinned to a commit sha, and local.

pre-commit clones satc at the pinned `rev:`, installs it into its own environment
and runs the `satc-check` hook of `.pre-commit-hooks.yaml`: a commit passes while the
committed bundle matches its configs and fails with the drift once a config changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import support

CONFIG = "args:\n  mode: inference\n  seed: 7\n"


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=600
    )


def _user_repo(root: Path, hook: str) -> Path:
    repo = root / "user"
    (repo / "configs").mkdir(parents=True)
    (repo / "bundles").mkdir()
    (repo / "configs" / "run.yaml").write_text(CONFIG)
    compiled = support.satc("compile", "configs/run.yaml", "-o", "bundles/run", cwd=repo)
    assert compiled.returncode == 0, compiled.stderr
    (repo / ".pre-commit-config.yaml").write_text(hook)
    for argv in (["git", "init", "-q"], ["git", "add", "-A"]):
        assert _run(argv, repo).returncode == 0
    return repo


def _pre_commit(repo: Path, home: Path, path: str = "") -> subprocess.CompletedProcess[str]:
    pre_commit = support.require_tool("pre-commit")
    env = {"PRE_COMMIT_HOME": str(home), "PATH": f"{path}{os.pathsep if path else ''}{os.environ['PATH']}"}
    return _run([pre_commit, "run", "--all-files"], repo, env)


def _drift(repo: Path) -> None:
    (repo / "configs" / "run.yaml").write_text(CONFIG.replace("7", "8"))
    assert _run(["git", "add", "-A"], repo).returncode == 0


def test_hook_pinned_to_a_commit_sha(tmp_path: Path) -> None:
    support.require_tool("git")
    head = _run(["git", "rev-parse", "HEAD"], support.ROOT)
    support.require(head.returncode == 0, "the satc checkout is a git repository")
    sha = head.stdout.strip()
    hook = f"repos:\n  - repo: {support.ROOT.as_uri()}\n    rev: {sha}\n    hooks:\n      - id: satc-check\n"
    repo = _user_repo(tmp_path, hook)
    clean = _pre_commit(repo, tmp_path / "cache")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "satc check" in clean.stdout and "Passed" in clean.stdout
    _drift(repo)
    drifted = _pre_commit(repo, tmp_path / "cache")
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert "bundles/run: DRIFT" in drifted.stdout and "args.seed: 7 -> 8" in drifted.stdout


def test_local_hook_uses_the_installed_satc(tmp_path: Path) -> None:
    hook = (
        "repos:\n"
        "  - repo: local\n"
        "    hooks:\n"
        "      - id: satc-check\n"
        "        name: satc check\n"
        "        entry: satc check --all --quiet\n"
        "        language: system\n"
        "        pass_filenames: false\n"
        "        always_run: true\n"
    )
    repo = _user_repo(tmp_path, hook)
    scripts = str(Path(sys.executable).parent)  # where this environment's `satc` lives
    assert _pre_commit(repo, tmp_path / "cache", scripts).returncode == 0
    _drift(repo)
    drifted = _pre_commit(repo, tmp_path / "cache", scripts)
    assert drifted.returncode == 1 and "bundles/run: DRIFT" in drifted.stdout
