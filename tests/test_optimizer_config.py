"""`deepspeed.optimizer` / `deepspeed.scheduler` are checked against what DeepSpeed, torch
and SAT really build: each refused case below is first shown to fail in the real
`deepspeed.initialize` (and its first step), then to be a located exit 2 at compile time;
each accepted one trains a step in real DeepSpeed and compiles.  The table the compiler
reads is regenerated from the installed packages and must match the committed schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import ROOT, buildable_1_0, cogvideo_sat, require_module, satc

SGD = {"type": "SGD", "params": {"lr": 0.01}}

# (id, deepspeed section, what satc says, what DeepSpeed raises)
REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "unknown-optimizer",
        {"optimizer": {"type": "AdamWW", "params": {"lr": 1e-3}}},
        "deepspeed.optimizer.type: 'AdamWW' is not a supported DeepSpeed optimizer\n    hint: did you mean AdamW?",
        "AssertionError: AdamWW is not a supported DeepSpeed Optimizer",
    ),
    (
        "unknown-torch-optimizer",
        {"optimizer": {"type": "SDG", "params": {"lr": 1e-3}}},
        "'SDG' is not a supported DeepSpeed optimizer\n    hint: did you mean SGD?",
        "SDG is not a supported DeepSpeed Optimizer",
    ),
    (
        "max-grad-norm",
        {"optimizer": {"type": "Adam", "params": {"lr": 1e-3, "max_grad_norm": 1.0}}},
        "deepspeed.optimizer.params.max_grad_norm: DeepSpeed refuses it as an optimizer parameter; "
        "use deepspeed.gradient_clipping",
        "'max_grad_norm' is not supported as an optimizer parameter",
    ),
    (
        "unknown-optimizer-param",
        {"optimizer": {"type": "AdamW", "params": {"lr": 1e-3, "weight_decey": 0.1}}},
        "deepspeed.optimizer.params.weight_decey: deepspeed.ops.adam.FusedAdam has no parameter "
        "'weight_decey'\n    hint: did you mean weight_decay?",
        "unexpected keyword argument 'weight_decey'",
    ),
    (
        "three-betas",
        {"optimizer": {"type": "AdamW", "params": {"lr": 1e-3, "betas": [0.9, 0.99, 0.999]}}},
        "deepspeed.optimizer.params.betas: expected a list of 2 values, found 3",
        "too many values to unpack",
    ),
    (
        "negative-eps",
        {"optimizer": {"type": "AdamW", "params": {"lr": 1e-3, "eps": -1e-8, "torch_adam": True}}},
        "deepspeed.optimizer.params.eps: must be at least 0, found -1e-08 (torch.optim.AdamW)",
        "ValueError: Invalid epsilon value: -1e-08",
    ),
    (
        "sgd-param-typo",
        {"optimizer": {"type": "SGD", "params": {"lr": 1e-3, "momentom": 0.9}}},
        "torch.optim.SGD has no parameter 'momentom'\n    hint: did you mean momentum?",
        "unexpected keyword argument 'momentom'",
    ),
    (
        "cpu-adam-fused-only-param",
        {
            "optimizer": {"type": "Adam", "params": {"lr": 1e-3, "set_grad_none": True}},
            "zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"}},
        },
        "deepspeed.ops.adam.DeepSpeedCPUAdam has no parameter 'set_grad_none'",
        "unexpected keyword argument 'set_grad_none'",
    ),
    (
        "unknown-scheduler",
        {"optimizer": SGD, "scheduler": {"type": "WarmupLRR", "params": {}}},
        "deepspeed.scheduler.type: DeepSpeed does not recognize LR scheduler 'WarmupLRR'\n"
        "    hint: did you mean WarmupLR?",
        "DeepSpeed does not recognize LR scheduler WarmupLRR",
    ),
    (
        "scheduler-param-typo",
        {"optimizer": SGD, "scheduler": {"type": "WarmupLR", "params": {"warmup_num_step": 10}}},
        "deepspeed.scheduler.params.warmup_num_step: deepspeed.runtime.lr_schedules.WarmupLR has no "
        "parameter 'warmup_num_step'\n    hint: did you mean warmup_num_steps?",
        "WarmupLR.__init__() got an unexpected keyword argument 'warmup_num_step'",
    ),
    (
        "float-step-count",
        {"optimizer": SGD, "scheduler": {"type": "WarmupLR", "params": {"warmup_num_steps": 1000.0}}},
        "deepspeed.scheduler.params.warmup_num_steps: expected an integer, found float 1000.0",
        "ValueError: warmup_num_steps must be a positive integer, got 1000.0",
    ),
    (
        "zero-step-count",
        {
            "optimizer": SGD,
            "scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 10, "warmup_num_steps": 0}},
        },
        "deepspeed.scheduler.params.warmup_num_steps: must be at least 1, found 0",
        "warmup_num_steps must be a positive integer, got 0",
    ),
    (
        "decay-without-total",
        {"optimizer": SGD, "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_num_steps": 10}}},
        "deepspeed.scheduler.params.total_num_steps: deepspeed.runtime.lr_schedules.WarmupDecayLR needs "
        "total_num_steps",
        "missing 1 required positional argument: 'total_num_steps'",
    ),
    (
        "torch-scheduler-required",
        {"optimizer": SGD, "scheduler": {"type": "StepLR", "params": {"gamma": 0.5}}},
        "torch.optim.lr_scheduler.StepLR needs step_size",
        "missing 1 required positional argument: 'step_size'",
    ),
    (
        "untested-zero-optimizer",
        {"optimizer": SGD, "zero_optimization": {"stage": 1}},
        "deepspeed.optimizer.type: ZeRO stage 1 refuses torch.optim.SGD",
        "You are using an untested ZeRO Optimizer",
    ),
]

# DeepSpeed takes these without an error and trains with something else than written:
# (id, section, what satc says, the key of the probe's report, what DeepSpeed used).
SILENT: list[tuple[str, dict[str, Any], str, str, str]] = [
    (
        "flag-as-text",  # any non-empty string is true: torch's AdamW, not the fused one
        {"optimizer": {"type": "AdamW", "params": {"lr": 1e-3, "torch_adam": "false"}}},
        "deepspeed.optimizer.params.torch_adam: expected true or false, found string 'false'",
        "optimizer",
        "AdamW",
    ),
    (
        "unknown-warmup-type",  # WarmupLR logs a warning and warms up logarithmically
        {"optimizer": SGD, "scheduler": {"type": "WarmupLR", "params": {"warmup_type": "cosine"}}},
        "deepspeed.scheduler.params.warmup_type: expected one of 'log', 'linear', found string 'cosine'",
        "warmup_type",
        "log",
    ),
]

ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("adamw", {"optimizer": {"type": "AdamW", "params": {"lr": 1e-3, "betas": [0.9, 0.95], "eps": 1e-8}}}),
    ("adam-any-case", {"optimizer": {"type": "adam", "params": {"lr": 1e-3, "adam_w_mode": False}}}),
    ("torch-adam", {"optimizer": {"type": "Adam", "params": {"lr": 1e-3, "torch_adam": True, "foreach": False}}}),
    ("sgd-step", {"optimizer": {"type": "SGD", "params": {"lr": 0.1, "momentum": 0.9}}, "scheduler": {"type": "StepLR", "params": {"step_size": 2}}}),
    ("warmup", {"optimizer": SGD, "scheduler": {"type": "WarmupLR", "params": {"warmup_num_steps": 5, "warmup_max_lr": 0.01}}}),
    ("decay", {"optimizer": SGD, "scheduler": {"type": "WarmupDecayLR", "params": {"total_num_steps": 100, "warmup_num_steps": 5}}}),
    ("one-cycle", {"optimizer": {"type": "SGD", "params": {"lr": 0.1, "momentum": 0.9}}, "scheduler": {"type": "OneCycle", "params": {"cycle_min_lr": 0.01, "cycle_max_lr": 0.1}}}),
    ("cpu-adam", {"optimizer": {"type": "AdamW", "params": {"lr": 1e-3, "fp32_optimizer_states": True}}, "zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"}}}),
]  # fmt: skip


def _compile(tmp_path: Path, section: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    config = {
        "args": {"mode": "finetune", "train_iters": 10, "train_data": ["d"]},
        "launch": {"device": "cpu"},
        "deepspeed": {"train_micro_batch_size_per_gpu": 1, **section},
    }
    (tmp_path / "c.yaml").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return satc("compile", "c.yaml", "-o", "out", cwd=tmp_path)


@pytest.mark.parametrize(
    "name,section,message",
    [case[:3] for case in REFUSED + SILENT],
    ids=[case[0] for case in REFUSED + SILENT],
)
def test_a_section_deepspeed_cannot_build_as_written_is_a_located_error(
    tmp_path: Path, name: str, section: dict[str, Any], message: str
) -> None:
    result = _compile(tmp_path, section)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr
    assert result.stderr.startswith("c.yaml:"), result.stderr  # located in the file
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name,section", ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_a_section_deepspeed_builds_compiles(tmp_path: Path, name: str, section: dict[str, Any]) -> None:
    result = _compile(tmp_path, section)
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "out" / "ds_config.json").read_text())
    assert written["optimizer"] == section["optimizer"]


def test_the_table_is_what_real_deepspeed_does(tmp_path: Path) -> None:
    """Every refused case fails in deepspeed.initialize or its first step with the error
    the issue reported; every accepted case takes a step (CPU, gloo, one process); every
    silent case takes a step with something else than was written."""
    require_module("deepspeed")
    sections = [case[1] for case in REFUSED] + [case[1] for case in ACCEPTED] + [case[1] for case in SILENT]
    (tmp_path / "sections.json").write_text(json.dumps(sections), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "deepspeed_builds.py"), str(tmp_path / "sections.json")],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == len(sections), run.stdout + run.stderr[-3000:]
    for (name, _, _, raised), result in zip(REFUSED, lines, strict=False):
        assert not result["ok"], f"{name}: DeepSpeed accepted it: {result}"
        assert raised in result["error"], f"{name}: {result['error']}"
    accepted = lines[len(REFUSED) : len(REFUSED) + len(ACCEPTED)]
    for (name, _), result in zip(ACCEPTED, accepted, strict=True):
        assert result["ok"], f"{name}: {result}"
    for (name, _, _, key, used), result in zip(SILENT, lines[len(REFUSED) + len(ACCEPTED) :], strict=True):
        assert result["ok"] and result[key] == used, f"{name}: {result}"


def test_official_cogvideox_configs_still_compile(tmp_path: Path) -> None:
    configs = cogvideo_sat() / "configs"
    for model in ("cogvideox_5b_lora.yaml", "cogvideox_2b.yaml"):
        # The 1.0 model configs as this tree's network builds them (M25, M4 refuse the
        # official text on purpose): the optimizer and scheduler checks are what is tested.
        layers, overrides = buildable_1_0(model)
        sets = [word for override in overrides for word in ("--set", override)]
        files = [str(configs / model), *layers, str(configs / "sft.yaml")]
        result = satc("compile", *files, *sets, "-o", str(tmp_path / model))
        assert result.returncode == 0, result.stderr
        assert "deepspeed.optimizer" not in result.stderr and "deepspeed.scheduler" not in result.stderr
    example = ROOT / "examples" / "cogvideox"
    layers = [str(example / name) for name in ("cogvideox_5b_lora.yaml", "sft.yaml", "cluster.yaml")]
    assert satc("compile", *layers, "-o", str(tmp_path / "example")).returncode == 0


def test_a_sat_optimizer_is_checked_against_sats_class(tmp_path: Path) -> None:
    result = _compile(tmp_path, {"optimizer": {"type": "sat.ops.FusedEmaAdamm", "params": {"lr": 1e-3}}})
    assert result.returncode == 2
    assert "'sat.ops.FusedEmaAdamm' is not an optimizer SAT can import" in result.stderr
    assert "did you mean sat.ops.FusedEmaAdam?" in result.stderr
    result = _compile(tmp_path, {"optimizer": {"type": "sat.ops.FusedEmaAdam", "params": {"ema_decy": 0.9}}})
    assert "sat.ops.fused_ema_adam.FusedEmaAdam has no parameter 'ema_decy'" in result.stderr
    assert "did you mean ema_decay?" in result.stderr
    ok = _compile(tmp_path, {"optimizer": {"type": "sat.ops.FusedEmaAdam", "params": {"ema_decay": 0.999}}})
    assert ok.returncode == 0, ok.stderr


def test_regenerating_the_table_matches_the_committed_schema(tmp_path: Path) -> None:
    """tools/gen_schema.py reads the installed DeepSpeed, torch and SAT; the compiler
    reads only the committed schema, so the two must agree."""
    require_module("deepspeed")
    require_module("sat")
    fresh = tmp_path / "satc.schema.json"
    code = (  # what gen_schema.main() writes, into a file of the test's own
        "import json, sys; sys.path.insert(0, 'tools'); import gen_schema; "
        "text = json.dumps(gen_schema.for_editors(gen_schema.build()), indent=2, sort_keys=False, "
        f"allow_nan=False) + '\\n'; open({str(fresh)!r}, 'w', encoding='utf-8').write(text)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    committed = (ROOT / "schemas" / "satc.schema.json").read_text(encoding="utf-8")
    assert fresh.read_text(encoding="utf-8") == committed, "run python tools/gen_schema.py"
