"""What a new user hits in the first hour, each through the real CLI: exit code,
message, and nothing written on error."""

from __future__ import annotations

import json
import re
import resource
import shlex
import subprocess
import sys
from pathlib import Path

import support


def _official() -> tuple[str, str]:
    """The official 5B LoRA + sft pair as CogVideoX's network builds it (support.REFERENCE)."""
    return str(support.REFERENCE / "cogvideox_5b_lora.yaml"), str(support.REFERENCE / "sft.yaml")


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _refused(result: subprocess.CompletedProcess[str], out: Path) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists(), "nothing is written on error"


INFERENCE = "args:\n  mode: inference\n"


def test_set_null_removes_a_lower_layers_key(tmp_path: Path) -> None:
    model, sft = _official()
    out = tmp_path / "b"
    result = support.satc(
        "compile", model, sft, "-o", str(out), "--set", "deepspeed.zero_optimization.stage=null"
    )
    assert result.returncode == 0, result.stderr  # was: "expected an integer, got null"
    document = json.loads((out / "args.json").read_text())
    assert "stage" not in document["deepspeed_config"]["zero_optimization"]
    assert "deepspeed.zero_optimization.stage=null" in document["provenance"]["overrides"]
    layer = _write(tmp_path / "c.yaml", "args:\n  mode: inference\n  checkpoint_activations: true\n")
    result = support.satc(
        "compile", layer, "-o", str(tmp_path / "c"), "--set", "args.checkpoint_activations=null"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "c" / "args.json").read_text())["args"]["checkpoint_activations"] is False


def test_messages_print_yaml_booleans(tmp_path: Path) -> None:
    model, sft = _official()
    out = tmp_path / "b"
    result = support.satc(
        "compile", model, sft, "-o", str(out), "--set", "args.train_iters=5", "--set", "args.fp16=true"
    )
    _refused(result, out)
    assert "--set args.fp16=true would be replaced by deepspeed.fp16.enabled (false)" in result.stderr
    assert "True" not in result.stderr and "False" not in result.stderr


def test_missing_config_gets_a_did_you_mean(tmp_path: Path) -> None:
    model, sft = _official()
    out = tmp_path / "b"
    result = support.satc("compile", model, sft.replace("sft.yaml", "sfft.yaml"), "-o", str(out))
    _refused(result, out)
    assert "sfft.yaml: error: no such file" in result.stderr
    assert f"hint: did you mean {sft}?" in result.stderr


def test_compile_help_example_works(tmp_path: Path) -> None:
    help_text = support.satc("compile", "--help").stdout
    example = re.search(r"after all files \(e\.g\. (--set \S+?)\)", " ".join(help_text.split()))
    assert example, help_text
    result = support.satc("compile", *_official(), "-o", str(tmp_path / "b"), *shlex.split(example.group(1)))
    assert result.returncode == 0, result.stderr


def test_deepspeed_hosts_need_no_master_addr(tmp_path: Path) -> None:
    layer = _write(
        tmp_path / "c.yaml",
        INFERENCE + "launch:\n  target: deepspeed\n  nodes: 2\n  hosts: [node-a, node-b]\n",
    )
    result = support.satc("compile", layer, "-o", str(tmp_path / "b"))
    assert result.returncode == 0, result.stderr
    assert "MASTER_ADDR=node-a\n" in (tmp_path / "b" / "launch.sh").read_text()
    explained = support.satc("explain", layer, "launch.master_addr")
    assert "rule D6: the deepspeed launcher uses the first host" in explained.stdout


def test_check_accept_command_works_for_a_foreign_file(tmp_path: Path) -> None:
    layer = _write(tmp_path / "c.yaml", INFERENCE)
    assert support.satc("compile", "c.yaml", "-o", "b", cwd=tmp_path).returncode == 0
    (tmp_path / "b" / "notes.txt").write_text("mine\n")
    result = support.satc("check", "-o", "b", cwd=tmp_path)
    assert result.returncode == 1
    accept = re.search(r"to accept the recompiled bundle: (.*)", result.stdout)
    assert accept and accept.group(1).startswith("rm -- b/notes.txt && satc compile"), result.stdout
    command = accept.group(1).replace("satc compile", f"{shlex.quote(sys.executable)} -m satc compile")
    assert subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True).returncode == 0
    assert support.satc("check", "-o", "b", cwd=tmp_path).returncode == 0
    assert layer


ACCEPT = (
    "satc:\n  accept_warnings: [deepspeed.loss_scale, deepspeed.loss_scale_window, deepspeed.hysteresis,\n"
    "    deepspeed.min_loss_scale, deepspeed.zero_optimization.cpu_offload,\n"
    "    model.first_stage_config.params.decoder_config.params.double_z]\n"
    "launch:\n  args_from_env: {load: PRETRAINED}\n"
)


