"""Every error message issue 2 names, through the real CLI: exit 2, located message,
and the output directory (holding a previous bundle) left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import satc, tree_digest

GOOD = "args:\n  mode: finetune\n  train_iters: 10\n  bf16: true\n"

# (name, config text, --set overrides, expected fragments of stderr)
CASES = [
    (
        "unknown key",
        GOOD + "  lerning_rate: 0.1\n",
        [],
        ["c.yaml:5:3:", "args.lerning_rate", "unknown key", "did you mean args.lr?"],
    ),
    (
        "wrong type",
        GOOD + "  batch_size: four\n",
        [],
        ["c.yaml:5:3:", "args.batch_size", "expected an integer", "got string 'four'"],
    ),
    (
        "both train_iters and epochs",
        GOOD + "  epochs: 3\n",
        [],
        ["c.yaml:5:3:", "args.epochs", "both train_iters (10) and epochs (3) are set"],
    ),
    (
        "both precisions",
        GOOD + "  fp16: true\n",
        [],
        ["c.yaml:4:3:", "args.bf16", "both fp16 and bf16 are set"],
    ),
    (
        "weights/data mismatch",
        GOOD + "  train_data: [a, b, c]\n  train_data_weights: [1, 2]\n",
        [],
        ["c.yaml:6:3:", "args.train_data_weights", "2 weights for 3 train_data entries"],
    ),
    (
        "mp does not divide world",
        GOOD + "  model_parallel_size: 3\nlaunch:\n  gpus_per_node: 4\n",
        [],
        [
            "c.yaml:5:3:",
            "args.model_parallel_size",
            "model_parallel_size 3 does not divide the world size 4 = 1 nodes x 4 gpus_per_node",
        ],
    ),
    (
        "batch triad",
        GOOD + "deepspeed:\n  train_batch_size: 10\n  train_micro_batch_size_per_gpu: 4\n"
        "  gradient_accumulation_steps: 2\n  bf16:\n    enabled: true\n",
        [],
        [
            "c.yaml:6:3:",
            "deepspeed.train_batch_size",
            "train_batch_size is 10 but 4 x 2 x 1 (micro x grad_accum x dp) = 8",
        ],
    ),
    ("malformed YAML", GOOD + "  lr: [0.1\n", [], ["c.yaml:", "invalid YAML"]),
    ("bad --set", GOOD, ["args.lr"], ["--set args.lr", "expected KEY=VALUE"]),
    (
        "wrong type via --set",
        GOOD,
        ["args.seed=abc"],
        ["--set args.seed", "args.seed", "expected an integer"],
    ),
]


@pytest.fixture()
def previous_bundle(tmp_path: Path) -> Path:
    (tmp_path / "good.yaml").write_text(GOOD)
    result = satc("compile", "good.yaml", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "out"


@pytest.mark.parametrize("name,text,overrides,fragments", CASES, ids=[c[0] for c in CASES])
def test_error_is_located_and_writes_nothing(
    previous_bundle: Path, name: str, text: str, overrides: list[str], fragments: list[str]
) -> None:
    folder = previous_bundle.parent
    (folder / "c.yaml").write_text(text)
    before = tree_digest(previous_bundle)
    argv = ["compile", "c.yaml", "-o", "out"]
    for override in overrides:
        argv += ["--set", override]
    result = satc(*argv, cwd=folder)
    assert result.returncode == 2, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    assert tree_digest(previous_bundle) == before


@pytest.mark.parametrize("kind", ["missing", "unreadable", "directory"])
def test_unusable_input_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "c.yaml"
    if kind == "unreadable":
        target.write_text(GOOD)
        target.chmod(0)
        if target.open("rb").readable() and __import__("os").geteuid() == 0:
            # root reads anything: make it unreadable the only way left, a dangling link
            target.unlink()
            target.symlink_to(tmp_path / "gone" / "x.yaml")
    elif kind == "directory":
        target.mkdir()
    result = satc("compile", "c.yaml", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert "c.yaml: error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_all_problems_are_reported_together_in_order(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD + "  lerning_rate: 1\n")
    (tmp_path / "b.yaml").write_text("deepspeed:\n  zero_optimisation:\n    stage: 2\nlaunch:\n  nodes: 0\n")
    result = satc("compile", "a.yaml", "b.yaml", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[0] for line in lines] == ["a.yaml:5:3", "b.yaml:2:3", "b.yaml:5:3"]
    assert "did you mean deepspeed.zero_optimization?" in result.stderr


def test_a_bundle_directory_with_foreign_files_is_not_replaced(previous_bundle: Path) -> None:
    (previous_bundle / "notes.txt").write_text("mine")
    before = tree_digest(previous_bundle)
    result = satc("compile", "good.yaml", "-o", "out", cwd=previous_bundle.parent)
    assert result.returncode == 2
    assert "also holds files satc did not write (notes.txt)" in result.stderr
    assert tree_digest(previous_bundle) == before


def test_set_of_one_list_item_says_how_to_set_the_list(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    result = satc("compile", "good.yaml", "-o", "out", "--set", "args.train_data[0]=x", cwd=tmp_path)
    assert result.returncode == 2
    assert "list items cannot be set one by one; set the whole list" in result.stderr


def test_a_password_in_a_url_is_never_frozen(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(GOOD + "model:\n  ckpt: https://bob:hunter2@example.org/m.pt\n")
    result = satc("compile", "c.yaml", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert "c.yaml:6:3: error: model.ckpt: holds what looks like a password in a URL" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists()
