"""A new user's first week: output that survives a pipe, Ctrl-C, and the bad inputs
that SAT, DeepSpeed or CogVideoX would only refuse at start-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REFERENCE, ROOT, satc

EXAMPLE = (
    str(ROOT / "examples" / "cogvideox" / "cogvideox_5b_lora.yaml"),
    str(ROOT / "examples" / "cogvideox" / "sft.yaml"),
)
LORA = (str(REFERENCE / "cogvideox_5b_lora.yaml"), str(REFERENCE / "sft.yaml"))


def _written(bundle: Path) -> set[str]:
    return {p.name for p in bundle.iterdir()} if bundle.is_dir() else set()


# ---- output and process behaviour -------------------------------------------------------


@pytest.mark.parametrize("attempt", range(4))
def test_a_reader_that_leaves_early_gets_a_complete_bundle(tmp_path: Path, attempt: int) -> None:
    # The compile prints ~12 warning lines: `head -5` closes the pipe long before the end.
    out = tmp_path / "b"
    script = (
        "set -o pipefail; "
        + " ".join([sys.executable, "-m", "satc", "compile", *EXAMPLE, "-o", str(out)])
        + " 2>&1 | head -5"
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    assert len(done.stdout.splitlines()) == 5
    assert _written(out) == {"args.json", "config.yaml", "ds_config.json", "launch.sh"}
    assert json.loads((out / "args.json").read_text())["format"].startswith("satc.args/")
    check = satc("check", *EXAMPLE, "-o", str(out))
    assert check.returncode == 0, check.stdout + check.stderr


def _interrupted(argv: list[str], delay: float, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run satc's console-script entry and send a real SIGINT `delay` seconds after its
    handler is in place (it says "ready" then).  Before main() runs, the interpreter's
    own handling applies, as for any Python program: satc cannot act earlier."""
    code = (
        "import sys\n"
        "from satc.compiler import entry\n"
        "install = entry.install\n"
        "def announced():\n"
        "    previous = install()\n"
        "    sys.stderr.write('ready\\n'); sys.stderr.flush()\n"
        "    return previous\n"
        "entry.install = announced\n"
        f"sys.exit(entry.main({argv!r}))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    assert process.stderr.readline() == "ready\n"
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    err = "".join(line for line in err.splitlines(keepends=True) if line != "ready\n")
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.06, 0.1, 0.2])
def test_ctrl_c_during_a_compile_exits_130_with_one_line(tmp_path: Path, delay: float) -> None:
    done = _interrupted(["compile", *EXAMPLE, "-o", str(tmp_path / "b")], delay, tmp_path)
    if "wrote " in done.stdout:
        # The compile finished first (a repeat compile takes well under 0.2 s): the signal
        # came after its last line, or as the interpreter shut down, whose default handler
        # ends it as any program (a shell shows 130 for both).
        assert done.returncode in (0, -signal.SIGINT), (done.returncode, done.stderr)
        assert "Traceback" not in done.stderr and "interrupted" not in done.stderr
        assert _written(tmp_path / "b") == {"args.json", "config.yaml", "ds_config.json", "launch.sh"}
        return
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert done.stderr == "satc: interrupted\n"
    assert "Traceback" not in done.stderr and "Aborted" not in done.stderr
    # All or nothing: an interrupted compile never leaves a partial bundle.
    assert _written(tmp_path / "b") in (set(), {"args.json", "config.yaml", "ds_config.json", "launch.sh"})
    assert not list(tmp_path.glob(".satc-*"))


def test_ctrl_c_during_check_all_is_130_not_aborted(tmp_path: Path) -> None:
    for index in range(12):
        assert satc("compile", *EXAMPLE, "-o", str(tmp_path / f"b{index}")).returncode == 0
    for delay in (0.05, 0.2):
        done = _interrupted(["check", "--all", "--root", str(tmp_path)], delay, tmp_path)
        if done.returncode in (0, 2) and "satc check:" in done.stdout:
            continue  # finished first
        assert (done.returncode, done.stderr) == (130, "satc: interrupted\n")


# ---- bad input --------------------------------------------------------------------------


