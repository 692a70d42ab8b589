"""The compile path stays light: no torch/DeepSpeed/SAT, and no OmegaConf for plain configs.

A compile runs in CI on every commit and interactively while editing; its time is
mostly imports (benchmarks/bench.py).  These guards fail when a change pulls a heavy
package into `satc compile`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support import REFERENCE, cogvideo_sat

HEAVY = ("torch", "deepspeed", "sat", "numpy")

PROBE = """
import json, sys
from pathlib import Path
from satc.compiler.cli import main
try:
    main([*sys.argv[2:]], standalone_mode=False)
finally:
    print(json.dumps(sorted(sys.modules)), file=open(sys.argv[1], "w"))
"""


def _modules_after_compile(
    tmp_path: Path, *argv: str, env: dict[str, str] | None = None, out: str = "out", rc: int = 0
) -> set[str]:
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), "compile", *argv, "-o", str(tmp_path / out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == rc, done.stderr
    return {name.split(".")[0] for name in json.loads(report.read_text("utf-8"))}


def test_compiling_cogvideox_imports_nothing_heavy_and_no_omegaconf(tmp_path: Path) -> None:
    roots = _modules_after_compile(
        tmp_path, str(REFERENCE / "cogvideox_5b_lora.yaml"), str(REFERENCE / "sft.yaml")
    )
    assert (tmp_path / "out" / "args.json").is_file()
    assert not roots & set(HEAVY), roots & set(HEAVY)
    # OmegaConf's package costs ~30 ms to import; plain layers never need it.
    assert "omegaconf" not in roots


def test_interpolation_brings_in_omegaconf_but_still_nothing_heavy(tmp_path: Path) -> None:
    layer = tmp_path / "interp.yaml"
    # 13 latent frames at 480x720: the shipped inference.yaml samples like CogVideoX 1.5.
    layer.write_text(
        "args:\n  experiment_name: run-${args.seed}\n  seed: 7\n"
        "  sampling_num_frames: 13\n  sampling_image_size: [480, 720]\n",
        "utf-8",
    )
    roots = _modules_after_compile(
        tmp_path,
        str(REFERENCE / "cogvideox_5b_lora.yaml"),
        str(REFERENCE / "inference.yaml"),
        str(layer),
    )
    assert "omegaconf" in roots
    assert not roots & set(HEAVY), roots & set(HEAVY)


def test_plan_and_the_compile_summary_import_nothing_heavy(tmp_path: Path) -> None:
    inputs = (str(REFERENCE / "cogvideox_5b_lora.yaml"), str(REFERENCE / "sft.yaml"))
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            str(report),
            "plan",
            *inputs,
            "--set",
            "launch.gpu=H200",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["memory"]["fits"] is True
    roots = {name.split(".")[0] for name in json.loads(report.read_text("utf-8"))}
    assert not roots & set(HEAVY), roots & set(HEAVY)
    # compile prints the same plan's summary line: the guard above covers its imports
    assert (
        "satc" in roots
        and "memory ~"
        in subprocess.run(
            [sys.executable, "-m", "satc", "compile", *inputs, "-o", str(tmp_path / "out")],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    )


def test_no_compile_imports_jsonschema_or_jinja2_for_a_valid_tree_and_a_repeat_writes_the_same_bundle(
    tmp_path: Path,
) -> None:
    # A clean schema verdict and the rendered launch.sh are memoised by content (memo.py).
    env = {**os.environ, "SATC_CACHE_DIR": str(tmp_path / "cache")}
    configs = (str(REFERENCE / "cogvideox_5b_lora.yaml"), str(REFERENCE / "sft.yaml"))
    first = _modules_after_compile(tmp_path, *configs, env=env, out="first")
    # Even the first: schema_check.py proves a valid tree valid without jsonschema, and
    # launch.sh is rendered by the templates' precompiled code (templates/*_sh.py).
    assert not first & {"jsonschema", "jinja2"}, first & {"jsonschema", "jinja2"}
    assert "importlib.metadata" not in json.loads((tmp_path / "modules.json").read_text("utf-8"))
    again = _modules_after_compile(tmp_path, *configs, env=env, out="again")
    assert not again & {"jsonschema", "jinja2"}, again & {"jsonschema", "jinja2"}
    for name in ("args.json", "config.yaml", "launch.sh", "ds_config.json"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "first" / name).read_bytes()
    # A different tree is judged again: a clean verdict does not stand for it.
    bad = tmp_path / "bad.yaml"
    bad.write_text("args:\n  train_iters: ten\n", "utf-8")
    judged = _modules_after_compile(tmp_path, *configs, str(bad), env=env, out="bad", rc=2)
    assert "jsonschema" in judged
    assert not (tmp_path / "bad").exists()


def test_a_compile_over_a_bundle_imports_no_process_or_archive_machinery(tmp_path: Path) -> None:
    # importlib.resources (its readers pull in zipfile) and ctypes.util (subprocess, to
    # find libc) were a tenth of a repeat compile; satc's data files are plain files and
    # libc's renameat2 is in the interpreter's own symbols.  The second compile swaps a
    # bundle that exists already, the path that needs renameat2.
    env = {**os.environ, "SATC_CACHE_DIR": str(tmp_path / "cache")}
    configs = (str(REFERENCE / "cogvideox_5b_lora.yaml"), str(REFERENCE / "sft.yaml"))
    _modules_after_compile(tmp_path, *configs, env=env)
    first = (tmp_path / "out" / "args.json").read_bytes()
    _modules_after_compile(tmp_path, *configs, "--set", "args.seed=7", env=env)
    modules = set(json.loads((tmp_path / "modules.json").read_text("utf-8")))
    assert "ctypes" in modules  # the swap ran
    assert not modules & {"importlib.resources", "ctypes.util", "subprocess", "zipfile"}
    assert (tmp_path / "out" / "args.json").read_bytes() != first
    assert list(tmp_path.glob("out*")) == [tmp_path / "out"]


def test_a_repeat_compile_in_a_project_imports_neither_the_project_reader_nor_pyyaml(tmp_path: Path) -> None:
    # The project's facts come from the cache: its reader (ast, the class and parser
    # readers) is imported only on a miss, or a repeat pays for modules it never runs.
    tree = cogvideo_sat()
    env = {**os.environ, "SATC_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-c", PROBE, str(tmp_path / "modules.json"), "compile"]
    argv += ["configs/cogvideox1.5_5b.yaml", "configs/inference.yaml", "-o", str(tmp_path / "out")]
    for expected in (True, False):
        done = subprocess.run(
            argv, cwd=tree, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        modules = set(json.loads((tmp_path / "modules.json").read_text("utf-8")))
        assert ("satc.compiler.project.reader" in modules) is expected
        # The configs' readings and config.yaml's text are memoised too (yaml_reader, render).
        assert ("yaml" in modules) is expected
