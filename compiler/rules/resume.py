"""C1/C6/C9: how a training bundle continues, recorded for `satc explain` (docs/resume.md).

The checkpoint a start resumes from is a launch-time fact (satc.runtime reads args.save
then); what the compile can say is the policy and what will differ from an
uninterrupted run.  Nothing here changes a value the configs set.
"""

from __future__ import annotations

from .work import Work

POLICY = {
    "auto": "each start (a relaunch, a torchrun restart, a SLURM requeue) continues the newest "
    "complete checkpoint of args.experiment_name under args.save, else starts fresh",
    "latest": "each start continues the newest complete checkpoint under args.save; none is an error",
    "never": "each start begins at iteration 0 (SAT's own behaviour)",
}


AT_RESUME = (
    ("args.mode", "C2", "a resume sets pretrain (SAT continues a run only in pretrain mode)"),
    ("args.load", "C2", "a resume sets the run's own folder (this base model is read by a fresh start only)"),
    ("args.no_load_rng", "C3", "a resume sets true (SAT never saves rng_tracker_states)"),
    (
        "args.resume_dataloader",
        "C4",
        "a resume sets false: satc continues the sampler at the consumed sample itself",
    ),
)


def _policy_text(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"each start continues iteration {value} of this experiment's run folder under args.save"
    text = POLICY.get(str(value))
    return text or f"each start continues the checkpoint at {value}"


def _asks_to_continue(launch: dict[str, object]) -> list[str]:
    """The launch keys that ask a later start to continue this run."""
    asked = []
    if "resume" in launch and launch.get("resume") != "never":
        asked.append("resume")
    if launch.get("exact_resume"):
        asked.append("exact_resume")
    max_restarts = launch.get("max_restarts")
    if isinstance(max_restarts, int) and not isinstance(max_restarts, bool) and max_restarts > 0:
        asked.append("max_restarts")
    return asked


def _saves(args: dict[str, object], launch: dict[str, object]) -> bool:
    deferred = launch.get("args_from_env")
    return bool(args.get("save")) or (isinstance(deferred, dict) and "save" in deferred)


def c9_continue_needs(work: Work) -> None:
    """C9: continuing needs a training run that saves checkpoints."""
    given = [key for key in ("resume", "exact_resume", "max_restarts") if work.given("launch", key)]
    if not work.training:
        if work.given("launch", "resume"):
            work.warn(
                "launch.resume",
                "ignored: args.mode is inference, which trains nothing and saves no checkpoint to "
                "continue [C9]",
                "delete launch.resume, or set args.mode to pretrain or finetune",
            )
        return
    asked = [key for key in _asks_to_continue(work.launch) if key in given]
    if asked and not _saves(work.args, work.launch):
        work.warn(
            f"launch.{asked[0]}",
            "nothing to resume: args.save is null, so SAT saves no checkpoint and every start "
            "(a restart, a requeue) begins again at iteration 1 [C9]",
            "set args.save to a checkpoint folder (or defer it: launch.args_from_env: {save: VAR})",
        )


def c1_resume(work: Work) -> None:
    """C1: record the resume policy (when a layer set one) and, C6, whether it is exact."""
    c9_continue_needs(work)
    if not work.training:
        return
    for key in ("resume", "exact_resume"):
        if work.given("launch", key) and key in work.launch:
            work.derive(f"launch.{key}", work.launch[key], *_reason(work, key))
    if work.given("launch", "resume") and work.launch.get("resume") != "never":
        # The values below are a fresh start's; a resume replaces them at launch time.
        for key, rule, what in AT_RESUME:
            work.derive(
                key,
                work.args.get(key.split(".", 1)[1]),
                rule,
                f"this value on a fresh start; {what}",
                "launch.resume",
            )


def _reason(work: Work, key: str) -> tuple[str, str, str, str]:
    if key == "resume":
        return (
            "C1",
            _policy_text(work.launch["resume"])
            + "; a resume sets args.mode pretrain and args.load to the run folder (C2), "
            "args.no_load_rng (C3), args.resume_dataloader false with the sampler continued "
            "at the consumed sample (C4) and continues the learning-rate schedule (C5)",
            "args.save",
            "args.experiment_name",
        )
    exact = bool(work.launch["exact_resume"])
    return (
        "C6",
        "checkpoints also hold each rank's optimizer state and RNG streams, and TorchScript "
        "functions run unoptimized on every step; a resume on the same topology reproduces the "
        "losses bit for bit, on another data-parallel size it cannot (optimizer partitions and "
        "reduction order differ)"
        if exact
        else "not exact: SAT saves no optimizer state (Adam moments restart at zero) and "
        "reseeds every RNG stream on a resume",
        "launch.resume",
        "topology.data_parallel_size",
    )


def summary_line(args: dict[str, object], launch: dict[str, object]) -> str | None:
    """The compile's line about continuation, for every training bundle: without a
    launch.resume the default (auto) still decides what a restart or a requeue does."""
    if args.get("mode") == "inference":
        return None
    if not _saves(args, launch):
        return "  resume: none: args.save is null, so every start begins at iteration 1 (C9)"
    policy = launch.get("resume", "auto")
    exact = (
        "exact on the same topology (C6)"
        if launch.get("exact_resume")
        else "not exact: Adam moments restart at zero and RNG streams are reseeded "
        "(launch.exact_resume: true saves both, C6)"
    )
    return f"  resume: {policy} (C1), {exact}"


def unset_default(
    key: str, args: dict[str, object], launch: dict[str, object], train_batch_size: object = None
) -> tuple[object, str, str, tuple[str, ...]] | None:
    """(value, rule, reason, inputs) of a continuation key a training bundle leaves unset,
    whose default still decides what a start does; None for other keys."""
    if args.get("mode") == "inference":
        return None
    if key == "launch.resume":
        reason = "default (launch.resume unset): " + POLICY["auto"]
        return "auto", "C1", reason, ("args.save", "args.experiment_name")
    if key == "launch.exact_resume":
        reason = (
            "default (launch.exact_resume unset): not exact: SAT saves no optimizer state (Adam "
            "moments restart at zero) and reseeds every RNG stream on a resume"
        )
        return False, "C6", reason, ("launch.resume",)
    if key == "launch.global_batch_size":
        reason = (
            f"not pinned (launch.global_batch_size unset): the global batch is deepspeed.train_batch_size "
            f"({train_batch_size}) = micro x grad_accum x data-parallel size, so a run resumed on another "
            "data-parallel size changes it; set launch.global_batch_size to keep it (C4)"
        )
        return None, "B1", reason, ("deepspeed.train_batch_size",)
    return None
