"""`satc diff`: a semantic diff of two bundles, grouped by section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from satc.compiler.cli import main
from support import CASES

BASE, EXPERIMENT = (str(CASES / "bundles" / n) for n in ("base.yaml", "experiment.yaml"))


def compile_to(out_dir: Path, *overrides: str) -> None:
    argv = ["compile", BASE, EXPERIMENT, "-o", str(out_dir)]
    for override in overrides:
        argv += ["--set", override]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("diff")
    compile_to(root / "a")
    # Differs in precision and world size only.
    compile_to(root / "b", "args.bf16=true", "launch.gpus_per_node=4")
    return root / "a", root / "b"


def invoke(*argv: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["diff", *argv])
    return result.exit_code, result.stdout, result.stderr


def test_precision_and_world_size_and_nothing_else(bundles: tuple[Path, Path]) -> None:
    a, b = bundles
    code, out, _ = invoke(str(a), str(b), "--format", "json")
    assert code == 1
    sections = json.loads(out)["sections"]
    changed = {
        (section, item["key"]): (item.get("a"), item.get("b"))
        for section, items in sections.items()
        for item in items
    }
    assert changed == {
        ("summary", "precision"): ("fp16", "bf16"),
        ("summary", "world_size"): (2, 4),
        ("summary", "train_batch_size"): (8, 16),  # D4: dp doubled
        ("args", "fp16"): (True, False),
        ("args", "bf16"): (False, True),
        ("deepspeed", "fp16.enabled"): (True, False),
        ("deepspeed", "bf16.enabled"): (False, True),
        ("deepspeed", "train_batch_size"): (8, 16),
        ("topology", "gpus_per_node"): (2, 4),
        ("topology", "world_size"): (2, 4),
        ("topology", "data_parallel_size"): (2, 4),
        ("launch", "gpus_per_node"): (2, 4),
        ("provenance", "overrides"): ([], ["args.bf16=true", "launch.gpus_per_node=4"]),
    }


def test_text_output_is_grouped_by_section(bundles: tuple[Path, Path]) -> None:
    a, b = bundles
    code, out, _ = invoke(str(a), str(b))
    assert code == 1
    assert out.startswith(f'--- {a}\n+++ {b}\nsummary:\n  precision: "fp16" -> "bf16"\n')
    headers = [line for line in out.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert headers == ["summary:", "args:", "deepspeed:", "topology:", "launch:", "provenance:"]
    assert "deepspeed:\n  bf16.enabled: false -> true\n  fp16.enabled: true -> false\n" in out


def test_identical_bundles_and_hand_edits(bundles: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = bundles
    code, out, _ = invoke(str(a), str(a / "args.json"))
    assert (code, out) == (0, f"{a} and {a / 'args.json'}: no differences\n")
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in a.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    ds = json.loads((copy / "ds_config.json").read_text())
    ds["gradient_clipping"] = 9.0
    (copy / "ds_config.json").write_text(json.dumps(ds))
    (copy / "launch.sh").unlink()
    code, out, _ = invoke(str(a), str(copy))
    assert code == 1
    assert 'files:\n  launch.sh: "present" -> (absent)\n' in out
    assert '  ds_config.json: "matches args.json" -> "disagrees with args.json deepspeed_config' in out


def test_not_a_bundle_is_exit_2(bundles: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = bundles
    code, out, err = invoke(str(a), str(tmp_path / "missing"))
    assert (code, out) == (2, "")
    assert f"{tmp_path / 'missing'}: error: no such bundle directory" in err
    (tmp_path / "args.json").write_text('{"format": "other"}')
    code, _, err = invoke(str(tmp_path), str(a))
    assert code == 2 and "is not a satc args.json" in err