def test_accepted_warnings_make_strict_usable_on_the_official_sft(tmp_path: Path) -> None:
    model, sft = _official()
    out = tmp_path / "b"
    _refused(support.satc("compile", model, sft, "-o", str(out), "--strict"), out)
    accept = _write(tmp_path / "accept.yaml", ACCEPT)
    result = support.satc("compile", model, sft, accept, "-o", str(out), "--strict")
    assert result.returncode == 0, result.stderr
    # Only sft.yaml's data folder, missing on this machine, is still shown (T2: not failed by --strict).
    shown = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert shown and all("[T2]" in line for line in shown), result.stderr
    assert "6 warning(s) accepted" in result.stderr
    document = json.loads((out / "args.json").read_text())
    assert len(document["provenance"]["accepted_warnings"]) == 6
    assert support.satc("check", "-o", str(out)).returncode == 0
    stale = _write(tmp_path / "stale.yaml", "satc:\n  accept_warnings: [deepspeed.nothing_here]\n")
    out2 = tmp_path / "b2"
    result = support.satc("compile", model, sft, accept, stale, "-o", str(out2), "--strict")
    _refused(result, out2)
    assert "satc.accept_warnings[0]: deepspeed.nothing_here: no warning to accept" in result.stderr


def test_per_user_paths_are_read_at_launch_time(tmp_path: Path) -> None:
    support.require_module("omegaconf")
    layer = _write(
        tmp_path / "c.yaml",
        INFERENCE + "  save: from-config\nlaunch:\n  device: cpu\n  args_from_env: {save: CKPT_DIR}\n",
    )
    out = tmp_path / "b"
    assert support.satc("compile", layer, "-o", str(out)).returncode == 0
    document = json.loads((out / "args.json").read_text())
    assert document["args"]["save"] is None and document["launch"]["args_from_env"] == {"save": "CKPT_DIR"}
    shellcheck = support.require_tool("shellcheck")
    assert subprocess.run([shellcheck, "-S", "warning", str(out / "launch.sh")]).returncode == 0
    # launch.sh refuses before starting anything.
    started = subprocess.run(["bash", str(out / "launch.sh")], cwd=tmp_path, capture_output=True, text=True)
    assert started.returncode != 0
    assert "CKPT_DIR: must be set: satc.runtime reads args.save from it" in started.stderr
    probe = "import satc.runtime as r; print(r.load().save)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        env={"SATC_BUNDLE": str(out / "args.json"), "CKPT_DIR": "/ckpt/me", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert loaded.stdout.strip() == "/ckpt/me", loaded.stderr
    missing = subprocess.run(
        [sys.executable, "-c", probe],
        env={"SATC_BUNDLE": str(out / "args.json")},
        capture_output=True,
        text=True,
    )
    assert "CKPT_DIR (args.save) not set" in missing.stderr
    for bad, message in (
        ("launch.args_from_env.fp16=X", "only text (path) arguments"),
        ("launch.args_from_env.sav=X", "did you mean save?"),
        ("launch.args_from_env.save=MASTER_ADDR", "MASTER_ADDR is set by satc"),
    ):
        result = support.satc("compile", layer, "-o", str(tmp_path / "bad"), "--set", bad)
        _refused(result, tmp_path / "bad")
        assert message in result.stderr, result.stderr


def test_a_set_path_is_never_dropped_for_a_launch_time_one(tmp_path: Path) -> None:
    layer = _write(
        tmp_path / "c.yaml", INFERENCE + "launch:\n  device: cpu\n  args_from_env: {save: CKPT_DIR}\n"
    )
    out = tmp_path / "b"
    result = support.satc("compile", layer, "-o", str(out), "--set", "args.save=/ckpt/run1")
    _refused(result, out)
    assert (
        "error: args.save: --set args.save=/ckpt/run1 conflicts with launch.args_from_env.save"
        in result.stderr
    )
    assert "--set launch.args_from_env.save=null" in result.stderr
    # Resolved the way the hint says, the --set wins and is what the bundle holds.
    result = support.satc(
        "compile",
        layer,
        "-o",
        str(out),
        "--set",
        "args.save=/ckpt/run1",
        "--set",
        "launch.args_from_env.save=null",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "args.json").read_text())["args"]["save"] == "/ckpt/run1"


SLURM = INFERENCE + "launch:\n  target: slurm\n  gpus_per_node: 4\n  slurm:\n"


def test_slurm_gres_extra_options_and_cpus(tmp_path: Path) -> None:
    layer = _write(
        tmp_path / "c.yaml",
        SLURM + "    gpu_directive: gres\n    gpu_type: a100\n    cpus_per_task: 9\n"
        '    extra: {reservation: big, mail_type: "END,FAIL", requeue: true, no_requeue: false}\n',
    )
    out = tmp_path / "b"
    result = support.satc("compile", layer, "-o", str(out), "--set", "args.num_workers=8")
    assert result.returncode == 0, result.stderr
    script = (out / "launch.sh").read_text()
    sbatch = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    assert "#SBATCH --gres=gpu:a100:4" in sbatch and not any("gpus-per-node" in line for line in sbatch)
    assert {"#SBATCH --reservation=big", "#SBATCH --mail-type=END,FAIL", "#SBATCH --requeue"} <= set(sbatch)
    assert not any("no-requeue" in line for line in sbatch)
    shellcheck = support.require_tool("shellcheck")
    assert subprocess.run([shellcheck, "-S", "warning", str(out / "launch.sh")]).returncode == 0
    warned = support.satc(
        "compile", layer, "-o", str(out), "--set", "launch.slurm.cpus_per_task=1", "--strict"
    )
    _refused(warned, tmp_path / "never")
    assert (
        "launch.slurm.cpus_per_task: --cpus-per-task=1, but each rank runs args.num_workers=" in warned.stderr
    )
    for bad in ("launch.slurm.extra.chdir=/", "launch.slurm.extra.nodes=3", "launch.slurm.extra.comment=a b"):
        result = support.satc("compile", layer, "-o", str(tmp_path / "bad"), "--set", bad)
        _refused(result, tmp_path / "bad")
        assert "launch.slurm.extra." in result.stderr


