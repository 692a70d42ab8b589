"""Every bad input is a clean error: exit 2, a located message, no traceback, nothing written.

The corpus is a table: a new case is a new row.  Each row runs through the real CLI in
a subprocess, as a user would run it, into an output directory that either holds a
previous valid bundle (even rows) or does not exist (odd rows); the directory must be
byte-for-byte, mode-for-mode and mtime-for-mtime unchanged afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import satc, tree_digest

# A fake credential: shaped like a Hugging Face token so the scanners see it.
FAKE_HF = "hf_" + "Zq8x" * 9
FAKE_WANDB = "0123456789abcdef0123456789abcdef01234567"

VALID = """\
args:
  mode: finetune
  train_iters: 10
  train_data: [disney]
launch:
  device: cpu
"""


@dataclass(frozen=True)
class Case:
    """One bad input and what its message must say.

    ``files`` are written into the working directory and passed in order (unless
    ``configs`` names what to pass); ``where`` is the location the message must start
    with (``a.yaml:2:3``, ``--set args.lr``, ``-o out``); ``key`` the dotted key it must
    name ('' when the problem has none); ``fragment`` a piece of the message.
    """

    name: str
    files: dict[str, str | bytes]
    where: str
    key: str
    fragment: str
    overrides: tuple[str, ...] = ()
    configs: tuple[str, ...] | None = None
    output: str | None = None  # default: the prepared output directory
    env: dict[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # text that must appear nowhere (secrets)
    fifos: tuple[str, ...] = ()  # named pipes to create (nobody ever writes to them)
    flags: tuple[str, ...] = ()  # extra command-line flags
    count: int | None = None  # exactly this many errors (no spurious follow-ups)


def deep(levels: int) -> str:
    text = "model:\n"
    for level in range(levels):
        text += "  " * (level + 1) + f"k{level}:\n"
    return text + "  " * (levels + 1) + "leaf: 1\n"


def string_bomb(levels: int) -> str:
    lines = ["model:", "  k0: aaaaaaaaaaaaaaaa"]
    lines += [f"  k{i}: ${{model.k{i - 1}}}${{model.k{i - 1}}}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


BILLION_LAUGHS = """\
model:
  a: &a [x, x, x, x, x, x, x, x, x, x]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def c(name: str, text: str | bytes, where: str, key: str, fragment: str, **extra: object) -> Case:
    """A one-file case: the file is a.yaml."""
    return Case(name, {"a.yaml": text}, where, key, fragment, **extra)  # type: ignore[arg-type]


