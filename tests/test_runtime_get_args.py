"""The runtime as CogVideoX's entrypoints use it: `from satc.runtime import get_args`
(or `import satc` then `satc.runtime...`), args.base pointing at the bundle's merged
config from any directory, command-line flags refused by name, mode-appropriate
entrypoints, and a runtime extra that does not pin the user's torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from support import REFERENCE, ROOT, satc

GOLDEN = [REFERENCE / "cogvideox_2b.yaml", REFERENCE / "inference.yaml"]
# inference.yaml samples CogVideoX-1.5's 768x1360 and 22 latent frames, which CogVideoX-2B
# refuses (M14, M15): the 2B's own values.
FITS_2B = ["args.sampling_image_size=[480,720]", "args.sampling_num_frames=13"]


def _compile(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "bundle"
    sets = [part for item in FITS_2B for part in ("--set", item)]
    result = satc("compile", *map(str, GOLDEN), "-o", str(out), "--set", "launch.device=cpu", *sets, *extra)
    assert result.returncode == 0, result.stderr
    return out


def test_import_satc_exposes_the_runtime_without_importing_torch() -> None:
    code = (
        "import sys, satc\n"
        "assert 'torch' not in sys.modules and 'satc.runtime' not in sys.modules\n"
        "from satc.runtime import get_args\n"
        "assert satc.runtime.get_args is get_args and callable(satc.runtime.init)\n"
        "assert 'torch' not in sys.modules, 'importing the runtime must not import torch'\n"
        "import inspect; print(inspect.signature(get_args))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(args_list: 'Sequence[str] | None' = None) -> 'argparse.Namespace'"


def test_base_is_the_bundles_merged_config_from_any_directory(tmp_path: Path) -> None:
    from omegaconf import OmegaConf
    from satc.runtime import load

    bundle = _compile(tmp_path, "--set", "args.sampling_num_frames=13")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = os.getcwd()
    try:
        os.chdir(elsewhere)
        namespace = load(os.path.relpath(bundle))
    finally:
        os.chdir(cwd)
    [base] = namespace.base
    assert base == str((bundle / "config.yaml").resolve()) and Path(base).is_absolute()
    # CogVideoX re-reads args.base for log_config / training_config.yaml: the merged
    # inputs, --set included, exactly as OmegaConf merges the original files.
    merged = OmegaConf.merge(*map(OmegaConf.load, GOLDEN), OmegaConf.from_dotlist(FITS_2B))
    merged.launch = {"device": "cpu"}
    assert OmegaConf.to_container(OmegaConf.load(base)) == OmegaConf.to_container(merged)
    recorded = json.loads((bundle / "args.json").read_text())["args"]["base"]
    assert recorded == [os.path.relpath(path, bundle) for path in GOLDEN]  # provenance unchanged


def test_an_edited_merged_config_is_refused(tmp_path: Path) -> None:
    from satc.runtime import BundleError, load

    bundle = _compile(tmp_path)
    config = bundle / "config.yaml"
    config.write_text(config.read_text().replace("sampling_fps: 16", "sampling_fps: 9"))
    with pytest.raises(BundleError, match="config.yaml: does not match the sha256 recorded in args.json"):
        load(bundle)


def test_the_merged_config_quotes_strings_omegaconf_would_read_as_numbers(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    bundle = _compile(tmp_path, "--set", "args.experiment_name='1e5'")
    loaded = OmegaConf.load(bundle / "config.yaml")
    assert loaded.args.experiment_name == "1e5"


def test_flags_are_refused_by_name_with_the_compile_time_way(tmp_path: Path) -> None:
    bundle = _compile(tmp_path)
    code = "from satc.runtime import get_args; get_args()"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "oops",
            "--seed",
            "4242",
            "--lr=0.1",
            "--base",
            "x.yaml",
            "y.yaml",
            "--no-such",
        ],
        env={**os.environ, "SATC_BUNDLE": str(bundle / "args.json")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("satc.runtime.get_args: error: command-line arguments are not read")
    seed = json.loads((bundle / "args.json").read_text())["args"]["seed"]
    assert lines[1:] == [
        "  'oops': a positional argument; CogVideoX's get_args takes none",
        f"  --seed: the bundle has args.seed = {seed}; to change it, recompile: "
        "satc compile CONFIG... -o DIR --set args.seed=4242",
        "  --lr: the bundle has args.lr = 0.0001; to change it, recompile: "
        "satc compile CONFIG... -o DIR --set args.lr=0.1",
        "  --base: satc sets args.base itself; change the configs and recompile",
        "  --no-such: it is not an argument of this bundle; pass it to your own script another way",
    ]


def test_refused_flags_and_bad_values_are_printed_escaped_and_redacted(tmp_path: Path) -> None:
    token = "hf_" + "Qw7e" * 9
    bundle = _compile(tmp_path)
    document = json.loads((bundle / "args.json").read_text())
    code = "from satc.runtime import get_args; get_args()"
    argv = ["--x\x1b]0;pwn\x07\nfake.yaml:1:1: error: forged", "--seed", f"\x1b[2J {token}"]
    env = {**os.environ, "SATC_BUNDLE": str(bundle / "args.json")}
    result = subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "\x1b" not in result.stderr and token not in result.stderr, result.stderr
    assert "\nfake.yaml:1:1" not in result.stderr and "\\x1b]0;pwn\\x07\\nfake.yaml" in result.stderr
    # A value the runtime refuses is redacted before it is shortened.
    document["args"]["seed"] = token[:36]
    from satc.bundle_format import canonical_digest

    document["digest"] = canonical_digest(document)
    (bundle / "args.json").write_text(json.dumps(document))
    result = subprocess.run(
        [sys.executable, "-c", "from satc.runtime import get_args; get_args([])"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "args.seed must be an integer" in result.stderr, result.stderr
    assert token[:20] not in result.stderr and "[REDACTED]" in result.stderr


def test_inference_bundles_default_to_sample_video_and_keep_an_explicit_entrypoint(tmp_path: Path) -> None:
    default = json.loads((_compile(tmp_path) / "args.json").read_text())["launch"]["entrypoint"]
    assert default == "sample_video.py"
    explicit = satc(
        "compile",
        *map(str, GOLDEN),
        "-o",
        str(tmp_path / "mine"),
        "--set",
        "launch.entrypoint=my_sampler.py",
        *(part for item in FITS_2B for part in ("--set", item)),
    )
    assert explicit.returncode == 0, explicit.stderr
    assert (
        json.loads((tmp_path / "mine" / "args.json").read_text())["launch"]["entrypoint"] == "my_sampler.py"
    )
    sets = [part for item in FITS_2B for part in ("--set", item)]
    explained = satc("explain", *map(str, GOLDEN), *sets, "launch.entrypoint")
    assert "from rule E1: mode is inference" in explained.stdout


def test_the_runtime_extra_takes_ranges_that_the_tested_versions_satisfy() -> None:
    from importlib.metadata import version

    from packaging.requirements import Requirement

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "runtime"
    ]
    requirements = {Requirement(text).name.lower(): Requirement(text) for text in extra}
    for name in ("torch", "deepspeed", "swissarmytransformer"):
        specifier = requirements[name].specifier
        assert specifier and all(spec.operator not in ("==", "===") for spec in specifier), specifier
        installed = version(name).split("+")[0]
        assert specifier.contains(installed), f"{name} {installed} does not satisfy {specifier}"


def test_a_bad_bundle_ends_get_args_like_argparse_not_with_a_traceback(tmp_path: Path) -> None:
    code = "from satc.runtime import get_args; get_args([])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "SATC_BUNDLE": str(tmp_path / "nowhere" / "args.json")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("satc.runtime.get_args: error: ")
    assert "nowhere/args.json: no such bundle file" in result.stderr
