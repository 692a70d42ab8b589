"""SLURM resources: CPUs for the data loader, and the whitelisted extra #SBATCH options."""

from __future__ import annotations

from .work import Work


def slurm_resources(work: Work) -> None:
    """Each rank's data loader runs args.num_workers processes beside the rank itself."""
    if work.launch["target"] != "slurm":
        return
    slurm = work.launch.get("slurm") or {}
    cpus = slurm.get("cpus_per_task", 1)
    workers = work.args.get("num_workers") or 0
    given = work.given("launch", "slurm", "cpus_per_task") or work.given("args", "num_workers")
    if given and cpus < workers + 1:
        work.warn(
            "launch.slurm.cpus_per_task"
            if work.given("launch", "slurm", "cpus_per_task")
            else "args.num_workers",
            f"--cpus-per-task={cpus}, but each rank runs args.num_workers={workers} data-loader "
            f"worker(s) beside itself: SLURM pins them to {cpus} CPU(s)",
            f"set launch.slurm.cpus_per_task to at least {workers + 1}",
        )
    if slurm.get("gpu_type") and slurm.get("gpu_directive", "gpus-per-node") != "gres":
        work.error(
            "launch.slurm.gpu_type",
            "is only used with launch.slurm.gpu_directive: gres",
            "set launch.slurm.gpu_directive: gres, or remove gpu_type",
        )
    extra = slurm.get("extra") or {}
    if slurm.get("resume_signal_s") and any(k in extra for k in ("signal", "requeue", "no_requeue")):
        clash = next(k for k in ("signal", "requeue", "no_requeue") if k in extra)
        work.error(
            f"launch.slurm.extra.{clash}",
            "launch.slurm.resume_signal_s already writes --signal=USR1@N and --requeue (rule C8)",
            f"remove launch.slurm.extra.{clash}",
        )
