"""Where a run continues from: launch.resume -> a checkpoint (or a fresh start), and the
SAT arguments that make SAT's training_main continue it (rules C1-C6, docs/resume.md).

Pure except for reading the checkpoint folders; every rank decides alike from the same
files, before the process group exists, so a refused checkpoint stops the job before
anything starts.

``launch.resume`` (absent: ``auto``):

* ``auto``: the newest complete checkpoint of this experiment under args.save, else a
  fresh start (so a torchrun restart, a SLURM requeue or a plain relaunch continues);
* ``latest``: the same, but no checkpoint is an error;
* ``never``: always a fresh start;
* an iteration ``N``: tag N of this experiment's newest run folder that has it;
* a path: a run folder (its ``latest``) or one tag folder of it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bundle import Bundle
from .checkpoints import (
    Checkpoint,
    CheckpointError,
    check_base_model,
    newest_checkpoint,
    open_checkpoint,
    run_folders,
    tag_of,
)

POLICIES = ("auto", "latest", "never")


@dataclass(frozen=True)
class Derived:
    """One argument set for the resume, and why (printed on rank 0; docs/resume.md)."""

    key: str
    value: Any
    rule: str
    reason: str


@dataclass(frozen=True)
class Continuation:
    """How this start continues a run: from ``checkpoint`` (None: fresh), with the
    global sample offset the data order resumes at."""

    checkpoint: Checkpoint | None
    consumed_samples: int = 0
    global_batch: int = 0
    derived: tuple[Derived, ...] = ()
    notes: tuple[str, ...] = field(default=())
    original_mode: str = "finetune"
    exact: bool = False

    @property
    def iteration(self) -> int:
        return self.checkpoint.iteration if self.checkpoint else 0


def policy(bundle: Bundle) -> str | int:
    value = bundle.launch.get("resume", "auto")
    if isinstance(value, bool) or value is None:
        return "auto"
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    return str(value)


def global_batch(ns: argparse.Namespace, data_parallel_size: int) -> int:
    """Samples per optimizer step over all ranks (SAT: batch_size x accumulation x dp)."""
    accumulation = int(getattr(ns, "gradient_accumulation_steps", 1) or 1)
    return int(ns.batch_size) * accumulation * data_parallel_size


def _find(bundle: Bundle, ns: argparse.Namespace, wanted: str | int) -> Checkpoint | None:
    mp = bundle.topology.model_parallel_size
    if isinstance(wanted, str) and wanted not in POLICIES:
        path = Path(wanted)
        if not path.is_dir():
            raise CheckpointError(
                f"{path}: launch.resume names no folder; name a run folder (it holds `latest`), "
                "one of its iteration folders, an iteration, or auto"
            )
        if path.name.isdigit() and not (path / "latest").exists():
            return open_checkpoint(path.parent, mp, int(path.name))
        return open_checkpoint(path, mp)
    save = getattr(ns, "save", None)
    if not save:
        if wanted == "auto":
            return None
        raise CheckpointError(
            f"launch.resume: {wanted}: args.save is unset, so this run has no checkpoints to "
            "resume; set args.save (or launch.args_from_env: {save: VAR})"
        )
    folders = run_folders(Path(save), str(ns.experiment_name))
    if isinstance(wanted, int):
        having = [f for f in folders if (f / str(wanted)).is_dir()]
        if not having:
            raise CheckpointError(
                f"{save}: no run folder of experiment {ns.experiment_name!r} has a checkpoint "
                f"{wanted} (launch.resume: {wanted}); list them with `ls {save}/*/`"
            )
        return open_checkpoint(max(having, key=lambda f: f.stat().st_mtime_ns), mp, wanted)
    newest = newest_checkpoint(folders)
    if newest is None:
        for folder in folders:
            if any(p.name.isdigit() for p in folder.iterdir()):
                tag_of(folder)  # checkpoints without `latest`: refused, never skipped
        if wanted == "latest":
            raise CheckpointError(
                f"{save}: no checkpoint of experiment {ns.experiment_name!r} (no "
                f"{ns.experiment_name}-<timestamp>/latest) but launch.resume is latest; "
                "use launch.resume: auto to start fresh when there is none"
            )
        return None
    return open_checkpoint(newest, mp)


def _consumed(checkpoint: Checkpoint, batch: int) -> tuple[int, list[str]]:
    recorded = checkpoint.state.get("consumed_samples")
    if isinstance(recorded, int) and not isinstance(recorded, bool):
        notes = []
        saved_batch = checkpoint.state.get("global_batch")
        if saved_batch != batch:
            notes.append(
                f"global batch {saved_batch} when saved, {batch} now: the samples continue at "
                f"{recorded} without repeat or gap, but steps now take {batch} samples "
                "(keep it with launch.global_batch_size, rule B1)"
            )
        return recorded, notes
    return checkpoint.iteration * batch, [
        f"{checkpoint.tag} has no {checkpoint.tag.name}/satc-state.json (not saved by satc): "
        f"assuming {checkpoint.iteration} steps of today's global batch {batch}"
    ]


def plan(bundle: Bundle, ns: argparse.Namespace) -> Continuation:
    """Decide the continuation of this start (no side effects but reading files)."""
    mode = str(getattr(ns, "mode", "finetune"))
    exact = bool(bundle.launch.get("exact_resume", False))
    wanted = policy(bundle)
    batch = global_batch(ns, bundle.topology.data_parallel_size)
    checkpoint = None
    if mode != "inference" and wanted != "never":
        checkpoint = _find(bundle, ns, wanted)
    if checkpoint is None:
        base = getattr(ns, "load", None)
        if mode == "finetune" and base:
            check_base_model(str(base), bundle.topology.model_parallel_size, "args.load")
        return Continuation(None, 0, batch, original_mode=mode, exact=exact)
    consumed, notes = _consumed(checkpoint, batch)
    folder = str(checkpoint.folder)
    derived = (
        Derived(
            "args.load",
            folder,
            "C2",
            f"the run's own checkpoint (iteration {checkpoint.iteration}); the base model "
            f"({getattr(ns, 'load', None)}) is not read: the checkpoint holds every weight",
        ),
        Derived(
            "args.mode",
            "pretrain",
            "C2",
            "SAT continues a run only in pretrain mode (finetune restarts at iteration 0) and "
            "then saves into the folder it loaded",
        ),
        Derived(
            "args.no_load_rng",
            True,
            "C3",
            "SAT never saves rng_tracker_states and its pretrain load exits without them"
            + ("; exact resume restores every RNG stream itself" if exact else ""),
        ),
        Derived(
            "args.resume_dataloader",
            False,
            "C4",
            f"satc continues the sampler at sample {consumed} of the global order (SAT's "
            "restart counts batches modulo the loader length and does nothing on one "
            "data-parallel rank)",
        ),
    )
    if not exact:
        notes.append(
            "not exact: SAT saves no optimizer state (Adam moments restart at zero) and "
            "reseeds every RNG stream; launch.exact_resume: true restores both"
        )
    return Continuation(checkpoint, consumed, batch, derived, tuple(notes), mode, exact)


def apply(continuation: Continuation, ns: argparse.Namespace) -> None:
    """Set the derived arguments on the namespace SAT's training_main reads."""
    for item in continuation.derived:
        setattr(ns, item.key.split(".", 1)[1], item.value)


def describe(continuation: Continuation) -> list[str]:
    """What rank 0 prints: the checkpoint (C1), each derived argument, what differs."""
    if continuation.checkpoint is None:
        return []
    lines = [
        f"satc: resuming from {continuation.checkpoint.folder} at iteration "
        f"{continuation.iteration}, sample {continuation.consumed_samples} (rule C1)"
    ]
    lines += [f"satc:   {d.key} = {d.value!r} (rule {d.rule}: {d.reason})" for d in continuation.derived]
    lines.append("satc:   the learning-rate schedule continues at its step, without a re-warm (rule C5)")
    lines += [f"satc:   {note} (rule C6)" for note in continuation.notes]
    return lines
