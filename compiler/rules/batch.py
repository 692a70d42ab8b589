"""The batch triad, D4: train_batch_size = micro x gradient accumulation x data parallel."""

from __future__ import annotations

from ..tree import yaml_text
from .work import Work

# DeepSpeed and torch count samples in 32-bit places (samplers, schedulers); a batch this
# large is a typo, and past it the arithmetic below would build huge integers.
MAX_BATCH = 2**31 - 1
_FROM_ARGS = {
    "train_micro_batch_size_per_gpu": "args.batch_size",
    "gradient_accumulation_steps": "args.gradient_accumulation_steps",
}


def d4_batch_triad(work: Work) -> None:
    """D4: train_batch_size = micro x gradient_accumulation x dp, computed and checked."""
    ds = work.deepspeed
    if ds is None or not work.topology:
        return
    dp = work.topology["data_parallel_size"]
    micro = ds.get("train_micro_batch_size_per_gpu")
    gas = ds.get("gradient_accumulation_steps")
    total = ds.get("train_batch_size")
    for name, value in (
        ("train_micro_batch_size_per_gpu", micro),
        ("gradient_accumulation_steps", gas),
        ("train_batch_size", total),
    ):
        # A preset value came from args (R5): name the key the user wrote.
        key = (
            f"deepspeed.{name}"
            if work.given("deepspeed", name)
            else _FROM_ARGS.get(name, f"deepspeed.{name}")
        )
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            work.error(key, f"must be a positive integer, got {yaml_text(value)}")
            return
        if value is not None and value > MAX_BATCH:
            work.error(key, f"{value} is larger than {MAX_BATCH:,}", "check for a typo")
            return
    if micro is None and total is None:
        micro = work.args["batch_size"]
        if not isinstance(micro, int) or micro < 1:
            work.error("args.batch_size", f"must be a positive integer, got {yaml_text(micro)}")
            return
        if micro > MAX_BATCH:
            work.error("args.batch_size", f"{micro} is larger than {MAX_BATCH:,}", "check for a typo")
            return
    if micro is None:
        assert total is not None  # both missing was handled just above
        gas = gas or 1
        if total % (gas * dp):
            work.error(
                "deepspeed.train_batch_size",
                f"train_batch_size {total} is not divisible by gradient_accumulation_steps {gas} x dp {dp}",
            )
            return
        micro = total // (gas * dp)
    if gas is None:
        if total is not None and total % (micro * dp):
            work.error(
                "deepspeed.train_batch_size",
                f"train_batch_size {total} is not divisible by micro {micro} x dp {dp}",
            )
            return
        gas = total // (micro * dp) if total is not None else 1
    arithmetic = f"{micro} x {gas} x {dp} (micro x grad_accum x dp)"
    if micro * gas * dp > MAX_BATCH:
        work.error(
            "deepspeed.train_batch_size",
            f"train_batch_size would be {arithmetic} = {micro * gas * dp}, larger than {MAX_BATCH:,}",
            "lower the micro-batch or the gradient accumulation steps",
        )
        return
    if total is not None and total != micro * gas * dp:
        work.error(
            "deepspeed.train_batch_size",
            f"train_batch_size is {total} but {arithmetic} = {micro * gas * dp}",
            f"drop train_batch_size (satc computes it) or set it to {micro * gas * dp}",
        )
        return
    inputs = (
        "deepspeed.train_micro_batch_size_per_gpu",
        "deepspeed.gradient_accumulation_steps",
        "topology.data_parallel_size",
    )
    if ds.get("train_micro_batch_size_per_gpu") != micro:
        work.derive("deepspeed.train_micro_batch_size_per_gpu", micro, "D4", f"micro = {micro}", *inputs)
    if ds.get("gradient_accumulation_steps") != gas:
        work.derive(
            "deepspeed.gradient_accumulation_steps",
            gas,
            "D4",
            f"gradient_accumulation_steps = {gas}",
            *inputs,
        )
    work.derive(
        "deepspeed.train_batch_size", micro * gas * dp, "D4", f"train_batch_size = {arithmetic}", *inputs
    )
    if work.args["batch_size"] != micro:
        work.derive(
            "args.batch_size",
            micro,
            "D4",
            "the data loader's batch is the DeepSpeed micro-batch",
            "deepspeed.train_micro_batch_size_per_gpu",
        )
