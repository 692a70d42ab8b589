"""Property: whatever YAML trees and --set values come in, satc exits 0 or 2, never with a
traceback, writes a bundle only on 0, and then train_batch_size = micro x grad_accum x dp.

Scalars are emitted unquoted, so YAML 1.1 readings (`no`, `1:30`, `012`), tags,
interpolations and non-finite numbers all reach the loader as a user would write them.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from satc.compiler.cli import main
from support import satc

RAW = [
    "0",
    "1",
    "2",
    "3",
    "4",
    "8",
    "-1",
    "4.0",
    "2.5",
    "1e-4",
    "1e400",
    "-0",
    "no",
    "yes",
    "on",
    "off",
    "true",
    "false",
    "~",
    "null",
    "1:30",
    "012",
    "0x10",
    ".nan",
    "-.inf",
    "'2'",
    '"4"',
    "''",
    "???",
    "${args.lr}",
    "${args.batch_size}",
    "${nope.x}",
    "${oc.env:HOME}",
    "${launch.nodes}",
    "[1, 2]",
    "[]",
    "{}",
    "{a: 1}",
    "pretrain",
    "finetune",
    "inference",
    "train",
    "cpu",
    "cuda",
    "torchrun",
    "slurm",
    "!!binary aGk=",
    "!!python/name:os.system",
    "&x 3",
    "*x",
    "hf_" + "Ab1" * 11,
    "abc",
    '"a\\nb"',
    "[x, 3]",
    "[1, 0]",
    '"\\t"',
]
GOOD: dict[str, list[str]] = {
    "mode": ["pretrain", "finetune", "inference"],
    "device": ["cpu"],
    "fp16": ["true", "false"],
    "bf16": ["true", "false"],
    "enabled": ["true", "false"],
    "stage": ["0", "1", "2", "3"],
    "zero_stage": ["0", "1", "2", "3"],
    "train_data": ["[a]", "[a, b]"],
    "train_data_weights": ["[1]", "[1, 2]"],
    "target": ["torchrun"],
}
SECTIONS: dict[str, list[str]] = {
    "args": [
        "mode",
        "batch_size",
        "gradient_accumulation_steps",
        "lr",
        "fp16",
        "bf16",
        "zero_stage",
        "train_iters",
        "epochs",
        "model_parallel_size",
        "train_data",
        "train_data_weights",
        "experiment_name",
        "seed",
        "checkpoint_activations",
        "lerning_rate",
    ],
    "deepspeed": [
        "train_micro_batch_size_per_gpu",
        "gradient_accumulation_steps",
        "train_batch_size",
        "zero_optimization",
        "fp16",
        "bf16",
        "gradient_clipping",
        "optimizer",
        "zero_optimisation",
    ],
    "launch": ["nodes", "gpus_per_node", "device", "target", "master_port", "env", "env_passthrough"],
    "model": ["target", "params"],
    "data": ["target", "params"],
    "argz": ["lr"],
}
NESTED = {
    "zero_optimization": ["stage", "overlap_comm"],
    "fp16": ["enabled", "loss_scale"],
    "bf16": ["enabled"],
    "optimizer": ["type", "params"],
    "params": ["lr", "a", "b"],
    "env": ["OMP_NUM_THREADS", "X"],
}
SMALL_INTS = ["1", "2", "4"]


def scalar(key: str) -> st.SearchStrategy[str]:
    good = GOOD.get(key, SMALL_INTS)
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(RAW))


@st.composite
def block(draw: st.DrawFn, keys: list[str], indent: int) -> str:
    """A block mapping of some of ``keys`` (and the odd random one), as YAML text."""
    chosen = draw(st.lists(st.sampled_from(keys), max_size=len(keys), unique=True))
    if draw(st.booleans()) and draw(st.booleans()):
        chosen.append(draw(st.from_regex(r"[a-z_]{1,8}", fullmatch=True)))
    lines = []
    pad = "  " * indent
    for key in chosen:
        if key in NESTED and indent < 3 and draw(st.booleans()):
            lines.append(f"{pad}{key}:" + draw(block(NESTED[key], indent + 1)))
        else:
            lines.append(f"{pad}{key}: {draw(scalar(key))}\n")
    return "\n" + "".join(lines) if lines else " {}\n"


@st.composite
def config(draw: st.DrawFn) -> str:
    sections = draw(st.lists(st.sampled_from(list(SECTIONS)), max_size=5, unique=True))
    text = "".join(f"{name}:" + draw(block(SECTIONS[name], 1)) for name in sections)
    if "launch" not in sections and draw(st.booleans()):
        text += "launch:\n  device: cpu\n"
    return text


@st.composite
def override(draw: st.DrawFn) -> str:
    section = draw(st.sampled_from(list(SECTIONS)))
    key = draw(st.sampled_from(SECTIONS[section]))
    if key in NESTED and draw(st.booleans()):
        key += "." + draw(st.sampled_from(NESTED[key]))
    return f"{section}.{key}={draw(scalar(key.rsplit('.', 1)[-1]))}"


def check_outcome(code: int, output: str, out: Path) -> None:
    event(f"exit {code}")
    assert code in (0, 2), f"exit {code}\n{output}"
    assert "Traceback" not in output and "internal error" not in output, output
    if code == 2:
        assert not out.exists(), "a bundle was written although the input was refused"
        assert output.rstrip().endswith("nothing written"), output
        for line in output.splitlines():
            assert not line.startswith(("error:", " error:")), f"unlocated: {line}"
        return
    document = json.loads((out / "args.json").read_text())
    topology = document["topology"]
    assert topology["world_size"] == topology["nodes"] * topology["gpus_per_node"]
    assert topology["data_parallel_size"] * topology["model_parallel_size"] == topology["world_size"]
    if (out / "ds_config.json").exists():
        ds = json.loads((out / "ds_config.json").read_text())
        micro, gas, total = (
            ds["train_micro_batch_size_per_gpu"],
            ds["gradient_accumulation_steps"],
            ds["train_batch_size"],
        )
        for value in (micro, gas, total):
            assert type(value) is int and value > 0, ds
        assert total == micro * gas * topology["data_parallel_size"]
        assert document["args"]["batch_size"] == micro


def compile_in_process(text: str | bytes, overrides: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (root / "c.yaml").write_bytes(data)
        argv = ["compile", str(root / "c.yaml"), "-o", str(root / "out")]
        for item in overrides:
            argv += ["--set", item]
        result = CliRunner().invoke(main, argv)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        check_outcome(result.exit_code, result.output + _stderr(result), root / "out")


def _stderr(result: Any) -> str:
    try:
        return "" if result.stderr in result.output else result.stderr
    except ValueError:  # click < 8.2 mixes stderr into output
        return ""


PROPERTY = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@PROPERTY
@given(text=config(), overrides=st.lists(override(), max_size=3))
def test_random_trees_and_overrides_exit_0_or_2(text: str, overrides: list[str]) -> None:
    compile_in_process(text, overrides)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overrides=st.lists(override(), min_size=1, max_size=6))
def test_random_overrides_on_a_valid_config_exit_0_or_2(overrides: list[str]) -> None:
    base = "args:\n  mode: finetune\n  train_iters: 5\n  train_data: [a]\nlaunch:\n  device: cpu\n"
    compile_in_process(base, overrides)


VALID = b"args:\n  mode: finetune\n  train_iters: 5\n  train_data: [a]\nlaunch:\n  device: cpu\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(0, len(VALID)),
    noise=st.one_of(
        st.binary(max_size=12),
        st.text(max_size=12).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [
                b"\t",
                b"\x00",
                b"\xff",
                b"\xef\xbb\xbf",
                b": ",
                b"- ",
                b"&a ",
                b"*a",
                b"!!",
                b"${",
                b"\n---\n",
                b"{",
                b"[",
                b"'",
                b'"',
                b"#",
                b"%TAG ! x\n",
                b"? ",
                b"<<: ",
            ]
        ),
    ),
)
def test_noise_in_a_valid_file_exits_0_or_2(position: int, noise: bytes) -> None:
    compile_in_process(VALID[:position] + noise + VALID[position:], [])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=config(), overrides=st.lists(override(), max_size=2))
def test_random_inputs_through_the_real_cli(text: str, overrides: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "c.yaml").write_text(text, encoding="utf-8")
        argv = ["compile", "c.yaml", "-o", "out"] + [a for o in overrides for a in ("--set", o)]
        result = satc(*argv, cwd=root, timeout=60)
        check_outcome(result.returncode, result.stdout + result.stderr, root / "out")


def _mapping_onto_interpolation(layers: list[dict[str, Any]]) -> bool:
    def onto(base: Any, new: Any) -> bool:
        if isinstance(base, str) and "${" in base and isinstance(new, dict | list):
            return True
        if isinstance(base, dict) and isinstance(new, dict):
            return any(onto(base[k], v) for k, v in new.items() if k in base)
        return False

    merged: Any = {}
    for layer in layers:
        if onto(merged, layer):
            return True
        merged = _replay(merged, layer)
    return False


def _replay(base: Any, new: Any) -> Any:
    if isinstance(base, dict) and isinstance(new, dict):
        return {**base, **{k: _replay(base[k], v) if k in base else v for k, v in new.items()}}
    return base if new == "???" else new


def _plain_trees(depth: int = 3) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.integers(-3, 3), st.sampled_from(["x", "???", "${a}", "", None, True, 1.5]))
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(st.sampled_from("abcd"), children, max_size=4)
        ),
        max_leaves=12,
    )


@settings(max_examples=400, deadline=None)
@given(
    layers=st.lists(
        st.dictionaries(st.sampled_from("abcd"), _plain_trees(), max_size=4), min_size=1, max_size=4
    )
)
def test_layers_merge_exactly_as_omegaconf_merges_them(layers: list[dict[str, Any]]) -> None:
    """load.merge_layers skips OmegaConf's slow merge; it must agree with it exactly."""
    from omegaconf import OmegaConf
    from satc.compiler.load import merge_layers
    from satc.compiler.yaml_reader import Document

    ours, clashes = merge_layers([Document(data=layer, locations={}, raw={}) for layer in layers])
    try:
        theirs = OmegaConf.to_container(OmegaConf.merge(*map(OmegaConf.create, layers)), resolve=False)
    except TypeError:  # "Cannot merge incompatible container types": a list and a mapping
        # OmegaConf also raises when a mapping lands on a `${...}` that resolves to a list:
        # it peeks through the interpolation.  satc treats the text as a value it replaces.
        assert clashes or _mapping_onto_interpolation(layers)
        return
    assert not clashes
    assert json.dumps(ours) == json.dumps(theirs)  # same values and the same key order