CASES: list[Case] = [
    # --- YAML syntax and structure -------------------------------------------------
    c("malformed-flow", "args:\n  train_data: [a, b\n", "a.yaml:3:1", "", "invalid YAML"),
    c("malformed-indent", "args:\n  lr: 1\n lr2: 2\n", "a.yaml:3:2", "", "invalid YAML"),
    c("unclosed-quote", 'args:\n  experiment_name: "abc\n', "a.yaml:", "", "invalid YAML"),
    c("tab-indent", "args:\n\tlr: 1\n", "a.yaml:2:1", "", "tab character"),
    c("tab-after-key", "args:\n  lr:\t1\n  \tbatch_size: 2\n", "a.yaml:3:", "", "tab"),
    c("duplicate-key", "args:\n  lr: 1\n  lr: 2\n", "a.yaml:3:3", "args.lr", "duplicate key"),
    c("duplicate-section", "args: {}\nlaunch: {}\nargs: {}\n", "a.yaml:3:1", "args", "duplicate key"),
    # 1 is an integer key OmegaConf keeps (yaml_reader.IntKey); 01, which would collapse into it, is refused.
    c("collapsing-int-keys", "model:\n  1: a\n  01: b\n", "a.yaml:3:3", "model", "is not a string"),
    c("bool-key", "model:\n  yes: 1\n", "a.yaml:2:3", "model", "is not a string"),
    c("null-key", "model:\n  ~: 1\n", "a.yaml:2:3", "model", "is not a string"),
    c("complex-key", "model:\n  ? [a, b]\n  : 1\n", "a.yaml:2:5", "model", "is not a string"),
    c("latin1-byte", b"args:\n  experiment_name: caf\xe9\n", "a.yaml:2:23", "", "not UTF-8"),
    c("utf16-file", "args:\n  lr: 1\n".encode("utf-16"), "a.yaml:1:1", "", "not UTF-8"),
    c("top-level-list", "- args\n- model\n", "a.yaml:1:1", "", "top level must be a mapping"),
    c("top-level-scalar", "hello\n", "a.yaml:1:1", "", "top level must be a mapping"),
    c("multi-document", "args: {}\n---\nlaunch: {}\n", "a.yaml:2:1", "", "more than one YAML document"),
    c("nesting-too-deep", deep(40), "a.yaml:", "model.k0.k1", "nesting deeper than 32"),
    c("flow-nesting-bomb", "model: " + "[" * 5000 + "]" * 5000 + "\n", "a.yaml:", "", "nesting"),
    c("billion-laughs", BILLION_LAUGHS, "a.yaml:", "model", "YAML nodes"),
    c(
        "oversized-file",
        "model:\n" + "".join(f"  key{i}: {'x' * 60}\n" for i in range(40_000)),
        "a.yaml:1:1",
        "",
        "larger than 2,000,000 bytes",
    ),
    c("huge-integer", "args:\n  seed: " + "7" * 5000 + "\n", "a.yaml:2:9", "args.seed", "5,000 digits"),
    c("null-byte", "args:\n  load: a\0b\n", "a.yaml:", "", "invalid YAML"),
    c("undefined-alias", "model:\n  a: *nope\n", "a.yaml:2:6", "", "undefined alias"),
    c("merge-non-mapping", "model:\n  <<: 5\n", "a.yaml:2:", "", "expected a mapping"),
    c("bom-mid-file", "args:\n  lr: 1\n\ufeffmodel: {}\n", "a.yaml:", "", "invalid YAML"),
    c(
        "control-char-value",
        'launch:\n  entrypoint: "train.py\\nrm -rf /"\n',
        "a.yaml:2:3",
        "launch.entrypoint",
        "not allowed",
    ),
    # --- explicit tags: none may run, none may be accepted ---------------------------
    c(
        "tag-python-apply",
        'args:\n  load: !!python/object/apply:os.system ["touch PWNED"]\n',
        "a.yaml:2:9",
        "",
        "explicit YAML tag",
    ),
    c("tag-python-name", "args:\n  load: !!python/name:os.system\n", "a.yaml:2:9", "", "explicit YAML tag"),
    c(
        "tag-python-path",
        "args:\n  load: !!python/object/apply:pathlib.Path [/etc]\n",
        "a.yaml:2:9",
        "",
        "explicit YAML tag",
    ),
    c("tag-binary", "args:\n  load: !!binary aGVsbG8=\n", "a.yaml:2:9", "", "explicit YAML tag"),
    c("tag-str", "args:\n  experiment_name: !!str 123\n", "a.yaml:2:20", "", "explicit YAML tag"),
    c("tag-int", 'args:\n  lr: !!int "3"\n', "a.yaml:2:7", "", "explicit YAML tag"),
    c("tag-float", "args:\n  lr: !!float 1\n", "a.yaml:2:7", "", "explicit YAML tag"),
    c("tag-timestamp", "args:\n  load: !!timestamp 2001-12-14\n", "a.yaml:2:9", "", "explicit YAML tag"),
    c("tag-set", "model: !!set {a, b}\n", "a.yaml:1:8", "", "explicit YAML tag"),
    c("tag-omap", "model: !!omap [a: 1]\n", "a.yaml:1:8", "", "explicit YAML tag"),
    c("tag-custom", "model: !include other.yaml\n", "a.yaml:1:8", "", "explicit YAML tag"),
    c("tag-verbatim", "model: !<tag:yaml.org,2002:str> x\n", "a.yaml:1:8", "", "explicit YAML tag"),
    c(
        "tag-directive",
        "%TAG !e! tag:example.com,2000:\n---\nmodel: !e!foo x\n",
        "a.yaml:3:8",
        "",
        "explicit YAML tag",
    ),
    c("tag-on-key", "model:\n  !!str 1: x\n", "a.yaml:2:3", "", "explicit YAML tag"),
    c(
        "tag-in-set",
        "args: {}\n",
        "--set args.load",
        "",
        "explicit YAML tag",
        overrides=("args.load=!!python/object/apply:os.system [touch PWNED]",),
    ),
    # --- interpolation -----------------------------------------------------------------
    c(
        "interp-missing-key",
        "args:\n  experiment_name: ${args.nope}\n",
        "a.yaml:2:3",
        "args.experiment_name",
        "does not exist",
    ),
    c("interp-cycle", "model:\n  a: ${model.b}\n  b: ${model.a}\n", "a.yaml:2:3", "model.a", "cycle"),
    c("interp-self", "model:\n  a: x${model.a}\n", "a.yaml:2:3", "model.a", "cycle"),
    c("interp-string-bomb", string_bomb(40), "a.yaml:", "model.k", "expand to more than"),
    c("interp-nested", "model:\n  a: b\n  c: ${model.${model.a}}\n", "a.yaml:3:3", "model.c", "nested"),
    c("missing-required", "args:\n  load: ???\n", "a.yaml:2:3", "args.load", "never set"),
    c(
        "oc-env-unset",
        "args:\n  load: ${oc.env:SATC_TEST_SURELY_UNSET}\n",
        "a.yaml:2:3",
        "args.load",
        "oc.env",
    ),
    c(
        "oc-env-secret",
        "launch:\n  env:\n    WANDB_KEY: ${oc.env:WANDB_API_KEY}\n",
        "a.yaml:3:5",
        "launch.env.WANDB_KEY",
        "env_passthrough",
        env={"WANDB_API_KEY": FAKE_WANDB},
        absent=(FAKE_WANDB,),
    ),
    c("interp-unbalanced", "model:\n  a: ${model.b\n  b: 1\n", "a.yaml:2:3", "model.a", "never closes"),
    c("interp-empty", "model:\n  a: ${}\n", "a.yaml:2:3", "model.a", "${} names no key"),
    c(
        "interp-out-of-range",
        "model:\n  a: ${model.b[3]}\n  b: [1]\n",
        "a.yaml:2:3",
        "model.a",
        "does not exist",
    ),
    c(
        "interp-type-after-resolve",
        # inference: a training config without train_data also gets T1 in the same run
        "model:\n  n: many\nargs:\n  mode: inference\n  batch_size: ${model.n}\n",
        "a.yaml:5:3",
        "args.batch_size",
        "expected an integer",
    ),
    c(
        "interp-fanout-bomb",
        string_bomb(16) + "".join(f"  r{i}: ${{model.k15}}\n" for i in range(400)),
        "a.yaml:",
        "model.r",
        "in all",
    ),
    c("resolver-other", "args:\n  load: ${oc.decode:'1'}\n", "a.yaml:2:3", "args.load", "not allowed"),
    c(
        "resolver-in-set",
        "args: {}\n",
        "--set args.load",
        "args.load",
        "oc.env",
        overrides=("args.load=${oc.env:HOME}",),
    ),
    # --- unknown keys at every depth ------------------------------------------------------
    c("unknown-section", "argz:\n  lr: 1\n", "a.yaml:1:1", "argz", "did you mean args"),
    c("unknown-arg", "args:\n  lerning_rate: 1\n", "a.yaml:2:3", "args.lerning_rate", "unknown key"),
    c(
        "unknown-arg-suggest",
        "args:\n  experiment_nam: x\n",
        "a.yaml:2:3",
        "args.experiment_nam",
        "did you mean args.experiment_name",
    ),
    c(
        "unknown-ds-top",
        "deepspeed:\n  zero_optimisation:\n    stage: 2\n",
        "a.yaml:2:3",
        "deepspeed.zero_optimisation",
        "did you mean deepspeed.zero_optimization",
    ),
    c(
        "unknown-ds-zero",
        "deepspeed:\n  zero_optimization:\n    stag: 2\n",
        "a.yaml:3:5",
        "deepspeed.zero_optimization.stag",
        "did you mean deepspeed.zero_optimization.stage",
    ),
    c(
        "unknown-ds-fp16",
        "deepspeed:\n  fp16:\n    enabeld: true\n",
        "a.yaml:3:5",
        "deepspeed.fp16.enabeld",
        "did you mean deepspeed.fp16.enabled",
    ),
    c(
        "unknown-ds-optimizer",
        "deepspeed:\n  optimizer:\n    type: Adam\n    parms: {lr: 1}\n",
        "a.yaml:4:5",
        "deepspeed.optimizer.parms",
        "did you mean deepspeed.optimizer.params",
    ),
    c("unknown-launch", "launch:\n  node: 2\n", "a.yaml:2:3", "launch.node", "did you mean launch.nodes"),
    c(
        "unknown-slurm",
        "launch:\n  slurm:\n    partiton: gpu\n",
        "a.yaml:3:5",
        "launch.slurm.partiton",
        "did you mean launch.slurm.partition",
    ),
    c(
        "unknown-from-set",
        "args: {}\n",
        "--set args.lerning_rate",
        "args.lerning_rate",
        "unknown key",
        overrides=("args.lerning_rate=1",),
    ),
    c(
        # A hyphen, as argparse's flag spells it: read like YAML's `train-iters:`.
        "hyphen-key-from-set",
        VALID,
        "--set args.train-iters",
        "args.train-iters",
        "unknown key under args: the project's parser declares no such argument",
        overrides=("args.train-iters=5",),
    ),
    c("misplaced-key", "deepspeed:\n  lr: 0.1\n", "a.yaml:2:3", "deepspeed.lr", "unknown key"),
    # --- wrong types, YAML 1.1 traps ------------------------------------------------------------
    c(
        "yaml11-no",
        "args:\n  experiment_name: no\n",
        "a.yaml:2:3",
        "args.experiment_name",
        'write it in quotes ("no")',
    ),
    c(
        "yaml11-on",
        "args:\n  wandb_project_name: on\n",
        "a.yaml:2:3",
        "args.wandb_project_name",
        "expected a string",
    ),
    c("yaml11-octal", "args:\n  experiment_name: 012345\n", "a.yaml:2:3", "args.experiment_name", '"012345"'),
    c(
        "yaml11-sexagesimal",
        "args:\n  experiment_name: 1:30\n",
        "a.yaml:2:3",
        "args.experiment_name",
        '"1:30"',
    ),
    c("yaml11-version", "args:\n  experiment_name: 3.10\n", "a.yaml:2:3", "args.experiment_name", '"3.10"'),
    c(
        "stage-quoted",
        'deepspeed:\n  zero_optimization:\n    stage: "2"\n',
        "a.yaml:3:5",
        "deepspeed.zero_optimization.stage",
        "expected an integer",
    ),
    c(
        "micro-float",
        "deepspeed:\n  train_micro_batch_size_per_gpu: 4.0\n",
        "a.yaml:2:3",
        "deepspeed.train_micro_batch_size_per_gpu",
        "without a decimal point",
    ),
    c(
        "int-as-bool",
        "args:\n  batch_size: true\n",
        "a.yaml:2:3",
        "args.batch_size",
        "expected an integer, got boolean true",
    ),
    c(
        "bool-as-string",
        'deepspeed:\n  fp16:\n    enabled: "yes"\n',
        "a.yaml:3:5",
        "deepspeed.fp16.enabled",
        "expected true or false",
    ),
    c("number-as-string", 'args:\n  lr: "fast"\n', "a.yaml:2:3", "args.lr", "expected a number"),
    c("list-expected", "args:\n  train_data: disney\n", "a.yaml:2:3", "args.train_data", "expected a list"),
    c(
        "list-item-type",
        "args:\n  train_data: [a, 3]\n",
        "a.yaml:2:",
        "args.train_data[1]",
        "expected a string",
    ),
    c(
        "ds-zero-not-mapping",
        "deepspeed:\n  zero_optimization: 2\n",
        "a.yaml:2:3",
        "deepspeed.zero_optimization",
        "expected a mapping, got integer 2",
        count=1,
    ),
    c(
        "ds-optimizer-lr-string",
        'deepspeed:\n  optimizer:\n    type: Adam\n    params:\n      lr: "1e-4"\n',
        "a.yaml:5:7",
        "deepspeed.optimizer.params.lr",
        "expected a number, got string '1e-4'",
    ),
    c(
        "ds-optimizer-negative-wd",
        "deepspeed:\n  optimizer:\n    params:\n      weight_decay: -1\n",
        "a.yaml:4:7",
        "deepspeed.optimizer.params.weight_decay",
        "expected at least 0",
    ),
    c(
        "ds-auto",
        "deepspeed:\n  optimizer:\n    params:\n      lr: auto\n",
        "a.yaml:4:7",
        "deepspeed.optimizer.params.lr",
        "expected a concrete value",
    ),
    c(
        "ds-cross-field-rule",
        "deepspeed:\n  fp16:\n    enabled: true\n    fp16_master_weights_and_grads: true\n",
        "a.yaml:4:5",
        "deepspeed.fp16.fp16_master_weights_and_grads",
        "needs ZeRO stage 1, 2 or 3",
        count=1,
    ),
    c("section-not-mapping", "args: 5\n", "a.yaml:1:1", "args", "expected a mapping"),
    c("ds-section-list", "deepspeed: [1, 2]\n", "a.yaml:1:1", "deepspeed", "expected a mapping"),
    c("empty-value", "args:\n  lr:\n", "a.yaml:2:3", "args.lr", "expected a number, got null"),
    c(
        "gitrev-inf",
        "args:\n  experiment_name: 695e0514\n",
        "a.yaml:2:3",
        "args.experiment_name",
        "not a finite number",
    ),
    # --- non-finite numbers ------------------------------------------------------------------------
    c("nan", "args:\n  lr: .nan\n", "a.yaml:2:3", "args.lr", "not a finite number"),
    c(
        "inf",
        "deepspeed:\n  gradient_clipping: .inf\n",
        "a.yaml:2:3",
        "deepspeed.gradient_clipping",
        "not a finite number",
    ),
    c(
        "neg-inf",
        "model:\n  params:\n    scale: -.Inf\n",
        "a.yaml:3:5",
        "model.params.scale",
        "not a finite number",
    ),
    c(
        "nan-in-list",
        "deepspeed:\n  optimizer:\n    params:\n      betas: [0.9, .NaN]\n",
        "a.yaml:4:",
        "deepspeed.optimizer.params.betas[1]",
        "not a finite number",
    ),
    c(
        "nan-from-set",
        "args: {}\n",
        "--set args.lr",
        "args.lr",
        "not a finite number",
        overrides=("args.lr=.nan",),
    ),
    # --- invalid choices and out-of-range values ------------------------------------------------------
    c("mode-train", "args:\n  mode: train\n", "a.yaml:2:3", "args.mode", "did you mean 'pretrain'"),
    c("target-unknown", "launch:\n  target: kubernetes\n", "a.yaml:2:3", "launch.target", "expected one of"),
    c("device-gpu", "launch:\n  device: gpu\n", "a.yaml:2:3", "launch.device", "expected one of"),
    c(
        "zero-stage-5",
        "deepspeed:\n  zero_optimization:\n    stage: 5\n",
        "a.yaml:3:5",
        "deepspeed.zero_optimization.stage",
        "expected one of 0, 1, 2, 3",
    ),
    c("args-zero-stage-5", "args:\n  zero_stage: 5\n", "a.yaml:2:3", "args.zero_stage", "expected one of"),
    c(
        "zero-nodes",
        "launch:\n  nodes: 0\n",
        "a.yaml:2:3",
        "launch.nodes",
        "expected at least 1, got integer 0",
    ),
    c(
        "negative-gpus",
        "launch:\n  gpus_per_node: -2\n",
        "a.yaml:2:3",
        "launch.gpus_per_node",
        "expected at least 1",
    ),
    c(
        "micro-zero",
        "deepspeed:\n  train_micro_batch_size_per_gpu: 0\n",
        "a.yaml:2:3",
        "deepspeed.train_micro_batch_size_per_gpu",
        "expected at least 1, got integer 0",
    ),
    c(
        "args-batch-zero",
        "args:\n  batch_size: 0\n",
        "a.yaml:2:3",
        "args.batch_size",
        "expected at least 1, got integer 0",
    ),
    c(
        "args-batch-negative",
        "args:\n  batch_size: -4\n",
        "a.yaml:2:3",
        "args.batch_size",
        "expected at least 1",
    ),
    c(
        "gas-negative",
        "deepspeed:\n  gradient_accumulation_steps: -1\n",
        "a.yaml:2:3",
        "deepspeed.gradient_accumulation_steps",
        "expected at least 1",
    ),
    c(
        "port-privileged",
        "launch:\n  master_port: 80\n",
        "a.yaml:2:3",
        "launch.master_port",
        "expected at least 1024",
    ),
    c(
        "negative-iters",
        "args:\n  train_iters: -5\n",
        "a.yaml:2:3",
        "args.train_iters",
        "expected at least 0",
    ),
    c(
        "negative-workers",
        "args:\n  num_workers: -1\n",
        "a.yaml:2:3",
        "args.num_workers",
        "expected at least 0",
    ),
    c("negative-lr", "args:\n  lr: -0.1\n", "a.yaml:2:3", "args.lr", "expected at least 0"),
    c("nodes-too-many", "launch:\n  nodes: 100000\n", "a.yaml:2:3", "launch.nodes", "expected at most"),
    c(
        "entrypoint-args-not-list",
        "launch:\n  entrypoint_args: --foo\n",
        "a.yaml:2:3",
        "launch.entrypoint_args",
        "expected a list",
    ),
    c(
        "passthrough-duplicate",
        "launch:\n  env_passthrough: [A, A]\n",
        "a.yaml:2:3",
        "launch.env_passthrough",
        "more than once",
    ),
    c("mp-zero", "args:\n  model_parallel_size: 0\n", "a.yaml:2:3", "args.model_parallel_size", "at least 1"),
    c(
        "mp-text",
        "args:\n  model_parallel_size: two\n",
        "a.yaml:2:3",
        "args.model_parallel_size",
        "must be an integer, got 'two' (a string) [R11]",
        count=1,
    ),
    c(
        "mp-text-set",
        VALID,
        "--set args.model_parallel_size",
        "args.model_parallel_size",
        "must be an integer, got 'two' (a string) [R11]",
        overrides=("args.model_parallel_size=two",),
        count=1,
    ),
    c(
        "mp-float",
        "args:\n  model_parallel_size: 2.0\n",
        "a.yaml:2:3",
        "args.model_parallel_size",
        "must be an integer, got 2.0 (a float) [R11]",
        count=1,
    ),
    c("bad-env-name", "launch:\n  env:\n    1BAD: x\n", "a.yaml:", "launch.env", "1BAD"),
    c(
        "bad-passthrough-name",
        "launch:\n  env_passthrough: ['A B']\n",
        "a.yaml:2:",
        "launch.env_passthrough[0]",
        "not allowed",
    ),
    c(
        "sbatch-injection",
        'launch:\n  slurm:\n    partition: "gpu --wrap=id"\n',
        "a.yaml:3:5",
        "launch.slurm.partition",
        "not allowed",
    ),
    # --- inconsistent combinations -----------------------------------------------------------------------
    c(
        "r1-iters-and-epochs",
        "args:\n  train_iters: 10\n  epochs: 2\n",
        "a.yaml:3:3",
        "args.epochs",
        "both train_iters",
    ),
    c(
        "r2-weights",
        "args:\n  train_data: [a, b]\n  train_data_weights: [1]\n",
        "a.yaml:3:3",
        "args.train_data_weights",
        "1 weights for 2",
    ),
    c(
        "r3-args-precision",
        "args:\n  fp16: true\n  bf16: true\n",
        "a.yaml:3:3",
        "args.bf16",
        "both fp16 and bf16",
    ),
    c(
        "r3-ds-precision",
        "deepspeed:\n  fp16: {enabled: true}\n  bf16: {enabled: true}\n",
        "a.yaml:3:",
        "deepspeed.bf16.enabled",
        "cannot both be enabled (with deepspeed.fp16.enabled)",
    ),
    c(
        "triad",
        "launch:\n  device: cpu\n  gpus_per_node: 2\ndeepspeed:\n  train_micro_batch_size_per_gpu: 2\n"
        "  gradient_accumulation_steps: 2\n  train_batch_size: 6\n",
        "a.yaml:7:3",
        "deepspeed.train_batch_size",
        "2 x 2 x 2",
    ),
    c(
        "mp-vs-world",
        "launch:\n  gpus_per_node: 4\nargs:\n  model_parallel_size: 3\n",
        "a.yaml:4:3",
        "args.model_parallel_size",
        "does not divide the world size 4",
    ),
    c(
        "zero-stage-disagrees",
        "args:\n  zero_stage: 1\ndeepspeed:\n  zero_optimization: {stage: 2}\n",
        "a.yaml:2:3",
        "args.zero_stage",
        "ZeRO stage 2",
    ),
    c(
        "inference-with-deepspeed",
        "args:\n  mode: inference\n  deepspeed: true\n",
        "a.yaml:3:3",
        "args.deepspeed",
        "inference mode",
    ),
    c(
        "computed-key",
        "deepspeed:\n  train_batch_size: 4\n  train_micro_batch_size_per_gpu: 4\n"
        "  gradient_accumulation_steps: 2\n",
        "a.yaml:2:3",
        "deepspeed.train_batch_size",
        "4 x 2 x 1",
    ),
    # --- files, command line and output --------------------------------------------------------------------
    Case("missing-file", {}, "nope.yaml", "", "no such file", configs=("nope.yaml",)),
    Case("directory-as-config", {"d/x.yaml": VALID}, "d", "", "is a directory", configs=("d",)),
    Case(
        "missing-among-valid", {"a.yaml": VALID}, "b.yaml", "", "no such file", configs=("a.yaml", "b.yaml")
    ),
    Case(
        "bad-in-second-layer",
        {"a.yaml": VALID, "b.yaml": "args:\n  lr: x\n"},
        "b.yaml:2:3",
        "args.lr",
        "expected a number",
    ),
    Case(
        "list-then-mapping",
        {"a.yaml": VALID + "data:\n  params: [1, 2]\n", "b.yaml": "data:\n  params:\n    x: 1\n"},
        "b.yaml:2:3",
        "data.params",
        "expected a list here",
    ),
    c(
        "set-mapping-into-list",
        VALID + "data:\n  params: [1, 2]\n",
        "--set data.params.lr",
        "data.params",
        "expected a list here",
        overrides=("data.params.lr=1",),
    ),
    c("set-no-equals", VALID, "--set args.lr", "", "expected KEY=VALUE", overrides=("args.lr",)),
    c("set-empty-key", VALID, "--set (no key)", "", "expected KEY=VALUE", overrides=("=3",)),
    c("set-bad-key", VALID, "--set args..lr:", "", "dotted key", overrides=("args..lr=1",)),
    c("set-shell-key", VALID, "--set args.lr...", "", "dotted key", overrides=("args.lr;id=1",)),
    c(
        "set-bad-yaml",
        VALID,
        "--set args.train_data: ",
        "args.train_data",
        "invalid YAML",
        overrides=("args.train_data=[a",),
    ),
    c(
        "set-value-problems-name-full-keys",
        VALID,
        "--set model: ",
        "model.a",
        "duplicate key",
        overrides=("model={a: 1, a: 2}", "args={lr: .nan}"),
        count=2,
    ),
    c(
        "set-multi-doc",
        VALID,
        "--set args.load",
        "",
        "more than one YAML document",
        overrides=("args.load=a\n---\nb",),
    ),
    c(
        "set-key-too-deep",
        VALID,
        "--set model.a.a",
        "",
        "deeper than 32",
        overrides=("model." + ".".join(["a"] * 200) + "=1",),
    ),
    c(
        "set-value-too-deep",
        VALID,
        "--set model.a",
        "",
        "nesting deeper than 32",
        overrides=("model." + ".".join(["a"] * 20) + "=" + "[" * 20 + "]" * 20,),
    ),
    c(
        "set-wrong-type",
        VALID,
        "--set args.batch_size",
        "args.batch_size",
        "expected an integer",
        overrides=("args.batch_size=four",),
    ),
    c(
        "set-into-scalar",
        VALID,
        "--set args.lr.x",
        "args.lr",
        "expected a number",
        overrides=("args.lr.x=1",),
    ),
    c("set-whole-section", VALID, "--set args", "args", "expected a mapping", overrides=("args=3",)),
    c("output-is-file", VALID, "-o file.txt: ", "", "not a directory", output="file.txt"),
    c("output-parent-missing", VALID, "-o no/such/dir/out: ", "", "does not exist", output="no/such/dir/out"),
    c(
        "output-under-a-file",
        VALID,
        "-o file.txt/out: ",
        "",
        "is a file, expected a directory",
        output="file.txt/out",
    ),
    c("output-is-cwd-with-files", VALID, "-o .", "", "not a satc bundle", output="."),
    c("output-not-writable", VALID, "-o /proc/satc-out: ", "", "cannot create", output="/proc/satc-out"),
    c("output-user-folder", VALID, "-o precious: ", "", "not a satc bundle", output="precious"),
    Case("config-is-dev-zero", {}, "/dev/zero", "", "not a regular file", configs=("/dev/zero",)),
    Case(
        "config-is-fifo",
        {},
        "pipe.yaml",
        "",
        "not a regular file",
        configs=("pipe.yaml",),
        fifos=("pipe.yaml",),
    ),
    Case(
        "config-name-control-char",
        {},
        "bad\\nname.yaml",
        "",
        "control characters",
        configs=("bad\nname.yaml",),
    ),
    Case("symlink-loop", {}, "loop.yaml", "", "cannot read", configs=("loop.yaml",)),
    c(
        "strict-warning",
        "deepspeed:\n  loss_scale: 0\n",
        "a.yaml:2:3",
        "deepspeed.loss_scale",
        "(--strict)",
        flags=("--strict",),
    ),
    c(
        "set-secret-without-equals",
        VALID,
        "--set WANDB_API_KEY...",
        "",
        "expected KEY=VALUE",
        overrides=(f"WANDB_API_KEY:{FAKE_WANDB}",),
        absent=(FAKE_WANDB,),
    ),
    # --- secrets -------------------------------------------------------------------------------------
    c(
        "secret-env-literal",
        f"launch:\n  env:\n    WANDB_API_KEY: {FAKE_WANDB}\n",
        "a.yaml:3:5",
        "launch.env.WANDB_API_KEY",
        "env_passthrough",
        absent=(FAKE_WANDB,),
    ),
    c(
        "secret-model-token",
        f"model:\n  params:\n    hf_token: {FAKE_HF}\n",
        "a.yaml:3:5",
        "model.params.hf_token",
        "credential",
        absent=(FAKE_HF,),
    ),
    c(
        "secret-data-password",
        "data:\n  params:\n    db_password: hunter2hunter2\n",
        "a.yaml:3:5",
        "data.params.db_password",
        "credential",
        absent=("hunter2hunter2",),
    ),
    c(
        "secret-token-value",
        f"launch:\n  entrypoint_args: [--token-file, {FAKE_HF}]\n",
        "a.yaml:2:",
        "launch.entrypoint_args[1]",
        "Hugging Face token",
        absent=(FAKE_HF,),
    ),
    c(
        "secret-token-in-set",
        VALID,
        "--set args.experiment_name",
        "args.experiment_name",
        "Hugging Face token",
        overrides=(f"args.experiment_name={FAKE_HF}",),
        absent=(FAKE_HF,),
    ),
    c(
        "secret-unknown-key-set",
        VALID,
        "--set args.hf",
        "args.hf",
        "unknown key",
        overrides=(f"args.hf={FAKE_HF}",),
        absent=(FAKE_HF,),
    ),
    c(
        "secret-in-bad-yaml",
        f"args:\n  experiment_name: [{FAKE_HF}\n",
        "a.yaml:",
        "",
        "invalid YAML",
        absent=(FAKE_HF,),
    ),
    c(
        "secret-env-token-name",
        "launch:\n  env:\n    HF_TOKEN: abc\n",
        "a.yaml:3:5",
        "launch.env.HF_TOKEN",
        "launch.env_passthrough: [HF_TOKEN]",
    ),
    c(
        "secret-comet-api-key",
        "deepspeed:\n  comet:\n    api_key: abc123\n",
        "a.yaml:3:5",
        "deepspeed.comet.api_key",
        "credential",
        absent=("abc123",),
    ),
    c(
        "secret-env-from-set",
        VALID,
        "--set launch.env.WANDB_API_KEY",
        "launch.env.WANDB_API_KEY",
        "credential",
        overrides=(f"launch.env.WANDB_API_KEY={FAKE_WANDB}",),
        absent=(FAKE_WANDB,),
    ),
    c(
        "secret-numeric-password",
        "data:\n  params:\n    password: 12345678\n",
        "a.yaml:3:5",
        "data.params.password",
        "credential",
        absent=("12345678",),
    ),
    c(
        "secret-token-as-key",
        f"model:\n  {FAKE_HF}: 1\n",
        "a.yaml:2:3",
        "model",
        "Hugging Face token",
        absent=(FAKE_HF,),
    ),
    c(
        "secret-wrong-type",
        f"launch:\n  env:\n    WANDB_API_KEY: [{FAKE_WANDB}]\n",
        "a.yaml:3:5",
        "launch.env.WANDB_API_KEY",
        "not shown",
        absent=(FAKE_WANDB,),
    ),
    c(
        "secret-aws-in-data",
        "data:\n  params:\n    url: s3://AKIAABCDEFGHIJKLMNOP@bucket/x\n",
        "a.yaml:3:5",
        "data.params.url",
        "AWS access key",
        absent=("AKIAABCDEFGHIJKLMNOP",),
    ),
    c(
        "secret-private-key",
        'model:\n  cert: "-----BEGIN RSA PRIVATE KEY-----\\nMIIabc"\n',
        "a.yaml:2:3",
        "model.cert",
        "private key",
        absent=("MIIabc",),
    ),
    # --- a value that fits none of a key's forms, or a form the key refuses: in words ------
    c(
        "resume-zero",
        VALID,
        "--set launch.resume",
        "launch.resume",
        "expected one of 'auto', 'latest', 'never'; or an integer at least 1; or a non-empty string; "
        "got integer 0\n    hint: a number here must be at least 1",
        overrides=("launch.resume=0",),
    ),
    c(
        "resume-list",
        VALID,
        "--set launch.resume",
        "launch.resume",
        "got a list of 1\n    hint: write a single value here, not a list",
        overrides=("launch.resume=[1]",),
    ),
    c(
        "text-false-read-as-true",
        VALID,
        "--set args.iterable_dataset_eval",
        "args.iterable_dataset_eval",
        "string 'False' is not allowed here: the code reads this key only for its truth, and any "
        "non-empty text is true\n    hint: to turn it off write false (unquoted) or delete the key",
        overrides=("args.iterable_dataset_eval='False'",),
    ),
]


