"""The chain of resumes of a bundle's run, for `satc explain BUNDLE` (docs/resume.md,
Lineage): read from each run folder's satc-lineage.json under args.save, which every
checkpoint a satc start publishes rewrites (satc.runtime.sat_hooks).

args.save is read relative to the current directory, as the launch reads it; a save
folder deferred to launch time (launch.args_from_env) is read from that variable.
Nothing here imports torch: the folders are plain JSON and text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ...runtime.checkpoints import LINEAGE_FILE, run_folders

RULE = "C1"


def save_folder(args: dict[str, Any], launch: dict[str, Any]) -> tuple[str | None, str]:
    """args.save as the launch would read it, and where it came from."""
    deferred = launch.get("args_from_env")
    if isinstance(deferred, dict) and isinstance(deferred.get("save"), str):
        variable = deferred["save"]
        return os.environ.get(variable) or None, f"${variable}"
    save = args.get("save")
    return (str(save) if save else None), "args.save"


def read(args: dict[str, Any], launch: dict[str, Any]) -> dict[str, Any]:
    """{save, experiment, runs: [{folder, latest, chain}], why} for the bundle's experiment."""
    save, origin = save_folder(args, launch)
    experiment = str(args.get("experiment_name") or "")
    document: dict[str, Any] = {"save": save, "experiment": experiment, "runs": [], "why": ""}
    if save is None:
        document["why"] = (
            f"{origin} is unset at this shell"
            if origin.startswith("$")
            else "args.save is null: nothing is saved (C9)"
        )
        return document
    for folder in run_folders(Path(save), experiment):
        path = folder / LINEAGE_FILE
        if not path.is_file():
            continue
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            document["runs"].append(
                {"folder": str(folder), "error": f"{LINEAGE_FILE} unreadable ({type(exc).__name__})"}
            )
            continue
        chain = recorded.get("chain") if isinstance(recorded, dict) else None
        document["runs"].append(
            {
                "folder": str(folder),
                "latest": recorded.get("latest") if isinstance(recorded, dict) else None,
                "chain": [item for item in chain if isinstance(item, dict)]
                if isinstance(chain, list)
                else [],
            }
        )
    if not document["runs"]:
        document["why"] = f"no run folder {experiment}-<timestamp>/{LINEAGE_FILE} under {save} ({origin})"
    return document


def _short(digest: object) -> str:
    text = str(digest or "?")
    return text[: len("sha256:") + 12] if text.startswith("sha256:") else text[:19]


def _start(number: int, item: dict[str, Any], digest: str) -> str:
    resumed = item.get("resumed_from")
    if isinstance(resumed, dict):
        origin = f"continued iteration {resumed.get('iteration')} of {resumed.get('folder')}"
    else:
        origin = "fresh start"
    bundle = _short(item.get("bundle_digest"))
    if digest and item.get("bundle_digest") == digest:
        bundle += " (this bundle)"
    where = [f"restart attempt {item.get('restart_attempt', 0)}"]
    if item.get("slurm_job_id"):
        where.append(f"SLURM job {item['slurm_job_id']} restart {item.get('slurm_restart_count') or 0}")
    where.append(f"data-parallel {item.get('data_parallel_size')}")
    return (
        f"    {number}. {origin}; bundle {bundle}; {', '.join(where)}; "
        f"saved up to iteration {item.get('saved_at_iteration')}"
    )


def render(document: dict[str, Any], digest: str) -> list[str]:
    """The summary's lines: each run folder and its chain of starts, or why there is none."""
    if not document["runs"]:
        return [f"resumes (rule {RULE}): none: {document['why']}"]
    lines = [f"resumes (rule {RULE}), from {LINEAGE_FILE} under {document['save']}:"]
    for run in document["runs"]:
        if "error" in run:
            lines.append(f"  {run['folder']}: {run['error']}")
            continue
        resumes = sum(1 for item in run["chain"] if isinstance(item.get("resumed_from"), dict))
        lines.append(
            f"  {run['folder']}: latest iteration {run['latest']}, {len(run['chain'])} start(s), "
            f"{resumes} resume(s)"
        )
        lines += [_start(number, item, digest) for number, item in enumerate(run["chain"], start=1)]
    return lines
