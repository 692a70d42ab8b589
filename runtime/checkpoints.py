"""SAT's checkpoint folders, read without torch: which run folder, which iteration, and
whether SAT could load it at all.

SAT's layout (sat/training/model_io.py, deepspeed_training.py): a run saves into
``<args.save>/<experiment_name>-<%m-%d-%H-%M>/``; each checkpoint is a tag folder
``<iteration>/`` holding one ``mp_rank_XX_model_states.pt`` per model-parallel rank
(ZeRO-3 writes ``z3_rank_XX_model_states.pt`` instead), FusedEmaAdam adds ``<iteration>-ema/``,
and the text file ``latest`` names the tag SAT's ``load_checkpoint`` reads.

Every problem is a :class:`CheckpointError` that names the file, what was found, what SAT
needs and the fix, raised before any rank joins the process group.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import RuntimeConfigError

# SAT appends datetime.now().strftime("%m-%d-%H-%M") to args.experiment_name.
_STAMP = re.compile(r"-\d{2}-\d{2}-\d{2}-\d{2}$")
_SHARD = re.compile(r"^mp_rank_(\d{2,})_model_states\.pt$")
_ZERO3 = re.compile(r"^z3_rank_\d{2,}_model_states\.pt$")
STATE_FILE = "satc-state.json"  # beside the shards: what satc knows of this checkpoint
LINEAGE_FILE = "satc-lineage.json"  # in the run folder: the chain of starts that wrote it
# Longest `latest` SAT could have written: an iteration, or a tag; anything longer is not one.
_MAX_LATEST = 256


class CheckpointError(RuntimeConfigError):
    """A checkpoint folder SAT cannot resume from, with the fix."""


@dataclass(frozen=True)
class Checkpoint:
    """One complete checkpoint: the run folder SAT's args.load names, and its iteration."""

    folder: Path  # the run folder (holds `latest`)
    iteration: int
    state: dict[str, object]  # satc-state.json of the tag ({} for a plain SAT checkpoint)

    @property
    def tag(self) -> Path:
        return self.folder / str(self.iteration)


def run_folders(save: Path, experiment_name: str) -> list[Path]:
    """The run folders SAT made for this experiment under args.save (name + timestamp)."""
    if not save.is_dir():
        return []
    found = []
    for child in save.iterdir():
        name = child.name
        if child.is_dir() and _STAMP.search(name) and _STAMP.sub("", name) == experiment_name:
            found.append(child)
    return sorted(found)


def read_latest(folder: Path) -> str | None:
    """The text of ``folder/latest`` (None when absent)."""
    path = folder / "latest"
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        raw = handle.read(_MAX_LATEST + 1)
    return raw.decode("utf-8", errors="replace").strip()


def _located(path: Path, found: str, fix: str) -> CheckpointError:
    from ..scrub import escape, redact

    return CheckpointError(f"{escape(redact(str(path)))}: {found}; {fix}")


def tag_of(folder: Path) -> int:
    """The iteration ``folder/latest`` names; every way SAT could not load it is refused."""
    text = read_latest(folder)
    latest = folder / "latest"
    if text is None:
        raise _located(
            latest,
            "no `latest` file (SAT's load_checkpoint reads the iteration from it)",
            f"write the iteration of a complete checkpoint in it (`echo N > {latest}`), "
            "or name one with launch.resume: N",
        )
    # Iteration 0 is no checkpoint (SAT counts from 1): it is never offered as the fix.
    numbered = sorted(
        (int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit() and int(p.name) > 0),
        reverse=True,
    )
    newest = f" (the newest numbered tag here is {numbered[0]})" if numbered else ""
    if re.fullmatch(r"\d+-ema", text):
        raise _located(
            latest,
            f"names the EMA tag {text!r}: SAT writes it while saving the EMA weights of "
            f"iteration {text[:-4]} and replaces it with the iteration when the save completes, "
            "so that save did not complete, and SAT's load_checkpoint cannot parse it",
            f"resume from the last complete checkpoint: `echo N > {latest}` with N an iteration "
            f"whose tag folder is complete{newest}",
        )
    if text.isdigit() and int(text) == 0:
        raise _located(
            latest,
            "names iteration 0, which no checkpoint can be: SAT counts iterations from 1 and "
            "a run at iteration 0 has saved nothing to continue",
            f"`echo N > {latest}` with N an iteration whose tag folder is complete{newest}"
            if numbered
            else "no numbered checkpoint here: delete this run folder to start fresh",
        )
    if text == "release" or not text.isdigit():
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise _located(
            latest,
            f"names {shown!r}, not an iteration (SAT resumes a run at the iteration `latest` "
            "names; 'release' and other tags are pretrained weights)",
            f"write an iteration in it{newest}, or load these weights as the base model (args.load)",
        )
    return int(text)


