"""Rules about what the run iterates over: R1 (iterations vs epochs) and R2 (data weights)."""

from __future__ import annotations

from .work import Work


def r1_iterations(work: Work) -> None:
    """R1: train_iters and epochs are exclusive; neither -> train_iters = 10000."""
    args = work.args
    if args["train_iters"] is not None and args["epochs"] is not None:
        work.error(
            "args.epochs",
            f"both train_iters ({args['train_iters']}) and epochs ({args['epochs']}) are set",
            f"keep one of them (train_iters is set at {work.where('args', 'train_iters')})",
        )
    elif args["train_iters"] is None and args["epochs"] is None:
        work.derive(
            "args.train_iters", 10000, "R1", "neither train_iters nor epochs set: SAT's default 10000"
        )
        if work.training:
            work.warn(
                "args.train_iters",
                "neither train_iters nor epochs set; training for 10000 iterations",
                "set args.train_iters",
            )


def r2_data_weights(work: Work) -> None:
    """R2: len(train_data_weights) == len(train_data) when weights are given."""
    weights, data = work.args["train_data_weights"], work.args["train_data"]
    if weights is not None and len(weights) != len(data or []):
        work.error(
            "args.train_data_weights",
            f"{len(weights)} weights for {len(data or [])} train_data entries",
            "give one weight per train_data entry",
        )
    if work.training and not data:
        work.warn("args.train_data", "no training data specified")
