"""Measure satc on public SAT-derived projects, each launched as its README launches it.

    python benchmarks/forks_trial.py [--trees /work/trees] [--only NAME] [--json OUT]

For every launch below: ``satc compile`` of the same ``--base`` files from the folder the
project's script runs in (the script's own flags after ``--base`` given as ``--set``), the
errors and warnings it prints, and, when it compiles, ``satc.runtime.load`` of the bundle
compared key by key with the project's OWN ``get_args`` (tests/reference/project_get_args.py,
run in the entrypoint folder, neutralised on CPU).  Per-process keys (rank, device, ...) and
``base`` (the runtime hands the bundle's config) are left out of the count.

The trees are not part of satc (CI has no internet): they are unpacked from public
repositories (``git archive``) into TREES/<name>; a launch whose tree is absent is skipped.
The classification of each message as a true catch or a false refusal is done by reading
the project's code, in benchmarks/forks_trial.md, not here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
HARNESS = ROOT / "tests" / "reference" / "project_get_args.py"
PER_PROCESS = {"cuda", "rank", "world_size", "local_rank", "device", "master_ip", "master_port"}


@dataclass(frozen=True)
class Launch:
    name: str
    cwd: str  # where the README's command runs, relative to TREES
    entry: str  # the script it starts, relative to cwd
    bases: tuple[str, ...]
    flags: tuple[str, ...] = ()  # after --base, for the project's own get_args
    sets: tuple[str, ...] = ()  # the same for satc compile --set


def _layerflow(task: str, rgba: bool) -> Launch:
    kind = "rgba" if rgba else "rgb"
    return Launch(
        f"layerflow-{task}-{kind}",
        "LayerFlow/sat",
        "test_video.py" if rgba else "test_video_rgb.py",
        (f"configs/cogvideox_2b_stage2_{task}_{kind}.yaml", f"configs/sft_stage2_{task}_{kind}_test.yaml"),
        ("--seed", "1234"),
        ("args.seed=1234",),
    )


def _ditctrl(name: str, script: str, case: str) -> Launch:
    return Launch(
        f"ditctrl-{name}",
        "DiTCtrl/sat",
        script,
        ("configs/cogvideox_2b.yaml", "configs/inference.yaml"),
        ("--custom-config", case),
        (f"args.custom_config={case}",),
    )


LAUNCHES = (
    Launch(
        "scail-14b-sample",
        "SCAIL",
        "sample_video.py",
        (
            "configs/video_model/Wan2.1-i2v-14Bsc-pose-xc-latent.yaml",
            "configs/sampling/wan_pose_14Bsc_xc_cli.yaml",
        ),
        ("--seed", "1234"),
        ("args.seed=1234",),
    ),
    Launch(
        "scail-1.3b-sample",
        "SCAIL",
        "sample_video.py",
        (
            "configs/video_model/Wan2.1-Fun-1.3Bsc-pose-xc-latent.yaml",
            "configs/sampling/wan_pose_14Bsc_xc_cli.yaml",
        ),
        ("--seed", "1234"),
        ("args.seed=1234",),
    ),
    _ditctrl("multi-prompt", "sample_video.py", "inference_case_configs/multi_prompts/rose.yaml"),
    Launch(  # the same case as satc's G2 hint says: the custom config as the last file
        "ditctrl-multi-prompt-as-3rd-config",
        "DiTCtrl/sat",
        "sample_video.py",
        (
            "configs/cogvideox_2b.yaml",
            "configs/inference.yaml",
            "inference_case_configs/multi_prompts/rose.yaml",
        ),
        ("--custom-config", "inference_case_configs/multi_prompts/rose.yaml"),
    ),
    _ditctrl("single-prompt", "sample_video.py", "inference_case_configs/single_prompt/fish.yaml"),
    _ditctrl("edit", "sample_video_edit.py", "inference_case_configs/edit/suv.yaml"),
    _ditctrl("reweight", "sample_video_edit.py", "inference_case_configs/reweight/bear_0.yaml"),
    *[_layerflow(t, r) for t in ("gen", "seg", "fg2bg", "bg2fg") for r in (False, True)],
    Launch(
        "flashvideo-270p-1080p",
        "FlashVideo",
        "flashvideo/dist_inf_text_file.py",
        ("flashvideo/configs/stage1.yaml",),
        (
            "--second",
            "flashvideo/configs/stage2.yaml",
            "--inf-ckpt",
            "./checkpoints/stage1.pt",
            "--inf-ckpt2",
            "./checkpoints/stage2.pt",
            "--input-file",
            "./example.txt",
            "--output-dir",
            "./vis_270p_1080p_example",
        ),
        (
            "args.second=[flashvideo/configs/stage2.yaml]",
            "args.inf_ckpt=./checkpoints/stage1.pt",
            "args.inf_ckpt2=./checkpoints/stage2.pt",
            "args.input_file=./example.txt",
            "args.output_dir=./vis_270p_1080p_example",
        ),
    ),
    Launch(
        "kaleido-14b-sample",
        "Kaleido",
        "sample_video.py",
        (
            "configs/video_model/dit_crossattn_14B_wanvae.yaml",
            "configs/sampling/sample_wanvae_concat_14b.yaml",
        ),
        ("--seed", "1234"),
        ("args.seed=1234",),
    ),
    Launch(  # torchrun_multi_gpu.sh: 8 GPUs per node (the YAML's sequence_parallel_size 8)
        "kaleido-14b-sample-8gpu",
        "Kaleido",
        "sample_video.py",
        (
            "configs/video_model/dit_crossattn_14B_wanvae.yaml",
            "configs/sampling/sample_wanvae_concat_14b.yaml",
        ),
        ("--seed", "1234"),
        ("args.seed=1234", "launch.gpus_per_node=8"),
    ),
    Launch(
        "kaleido-14b-train",
        "Kaleido",
        "train_video_concat.py",
        ("configs/video_model/dit_crossattn_14B_wanvae.yaml", "configs/training/video_wanx_14B_concat.yaml"),
    ),
)


def compile_launch(trees: Path, launch: Launch, out: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    sets = [x for s in (*launch.sets, f"launch.entrypoint={launch.entry}") for x in ("--set", s)]
    return subprocess.run(
        [sys.executable, "-m", "satc", "compile", *launch.bases, "-o", str(out), *sets],
        cwd=trees / launch.cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "SATC_CACHE_DIR": str(cache)},
        check=False,
    )


def reference(trees: Path, launch: Launch) -> dict:
    """The project's own get_args, in the folder of its entrypoint (paths made absolute)."""
    cwd = trees / launch.cwd
    entry_dir = (cwd / launch.entry).parent

    def absolute(item: str) -> str:
        # the harness runs in the entrypoint's folder: a path the README gives from another
        # folder is made absolute (and made relative again in the comparison)
        moved = entry_dir.resolve() != cwd.resolve() and (cwd / item).exists()
        return str(cwd / item) if moved else item

    argv = ["--base", *[absolute(b) for b in launch.bases], *[absolute(f) for f in launch.flags]]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run(
        [sys.executable, str(HARNESS), "--tree", str(entry_dir), "--", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    for line in result.stdout.splitlines():
        if line.startswith("REFERENCE "):
            return json.loads(line[len("REFERENCE ") :])
    return {"error": "harness failed: " + result.stderr.strip().splitlines()[-1] if result.stderr else "?"}


def satc_namespace(bundle: Path, cwd: Path) -> dict:
    code = (
        "import json,sys; from project_support import to_json; import satc.runtime;"
        "print('NS '+json.dumps(to_json(satc.runtime.load(sys.argv[1]))))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", code, str(bundle)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    for line in result.stdout.splitlines():
        if line.startswith("NS "):
            return json.loads(line[3:])
    return {"__error__": (result.stderr.strip().splitlines() or ["?"])[-1]}


def differences(mine: dict, theirs: dict, cwd: Path) -> list[str]:
    if "__error__" in mine:
        return [f"satc.runtime.load: {mine['__error__']}"]
    theirs = json.loads(json.dumps(theirs).replace(str(cwd) + "/", ""))
    if theirs.get("mode") != "inference":
        # D3/D4 (as tests/test_fork_parity.py): zero_stage is DeepSpeed's stage, and satc's
        # deepspeed_config gains train_batch_size (and gradient_accumulation_steps)
        ds = dict(mine.get("deepspeed_config") or {})
        theirs = {**theirs, "zero_stage": ds.get("zero_optimization", {}).get("stage", 0)}
        own = theirs.get("deepspeed_config") or {}
        for key in ("train_batch_size", "gradient_accumulation_steps"):
            if key not in own:
                ds.pop(key, None)
        mine = {**mine, "deepspeed_config": ds}
    out = []
    for key in sorted((set(mine) | set(theirs)) - PER_PROCESS - {"base"}):
        if key not in mine:
            out.append(f"{key}: only in the project's ({theirs[key]!r:.80})")
        elif key not in theirs:
            out.append(f"{key}: only in satc's ({mine[key]!r:.80})")
        elif mine[key] != theirs[key]:
            out.append(f"{key}: satc {mine[key]!r:.100} != project {theirs[key]!r:.100}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trees", type=Path, default=Path("/work/trees"))
    parser.add_argument("--only", default="")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--compile-only", action="store_true", help="skip the project's get_args")
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for launch in LAUNCHES:
            if options.only and options.only not in launch.name:
                continue
            if not (options.trees / launch.cwd).is_dir():
                continue
            out = Path(tmp) / launch.name
            result = compile_launch(options.trees, launch, out, Path(tmp) / "cache")
            lines = result.stderr.splitlines()
            errors = [line for line in lines if ": error:" in line or line.startswith("error:")]
            warnings = [line for line in lines if ": warning:" in line]
            theirs = {"error": "not run"} if options.compile_only else reference(options.trees, launch)
            diff: list[str] | None = None
            if result.returncode == 0 and "args" in theirs:
                cwd = options.trees / launch.cwd
                diff = differences(satc_namespace(out, cwd), theirs["args"], cwd)
            row = {
                "launch": launch.name,
                "rc": result.returncode,
                "errors": errors,
                "warnings": warnings,
                "project": theirs.get("error", "ok"),
                "diff": diff,
            }
            rows.append(row)
            print(
                f"=== {launch.name}: rc {result.returncode}, {len(errors)} errors, {len(warnings)} warnings"
            )
            for line in errors + warnings:
                print("   ", line)
            print("    project get_args:", row["project"])
            for line in diff or []:
                print("    diff:", line)
            if diff is None and result.returncode != 0:
                print("    diff: (not compiled)")
    if options.json:
        options.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
