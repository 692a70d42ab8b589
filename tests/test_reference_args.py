"""args.json's `args` equal what CogVideoX's get_args computes, key by key.

The reference is CogVideoX's own ``arguments.py`` in ``$SATC_COGVIDEO_SAT``, run in place
in a subprocess (tests/reference/project_get_args.py, neutralised as for the forks).
Excluded: per-process fields (filled by satc.runtime) and the documented deviations,
each checked for its own expected value instead of being skipped silently.

The ``preset`` variants (training, no ``deepspeed:`` section) reach the line where
CogVideoX's get_args opens ``training/deepspeed_zero{N}.json`` beside its arguments.py,
which its ``sat/`` folder does not ship: the harness's ``--sat-presets`` hands it SAT's
file, the one satc starts from (R5), and the test checks that it did so exactly there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compile_helpers import compile_layers, write_configs
from project_support import run_harness
from support import CASES, cogvideo_sat, require_module

PER_PROCESS = {"cuda", "rank", "world_size", "local_rank", "device", "master_ip", "master_port"}
CONFIG_SECTIONS = {"model_config", "data_config"}

VARIANTS = {
    "preset zero0 fp16": "args:\n  mode: pretrain\n  train_iters: 5\n  fp16: true\n",
    "preset zero1 auto-fp16 (R7)": "args:\n  mode: finetune\n  zero_stage: 1\n  epochs: 2\n"
    "  batch_size: 3\n  lr: 0.5\n",
    "preset zero2 bf16": "args:\n  mode: finetune\n  zero_stage: 2\n  bf16: true\n"
    "  gradient_accumulation_steps: 4\n  checkpoint_activations: true\n",
    "preset zero2 no precision": "args:\n  mode: finetune\n  zero_stage: 0\n  train_iters: 9\n"
    "  weight_decay: 0.3\n",
    "inference with a deepspeed section": "args:\n  mode: inference\n  fp16: true\n"
    "deepspeed:\n  train_micro_batch_size_per_gpu: 2\n",
    "section without accumulation": "args:\n  mode: finetune\n  train_iters: 3\n"
    "deepspeed:\n  train_micro_batch_size_per_gpu: 5\n"
    "  fp16:\n    enabled: true\n"
    "  optimizer:\n    type: Adam\n    params:\n      lr: 0.01\n",
}


def _golden_inputs() -> dict[str, list[str]]:
    groups = {}
    for spec_path in sorted(CASES.glob("*/case.json")):
        spec = json.loads(spec_path.read_text())
        if not spec["set"]:  # the reference has no --set (D2); the variants cover the rest
            groups[spec_path.parent.name] = [str(spec_path.parent / c) for c in spec["configs"]]
    return groups


GOLDEN = _golden_inputs()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every case and variant through CogVideoX's own get_args, in one subprocess."""
    require_module("sat")
    tree = cogvideo_sat()
    folder = tmp_path_factory.mktemp("variants")
    groups = dict(GOLDEN)
    for index, (name, text) in enumerate(sorted(VARIANTS.items())):
        (folder / str(index)).mkdir()
        groups[name] = write_configs(folder / str(index), {"layer0.yaml": text})  # as compile_layers names it
    header, found = run_harness(
        tree, [["--base", *paths] for paths in groups.values()], options=("--sat-presets",)
    )
    assert Path(header["arguments"]).resolve() == tree / "arguments.py"
    return dict(zip(groups, found, strict=True))


@pytest.fixture(scope="module")
def reference(outcomes: dict[str, dict]) -> dict[str, dict]:
    for name, outcome in outcomes.items():
        assert "args" in outcome, f"{name}: CogVideoX's get_args refused it: {outcome}"
    return {name: outcome["args"] for name, outcome in outcomes.items()}


def test_only_training_without_a_deepspeed_section_reads_a_preset(outcomes: dict[str, dict]) -> None:
    """The one place the harness helps the project's code: SAT's preset file for the stage,
    where CogVideoX's tree has none; every other launch runs without it."""
    for name, outcome in outcomes.items():
        args = outcome["args"]
        if name.startswith("preset"):
            assert outcome.get("preset") == f"sat/training/deepspeed_zero{args['zero_stage']}.json", name
        else:
            assert "preset" not in outcome, name


def _compare(document: dict, reference: dict) -> None:
    """Equal except per-process fields and the deviations, which get their own checks."""
    args = document["args"]
    # local_rank and device are dests (kept at their defaults); the rest exist only per process
    assert set(reference) - CONFIG_SECTIONS - (PER_PROCESS - {"local_rank", "device"}) == set(args)
    training = args["mode"] != "inference"
    for key, expected in reference.items():
        if key in PER_PROCESS:
            continue
        if key in CONFIG_SECTIONS:
            assert document[key] == expected, key
            continue
        actual = args[key]
        if key == "base":  # recorded relative to the bundle
            assert [Path(p).name for p in actual] == [Path(p).name for p in expected]
        elif key == "zero_stage" and training:  # D3
            assert actual == document["deepspeed_config"].get("zero_optimization", {}).get("stage", 0)
        elif key == "deepspeed_config" and training:  # D4 adds the triad, concretely
            ds = dict(actual)
            assert ds.pop("train_batch_size") == (
                ds["train_micro_batch_size_per_gpu"]
                * ds["gradient_accumulation_steps"]
                * document["topology"]["data_parallel_size"]
            )
            expected = dict(expected)
            if "gradient_accumulation_steps" not in expected:
                assert ds.pop("gradient_accumulation_steps") == 1
            if expected.get("fp16", {}).get("min_loss_scale") == 0.01:  # SAT's zero0 preset
                expected["fp16"] = {**expected["fp16"], "min_loss_scale": 1}
            assert ds == expected
        else:
            assert actual == expected, f"args.{key}: satc {actual!r} != reference {expected!r}"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_case_args_equal_the_reference(name: str, reference: dict[str, dict]) -> None:
    document = json.loads((CASES / name / "expected" / "args.json").read_text())
    _compare(document, reference[name])


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_args_equal_the_reference(name: str, tmp_path: Path, reference: dict[str, dict]) -> None:
    bundle = compile_layers(tmp_path, VARIANTS[name])
    _compare(json.loads(bundle.files["args.json"]), reference[name])
