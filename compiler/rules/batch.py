"""The batch triad, D4: train_batch_size = micro x gradient accumulation x data parallel,
and B1: a pinned global batch (`launch.global_batch_size`) that survives topology changes."""

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

# Suggestions list this many data-parallel sizes at most.
_MAX_LISTED = 12


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _gpu_counts(dps: list[int], mp: int, gpus_per_node: int) -> str:
    items = []
    for dp in dps[:_MAX_LISTED]:
        gpus = dp * mp
        layout = f" = {gpus // gpus_per_node} x {gpus_per_node}" if gpus % gpus_per_node == 0 else ""
        items.append(f"dp {dp} ({gpus} GPU{'s' if gpus > 1 else ''}{layout})")
    more = f", ... ({len(dps) - _MAX_LISTED} more)" if len(dps) > _MAX_LISTED else ""
    return ", ".join(items) + more


def b1_global_batch(work: Work) -> None:
    """B1: launch.global_batch_size = micro x gradient_accumulation x dp; the accumulation
    is derived for the compiled topology, so recompiling for other GPU counts keeps N."""
    pinned = work.launch.get("global_batch_size")
    ds = work.deepspeed
    if pinned is None or ds is None or not work.topology:
        return
    dp = work.topology["data_parallel_size"]
    mp = work.topology["model_parallel_size"]
    micro = ds.get("train_micro_batch_size_per_gpu", work.args["batch_size"])
    if not isinstance(micro, int) or isinstance(micro, bool) or micro < 1:
        return  # D4 reports it
    given = ds.get("train_batch_size")
    if given is not None and given != pinned and work.given("deepspeed", "train_batch_size"):
        work.error(
            "launch.global_batch_size",
            f"global_batch_size {pinned} disagrees with deepspeed.train_batch_size {given}",
            "keep one of them: drop deepspeed.train_batch_size (satc computes it)",
        )
        return
    if pinned % (micro * dp):
        dps = [d for d in _divisors(pinned // micro) if pinned % micro == 0]
        arithmetic = (
            f"{pinned} / ({micro} micro x {dp} dp) = {pinned / (micro * dp):.4g} is no whole "
            "number of accumulation steps"
        )
        if dps:
            hint = (
                f"with micro {micro}, global batch {pinned} is reached at "
                f"{_gpu_counts(dps, mp, work.topology['gpus_per_node'])}"
            )
            smaller = [m for m in _divisors(micro)[::-1] if m < micro and pinned % (m * dp) == 0]
            if smaller:
                hint += (
                    f"; at dp {dp} a micro-batch of {smaller[0]} reaches it "
                    f"(--set deepspeed.train_micro_batch_size_per_gpu={smaller[0]})"
                )
        else:
            micros = [m for m in _divisors(pinned) if pinned % (m * dp) == 0]
            hint = f"{pinned} is not a multiple of micro {micro}; at dp {dp} use a micro-batch of " + (
                ", ".join(map(str, micros)) if micros else f"a divisor of {pinned} (none divides by dp {dp})"
            )
        step = micro * dp
        hint += (
            f"; or keep this topology with launch.global_batch_size {step * -(-pinned // step)} "
            f"(the nearest multiple of {micro} x {dp} at or above {pinned})"
        )
        work.error("launch.global_batch_size", arithmetic, hint)
        return
    gas = pinned // (micro * dp)
    # Recorded even when a layer already agrees: explain then names B1 as the source.
    work.derive(
        "deepspeed.gradient_accumulation_steps",
        gas,
        "B1",
        f"gradient_accumulation_steps = {pinned} / ({micro} x {dp}) (global_batch_size / (micro x dp))",
        "launch.global_batch_size",
        "deepspeed.train_micro_batch_size_per_gpu",
        "topology.data_parallel_size",
    )
    if work.args.get("gradient_accumulation_steps") != gas:
        work.derive(
            "args.gradient_accumulation_steps",
            gas,
            "B1",
            "SAT's gradient_accumulation_steps is DeepSpeed's",
            "deepspeed.gradient_accumulation_steps",
        )
    ds.pop("train_batch_size", None)  # D4 recomputes it from the derived triad


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
            _mismatch_hint(total, micro, dp, micro * gas * dp),
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


def _mismatch_hint(total: int, micro: int, dp: int, computed: int) -> str:
    """The accumulation that reaches the given total, when one does."""
    options = f"drop train_batch_size (satc computes it) or set it to {computed}"
    if total % (micro * dp) == 0:
        return (
            f"gradient_accumulation_steps {total // (micro * dp)} gives {total} "
            f"({micro} x {total // (micro * dp)} x {dp}); or pin it for every topology with "
            f"launch.global_batch_size: {total}; or {options}"
        )
    return options
