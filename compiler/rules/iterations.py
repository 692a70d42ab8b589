"""Rules about what the run iterates over: R1 (iterations vs epochs) and R2 (data weights)."""

from __future__ import annotations

from ..errors import Problem, derived_location
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


# CogVideoX's training script: SAT's training_main, which needs args.train_data.
SAT_TRAINING_ENTRYPOINTS = frozenset({"train_video.py"})


def t1_training_data(work: Work) -> None:
    """T1: SAT's training loop needs data.  Without args.train_data, training_main skips
    DeepSpeed's set-up and divides by the empty loader's length: every rank dies with
    ZeroDivisionError after loading the model.  An error for a model trained by
    CogVideoX's train_video.py; a warning otherwise (another entrypoint may bring its
    own data)."""
    if not work.training or work.args["train_data"]:
        return
    if "train_data" in (work.launch.get("args_from_env") or {}):
        return  # given at launch time (L1)
    path = next((p for p in (("args", "train_data"), ("args", "mode"), ("args",)) if work.given(*p)), None)
    label = work.config.inputs[-1].label if work.config.inputs else "satc"
    where = work.where(*path) if path else derived_location(label)
    hint = (
        "set args.train_data: [path/to/your/dataset] (resolved from the folder launch.sh "
        "starts in), or args.mode: inference to sample"
    )
    entrypoint = str(work.launch.get("entrypoint") or "")
    sat_training = entrypoint.rsplit("/", 1)[-1] in SAT_TRAINING_ENTRYPOINTS
    if not (sat_training and work.config.tree.get("model") is not None):
        # Another entrypoint may bring its own data; a config without a model is a
        # layer or a layout, not yet a CogVideoX training run.
        work.warnings.append(Problem(where, "args.train_data", "no training data specified", "warning", hint))
        return
    work.errors.append(
        Problem(
            where,
            "args.train_data",
            f"mode {work.args['mode']!r} trains, but args.train_data is not set: {entrypoint} "
            "(SAT's training_main) would die with ZeroDivisionError at its first step [T1]",
            hint=hint,
        )
    )
