"""Secrets never reach a bundle (which is committed) nor a message (RELIABILITY.md "Secrets").

Policy: no `${oc.env:...}` in frozen fields; runtime-only variables are listed by name in
launch.env_passthrough and checked by the script; credential-named keys with literal
values are refused; every output is scanned for token shapes before it is written.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from satc.compiler import credentials
from satc.compiler.errors import ConfigError
from support import satc, tree_digest

FAKE_WANDB = "0123456789abcdef0123456789abcdef01234567"
FAKE_HF = "hf_" + "Qw3rTy" * 6
TOKENS = {
    "aws": "AKIA" + "ABCDEFGHIJKLMNOP",
    "hugging-face": FAKE_HF,
    "github": "ghp_" + "a1B2" * 9,
    "slack": "xoxb-" + "1234567890-abcdef",
    "openai": "sk-" + "Zz9" * 12,
}
SECRET_ENV = {"WANDB_API_KEY": FAKE_WANDB, "HF_TOKEN": FAKE_HF}
BASE = "args:\n  mode: finetune\n  train_iters: 10\n  train_data: [disney]\nlaunch:\n  device: cpu\n"


def _everything(result: subprocess.CompletedProcess[str], out: Path) -> str:
    text = result.stdout + result.stderr
    if out.exists():
        text += "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    return text


def test_passthrough_secrets_reach_the_job_by_name_only(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BASE + "  env_passthrough: [WANDB_API_KEY, HF_TOKEN]\n")
    result = satc("compile", "a.yaml", "-o", "out", cwd=tmp_path, env=SECRET_ENV, timeout=60)
    assert result.returncode == 0, result.stderr
    everything = _everything(result, tmp_path / "out")
    assert FAKE_WANDB not in everything and FAKE_HF not in everything
    script = (tmp_path / "out" / "launch.sh").read_text()
    assert "WANDB_API_KEY" in script and "HF_TOKEN" in script

    # A fake torchrun reports whether the variables arrived; the real one is not needed
    # to show that the script checks them before launching anything.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "torchrun"
    fake.write_text('#!/bin/sh\necho "launched wandb=${WANDB_API_KEY:-unset} hf=${HF_TOKEN:-unset}"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    path = f"{bin_dir}:/usr/bin:/bin"

    missing = subprocess.run(
        ["bash", "out/launch.sh"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": path, "HF_TOKEN": FAKE_HF},
        check=False,
    )
    assert missing.returncode == 2, missing.stderr
    assert "launched" not in missing.stdout
    assert "launch.sh: WANDB_API_KEY: must be set: it is listed in launch.env_passthrough" in missing.stderr

    present = subprocess.run(
        ["bash", "out/launch.sh"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": path, **SECRET_ENV},
        check=False,
    )
    assert present.returncode == 0, present.stderr
    assert f"launched wandb={FAKE_WANDB} hf={FAKE_HF}" in present.stdout


@pytest.mark.parametrize(
    ("text", "overrides", "where", "key"),
    [
        ("args:\n  experiment_name: ${oc.env:WANDB_API_KEY}\n", (), "a.yaml:2:3", "args.experiment_name"),
        (
            "launch:\n  env:\n    WANDB_API_KEY: ${oc.env:WANDB_API_KEY}\n",
            (),
            "a.yaml:3:5",
            "launch.env.WANDB_API_KEY",
        ),
        ("model:\n  params:\n    token: ${oc.env:HF_TOKEN}\n", (), "a.yaml:3:5", "model.params.token"),
        ("model:\n  a: prefix-${oc.env:HF_TOKEN}-suffix\n", (), "a.yaml:2:3", "model.a"),
        ("args: {}\n", ("launch.env.X=${oc.env:WANDB_API_KEY}",), "--set launch.env.X", "launch.env.X"),
    ],
    ids=["args", "launch-env", "model", "embedded", "set"],
)
def test_env_interpolation_is_refused_and_never_echoed(
    tmp_path: Path, text: str, overrides: tuple[str, ...], where: str, key: str
) -> None:
    (tmp_path / "a.yaml").write_text(text)
    argv = ["compile", "a.yaml", "-o", "out"] + [a for o in overrides for a in ("--set", o)]
    result = satc(*argv, cwd=tmp_path, env=SECRET_ENV, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"{where}: error: {key}: ")
    assert "launch.env_passthrough" in result.stderr
    assert FAKE_WANDB not in _everything(result, tmp_path / "out")
    assert FAKE_HF not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "where", "key"),
    [
        (f"launch:\n  env:\n    WANDB_API_KEY: {FAKE_WANDB}\n", "a.yaml:3:5", "launch.env.WANDB_API_KEY"),
        (f"launch:\n  env:\n    HF_TOKEN: '{FAKE_WANDB}'\n", "a.yaml:3:5", "launch.env.HF_TOKEN"),
        (f"model:\n  params:\n    hf_token: {FAKE_WANDB}\n", "a.yaml:3:5", "model.params.hf_token"),
        (
            f"data:\n  params:\n    a:\n      b:\n        client_secret: {FAKE_WANDB}\n",
            "a.yaml:5:9",
            "data.params.a.b.client_secret",
        ),
        (f"model:\n  hosts:\n    - password: {FAKE_WANDB}\n", "a.yaml:3:7", "model.hosts[0].password"),
        (f"deepspeed:\n  comet:\n    api_key: {FAKE_WANDB}\n", "a.yaml:3:5", "deepspeed.comet.api_key"),
        (f"model:\n  AWS_SECRET_ACCESS_KEY: {FAKE_WANDB}\n", "a.yaml:2:3", "model.AWS_SECRET_ACCESS_KEY"),
    ],
    ids=["env-api-key", "env-token", "model", "deep", "in-list", "deepspeed-comet", "aws"],
)
def test_credential_keys_with_literal_values_are_refused(
    tmp_path: Path, text: str, where: str, key: str
) -> None:
    (tmp_path / "a.yaml").write_text(text)
    result = satc("compile", "a.yaml", "-o", "out", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    line = next(line for line in result.stderr.splitlines() if f" {key}: " in line)
    assert line.startswith(f"{where}: error: {key}: looks like a credential"), result.stderr
    assert "env_passthrough" in result.stderr
    assert FAKE_WANDB not in _everything(result, tmp_path / "out")


@pytest.mark.parametrize("target", ["torchrun", "deepspeed", "slurm"])
def test_a_missing_launch_variable_is_a_usage_error_naming_the_setting(tmp_path: Path, target: str) -> None:
    """Every target refuses to start without a passthrough or args_from_env variable
    (unset or empty) with exit 2 and the setting that asks for it, before any launcher runs."""
    (tmp_path / "a.yaml").write_text(
        BASE + f"  target: {target}\n  env_passthrough: [HF_TOKEN]\n  args_from_env: {{save: CKPT_DIR}}\n"
    )
    result = satc("compile", "a.yaml", "-o", "out", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for launcher in ("torchrun", "deepspeed", "sbatch", "srun"):
        fake = bin_dir / launcher
        fake.write_text("#!/bin/sh\necho launched\n")
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    path = f"{bin_dir}:/usr/bin:/bin"
    cases = [
        ({"CKPT_DIR": "ckpts"}, "HF_TOKEN: must be set: it is listed in launch.env_passthrough"),
        ({"HF_TOKEN": "x", "CKPT_DIR": ""}, "CKPT_DIR: must be set: satc.runtime reads args.save from it"),
    ]
    for env, message in cases:
        started = subprocess.run(
            ["bash", "out/launch.sh"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": path, **env},
            check=False,
        )
        assert started.returncode == 2, started.stderr
        assert f"launch.sh: {message}" in started.stderr and "launched" not in started.stdout


def test_names_that_only_resemble_credentials_compile(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        BASE + "  env:\n    TOKENIZERS_PARALLELISM: 'false'\n    WANDB_MODE: offline\n"
        "model:\n  params:\n    pad_token: '<pad>'\n    eos_token: '</s>'\n    max_tokens: 77\n"
        "    use_auth_token: true\n    password_file: /run/secrets/db\n    api_key: null\n"
        "    secret: ''\n    tokenizer: t5\n    num_tokens: 4\n"
    )
    result = satc("compile", "a.yaml", "-o", "out", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("token", list(TOKENS.values()), ids=list(TOKENS))
def test_token_shaped_values_are_refused_where_they_are_and_redacted(tmp_path: Path, token: str) -> None:
    (tmp_path / "a.yaml").write_text(BASE)
    for override, where in (
        (f"args.experiment_name={token}", "--set args.experiment_name"),
        (f"args.lr={token}", "--set args.lr"),
    ):
        result = satc("compile", "a.yaml", "-o", "out", "--set", override, cwd=tmp_path, timeout=60)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"{where}: error: "), result.stderr
        assert token not in result.stderr + result.stdout
        assert not (tmp_path / "out").exists()


def test_every_output_is_scanned_even_for_what_the_tree_does_not_hold(tmp_path: Path) -> None:
    """A token in an input's file name reaches args.json's provenance, not the tree."""
    name = f"{FAKE_HF}.yaml"
    (tmp_path / name).write_text(BASE)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "args.json").write_text('{"format": "satc.args/1"}')
    before = tree_digest(tmp_path / "out")
    result = satc("compile", name, "-o", "out", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Hugging Face token" in result.stderr and "refusing to write" in result.stderr
    assert FAKE_HF not in result.stderr + result.stdout
    assert tree_digest(tmp_path / "out") == before


def test_scan_outputs_names_the_file_and_kind_without_the_value() -> None:
    files = {
        "args.json": "{}",
        "launch.sh": f"export X={TOKENS['github']}\n",
        "ds_config.json": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n",
    }
    with pytest.raises(ConfigError) as caught:
        credentials.scan_outputs(files)
    rendered = [problem.render() for problem in caught.value.problems]
    assert [r.split(":")[0] for r in rendered] == ["ds_config.json", "launch.sh"]
    assert "private key" in rendered[0] and "GitHub token" in rendered[1]
    assert TOKENS["github"] not in "".join(rendered)
    credentials.scan_outputs({"args.json": '{"pad_token": "<pad>"}'})  # nothing to find


def test_secrets_in_unreadable_inputs_are_not_echoed(tmp_path: Path) -> None:
    cases = [
        f"args:\n  experiment_name: [{FAKE_HF}\n",  # YAML syntax error around it
        f"args:\n  {FAKE_HF}: 1\n",  # unknown key that is a token
        f"args:\n  lr: {FAKE_HF}\n",  # type error that describes the value
        f"launch:\n  env:\n    WANDB_API_KEY: {{a: {FAKE_WANDB}}}\n",  # wrong type under a credential
    ]
    for text in cases:
        (tmp_path / "a.yaml").write_text(text)
        result = satc("compile", "a.yaml", "-o", "out", cwd=tmp_path, timeout=60)
        assert result.returncode == 2, result.stderr
        assert FAKE_HF not in result.stderr and FAKE_WANDB not in result.stderr, result.stderr
        assert os.path.exists(tmp_path / "out") is False


def test_every_token_kind_is_found_past_its_literal_prefilter() -> None:
    """scrub.TOKEN_LITERALS skips a pattern for a text without its literal parts: every kind
    has its literals, and each kind's own examples are still found and redacted."""
    from satc.scrub import TOKEN_LITERALS, TOKEN_PATTERNS, redact

    assert set(TOKEN_LITERALS) == set(TOKEN_PATTERNS)
    examples = {
        **{
            kind: token
            for kind, token in zip(
                ("AWS access key", "Hugging Face token", "GitHub token", "Slack token", "OpenAI-style key"),
                TOKENS.values(),
                strict=True,
            )
        },
        "private key": "-----BEGIN RSA PRIVATE KEY-----",
        "password in a URL": "https://user:hunter2@example.com/x",
    }
    assert set(examples) == set(TOKEN_PATTERNS)
    for kind, token in examples.items():
        assert credentials.find_tokens(f"x = '{token}'") == [kind], kind
        assert token not in redact(f"x = '{token}'"), kind
    assert credentials.find_tokens("nothing here: sk-short, hf_, a://b") == []
