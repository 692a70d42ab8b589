"""Rule T2: a training bundle's data paths (args.train_data, args.valid_data).

SAT finds a missing data folder only after every rank has loaded the model. The compile
warns when a relative path does not exist from the folder it runs in (not failed by
--strict: the compile machine need not hold the data); launch.sh checks every path on the
node before any rank starts and exits 2 naming the key, the layer and line that set it and
the path. Real torchrun; the SLURM script inside its allocation with a fake srun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import support
from launch_helpers import run_with_fakes
from support import ROOT, satc

EXAMPLES = ROOT / "examples" / "cogvideox"
LAYERS = [str(EXAMPLES / name) for name in ("cogvideox_5b_lora.yaml", "sft.yaml", "tiny_lora_cpu.yaml")]
# A stand-in for CogVideoX's train_video.py (T2 checks SAT training entrypoints): each
# rank leaves a mark, so the test sees whether any rank started.
RANK = """
import os, pathlib
rank = os.environ["RANK"]
pathlib.Path("marks").mkdir(exist_ok=True)
pathlib.Path("marks", rank).write_text(rank)
"""


def _bundle(tmp_path: Path, *sets: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    entry = tmp_path / "train_video.py"
    entry.write_text(RANK)
    argv = ["compile", *LAYERS, "-o", "bundle", "--set", f"launch.entrypoint={entry}"]
    for item in ["launch.gpus_per_node=2", *sets]:
        argv += ["--set", item]
    return satc(*argv, cwd=tmp_path, timeout=120), tmp_path / "bundle"


def test_compile_warns_for_a_relative_data_path_missing_here_and_strict_still_passes(tmp_path: Path) -> None:
    done, bundle = _bundle(tmp_path, "args.valid_data=[/cluster/data/clips]")
    assert done.returncode == 0, done.stderr
    # Located at tiny_lora_cpu.yaml's train_data; the absolute cluster path is not judged here.
    assert (
        f"{EXAMPLES / 'tiny_lora_cpu.yaml'}:19:16: warning: args.train_data: data path 'tiny/clips' (entry 0) "
        "does not exist in the folder satc runs in" in done.stderr
    )
    assert "[T2]" in done.stderr and "/cluster/data/clips" not in done.stderr
    # --strict with every other warning accepted: the T2 warning is shown, not failed.
    keys = sorted(
        {
            line.split(": ")[2]
            for line in done.stderr.splitlines()
            if ": warning: " in line and "[T2]" not in line
        }
    )
    (tmp_path / "accept.yaml").write_text(f"satc: {{accept_warnings: {keys}}}\n")
    strict = satc(*["compile", *LAYERS, "accept.yaml", "-o", "strict", "--strict"], cwd=tmp_path, timeout=120)
    assert strict.returncode == 0, strict.stderr
    assert "warning: args.train_data: data path 'tiny/clips'" in strict.stderr
    (tmp_path / "tiny" / "clips").mkdir(parents=True)
    again, _ = _bundle(tmp_path)
    assert again.returncode == 0 and "[T2]" not in again.stderr, again.stderr


def test_an_inference_bundle_checks_no_data(tmp_path: Path) -> None:
    done, bundle = _bundle(tmp_path, "args.mode=inference", "args.latent_channels=16")
    assert done.returncode == 0, done.stderr
    assert "DATA_CHECKS" not in (bundle / "launch.sh").read_text() and "[T2]" not in done.stderr


def test_launch_sh_refuses_a_missing_data_path_before_any_rank_starts(tmp_path: Path) -> None:
    support.require_tool("torchrun")
    support.require_tool("shellcheck")
    done, bundle = _bundle(tmp_path, "args.valid_data=[/nonexistent/satc-valid]")
    assert done.returncode == 0, done.stderr
    script = bundle / "launch.sh"
    assert subprocess.run(["shellcheck", "-S", "warning", str(script)], check=False).returncode == 0
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    refused = subprocess.run(
        ["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert refused.returncode == 2, refused.stderr
    layer = os.path.relpath(EXAMPLES / "tiny_lora_cpu.yaml", bundle)
    assert (
        f'launch.sh: args.train_data[0] = "tiny/clips", set in {layer} (relative to the bundle): '
        f"no such file or folder in {tmp_path}" in refused.stderr
    )
    assert 'args.valid_data[0] = "/nonexistent/satc-valid", set in --set args.valid_data' in refused.stderr
    assert not (tmp_path / "marks").exists()  # no rank started

    # With the data in place, the same bundle starts its ranks on real torchrun.
    (tmp_path / "tiny" / "clips").mkdir(parents=True)
    done, bundle = _bundle(tmp_path)
    started = subprocess.run(
        ["bash", str(bundle / "launch.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "marks").iterdir()) == ["0", "1"]


def test_the_slurm_job_checks_the_data_on_its_node_before_srun(tmp_path: Path) -> None:
    done, bundle = _bundle(tmp_path, "launch.target=slurm")
    assert done.returncode == 0, done.stderr
    inside = {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "node-a"}
    refused, records = run_with_fakes(bundle / "launch.sh", tmp_path, env=inside)
    assert refused.returncode == 2, refused.stderr
    assert 'launch.sh: args.train_data[0] = "tiny/clips"' in refused.stderr
    assert [r for r in records if r["name"] == "srun"] == []
    (tmp_path / "tiny" / "clips").mkdir(parents=True)
    started, records = run_with_fakes(bundle / "launch.sh", tmp_path, env=inside)
    assert [r["name"] for r in records] == ["srun"], started.stderr


def test_the_check_in_launch_sh_does_not_depend_on_a_layer_s_layout(tmp_path: Path) -> None:
    """Comments and key order change no bundle byte (README, Determinism): the check names
    the layer, not its line."""
    config = "args:\n  mode: finetune\n  train_iters: 2\n  train_data: [clips]\n"
    shifted = "# a comment\n\n# another\nargs:\n  train_data: [clips]   # moved up\n  train_iters: 2\n  mode: finetune\n"
    texts = []
    for name, text in (("a", config), ("b", shifted)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "layer.yaml").write_text(text)
        done = satc(
            "compile", *LAYERS, str(folder / "layer.yaml"), "-o", str(folder / "bundle"), cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        texts.append((folder / "bundle" / "launch.sh").read_text())
    assert texts[0] == texts[1]
    assert '"clips", set in ../layer.yaml (relative to the bundle)' in texts[0]
