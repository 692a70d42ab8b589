"""An adversarial corpus, one row per case, each run through the real CLI in a fresh
process: whatever the input, satc exits with its documented code, says where the
problem is with every user-controlled character escaped, prints no traceback, writes
or changes nothing, runs nothing, leaks no secret, and ends within a bound.

Classes (each with several rows): secrets that slip past the oc.env ban or the
credential names; terminal and log injection through keys, values and file names;
`launch.env` names that launch.sh uses itself; FIFOs, devices and deep or huge files
where satc reads; output paths that are links, loops or too long; seeds and batch
sizes no rank can use; YAML positions and OmegaConf syntax.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import satc, tree_digest

# Fake credentials, shaped so that satc's scanners recognise them.
FAKE_HF = "hf_" + "Qw7e" * 9
FAKE_GH = "ghp_" + "Zr4t" * 9
SECRET_ENV = {"SATC_T_SECRET": FAKE_HF}

VALID = """\
args:
  mode: finetune
  train_iters: 10
  train_data: [disney]
launch:
  device: cpu
"""
# What a terminal acts on: ESC (colours, OSC titles and links), C1 CSI, bidi overrides.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Case:
    """``files`` are written into a fresh directory (bytes verbatim); ``argv`` runs in it,
    with ``{out}`` for a prepared output directory holding a valid bundle.  ``where``
    starts the first line of stderr; ``fragment`` appears in it."""

    name: str
    files: dict[str, str | bytes]
    argv: tuple[str, ...]
    where: str
    fragment: str
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # never printed (secrets, raw payloads)
    special: str = ""  # a fixture to build: see _special
    bound: float = 20.0


def compile_case(
    name: str, text: str | bytes, where: str, fragment: str, *sets: str, **extra: object
) -> Case:
    argv = ("compile", "base.yaml", "a.yaml", "-o", "{out}", *(part for s in sets for part in ("--set", s)))
    return Case(name, {"base.yaml": VALID, "a.yaml": text}, argv, where, fragment, **extra)  # type: ignore[arg-type]


def env_case(target: str, variable: str) -> Case:
    text = f"launch:\n  target: {target}\n  env:\n    {variable}: /usr/bin/env\n"
    return compile_case(f"reserved-env-{target}-{variable}", text, "a.yaml:4:5", f"launch.env.{variable}")


def deep_bundle_json() -> str:
    return '{"format": "satc.args/1", "args": ' + "[" * 100_000 + "]" * 100_000 + "}"


CASES: list[Case] = [
    # --- secrets past the oc.env ban: escaped escapes, --set, launch.env, chains --------
    compile_case(
        "escaped-backslash-oc-env",
        'args:\n  experiment_name: "\\\\\\\\${oc.env:SATC_T_SECRET}"\n',
        "a.yaml:2:3",
        "oc.env",
        env=SECRET_ENV,
        absent=(FAKE_HF,),
    ),
    compile_case(
        "escaped-backslash-oc-env-set",
        "args: {}\n",
        "--set args.experiment_name",
        "oc.env",
        "args.experiment_name=\\\\${oc.env:SATC_T_SECRET}",
        env=SECRET_ENV,
        absent=(FAKE_HF,),
    ),
    compile_case(
        "escaped-backslash-oc-env-launch-env",
        "launch:\n  env:\n    MY_VAR: '\\\\${oc.env:SATC_T_SECRET}'\n",
        "a.yaml:3:5",
        "oc.env",
        env=SECRET_ENV,
        absent=(FAKE_HF,),
    ),
    compile_case(
        "triple-backslash-oc-env",
        "model:\n  x: '\\\\\\\\\\\\${oc.env:SATC_T_SECRET}'\n",
        "a.yaml:2:3",
        "oc.env",
        env=SECRET_ENV,
        absent=(FAKE_HF,),
    ),
    compile_case(
        "escaped-interpolation-frozen-live",
        "model:\n  x: '\\${oc.env:SATC_T_SECRET}'\n",
        "a.yaml:2:3",
        "live interpolation",
        env=SECRET_ENV,
        absent=(FAKE_HF,),
    ),
    compile_case(
        "escaped-interpolation-through-a-reference",
        "model:\n  a: '\\${model.b}'\n  b: 1\n  c: ${model.a}\n",
        "a.yaml:2:3",
        "live interpolation",
    ),
    compile_case(
        "oc-env-inside-a-resolver-argument",
        "model:\n  x: ${oc.select:model.y,${oc.env:SATC_T_SECRET}}\n  y: 1\n",
        "a.yaml:2:3",
        "not allowed",
        env=SECRET_ENV,
        absent=(FAKE_HF,),
    ),
    *(
        compile_case(
            f"credential-env-{name}",
            f"launch:\n  env:\n    {name}: s3cr3t-value-123\n",
            "a.yaml:3:5",
            f"launch.env.{name}",
            absent=("s3cr3t-value-123",),
        )
        for name in ("WANDB_KEY", "NPM_TOKEN", "PGPASSWORD", "KAGGLE_KEY", "MY_SERVICE_SECRET", "DB_PASS")
    ),
    compile_case(
        "credential-list-value",
        "model:\n  params:\n    api_key: [s3cr3t-a1, s3cr3t-b2]\n",
        "a.yaml:3:5",
        "model.params.api_key",
        absent=("s3cr3t-a1", "s3cr3t-b2"),
    ),
    compile_case(
        "credential-mapping-value",
        "data:\n  params:\n    hf_token: {read: s3cr3t-read}\n",
        "a.yaml:3:5",
        "data.params.hf_token",
        absent=("s3cr3t-read",),
    ),
    compile_case(
        "credential-under-model",
        "model:\n  params:\n    wandb_api_key: s3cr3t-model\n",
        "a.yaml:3:5",
        "model.params.wandb_api_key",
        absent=("s3cr3t-model",),
    ),
    compile_case(
        "token-cut-by-a-type-error",
        f"args:\n  train_iters: '{'x' * 40} {FAKE_HF}'\n",
        "a.yaml:2:3",
        "args.train_iters",
        absent=(FAKE_HF[:12],),
    ),
    compile_case(
        "token-in-a-key",
        f"model:\n  {FAKE_GH}: 1\n",
        "a.yaml:2:3",
        "GitHub token",
        absent=(FAKE_GH[:12],),
    ),
    # --- terminal and log injection: escaped wherever it is echoed ---------------------
    compile_case("key-with-osc-title", 'args:\n  "\\e]0;pwned\\a": 1\n', "a.yaml:2:3", "\\x1b]0;pwned\\x07"),
    compile_case("key-with-csi-colour", 'args:\n  "\\e[31mred": 1\n', "a.yaml:2:3", "\\x1b[31mred"),
    compile_case("key-with-c1-csi", 'model:\n  "\\u009b31mx": "${model.b}"\n', "a.yaml:2:", "\\u009b31mx"),
    compile_case("key-with-rlo", "args:\n  \u202egnp.exe: 1\n", "a.yaml:2:3", "\\u202egnp.exe"),
    compile_case(
        "key-with-newline-forging-a-line",
        'args:\n  "lr\\nb.yaml:1:1: error: forged": 1\n',
        "a.yaml:2:3",
        "lr\\nb.yaml:1:1: error: forged",
    ),
    compile_case(
        "value-with-escape-in-a-choice",
        'args:\n  mode: "\\e]8;;http://x\\e\\\\click\\e]8;;\\e\\\\"\n',
        "a.yaml:2:3",
        "\\x1b]8;;",
    ),
    Case(
        "file-name-with-rlo",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "no\u202eimaf.yaml", "-o", "{out}"),
        "no\\u202eimaf.yaml",
        "no such file",
    ),
    Case(
        "usage-error-quotes-an-option-with-osc",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "-o", "{out}", "--\x1b]0;pwned\x07"),
        "Usage: satc compile",
        "No such option '--\\x1b]0;pwned\\x07'",
    ),
    Case(
        "usage-error-quotes-a-choice-with-rlo",
        {"base.yaml": VALID},
        ("explain", "base.yaml", "--format", "j\u202eson"),
        "Usage: satc explain",
        "'j\\u202eson' is not one of",
    ),
    Case(
        "explain-key-with-escape",
        {"base.yaml": VALID},
        ("explain", "base.yaml", "\x1b]0;pwned\x07lr"),
        "error:",
        "\\x1b]0;pwned\\x07lr",
    ),
    compile_case("set-key-with-escape", "args: {}\n", "--set", "expected KEY=VALUE", "args.a\x1bb=1"),
    # --- launch.env names launch.sh uses itself, or that bash and launchers read --------
    env_case("slurm", "PYTHON"),
    env_case("slurm", "TASKS_PER_NODE"),
    env_case("slurm", "CPUS_PER_TASK"),
    env_case("torchrun", "ENTRYPOINT"),
    env_case("torchrun", "NPROC_PER_NODE"),
    env_case("torchrun", "RENDEZVOUS"),
    env_case("torchrun", "PATH"),
    env_case("torchrun", "PYTHON_EXEC"),
    env_case("torchrun", "PET_NO_PYTHON"),
    env_case("deepspeed", "LAUNCHER"),
    env_case("deepspeed", "DS_ENV_FILE"),
    env_case("deepspeed", "LD_PRELOAD"),
    env_case("torchrun", "BASH_ENV"),
    env_case("torchrun", "SHELLOPTS"),
    env_case("slurm", "BASHOPTS"),
    env_case("slurm", "IFS"),
    env_case("torchrun", "PS4"),
    env_case("slurm", "SLURM_JOB_ID"),
    env_case("slurm", "EUID"),
    compile_case(
        "reserved-name-in-passthrough",
        "launch:\n  env_passthrough: [PYTHON]\n",
        "a.yaml:2:",
        "PYTHON cannot be passed through",
    ),
    # --- FIFOs, devices, deep and huge files where satc reads ----------------------------
    Case(
        "config-is-a-fifo",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "pipe.yaml", "-o", "{out}"),
        "pipe.yaml",
        "named pipe",
        special="fifo:pipe.yaml",
    ),
    Case(
        "config-links-to-dev-zero",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "zero.yaml", "-o", "{out}"),
        "zero.yaml",
        "a device",
        special="zero:zero.yaml",
    ),
    Case(
        "out-args-json-is-a-fifo",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "-o", "fifobundle"),
        "-o fifobundle",
        "not a satc bundle",
        special="fifo:fifobundle/args.json",
    ),
    Case(
        "check-args-json-is-a-fifo",
        {},
        ("check", "-o", "fifobundle"),
        "fifobundle: INVALID INPUT",
        "not a regular file",
        special="fifo:fifobundle/args.json",
    ),
    Case(
        "check-args-json-links-to-dev-zero",
        {},
        ("check", "-o", "zerobundle"),
        "zerobundle: INVALID INPUT",
        "not a regular file",
        special="zero:zerobundle/args.json",
    ),
    Case(
        "diff-args-json-is-a-fifo",
        {},
        ("diff", "{out}", "fifobundle"),
        "fifobundle",
        "cannot be read: is a named pipe (FIFO), not a regular file",
        special="fifo:fifobundle/args.json",
    ),
    Case(
        "explain-args-json-is-a-fifo",
        {},
        ("explain", "fifobundle", "lr"),
        "Usage: satc explain",
        "cannot be read",
        special="fifo:fifobundle/args.json",
    ),
    Case(
        "check-ds-config-is-a-fifo",
        {},
        ("check", "-o", "{out}"),
        "{out}: DRIFT",
        "ds_config.json: changed",
        code=1,
        special="fifo:{out}/ds_config.json",
    ),
    Case(
        "check-all-skips-a-fifo-args-json",
        {},
        ("check", "--all"),
        "out: up to date",
        "1 bundle(s)",
        code=0,
        special="fifo:fifobundle/args.json",
    ),
    Case(
        "diff-deep-args-json",
        {"deep/args.json": deep_bundle_json()},
        ("diff", "{out}", "deep"),
        "deep",
        "nested deeper than 64 levels",
    ),
    Case(
        "explain-deep-args-json",
        {"deep/args.json": deep_bundle_json()},
        ("explain", "deep", "lr"),
        "Usage: satc explain",
        "nested deeper than 64 levels",
    ),
    Case(
        "check-deep-args-json",
        {"deep/args.json": deep_bundle_json()},
        ("check", "-o", "deep"),
        "deep: DRIFT",
        "nested deeper than 64 levels",
        code=1,
    ),
    Case(
        "compile-over-deep-args-json",
        {"base.yaml": VALID, "deep/args.json": deep_bundle_json()},
        ("compile", "base.yaml", "-o", "deep"),
        "-o deep",
        "not a satc bundle",
    ),
    # "nesting": satc's own bound ("nesting deeper than ...") or, first, libyaml's in
    # PyYAML >= 6.0.4 ("exceeded maximum nesting depth"): either is a located exit 2.
    compile_case("deep-flow-yaml", "model: " + "[" * 100_000 + "]" * 100_000 + "\n", "a.yaml:1:", "nesting"),
    compile_case(
        "deep-flow-map-yaml",
        "model: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n",
        "a.yaml:1:",
        "nesting deeper",
    ),
    compile_case("deep-complex-keys", "model:\n  x: " + "? " * 100_000 + "a\n", "a.yaml:2:", "invalid YAML"),
    compile_case("deep-set-value", "args: {}\n", "--set model.x", "nesting", "model.x=" + "[" * 50_000),
    compile_case(
        "escaped-interpolation-string-bomb",
        "model:\n  k0: aaaaaaaaaaaaaaaa\n"
        + "".join(f"  k{i}: \\\\${{model.k{i - 1}}}\\\\${{model.k{i - 1}}}\n" for i in range(1, 24)),
        "a.yaml:",
        "expand to more than",
    ),
    compile_case(
        "many-misspelled-deepspeed-keys",
        "deepspeed:\n" + "".join(f"  zero_optimisation_{i}: 1\n" for i in range(49_000)),
        "a.yaml:2:3",
        "and 48,900 more unknown keys",
        bound=30,
    ),
    # --- output paths ----------------------------------------------------------------------
    Case(
        "out-dangling-symlink",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "-o", "dangling"),
        "-o dangling",
        "leads nowhere",
        special="link:dangling:nowhere",
    ),
    Case(
        "out-symlink-loop",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "-o", "loop"),
        "-o loop",
        "leads nowhere",
        special="link:loop:loop",
    ),
    Case(
        "out-name-over-name-max",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "-o", "n" * 300),
        "",
        "File name too long",
    ),
    Case(
        "out-path-over-path-max",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "-o", "d/" * 2100 + "b"),
        "",
        "too long",
    ),
    Case(
        "config-name-over-name-max",
        {"base.yaml": VALID},
        ("compile", "base.yaml", "c" * 300 + ".yaml", "-o", "{out}"),
        "c" * 10,
        "too long",
    ),
    # --- seeds and batch sizes every rank must be able to use ------------------------------
    compile_case(
        "seed-past-numpy-on-two-ranks",
        "args:\n  seed: 4294967295\nlaunch:\n  gpus_per_node: 2\n",
        "a.yaml:2:3",
        "outside 1..4294967294",
    ),
    compile_case("seed-negative", "args:\n  seed: -7\n", "a.yaml:2:3", "outside 1..4294967295"),
    # SAT's set_random_seed asserts seed > 0: every rank would die in init().
    compile_case("seed-zero", "args:\n  seed: 0\n", "a.yaml:2:3", "asserts seed > 0"),
    compile_case("set-empty-value", "args: {}\n", "--set args.lr=", "--set args.lr=null", "args.lr="),
    compile_case(
        "seed-2-to-the-64", "args: {}\n", "--set args.seed", "outside", "args.seed=18446744073709551616"
    ),
    compile_case(
        "train-batch-2-to-the-64",
        "deepspeed:\n  train_batch_size: 18446744073709551616\n",
        "a.yaml:2:3",
        "larger than 2,147,483,647",
    ),
    compile_case(
        "train-batch-203-digits",
        "deepspeed:\n  train_batch_size: " + "9" * 203 + "\n",
        "a.yaml:2:",
        "203 digits",
    ),
    compile_case("micro-batch-huge", "args:\n  batch_size: 4294967296\n", "a.yaml:2:3", "larger than"),
    compile_case(
        "batch-product-huge",
        "deepspeed:\n  train_micro_batch_size_per_gpu: 2000000\n  gradient_accumulation_steps: 2000\n",
        "a.yaml:",
        "larger than 2,147,483,647",
    ),
    # --- YAML positions and OmegaConf syntax ------------------------------------------------
    compile_case("nul-on-line-3", "model:\n  a: 1\n  b: x\x00y\n", "a.yaml:3:7", "control character \\x00"),
    compile_case("raw-esc-on-line-4", "model:\n  a: 1\n  b: 2\n  c: \x1b[31m\n", "a.yaml:4:6", "\\x1b"),
    compile_case(
        "complex-key-list", "model:\n  ? [a, b]\n  : 1\n", "a.yaml:2:5", "is a list", absent=("Node(",)
    ),
    compile_case(
        "complex-key-map", "model:\n  ? {a: 1}\n  : 1\n", "a.yaml:2:5", "is a mapping", absent=("Node(",)
    ),
    compile_case(
        "oc-create-is-a-resolver",
        "model:\n  a: '${oc.create:{b: ${model.c}}}'\n  c: 1\n",
        "a.yaml:2:3",
        "resolver 'oc.create' is not allowed",
        absent=("nested",),
    ),
    compile_case(
        "merge-list-typo", "x: &a\n  lerning_rate: 1\nargs:\n  <<: [*a]\n", "a.yaml:1:1", "args.lerning_rate"
    ),
    compile_case("relative-past-the-root", "model:\n  a: ${...x}\n", "a.yaml:2:3", "does not exist"),
]


def _special(spec: str, workdir: Path, out: str) -> None:
    kind, _, rest = spec.partition(":")
    if kind in ("fifo", "zero"):
        target = workdir / rest.replace("{out}", out)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        if kind == "fifo":
            os.mkfifo(target)
        else:
            target.symlink_to("/dev/zero")
    elif kind == "link":
        name, _, points = rest.partition(":")
        (workdir / name).symlink_to(points)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("valid")
    (root / "base.yaml").write_text(VALID)
    (root / "other.yaml").write_text(VALID + "  gpus_per_node: 2\n")
    for config, out in (("base.yaml", "bundle"), ("other.yaml", "other")):
        result = satc("compile", config, "-o", out, cwd=root)
        assert result.returncode == 0, result.stderr
    return root


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input_is_a_clean_bounded_escaped_error(case: Case, tmp_path: Path, bundle: Path) -> None:
    out = "out"
    subprocess.run(["cp", "-a", str(bundle / "bundle"), str(tmp_path / out)], check=True)
    (tmp_path / "base.yaml").write_text(VALID)
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(
            content, encoding="utf-8"
        )
    if case.special:
        _special(case.special, tmp_path, out)
    before = tree_digest(tmp_path)
    argv = [part.replace("{out}", out) for part in case.argv]

    started = time.monotonic()
    result = satc(*argv, cwd=tmp_path, env={"CI": "", **case.env}, timeout=case.bound + 30)
    seconds = time.monotonic() - started

    shown = result.stderr + result.stdout
    assert result.returncode == case.code, f"exit {result.returncode}\n{shown[-3000:]}"
    assert seconds < case.bound, f"{seconds:.1f} s"
    assert "Traceback" not in shown and "internal error" not in shown, shown[-3000:]
    assert not RAW_CONTROL.search(shown), f"raw control characters reached the terminal: {shown[-500:]!r}"
    first = (result.stderr or result.stdout).splitlines()[0] if shown.strip() else ""
    assert first.startswith(case.where.replace("{out}", out)), (
        f"expected {case.where!r} first:\n{shown[-2000:]}"
    )
    assert case.fragment in shown, f"expected {case.fragment!r}:\n{shown[-3000:]}"
    if case.code == 2:
        assert "error:" in shown.lower(), shown[-2000:]
    # Exactly the lines satc wrote start with a location: no forged `file:line: error:`.
    assert not any(line.startswith(("b.yaml:", "forged")) for line in shown.splitlines())
    for secret in (*case.absent, FAKE_HF, FAKE_GH):
        assert secret not in shown
    assert tree_digest(tmp_path) == before, "satc changed the working directory"
    assert not (tmp_path / "PWNED").exists()


PIPED = [
    ("schema",),
    ("--help",),
    ("compile", "--help"),
    ("explain", "base.yaml"),
    ("explain", "base.yaml", "lr", "--format", "json"),
    ("topology", "base.yaml"),
    ("diff", "out", "other"),
    ("check", "-o", "out"),
    ("check", "--all"),
    ("compile", "base.yaml", "-o", "new"),
]


@pytest.mark.parametrize("debug", ["", "1"], ids=["plain", "SATC_DEBUG"])
@pytest.mark.parametrize("argv", PIPED, ids=[" ".join(argv) for argv in PIPED])
def test_a_closed_stdout_ends_satc_quietly_by_sigpipe(
    argv: tuple[str, ...], debug: str, tmp_path: Path, bundle: Path
) -> None:
    """`satc ... | head -1`: the reader is gone before satc writes.  satc ends as `cat`
    does, killed by SIGPIPE (141 in a shell): never 1 (drift), 2 or 70, no traceback.
    A compile writes its complete bundle before it prints, and then succeeds (0)."""
    import signal
    import sys

    for name in ("base.yaml", "other.yaml", "other"):
        subprocess.run(["cp", "-a", str(bundle / name), str(tmp_path / name)], check=True)
    subprocess.run(["cp", "-a", str(bundle / "bundle"), str(tmp_path / "out")], check=True)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "satc", *argv],
            cwd=tmp_path,
            env={**os.environ, "SATC_DEBUG": debug},
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    writes = argv[0] == "compile" and "--help" not in argv
    # A compile has done its work before it prints: a reader that left only ends the printing.
    expected = 0 if writes else -signal.SIGPIPE
    assert result.returncode == expected, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if writes:
        assert satc("check", "-o", "new", cwd=tmp_path).returncode == 0, "the bundle is not complete"


def test_check_and_diff_never_print_a_committed_secret(tmp_path: Path, bundle: Path) -> None:
    """A token added by hand to a committed launch.sh, or a token-shaped value in a
    bundle's args.json, reaches check's and diff's output only as [REDACTED]."""
    import json

    subprocess.run(["cp", "-a", str(bundle / "bundle"), str(tmp_path / "out")], check=True)
    subprocess.run(["cp", "-a", str(bundle / "bundle"), str(tmp_path / "other")], check=True)
    (tmp_path / "base.yaml").write_text(VALID)
    script = tmp_path / "out" / "launch.sh"
    script.write_text(script.read_text() + f"export HF_TOKEN={FAKE_HF}\n# \x1b]0;title\x07\n")
    document = json.loads((tmp_path / "other" / "args.json").read_text())
    document["args"]["experiment_name"] = FAKE_GH
    document["model_config"] = {"\u202ekey": f"https://user:{FAKE_HF}@host/"}
    (tmp_path / "other" / "args.json").write_text(json.dumps(document))
    for argv, code in (
        (("check", "-o", "out"), 1),
        (("check", "--all"), 1),
        (("diff", "out", "other"), 1),
        (("diff", "out", "other", "--format", "json"), 1),
    ):
        result = satc(*argv, cwd=tmp_path)
        shown = result.stdout + result.stderr
        assert result.returncode == code, shown[-2000:]
        assert "[REDACTED]" in shown, shown[-2000:]
        assert FAKE_HF not in shown and FAKE_GH not in shown
        assert FAKE_HF[:12] not in shown and FAKE_GH[:12] not in shown
        assert not RAW_CONTROL.search(shown), repr(shown[-500:])