def test_an_output_name_too_long_names_the_option(tmp_path: Path) -> None:
    for output in ("x" * 300, "/".join(["y" * 200] * 30)):
        done = satc("compile", str(ROOT / "examples" / "tiny_cpu.yaml"), "-o", output, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.startswith("-o "), done.stderr
        assert "cannot use this path: File name too long" in done.stderr
        assert len(done.stderr.splitlines()[0]) < 300


def test_a_top_level_offload_optimizer_is_an_error(tmp_path: Path) -> None:
    layer = tmp_path / "offload.yaml"
    layer.write_text("deepspeed:\n  offload_optimizer: {device: cpu}\n")
    done = satc("compile", *EXAMPLE, str(layer), "-o", str(tmp_path / "b"))
    assert done.returncode == 2, done.stderr
    assert (
        "offload.yaml:2:3: error: deepspeed.offload_optimizer: DeepSpeed ignores this key here and reads "
        "it only as deepspeed.zero_optimization.offload_optimizer, so the run would go without it"
    ) in done.stderr


def test_misplaced_loss_scale_keys_warn_in_bf16_and_fail_where_fp16_would_use_another_value(
    tmp_path: Path,
) -> None:
    bf16 = satc("compile", *EXAMPLE, "-o", str(tmp_path / "bf16"))
    assert bf16.returncode == 0
    assert "warning: deepspeed.loss_scale_window: DeepSpeed ignores this key here" in bf16.stderr
    layer = tmp_path / "fp16.yaml"
    layer.write_text("deepspeed:\n  fp16: {enabled: true}\n  bf16: {enabled: false}\n")
    fp16 = satc("compile", *EXAMPLE, str(layer), "-o", str(tmp_path / "fp16"))
    assert fp16.returncode == 2
    assert "error: deepspeed.loss_scale_window:" in fp16.stderr
    assert "so the run would use integer 1000 (DeepSpeed's default)" in fp16.stderr
    # Values DeepSpeed uses anyway change nothing: still warnings.
    for key in ("loss_scale", "hysteresis", "min_loss_scale"):
        assert f"warning: deepspeed.{key}: DeepSpeed ignores this key here" in fp16.stderr


@pytest.mark.parametrize(
    "offload",
    [
        "deepspeed.zero_optimization.cpu_offload=true",
        "deepspeed.zero_optimization.offload_optimizer.device=cpu",
    ],
)
def test_zero_offload_with_sats_client_optimizer_is_refused(tmp_path: Path, offload: str) -> None:
    sets = ["--set", offload]
    if "offload_optimizer" in offload:
        sets += ["--set", "deepspeed.zero_optimization.cpu_offload=null"]
    done = satc("compile", *EXAMPLE, *sets, "-o", str(tmp_path / "b"))
    assert done.returncode == 2
    assert "You are using ZeRO-Offload with a client provided optimizer" in done.stderr
    assert "[Z1]" in done.stderr and "deepspeed.optimizer.type: AdamW" in done.stderr
    fixed = satc(
        "compile", *EXAMPLE, *sets, "--set", "deepspeed.optimizer.type=AdamW", "-o", str(tmp_path / "b")
    )
    assert fixed.returncode == 0, fixed.stderr


def test_training_cogvideox_without_data_is_a_located_error(tmp_path: Path) -> None:
    done = satc("compile", *EXAMPLE, "--set", "args.train_data=null", "-o", str(tmp_path / "b"))
    assert done.returncode == 2 and not (tmp_path / "b").exists()
    line = next(x for x in done.stderr.splitlines() if "args.train_data" in x)
    assert "sft.yaml:5:3: error: args.train_data:" in line and "ZeroDivisionError" in line and "[T1]" in line
    assert "hint: set args.train_data:" in done.stderr
    # Another entrypoint may bring its own data: a warning.
    tiny = satc(
        "compile",
        str(ROOT / "examples" / "tiny_cpu.yaml"),
        "--set",
        "args.train_data=null",
        "-o",
        str(tmp_path / "t"),
    )
    assert tiny.returncode == 0 and "warning: args.train_data: no training data specified" in tiny.stderr


def test_every_problem_in_one_run_model_family_beside_latent_input(tmp_path: Path) -> None:
    configs = REFERENCE.parent / "_reference"
    model = ROOT / "tests" / "cases" / "_reference" / "cogvideox_5b_lora.yaml"
    assert model.exists() and configs.exists()
    from support import cogvideo_sat

    sat = cogvideo_sat() / "configs"
    done = satc(
        "compile", str(sat / "cogvideox1.5_5b.yaml"), str(sat / "sft.yaml"), "-o", str(tmp_path / "b")
    )
    assert done.returncode == 2
    assert "error: model.latent_input:" in done.stderr and "[M21]" in done.stderr
    assert "do not support fine-tuning CogVideoX1.5-5B with SAT [M22]" in done.stderr


@pytest.mark.parametrize("spelling", ["RTX4090", "RTX-4090", "rtx 4090", "GeForce RTX 4090"])
def test_gpu_names_as_people_type_them(spelling: str) -> None:
    done = satc("plan", *LORA, "--set", f"launch.gpu={spelling}", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["memory"]["gpu"] == "RTX4090"


@pytest.mark.parametrize(
    ("printed", "card"),
    [
        ("NVIDIA RTX A6000", "A6000"),  # nvidia-smi's name of the A6000
        ("NVIDIA A10G", "A10G"),  # AWS g5
        ("NVIDIA H800", "H800"),
        ("NVIDIA A800-SXM4-80GB", "A800-80G"),
    ],
)
def test_gpu_names_as_nvidia_smi_prints_them(printed: str, card: str) -> None:
    done = satc("plan", *LORA, "--set", f"launch.gpu={printed}", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["memory"]["gpu"] == card


def test_an_a800_without_its_memory_asks_which_one() -> None:
    done = satc("plan", *LORA, "--set", "launch.gpu=A800")
    assert done.returncode == 2 and "hint: which one: A800-40G or A800-80G?" in done.stderr


def test_a100_80gb_is_the_a100_80g() -> None:
    done = satc("plan", *LORA, "--set", "launch.gpu=A100-80GB", "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["memory"]["gpu_gib"] == 80.0


def test_no_keeping_note_when_the_topology_stays(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    assert satc("compile", *EXAMPLE, "-o", str(bundle)).returncode == 0
    same = satc("compile", str(bundle), "--set", "launch.gpu=H100-80G", "-o", str(tmp_path / "c"))
    assert same.returncode == 0 and "keeping" not in same.stderr
    recorded = json.loads((tmp_path / "c" / "args.json").read_text())["provenance"]["overrides"]
    assert not [item for item in recorded if item.startswith("launch.global_batch_size")]
    grown = satc(
        "compile",
        str(bundle),
        "--set",
        "launch.gpus_per_node=2",
        "--set",
        "deepspeed.train_micro_batch_size_per_gpu=1",
        "-o",
        str(tmp_path / "d"),
    )
    assert grown.returncode == 0 and "note: keeping" in grown.stderr


def test_the_runtime_resets_the_group_timeout_without_torchs_deprecated_name(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """torch 2.14 deprecates distributed_c10d._set_pg_timeout with a FutureWarning that
    every rank printed; the public torch.distributed.set_timeout is used where it exists."""
    import warnings
    from datetime import timedelta

    import torch.distributed as dist
    from satc.runtime import distributed
    from torch.distributed import distributed_c10d

    calls: list[timedelta] = []

    def deprecated(timeout: timedelta, group: object = None) -> None:
        warnings.warn("`_set_pg_timeout` is deprecated", FutureWarning, stacklevel=2)

    monkeypatch.setattr(distributed_c10d, "_set_pg_timeout", deprecated)
    monkeypatch.setattr(dist, "set_timeout", lambda timeout, group=None: calls.append(timeout), raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        distributed._set_default_group_timeout(timedelta(seconds=7))
    assert calls == [timedelta(seconds=7)]


def test_a_run_without_cogvideox_says_in_one_line_what_was_skipped(tmp_path: Path) -> None:
    # A module of its own whose tests surely need CogVideoX's tree: a test file of the
    # suite may stop needing it (or start failing) without this check saying anything.
    (tmp_path / "test_needs_cogvideo.py").write_text(
        "import support\n\n\n"
        "def test_one() -> None:\n    support.cogvideo_sat()\n\n\n"
        "def test_two() -> None:\n    support.cogvideo_sat()\n\n\n"
        "def test_without() -> None:\n    pass\n",
        encoding="utf-8",
    )
    env = {
        "SATC_COGVIDEO_SAT": "",
        "CI": "",
        # The suite's own conftest.py, loaded as a plugin, summarises the skips.
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "conftest",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_needs_cogvideo.py"),
        ],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("satc: ")]
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith("satc: 2 test(s) skipped: "), lines[0]
    assert "needs CogVideoX's sat/ folder: git clone https://github.com/THUDM/CogVideo" in lines[0]
    assert ".ci/run" not in done.stdout


def test_zero_3_is_refused_where_sat_builds_the_model(tmp_path: Path) -> None:
    done = satc(
        "compile", *EXAMPLE, "--set", "deepspeed.zero_optimization.stage=3", "-o", str(tmp_path / "b")
    )
    assert done.returncode == 2 and "[Z3]" in done.stderr
    assert "got multiple values for argument 'module'" in done.stderr
    # An entrypoint of one's own builds its own model: not SAT's get_model, not this rule's.
    tiny = satc(
        "compile",
        str(ROOT / "examples" / "tiny_cpu.yaml"),
        "--set",
        "deepspeed.zero_optimization.stage=3",
        "-o",
        str(tmp_path / "t"),
    )
    assert tiny.returncode == 0, tiny.stderr


def _console(readme: str, command: str) -> list[tuple[str, str]]:
    """(command, output) pairs of the README's console blocks that start with `command`."""
    import re

    pairs = []
    for block in re.findall(r"```console\n(.*?)```", readme, re.S):
        if not block.startswith(f"$ {command}"):
            continue
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            line, _, output = chunk.partition("\n")
            pairs.append((line, output.rstrip("\n") + "\n"))
    return pairs


def test_the_readme_explain_and_diff_examples_run_on_files_that_ship(tmp_path: Path) -> None:
    import re
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    explained = _console(readme, "satc explain")
    assert len(explained) == 2
    for line, output in explained:
        done = satc(*shlex.split(line)[1:], cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.rstrip("\n") + "\n" == output.replace("\n\n", "\n"), line
    [compiles] = re.findall(r"```bash\n(satc compile tests/cases/bundles/.*?)```", readme, re.S)
    (tmp_path / "bundles").mkdir()
    for command in compiles.replace("\\\n", " ").splitlines():
        assert satc(*shlex.split(command)[1:], cwd=tmp_path).returncode == 0, command
    [(line, output)] = _console(readme, "satc diff")
    done = satc(*shlex.split(line)[1:], cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == output


def test_a_card_named_without_its_memory_asks_which_one() -> None:
    done = satc("plan", *LORA, "--set", "launch.gpu=A100")
    assert done.returncode == 2 and "hint: which one: A100-40G or A100-80G?" in done.stderr


def test_the_readme_runtime_block_compiles_in_cogvideox_sat_folder(tmp_path: Path) -> None:
    """The README's runtime block, pasted in (a copy of) CogVideoX's sat/ folder: its edit
    and its compile work on the official configs as they ship (launching needs GPUs)."""
    import re
    import shutil

    from support import cogvideo_sat

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```bash\n(sed -i .*?)```", readme, re.S)
    sat = tmp_path / "sat"
    shutil.copytree(cogvideo_sat(), sat)
    lines = [line for line in block.replace("\\\n", " ").splitlines() if not line.startswith("bash ")]
    assert any(line.startswith("satc compile ") for line in lines), block
    script = "set -e\n" + "\n".join(
        line.replace("satc ", f"{sys.executable} -m satc ", 1) if line.startswith("satc ") else line
        for line in lines
    )
    done = subprocess.run(["bash", "-c", script], cwd=sat, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "from satc.runtime import get_args" in (sat / "train_video.py").read_text(encoding="utf-8")
    assert (sat / "bundles" / "5b-lora" / "launch.sh").is_file()


def test_offloading_as_deepspeed_documents_it_says_what_to_remove(tmp_path: Path) -> None:
    """sft.yaml keeps the deprecated `cpu_offload: false`; adding DeepSpeed's documented
    `offload_optimizer` beside it is refused (DeepSpeed asserts on both): the hint names
    the key to remove and how."""
    done = satc(
        "compile",
        *LORA,
        "--set",
        "deepspeed.zero_optimization.offload_optimizer.device=cpu",
        "-o",
        str(tmp_path / "b"),
    )
    assert done.returncode == 2
    assert "Deprecated `cpu_offload` cannot be given together with `offload_optimizer`" in done.stderr
    assert (
        "hint: remove deepspeed.zero_optimization.cpu_offload (in its layer, or "
        "--set deepspeed.zero_optimization.cpu_offload=null)" in done.stderr
    )
