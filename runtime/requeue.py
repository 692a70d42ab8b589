"""SLURM's warning before the time limit: checkpoint, requeue the job, stop (rule C8).

A bundle compiled with ``launch.slurm.resume_signal_s: N`` asks SLURM (``#SBATCH
--signal=USR1@N --requeue``) to send SIGUSR1 to every rank N seconds before the time
limit.  The handler only raises a flag; after each training step the ranks agree on it
(one max all-reduce, as a rank may see the signal a step later than its peers), then all
save a checkpoint of the step they finished, rank 0 runs ``scontrol requeue
$SLURM_JOB_ID``, and every rank exits.  The requeued job starts the same bundle, which
resumes from that checkpoint (C1).  ``scontrol requeue`` by hand or a preemption
without the warning resume from the last periodic checkpoint the same way; ``scancel``
is not trapped, so it ends every rank.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

WARNING_SIGNAL = signal.SIGUSR1
_MARK = "_satc_requeue"


class _Flag:
    raised = False


FLAG = _Flag()


def wanted(launch: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> bool:
    """Inside a SLURM job of a bundle that asked for the warning signal."""
    slurm = launch.get("slurm") or {}
    return bool(environ.get("SLURM_JOB_ID")) and bool(slurm.get("resume_signal_s"))


def _on_signal(_signum: int, _frame: Any) -> None:
    FLAG.raised = True


def _agreed() -> bool:
    import torch
    import torch.distributed as dist

    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    flag = torch.tensor([1 if FLAG.raised else 0], dtype=torch.int32, device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def _requeue_and_exit(iteration: int) -> None:
    import torch.distributed as dist

    job = os.environ.get("SLURM_JOB_ID", "")
    if dist.get_rank() == 0:
        print(
            f"satc: SLURM's warning signal: checkpoint {iteration} saved; requeueing job {job} (rule C8)",
            file=sys.stderr,
            flush=True,
        )
        result = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(
                f"satc: scontrol requeue {job} failed ({result.stderr.strip()}): the job ends here; "
                f"submit launch.sh again to resume from checkpoint {iteration}",
                file=sys.stderr,
                flush=True,
            )
    dist.barrier()
    sys.stdout.flush()
    sys.stderr.flush()
    # SLURM ends the job's steps as it requeues it; leave before, without SAT's final save.
    os._exit(0)


def _wrap_train_step(original: Any) -> Any:
    def train_step(
        data_iterator: Any, model: Any, optimizer: Any, lr_scheduler: Any, args: Any, *rest: Any, **kw: Any
    ) -> Any:
        result = original(data_iterator, model, optimizer, lr_scheduler, args, *rest, **kw)
        if _agreed():
            from sat.training import deepspeed_training

            iteration = args.iteration + 1  # train() counts the step after train_step returns
            if args.save:
                deepspeed_training.save_checkpoint(iteration, model, optimizer, lr_scheduler, args)
            _requeue_and_exit(iteration)
        return result

    setattr(train_step, _MARK, True)
    return train_step


def trap() -> None:
    """Only raise the flag on the warning signal (SIGUSR1 would end the process).  Called
    first thing in init(): SLURM may send it while the ranks still start (its timer has
    about a minute of resolution), and a flag raised then stops the run after step 1."""
    signal.signal(WARNING_SIGNAL, _on_signal)


def install() -> None:
    """Trap the warning signal and check it after every training step (once)."""
    from sat.training import deepspeed_training

    trap()
    if not getattr(deepspeed_training.train_step, _MARK, False):
        deepspeed_training.train_step = _wrap_train_step(deepspeed_training.train_step)