def test_diff_reports_a_format_change(tmp_path: Path, bundle: Path) -> None:
    """Two bundles that differ only in `format` are read differently by the runtime."""
    import json

    for name in ("a", "b"):
        subprocess.run(["cp", "-a", str(bundle / "bundle"), str(tmp_path / name)], check=True)
    document = json.loads((tmp_path / "b" / "args.json").read_text())
    document["format"] = "satc.args/2"
    (tmp_path / "b" / "args.json").write_text(json.dumps(document))
    result = satc("diff", "a", "b", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'format: "satc.args/1" -> "satc.args/2"' in result.stdout


def test_a_symlinked_output_replaces_the_bundle_it_points_to(tmp_path: Path, bundle: Path) -> None:
    subprocess.run(["cp", "-a", str(bundle / "bundle"), str(tmp_path / "v1")], check=True)
    (tmp_path / "current").symlink_to("v1")
    (tmp_path / "base.yaml").write_text(VALID + "  gpus_per_node: 2\n")
    result = satc("compile", "base.yaml", "-o", "current", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "current").is_symlink() and os.readlink(tmp_path / "current") == "v1"
    assert '"gpus_per_node": 2' in (tmp_path / "v1" / "args.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml", "current", "v1"]
    assert satc("check", "-o", "current", cwd=tmp_path).returncode == 0


def test_a_write_that_fails_midway_leaves_the_old_bundle_and_no_temporaries(
    tmp_path: Path, bundle: Path
) -> None:
    """A full disk, as the file-size limit makes it: the bundle's files cannot be written."""
    import resource
    import signal
    import sys

    subprocess.run(["cp", "-a", str(bundle / "bundle"), str(tmp_path / "out")], check=True)
    (tmp_path / "base.yaml").write_text(VALID + "  gpus_per_node: 2\n")
    before = tree_digest(tmp_path / "out")

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    result = subprocess.run(
        [sys.executable, "-m", "satc", "compile", "base.yaml", "-o", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit_file_size,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("-o out: error: cannot write the bundle: File too large"), result.stderr
    assert "Traceback" not in result.stderr and result.stderr.rstrip().endswith("nothing written")
    assert tree_digest(tmp_path / "out") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml", "out"]