@pytest.fixture(scope="session")
def previous_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid bundle, compiled once, that even-numbered cases must leave untouched."""
    root = tmp_path_factory.mktemp("previous")
    (root / "base.yaml").write_text(VALID)
    result = satc("compile", "base.yaml", "-o", "bundle", cwd=root, timeout=60)
    assert result.returncode == 0, result.stderr
    return root / "bundle"


def _prepare(case: Case, index: int, workdir: Path, previous: Path) -> tuple[list[str], Path]:
    for name, content in case.files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for name in case.fifos:
        os.mkfifo(workdir / name)
    # Fixtures some cases point at: a file, a user's folder, a symlink loop.
    (workdir / "file.txt").write_text("not a directory\n")
    (workdir / "loop.yaml").symlink_to("loop.yaml")
    (workdir / "precious").mkdir()
    (workdir / "precious" / "notes.txt").write_text("mine\n")
    output = workdir / (case.output or "out")
    if case.output is None and index % 2 == 0:
        shutil.copytree(previous, output)
    configs = list(case.configs if case.configs is not None else case.files)
    argv = ["compile", *configs, "-o", case.output or "out", *case.flags]
    for override in case.overrides:
        argv += ["--set", override]
    return argv, output


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_bad_input_is_a_clean_located_error(index: int, tmp_path: Path, previous_bundle: Path) -> None:
    case = CASES[index]
    argv, output = _prepare(case, index, tmp_path, previous_bundle)
    before = tree_digest(output) if output.is_relative_to(tmp_path) else None
    parent = output.parent if before is not None and output.parent.is_dir() else None
    siblings = sorted(p.name for p in parent.iterdir()) if parent else None

    result = satc(*argv, cwd=tmp_path, env={"CI": "", **case.env}, timeout=30)

    stderr = result.stderr
    assert result.returncode == 2, f"exit {result.returncode}\n{stderr}{result.stdout}"
    assert "Traceback" not in stderr + result.stdout
    assert "internal error" not in stderr
    assert result.stdout == ""
    # Warnings come with the errors (every problem in one run): the first error is located.
    first = next(line for line in stderr.splitlines() if "error: " in line and not line.startswith(" "))
    assert first.startswith(case.where), f"expected location {case.where!r}:\n{stderr}"
    assert "error:" in first
    if case.key:
        assert f" {case.key}" in stderr, f"expected key {case.key!r}:\n{stderr}"
    assert case.fragment in stderr, f"expected {case.fragment!r}:\n{stderr}"
    assert stderr.rstrip().endswith("nothing written")
    if case.count is not None:
        assert f"satc: {case.count} error(s)" in stderr, stderr
    for secret in case.absent:
        assert secret not in stderr
    if before is not None:
        assert tree_digest(output) == before, "the output directory changed"
    if parent is not None:
        assert sorted(p.name for p in parent.iterdir()) == siblings, "stray files written"
    assert not (tmp_path / "PWNED").exists()


def test_every_problem_of_an_input_is_reported_together_sorted_by_location(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "launch:\n  nodez: 2\nargs:\n  mode: train\n  lr: fast\n"
        "deepspeed:\n  zero_optimization:\n    stage: 5\n"
    )
    (tmp_path / "b.yaml").write_text("args:\n  batch_size: 1.5\n  lerning_rate: 1\n")
    result = satc(
        "compile",
        "a.yaml",
        "b.yaml",
        "-o",
        "out",
        "--set",
        "launch.device=gpu",
        "--set",
        "args.seed=x",
        cwd=tmp_path,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    expected = [
        "a.yaml:2:3: error: launch.nodez",
        "a.yaml:4:3: error: args.mode",
        "a.yaml:5:3: error: args.lr",
        "a.yaml:8:5: error: deepspeed.zero_optimization.stage",
        "b.yaml:2:3: error: args.batch_size",
        "b.yaml:3:3: error: args.lerning_rate",
        "--set launch.device: error: launch.device",
        "--set args.seed: error: args.seed",
    ]
    assert [line[: len(prefix)] for line, prefix in zip(errors, expected, strict=True)] == expected
    assert "satc: 8 error(s); nothing written" in result.stderr
    assert not (tmp_path / "out").exists()


def test_yaml_and_set_problems_in_several_files_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("args:\n\tlr: 1\n")
    (tmp_path / "b.yaml").write_bytes(b"args: {experiment_name: caf\xe9}\n")
    result = satc(
        "compile", "a.yaml", "b.yaml", "missing.yaml", "-o", "out", "--set", "bad", cwd=tmp_path, timeout=30
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert [line.split(":")[0] for line in lines] == ["a.yaml", "b.yaml", "missing.yaml", "--set bad"]


def test_python_tag_never_runs_even_nested_in_a_later_layer(tmp_path: Path) -> None:
    sentinel = tmp_path / "PWNED"
    (tmp_path / "a.yaml").write_text(VALID)
    for payload in (
        f'model:\n  x: !!python/object/apply:os.system ["touch {sentinel}"]\n',
        f'model:\n  x: !!python/object/new:subprocess.check_output [["touch", "{sentinel}"]]\n',
        f"model: {{x: [1, !!python/object/apply:os.system ['touch {sentinel}']]}}\n",
    ):
        (tmp_path / "b.yaml").write_text(payload)
        result = satc("compile", "a.yaml", "b.yaml", "-o", "out", cwd=tmp_path, timeout=30)
        assert result.returncode == 2 and "explicit YAML tag" in result.stderr
        assert not sentinel.exists()


BOUNDED = [
    ("billion-laughs", BILLION_LAUGHS),
    ("string-bomb", string_bomb(60)),
    ("deep-block", deep(5000)),
    ("deep-flow", "model: " + "[" * 100_000 + "]" * 100_000 + "\n"),
    ("deep-flow-map", "model: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n"),
    ("wide-flat", "model:\n" + "".join(f"  k{i}: {i}\n" for i in range(110_000))),
    ("many-anchors", "model:\n  a: &a " + "x" * 1000 + "\n" + "".join(f"  k{i}: *a\n" for i in range(20000))),
]


@pytest.mark.parametrize("text", [text for _, text in BOUNDED], ids=[name for name, _ in BOUNDED])
def test_bombs_fail_fast_in_bounded_memory(text: str, tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(text)
    status, rss_kb, stderr = _run_with_rusage(["compile", "bomb.yaml", "-o", "out"], tmp_path, 20)
    assert status == 2, stderr
    assert "Traceback" not in stderr
    assert rss_kb < 500_000, f"max RSS {rss_kb} kB"
    assert not (tmp_path / "out").exists()


def _run_with_rusage(argv: list[str], cwd: Path, limit: float) -> tuple[int, int, str]:
    """Run the CLI in a child and return (exit status, its max RSS in kB, stderr)."""
    wrapper = (
        "import json, resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([r.returncode, rss, r.stderr]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-m", "satc", *argv],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=limit,
    )
    status, rss, stderr = json.loads(result.stdout)
    return int(status), int(rss), str(stderr)


def test_many_layers_together_are_bounded_too(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"model:\n  {name}:\n" + "".join(f"    k{i}: {i}\n" for i in range(40_000))
        )
    result = satc("compile", "a.yaml", "b.yaml", "a.yaml", "-o", "out", cwd=tmp_path, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("a.yaml:1:1: error: the configs together hold more than")
    assert not (tmp_path / "out").exists()


def test_a_legitimate_6000_key_model_config_compiles(tmp_path: Path) -> None:
    lines = [VALID, "model:", "  target: sgm.models.Model", "  params:"]
    for block in range(60):
        lines.append(f"    block{block}:")
        lines += [f"      key{i}: {i * 1.5}" for i in range(100)]
    (tmp_path / "big.yaml").write_text("\n".join(lines) + "\n")
    status, rss_kb, stderr = _run_with_rusage(["compile", "big.yaml", "-o", "out"], tmp_path, 60)
    assert status == 0, stderr
    assert rss_kb < 500_000, f"max RSS {rss_kb} kB"
    assert (tmp_path / "out" / "args.json").is_file()
