"""The run's continuation inside SAT's training_main: four functions of
sat.training.deepspeed_training, wrapped where that module looks them up.

* ``save_checkpoint``: SAT writes the tag folders and ``latest`` in place, so a kill in
  the middle of a save leaves ``latest`` naming a half-written (or EMA) tag.  The wrapper
  lets SAT write into a staging folder inside the run folder, adds satc-state.json (the
  samples consumed, the lineage), moves the finished tags in and only then replaces
  ``latest`` atomically (rule C7).
* ``make_loaders``: the training sampler skips the samples the run already consumed, in
  the global order, whatever the data-parallel size (rule C4).
* ``get_learning_rate_scheduler``: the schedule continues at the checkpoint's step
  instead of re-warming (rule C5).
* ``train``: an exact resume restores the optimizer state and every RNG stream after
  SAT's reseed, right before the first resumed step (rule C6).

``install`` is idempotent; nothing changes for a run that neither saves nor resumes.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .checkpoints import LINEAGE_FILE, STATE_FILE
from .resume import Continuation

_MARK = "_satc_continuation"
_STAGING = ".satc-saving-"
EXACT_FILE = "satc-exact-rank-{rank:05d}.pt"


class _State:
    continuation: Continuation | None = None
    bundle_digest: str = ""
    bundle_path: str = ""
    data_parallel_size: int = 1


STATE = _State()


def _write_atomically(path: Path, text: str) -> None:
    """Write to a sibling temporary file, fsync it, then rename over ``path``."""
    temporary = path.with_name(f".{path.name}.satc-tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _segment() -> dict[str, Any]:
    """This start: which bundle, from which checkpoint, under which launcher attempt."""
    continuation = STATE.continuation
    checkpoint = continuation.checkpoint if continuation else None
    return {
        "bundle_digest": STATE.bundle_digest,
        "bundle": STATE.bundle_path,
        "resumed_from": (
            {"folder": str(checkpoint.folder), "iteration": checkpoint.iteration} if checkpoint else None
        ),
        "restart_attempt": int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "slurm_restart_count": os.environ.get("SLURM_RESTART_COUNT"),
        "data_parallel_size": STATE.data_parallel_size,
    }


def checkpoint_state(iteration: int) -> dict[str, Any]:
    """satc-state.json of checkpoint ``iteration``: samples consumed and the lineage."""
    continuation = STATE.continuation
    base_iteration = continuation.iteration if continuation else 0
    base_samples = continuation.consumed_samples if continuation else 0
    batch = continuation.global_batch if continuation else 0
    earlier: list[Any] = []
    if continuation and continuation.checkpoint:
        lineage = continuation.checkpoint.state.get("lineage")
        earlier = list(lineage) if isinstance(lineage, list) else []
    return {
        "iteration": iteration,
        "consumed_samples": base_samples + (iteration - base_iteration) * batch,
        "global_batch": batch,
        "bundle_digest": STATE.bundle_digest,
        "exact": bool(continuation and continuation.exact),
        "lineage": [*earlier, {**_segment(), "saved_at_iteration": iteration}],
    }


def _publish(staging: Path, final: Path, iteration: int) -> None:
    """Rank 0: move the finished tags in, then point `latest` at them (atomic rename)."""
    state = checkpoint_state(iteration)
    tag = staging / str(iteration)
    if tag.is_dir():
        _write_atomically(tag / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")
    for name in (str(iteration), f"{iteration}-ema"):
        source, target = staging / name, final / name
        if not source.is_dir():
            continue
        if target.exists():
            # The same iteration saved twice (SAT's final save after a periodic one): the
            # published copy stays, so `latest` never names a folder being replaced.
            shutil.rmtree(source)
            continue
        os.replace(source, target)
    for name in ("model_config.json",):
        if (staging / name).is_file():
            os.replace(staging / name, final / name)
    _write_atomically(final / "latest", str(iteration))
    lineage = {"latest": iteration, "bundle_digest": STATE.bundle_digest, "chain": state["lineage"]}
    _write_atomically(final / LINEAGE_FILE, json.dumps(lineage, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(staging, ignore_errors=True)


def _save_exact(directory: Path, optimizer: Any, rank: int) -> None:
    """Every rank: its optimizer partition and every RNG stream, beside SAT's shards."""
    import random

    import numpy as np
    import torch

    inner = getattr(optimizer, "optimizer", optimizer)
    state = {
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        # FusedEmaAdam's EMA decay warms up with this counter, kept outside its state_dict.
        "ema_num_updates": getattr(inner, "num_updates", None),
        "data_parallel_size": STATE.data_parallel_size,
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    torch.save(state, directory / EXACT_FILE.format(rank=rank))


def _wrap_save(original: Any) -> Any:
    def save_checkpoint(iteration: int, model: Any, optimizer: Any, lr_scheduler: Any, args: Any) -> None:
        import torch.distributed as dist

        final = Path(args.save)
        staging = final / f"{_STAGING}{iteration}"
        rank = dist.get_rank()
        if rank == 0:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
        dist.barrier()
        staged = copy.copy(args)
        staged.save = str(staging)
        original(iteration, model, optimizer, lr_scheduler, staged)  # ends in a barrier
        continuation = STATE.continuation
        if continuation is not None and continuation.exact:
            (staging / str(iteration)).mkdir(exist_ok=True)
            _save_exact(staging / str(iteration), optimizer, rank)
            dist.barrier()
        if rank == 0:
            _publish(staging, final, iteration)
        dist.barrier()

    setattr(save_checkpoint, _MARK, True)
    return save_checkpoint


def _skip_batches(batch_sampler: Any, batches: int) -> None:
    """Make ``batch_sampler`` (SAT's DistributedBatchSampler or torch's BatchSampler on one
    data-parallel rank) skip its first ``batches`` global batches, once."""
    base = type(batch_sampler)

    class ContinuedBatchSampler(base):  # type: ignore[misc, valid-type]
        _satc_skip: int

        def __iter__(self) -> Any:
            iterator = base.__iter__(self)
            skip, self._satc_skip = self._satc_skip, 0
            for _ in range(skip):
                if next(iterator, None) is None:
                    return
            yield from iterator

    batch_sampler.__class__ = ContinuedBatchSampler
    batch_sampler._satc_skip = batches


def _wrap_make_loaders(original: Any) -> Any:
    def make_loaders(args: Any, *rest: Any, **kwargs: Any) -> Any:
        train, valid, test = original(args, *rest, **kwargs)
        continuation = STATE.continuation
        if continuation is None or not continuation.consumed_samples or train is None:
            return train, valid, test
        if getattr(args, "iterable_dataset", False):
            _say("satc: an iterable training dataset cannot be continued; it restarts (rule C4)")
            return train, valid, test
        per_batch = int(args.batch_size) * STATE.data_parallel_size
        batches, partial = divmod(continuation.consumed_samples, per_batch)
        if partial:
            _say(
                f"satc: sample {continuation.consumed_samples} is not at a batch boundary of "
                f"{per_batch}; continuing at sample {batches * per_batch} (rule C4)"
            )
        _skip_batches(train.batch_sampler, batches)
        return train, valid, test

    setattr(make_loaders, _MARK, True)
    return make_loaders


def _wrap_scheduler(original: Any) -> Any:
    def get_learning_rate_scheduler(optimizer: Any, iteration: int, args: Any, **kwargs: Any) -> Any:
        continuation = STATE.continuation
        if continuation is None or continuation.checkpoint is None:
            return original(optimizer, iteration, args, **kwargs)
        # The schedule the run started with (its own mode's warm-up), moved on by the
        # steps it already took: SAT would re-warm 100 steps at 5% of the rate.
        fresh = copy.copy(args)
        fresh.mode = continuation.original_mode
        scheduler = original(optimizer, 0, fresh, **kwargs)
        scheduler.step(scheduler.num_iters + continuation.iteration)
        return scheduler

    setattr(get_learning_rate_scheduler, _MARK, True)
    return get_learning_rate_scheduler


def _restore_exact(optimizer: Any) -> None:
    import random

    import numpy as np
    import torch
    import torch.distributed as dist

    continuation = STATE.continuation
    assert continuation is not None and continuation.checkpoint is not None
    path = continuation.checkpoint.tag / EXACT_FILE.format(rank=dist.get_rank())
    if not path.is_file():
        _say(
            f"satc: {path} is missing (saved without launch.exact_resume or on another "
            "topology): the optimizer and RNG streams restart; not exact (rule C6)"
        )
        return
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("data_parallel_size") != STATE.data_parallel_size:
        _say(
            f"satc: {path} was saved at data-parallel size {state.get('data_parallel_size')}, this "
            f"run has {STATE.data_parallel_size}: its optimizer partitions do not fit, so Adam's "
            "moments and the RNG streams restart; not exact (rule C6)"
        )
        return
    if state["optimizer"] is not None and optimizer is not None:
        if hasattr(optimizer, "single_partition_of_fp32_groups"):  # DeepSpeed ZeRO 1/2
            # This rank's own partition, copied as saved: the fp32 master weights (saved
            # without the alignment padding of the last rank), Adam's state, the fp16 loss
            # scaler (its scale, hysteresis and the iteration of the last overflow), then
            # the bf16/fp16 weights from the masters on every rank (what SAT does after
            # saving its EMA weights).  DeepSpeed's loader would re-slice partitions.
            from sat.training.model_io import restore_ema_parameters_back

            saved = state["optimizer"]
            for current, master in zip(
                optimizer.single_partition_of_fp32_groups,
                saved["single_partition_of_fp32_groups"],
                strict=True,
            ):
                current.data.narrow(0, 0, master.numel()).copy_(master.data)
            optimizer.optimizer.load_state_dict(saved["base_optimizer_state"])
            for key, attribute in (
                ("loss_scaler", "loss_scaler"),
                ("dynamic_loss_scale", "dynamic_loss_scale"),
                ("overflow", "overflow"),
            ):
                if key in saved and hasattr(optimizer, attribute):
                    setattr(optimizer, attribute, saved[key])
            restore_ema_parameters_back(optimizer)
        else:
            optimizer.load_state_dict(state["optimizer"])
    inner = getattr(optimizer, "optimizer", optimizer)
    if state.get("ema_num_updates") is not None and hasattr(inner, "num_updates"):
        inner.num_updates = state["ema_num_updates"]
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if torch.cuda.is_available() and state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])
    _say(f"satc: exact resume: optimizer state and RNG streams restored from {path.parent} (rule C6)")


