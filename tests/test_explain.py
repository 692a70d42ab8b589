"""`satc explain`: every value with its final source -- file:line, --set, a default or
a named rule with its inputs -- and the layers it overrode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from satc.compiler.cli import main
from satc.compiler.commands.explain import Explainer, Explanation
from satc.compiler.pipeline import compile_bundle
from support import CASES

HERE = CASES / "bundles"
BASE, EXPERIMENT, DEEPSPEED = (str(HERE / n) for n in ("base.yaml", "experiment.yaml", "deepspeed.yaml"))


def at(path: str, text: str) -> str:
    """'file:line:col' of the key ``text`` (e.g. '  lr:') in ``path``."""
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if line.startswith(text):
            return f"{path}:{number}:{len(text) - len(text.lstrip()) + 1}"
    raise AssertionError(f"{text!r} not in {path}")


@pytest.fixture(scope="module")
def layered() -> Explainer:
    bundle = compile_bundle([BASE, EXPERIMENT], ["args.save=ckpt"], Path("."))
    return Explainer(bundle.config, bundle.plan)


@pytest.fixture(scope="module")
def with_section() -> Explainer:
    bundle = compile_bundle([DEEPSPEED], [], Path("."))
    return Explainer(bundle.config, bundle.plan)


def test_values_from_each_layer_and_what_they_overrode(layered: Explainer) -> None:
    lr = layered.explain("args.lr")
    assert (lr.value, lr.source.kind, lr.source.where) == (0.0001, "file", at(EXPERIMENT, "  lr:"))
    assert lr.overrode == (at(BASE, "  lr:"),)
    mode = layered.explain("args.mode")
    assert (mode.source.where, mode.overrode) == (at(BASE, "  mode:"), ())
    item = layered.explain("args.train_data[0]")
    assert (item.value, item.source.where) == ("disney", f"{BASE}:8:16")


def test_set_and_defaults(layered: Explainer) -> None:
    save = layered.explain("args.save")
    assert (save.value, save.source.kind, save.source.where) == ("ckpt", "set", "--set args.save")
    warmup = layered.explain("args.warmup")
    assert (warmup.source.kind, warmup.source.where) == (
        "default",
        "the project's argparse default, sat/arguments.py:165",
    )
    target = layered.explain("launch.target")
    assert (target.value, target.source.where) == ("torchrun", "satc's launch default")


def rule(item: Explanation) -> tuple[str, str]:
    assert item.source.kind == "rule", item
    return item.source.where, item.source.reason


def test_each_derivation_rule_is_named_with_its_inputs(layered: Explainer, with_section: Explainer) -> None:
    batch = layered.explain("deepspeed.train_batch_size")
    assert batch.value == 8
    assert rule(batch) == ("D4", "train_batch_size = 2 x 2 x 2 (micro x grad_accum x dp)")
    assert batch.source.inputs == (
        ("deepspeed.train_micro_batch_size_per_gpu", 2, "rule R5"),
        ("deepspeed.gradient_accumulation_steps", 2, "rule R5"),
        ("topology.data_parallel_size", 2, "rule R11"),
    )
    micro = layered.explain("deepspeed.train_micro_batch_size_per_gpu")
    assert rule(micro) == ("R5", "from args.batch_size")
    assert micro.source.inputs == (("args.batch_size", 2, at(BASE, "  batch_size:")),)
    assert rule(layered.explain("args.fp16"))[0] == "R7"
    assert rule(layered.explain("args.deepspeed"))[0] == "R4"
    assert rule(layered.explain("args.deepspeed_activation_checkpointing"))[0] == "R8"
    assert rule(layered.explain("deepspeed.zero_optimization.stage")) == (
        "R5",
        "no deepspeed section: SAT's deepspeed_zero1.json",
    )
    assert rule(layered.explain("args.distributed_backend")) == ("D8", "launch.device is cpu")
    assert rule(layered.explain("topology.world_size")) == ("D6", "world_size 2 = 1 nodes x 2 gpus_per_node")
    assert rule(layered.explain("launch.master_addr"))[0] == "D6"
    assert rule(layered.explain("topology.data_parallel_size"))[0] == "R11"
    assert rule(layered.explain("topology.context_parallel_size"))[0] == "R12"
    assert rule(with_section.explain("args.zero_stage")) == (
        "D3",
        "zero_optimization.stage of the DeepSpeed config is 2",
    )
    assert rule(with_section.explain("args.seed"))[0] == "D5"
    bundle = compile_bundle([BASE], [], Path("."))  # no train_iters: R1
    assert rule(Explainer(bundle.config, bundle.plan).explain("args.train_iters"))[0] == "R1"


def test_a_value_changed_by_a_rule_shows_both(with_section: Explainer) -> None:
    fp16 = with_section.explain("args.fp16")
    assert (fp16.value, rule(fp16)) == (False, ("R6", "deepspeed.fp16.enabled is false"))
    assert fp16.given is not None and fp16.given.where == at(DEEPSPEED, "  fp16:")
    assert fp16.given_value is True
    batch = with_section.explain("args.batch_size")
    assert (batch.value, batch.given_value, rule(batch)[0]) == (1, 8, "R6")
    # A rule that agrees with the configs leaves the file as the source.
    seed = Explainer(*_plan([BASE])).explain("args.seed")
    assert (seed.source.kind, seed.source.where) == ("file", at(BASE, "  seed:"))
    assert [d.rule for d in seed.earlier_rules] == ["D5"]


def _plan(configs: list[str]) -> tuple:  # type: ignore[type-arg]
    bundle = compile_bundle(configs, [], Path("."))
    return bundle.config, bundle.plan


def invoke(*argv: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["explain", *argv])
    return result.exit_code, result.stdout, result.stderr


def test_cli_text_names_file_line_rule_and_overridden_layers() -> None:
    code, out, _ = invoke(BASE, EXPERIMENT, "--set", "args.save=ckpt", "lr", "train_batch_size", "save")
    assert code == 0
    assert out.splitlines()[:3] == [
        "args.lr = 0.0001",
        f"  from {at(EXPERIMENT, '  lr:')}",
        f"  overrode {at(BASE, '  lr:')}",
    ]
    assert (
        "deepspeed.train_batch_size = 8\n"
        "  from rule D4: train_batch_size = 2 x 2 x 2 (micro x grad_accum x dp)\n"
        "    deepspeed.train_micro_batch_size_per_gpu = 2  (rule R5)\n"
    ) in out
    assert 'args.save = "ckpt"\n  from --set args.save\n' in out
    code, out, _ = invoke(DEEPSPEED, "args.fp16")
    assert out == (
        "args.fp16 = false\n  from rule R6: deepspeed.fp16.enabled is false\n"
        "    deepspeed.fp16.enabled = (absent)\n"
        f"  replaced true set at {at(DEEPSPEED, '  fp16:')}\n"
        "  checked by the project's parser: --fp16, sat/arguments.py:139\n"
    )


def test_cli_summary_and_json() -> None:
    code, out, _ = invoke(BASE, EXPERIMENT)
    assert code == 0
    assert "  mode finetune, fp16, ZeRO stage 1\n" in out
    assert "  train_batch_size 8 = 2 x 2 x 2 (micro x grad_accum x dp)\n" in out
    assert any(
        line.startswith("  deepspeed.train_batch_size = 8")
        and line.endswith("rule D4: train_batch_size = 2 x 2 x 2 (micro x grad_accum x dp)")
        for line in out.splitlines()
    )
    code, out, _ = invoke(BASE, EXPERIMENT, "--format", "json")
    summary = json.loads(out)
    assert (summary["mode"], summary["precision"], summary["zero_stage"]) == ("finetune", "fp16", 1)
    assert summary["batch"] == {
        "micro": 2,
        "gradient_accumulation_steps": 2,
        "data_parallel_size": 2,
        "train_batch_size": 8,
    }
    code, out, _ = invoke(BASE, EXPERIMENT, "args.lr", "--format", "json")
    (item,) = json.loads(out)
    assert item["source"] == {"kind": "file", "where": at(EXPERIMENT, "  lr:")}
    assert item["overrode"] == [at(BASE, "  lr:")]


def test_cli_unknown_keys_and_invalid_input_exit_2(tmp_path: Path) -> None:
    code, out, err = invoke(BASE, "args.lerning_rate", "nonsense_key")
    assert code == 2 and out == ""
    assert "args.lerning_rate: no such key in the compiled plan\n    hint: did you mean args.lr?" in err
    assert "nonsense_key: no such key" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("args:\n  lr: fast\n")
    code, _, err = invoke(str(bad), "lr")
    assert code == 2 and f"{bad}:2:" in err
    assert invoke("args.lr")[0] == 2  # no CONFIG


@pytest.mark.parametrize(
    ("key", "reason", "meant"),
    [
        ("args..lr", "empty segment", "args.lr"),
        (".lr", "empty segment", "args.lr"),
        ("lr.", "empty segment", "args.lr"),
        ("args.[", "unbalanced brackets", None),
        ("deepspeed.optimizer.params.betas[0", "unbalanced brackets", None),
        ("deepspeed.optimizer.params.betas[x]", "an index must be", "deepspeed.optimizer.params.betas"),
        ("args.lr]", "unbalanced brackets", "args.lr"),
    ],
)
def test_cli_malformed_keys_exit_2_with_a_suggestion(key: str, reason: str, meant: str | None) -> None:
    # parse_key alone skips what it cannot read, so `args..lr` used to explain args.lr.
    code, out, err = invoke(BASE, EXPERIMENT, key)
    assert (code, out) == (2, ""), out
    assert f"error: {key}: malformed key: {reason}" in err
    assert "hint: " in err
    if meant is not None:
        assert f"did you mean {meant}?" in err


def test_cli_a_malformed_key_among_good_ones_fails_the_whole_command() -> None:
    code, out, err = invoke(BASE, EXPERIMENT, "args.lr", "args..lr")
    assert (code, out) == (2, "")
    assert "args..lr: malformed key" in err and "args.lr:" not in err.replace("args..lr", "")
    # Well-formed keys, with indices, still work.
    code, out, _ = invoke(BASE, EXPERIMENT, "deepspeed.optimizer.params.betas[1]")
    assert code == 0 and out.startswith("deepspeed.optimizer.params.betas[1] = ")


def test_cli_explains_a_committed_bundle_from_its_recorded_inputs(tmp_path: Path) -> None:
    out_dir = tmp_path / "bundle"
    runner = CliRunner()
    assert runner.invoke(main, ["compile", BASE, EXPERIMENT, "-o", str(out_dir)]).exit_code == 0
    code, out, _ = invoke(str(out_dir), "args.lr")
    assert code == 0 and "args.lr = 0.0001\n" in out and "experiment.yaml:4:3" in out


def test_a_set_override_lists_every_layer_it_beat() -> None:
    lr = Explainer(*_plan_with([BASE, EXPERIMENT], ["args.lr=0.5"])).explain("args.lr")
    assert (lr.value, lr.source.where) == (0.5, "--set args.lr")
    assert lr.overrode == (at(BASE, "  lr:"), at(EXPERIMENT, "  lr:"))


def _plan_with(configs: list[str], overrides: list[str]) -> tuple:  # type: ignore[type-arg]
    bundle = compile_bundle(configs, overrides, Path("."))
    return bundle.config, bundle.plan


def test_explaining_a_stale_bundle_says_so(tmp_path: Path) -> None:
    from support import satc

    (tmp_path / "c.yaml").write_text("args:\n  mode: inference\n  batch_size: 1\n")
    assert satc("compile", "c.yaml", "-o", "b", cwd=tmp_path).returncode == 0
    fresh = satc("explain", "b", "batch_size", cwd=tmp_path)
    assert fresh.returncode == 0 and "stale" not in fresh.stderr
    (tmp_path / "c.yaml").write_text("args:\n  mode: inference\n  batch_size: 3\n")
    stale = satc("explain", "b", "batch_size", cwd=tmp_path)
    assert stale.returncode == 0
    assert "b is stale" in stale.stderr and "satc check -o b" in stale.stderr
    assert "args.batch_size = 3" in stale.stdout


def test_explain_takes_the_compile_line_with_its_entry_script() -> None:
    """`satc explain sample_dit.py configs/x.yaml KEY` as `satc compile` takes it: the
    script sets launch.entrypoint (it was read as a YAML file before)."""
    from support import cogvideo_sat, satc

    cogview = cogvideo_sat().parent / "forks" / "CogView3" / "sat"
    done = satc("explain", "sample_dit.py", "configs/cogview3_plus.yaml", "launch.entrypoint", cwd=cogview)
    assert done.returncode == 0, done.stderr
    assert "sample_dit.py" in done.stdout