def check_tag(folder: Path, iteration: int, model_parallel_size: int) -> dict[str, object]:
    """The tag folder holds one shard per model-parallel rank SAT can load; its satc state."""
    tag = folder / str(iteration)
    if not tag.is_dir():
        raise _located(
            tag,
            f"no such folder, but {folder / 'latest'} names iteration {iteration}",
            "point `latest` at a checkpoint that exists, or name one with launch.resume: N",
        )
    names = sorted(p.name for p in tag.iterdir())
    if any(_ZERO3.match(name) for name in names):
        raise _located(
            tag,
            "holds ZeRO-3 shards (z3_rank_XX_model_states.pt): SAT's load_checkpoint reads only "
            "mp_rank_XX_model_states.pt",
            "consolidate them into mp_rank_00_model_states.pt (SAT's zero3 merge), or resume "
            "from a checkpoint saved with ZeRO stage 0-2",
        )
    shards = sorted(int(m.group(1)) for m in map(_SHARD.match, names) if m)
    expected = list(range(model_parallel_size))
    if shards != expected:
        listed = ", ".join(f"mp_rank_{i:02d}" for i in shards) or "no mp_rank_XX_model_states.pt"
        raise _located(
            tag,
            f"has {listed}, but this bundle has model-parallel size {model_parallel_size} "
            f"(it needs mp_rank_00 .. mp_rank_{model_parallel_size - 1:02d})",
            f"resume with the model-parallel size that saved it ({len(shards)} shards: "
            f"--set args.model_parallel_size={max(len(shards), 1)}), or reshard the checkpoint"
            if shards
            else "the save did not complete: resume from an earlier iteration (launch.resume: N)",
        )
    state_path = tag / STATE_FILE
    if not state_path.is_file():
        return {}
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _located(
            state_path, f"unreadable ({type(exc).__name__})", "delete it (satc rewrites it)"
        ) from None
    _check_state(state_path, state)
    return dict(state)


# satc-state.json's counts: (key, smallest value) a resume continues from.
_STATE_COUNTS = (("consumed_samples", 0), ("global_batch", 1))
_FIX_STATE = (
    "delete it to resume with the samples assumed from the iteration (said at start), "
    "or resume from an earlier iteration (launch.resume: N)"
)


def _check_state(path: Path, state: object) -> None:
    """satc-state.json as satc writes it: an object whose counts a resume can continue from;
    anything else is refused like unreadable JSON, never silently ignored."""
    if not isinstance(state, dict):
        kinds: dict[type, str] = {list: "a list", str: "a string"}
        kind = kinds.get(type(state), type(state).__name__)
        raise _located(path, f"holds {kind}, not the JSON object satc writes", _FIX_STATE)
    for key, least in _STATE_COUNTS:
        value = state.get(key)
        if key not in state or (value is None and key == "global_batch"):
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise _located(
                path,
                f"{key} is {json.dumps(value)}, expected an integer at least {least}",
                _FIX_STATE,
            )


def check_base_model(load: str, model_parallel_size: int, where: str) -> None:
    """args.load of a fine-tuning run: SAT's load_checkpoint must find the base model."""
    folder = Path(load)
    if not folder.is_dir():
        raise _located(
            folder,
            f"the base model ({where}) does not exist",
            "download it (CogVideoX's SAT weights: the transformer folder) or fix args.load",
        )
    text = read_latest(folder)
    if text is None:
        raise _located(
            folder / "latest",
            f"the base model ({where}) has no `latest` file naming its tag",
            "point args.load at the folder that holds `latest` (CogVideoX: <weights>/transformer)",
        )
    tag = folder / text
    if not tag.is_dir() or not any(_SHARD.match(p.name) for p in tag.iterdir()):
        raise _located(
            tag,
            f"the base model ({where}) has no mp_rank_XX_model_states.pt under the tag `latest` names",
            "re-download the weights, or fix `latest`",
        )
    if text.isdigit():
        check_tag(folder, int(text), model_parallel_size)


def newest_checkpoint(folders: list[Path]) -> Path | None:
    """Of the run folders with a `latest` file, the one written last."""
    with_latest = [f for f in folders if (f / "latest").is_file()]
    if not with_latest:
        return None
    return max(with_latest, key=lambda f: ((f / "latest").stat().st_mtime_ns, f.name))


def open_checkpoint(folder: Path, model_parallel_size: int, iteration: int | None = None) -> Checkpoint:
    """``folder``'s checkpoint (``latest``'s, or ``iteration``), checked for SAT to load."""
    if iteration is None:
        iteration = tag_of(folder)
    state = check_tag(folder, iteration, model_parallel_size)
    return Checkpoint(folder=folder, iteration=iteration, state=state)