def _private_loader_seeds(loaders: Any) -> None:
    """A DataLoader draws its base seed from the global torch RNG each time train() makes
    its iterator: the uninterrupted run drew it before step 1, so the resumed run must not
    draw it from the RNG stream it just restored (that draw shifted every later dropout)."""
    import torch

    for loader in loaders:
        if isinstance(loader, torch.utils.data.DataLoader):
            loader.generator = torch.Generator().manual_seed(0)


def _wrap_train(original: Any) -> Any:
    def train(model: Any, optimizer: Any, *rest: Any, **kwargs: Any) -> Any:
        import torch

        continuation = STATE.continuation
        if continuation is not None and continuation.checkpoint is not None:
            if continuation.exact:
                _restore_exact(optimizer)
                _private_loader_seeds(rest[1:3])
            else:
                _say(
                    f"satc: first resumed step {continuation.iteration + 1}: not exact "
                    "(Adam moments start at zero, RNG streams from the seed) (rule C6)"
                )
        if continuation is None or not continuation.exact:
            return original(model, optimizer, *rest, **kwargs)
        # TorchScript's profiling executor runs a scripted function (SAT's gelu_impl, its
        # rotary embeddings) unoptimized on its first call and, from the second, as an
        # optimized graph whose own autodiff backward rounds differently: a resumed
        # process's first step would take the first path where the uninterrupted run took
        # the second (measured: bf16 gradients differ in their last bits, so every later
        # loss does).  Exact mode runs every call of every start unoptimized.
        _say("satc: exact resume: TorchScript functions run unoptimized on every step (rule C6)")
        with torch.jit.optimized_execution(False):  # type: ignore[attr-defined]
            return original(model, optimizer, *rest, **kwargs)

    setattr(train, _MARK, True)
    return train


