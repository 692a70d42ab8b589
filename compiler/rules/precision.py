"""Precision rules: R3 (fp16 and bf16 are exclusive) and R7 (ZeRO picks fp16 by default)."""

from __future__ import annotations

from .work import Work


def r3_exclusive_precision(work: Work) -> None:
    """R3: fp16 and bf16 are exclusive."""
    if work.args["fp16"] and work.args["bf16"]:
        work.error("args.bf16", "both fp16 and bf16 are set", "choose one precision")


def r7_auto_fp16(work: Work) -> None:
    """R7: zero_stage > 0 with neither precision -> fp16 (before R6, which may override)."""
    args = work.args
    if args["zero_stage"] > 0 and not args["fp16"] and not args["bf16"]:
        reason = f"zero_stage {args['zero_stage']} > 0 and neither fp16 nor bf16 set"
        work.derive("args.fp16", True, "R7", reason, "args.zero_stage")
        work.derive("args.bf16", False, "R7", reason, "args.zero_stage")