def _topology_config(tmp_path: Path, nodes: int, per_node: int, mp: int) -> str:
    return _write(
        tmp_path / f"t{nodes}x{per_node}.yaml",
        f"args:\n  mode: inference\n  model_parallel_size: {mp}\nlaunch:\n  nodes: {nodes}\n"
        f"  gpus_per_node: {per_node}\n  master_addr: 10.0.0.1\n",
    )


def test_topology_views_bundles_and_spanning_groups(tmp_path: Path) -> None:
    config = _topology_config(tmp_path, 4, 3, 2)
    compact = support.satc("topology", config)
    assert compact.returncode == 0, compact.stderr
    lines = compact.stdout.splitlines()
    assert "2 of 6 model-parallel group(s) span nodes" in lines[1]
    assert [line.split()[:2] for line in lines[-4:]] == [
        ["0", "0..2"],
        ["1", "3..5"],
        ["2", "6..8"],
        ["3", "9..11"],
    ]
    assert "! spans nodes 0-1" in lines[-4]
    full = support.satc("topology", config, "--full").stdout.splitlines()
    assert len([line for line in full if re.match(r"^\d+\s+\d+\s+\d+\s", line)]) == 12
    assert full[-1].split()[3] == "5:[10,11]"
    bundle = tmp_path / "bundle"
    assert support.satc("compile", config, "-o", str(bundle)).returncode == 0
    assert support.satc("topology", str(bundle)).stdout == compact.stdout
    svg = tmp_path / "layout.svg"
    drawn = support.satc("topology", str(bundle), "--svg", str(svg))
    assert drawn.returncode == 0 and drawn.stdout == compact.stdout
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.parse(svg).getroot()
    cells = [e for e in root.iter("{http://www.w3.org/2000/svg}rect") if e.get("width") == "14"]
    assert len(cells) == 3 * 12  # nodes x GPUs, one panel per kind of group
    assert sum(1 for cell in cells if cell.get("stroke") == "red") == 4  # ranks of the spanning groups
    refused = support.satc("topology", config, "--svg", str(tmp_path / "no" / "such" / "x.svg"))
    assert refused.returncode == 2 and "cannot write" in refused.stderr
    warned = support.satc("compile", config, "-o", str(tmp_path / "w"), "--strict")
    _refused(warned, tmp_path / "w")
    assert "model-parallel groups of 2 ranks span nodes of 3 GPUs" in warned.stderr


def _limited(megabytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))


def test_big_topologies_run_in_bounded_memory(tmp_path: Path) -> None:
    """4,096 nodes x 64 GPUs used to die with MemoryError (a member list per rank)."""
    config = _topology_config(tmp_path, 4096, 64, 8)
    argv = [sys.executable, "-m", "satc", "topology", config]
    result = subprocess.run(
        argv, capture_output=True, text=True, preexec_fn=lambda: _limited(1024), timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 4 + 4096  # header, legend, blank, column names
    explain = subprocess.run(
        [sys.executable, "-m", "satc", "explain", _topology_config(tmp_path, 256, 64, 8), "--topology"],
        capture_output=True,
        text=True,
        preexec_fn=lambda: _limited(1024),
        timeout=300,
    )
    assert explain.returncode == 0, explain.stderr
    rows = [line.split() for line in explain.stdout.splitlines() if re.match(r"^\d+\s+\d+\s+\d+\s", line)]
    assert len(rows) == 256 * 64 and rows[-1][:3] == ["255", "63", "16383"]


def test_readme_lists_every_launch_key() -> None:
    readme = (support.ROOT / "README.md").read_text()
    schema = json.loads(support.satc("schema").stdout)
    for key in schema["properties"]["launch"]["properties"]:
        assert f"`{key}`" in readme, key


def test_readme_topology_example_prints_what_the_readme_shows(tmp_path: Path) -> None:
    readme = (support.ROOT / "README.md").read_text()
    block = re.search(r"```console\n(\$ printf .*?\n)\$ (satc topology \S+)\n(.*?)```", readme, re.S)
    assert block, "the README's topology example"
    subprocess.run(block.group(1)[2:], shell=True, cwd=tmp_path, check=True)
    result = support.satc(*shlex.split(block.group(2))[1:], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == block.group(3)