def _wrap_load(original: Any) -> Any:
    def load_checkpoint(*args: Any, **kwargs: Any) -> Any:
        # SAT's torch.load takes torch's default weights_only=True (torch >= 2.6), which
        # refuses the numpy RNG state SAT itself saves in every checkpoint: allow exactly
        # the numpy types of that state while SAT reads it.
        import numpy as np
        import torch

        allowed = [np.ndarray, np.dtype, type(np.dtype(np.uint32))]
        reconstruct = getattr(np, "_core", np.core).multiarray._reconstruct
        with torch.serialization.safe_globals([reconstruct, *allowed]):
            return original(*args, **kwargs)

    setattr(load_checkpoint, _MARK, True)
    return load_checkpoint


def _say(line: str) -> None:
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_rank() == 0:
        print(line, file=sys.stderr, flush=True)


def install(continuation: Continuation, digest: str, bundle: str, data_parallel_size: int) -> None:
    """Wrap SAT's training functions where training_main looks them up (once)."""
    from sat.training import deepspeed_training, model_io

    STATE.continuation = continuation
    STATE.bundle_digest = digest
    STATE.bundle_path = bundle
    STATE.data_parallel_size = data_parallel_size
    for name, wrap in (
        ("save_checkpoint", _wrap_save),
        ("make_loaders", _wrap_make_loaders),
        ("get_learning_rate_scheduler", _wrap_scheduler),
        ("train", _wrap_train),
        ("load_checkpoint", _wrap_load),
    ):
        current = getattr(deepspeed_training, name)
        if not getattr(current, _MARK, False):
            setattr(deepspeed_training, name, wrap(current))
    if not getattr(model_io.save_checkpoint, _MARK, False):
        model_io.save_checkpoint = deepspeed_training.save_checkpoint
