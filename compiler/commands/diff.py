"""satc diff: what differs between two bundles, by meaning, grouped by section.

Two bundles are compared through their args.json (every value the job will see):
a summary of the plan first (mode, precision, ZeRO stage, world size, launch target),
then each section key by key.  Lists compare whole (`betas: [0.9, 0.95] -> [0.9, 0.99]`);
the digest and the rebuild command are derived from the rest and never reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import files
from ..errors import ConfigError, Location, Problem
from . import committed
from .summary import precision

ABSENT: Any = object()
SECTIONS = ("summary", "args", "deepspeed", "topology", "launch", "model", "data", "provenance", "files")


@dataclass(frozen=True)
class Change:
    section: str
    key: str
    before: Any  # ABSENT when only in the second bundle
    after: Any  # ABSENT when only in the first bundle

    def as_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"section": self.section, "key": self.key}
        if self.before is not ABSENT:
            item["a"] = self.before
        if self.after is not ABSENT:
            item["b"] = self.after
        return item


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1, 'c': [1, 2]}} -> {'a.b': 1, 'a.c': [1, 2]}; lists stay leaves."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, sub in value.items():
            flat.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    args = _mapping(document.get("args"))
    topology = _mapping(document.get("topology"))
    launch = _mapping(document.get("launch"))
    ds = document.get("deepspeed_config")
    return {
        "mode": args.get("mode"),
        "precision": precision(args),
        "zero_stage": args.get("zero_stage") if isinstance(ds, dict) else None,
        "world_size": topology.get("world_size"),
        "train_batch_size": ds.get("train_batch_size") if isinstance(ds, dict) else None,
        "launch_target": launch.get("target"),
        "device": launch.get("device"),
    }


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sections_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An args.json document as {section: {dotted key: value}}."""
    args = dict(_mapping(document.get("args")))
    if isinstance(args.get("deepspeed_config"), dict):
        args.update(flatten(args.pop("deepspeed_config"), "deepspeed_config"))
    provenance = _mapping(document.get("provenance"))
    inputs = provenance.get("inputs")
    return {
        "summary": _summary(document),
        "args": args,
        "deepspeed": flatten(document.get("deepspeed_config"))
        if document.get("deepspeed_config") is not None
        else {},
        "topology": flatten(_mapping(document.get("topology"))),
        "launch": flatten(_mapping(document.get("launch"))),
        "model": flatten(document.get("model_config")) if document.get("model_config") is not None else {},
        "data": flatten(document.get("data_config")) if document.get("data_config") is not None else {},
        "provenance": {
            # The format decides how the runtime reads everything else.
            "format": document.get("format"),
            "satc_version": document.get("satc_version"),
            "inputs": [item.get("path") for item in inputs if isinstance(item, dict)]
            if isinstance(inputs, list)
            else inputs,
            # One key per input: a drift names the config whose content changed.
            **{
                f"content_sha256 of {item.get('path')}": item.get("content_sha256")
                for item in (inputs if isinstance(inputs, list) else [])
                if isinstance(item, dict)
            },
            "overrides": provenance.get("overrides"),
        },
    }


def compare_documents(first: dict[str, Any], second: dict[str, Any]) -> list[Change]:
    before, after = sections_of(first), sections_of(second)
    changes: list[Change] = []
    for section in SECTIONS[:-1]:
        a, b = before[section], after[section]
        for key in sorted(set(a) | set(b)):
            value_a, value_b = a.get(key, ABSENT), b.get(key, ABSENT)
            if not _same(value_a, value_b):
                changes.append(Change(section, key, value_a, value_b))
    # args.deepspeed_config mirrors deepspeed_config: a change is reported once, under
    # deepspeed, unless a hand edit made the two copies change differently.
    mirrored = {(c.key, _text(c.before), _text(c.after)) for c in changes if c.section == "deepspeed"}
    prefix = "deepspeed_config."
    return [
        c
        for c in changes
        if not (
            c.section == "args"
            and c.key.startswith(prefix)
            and (c.key[len(prefix) :], _text(c.before), _text(c.after)) in mirrored
        )
    ]


def _text(value: Any) -> str:
    return "(absent)" if value is ABSENT else json.dumps(value, sort_keys=True)


def _same(first: Any, second: Any) -> bool:
    # 1 == 1.0 == True in Python; a bundle that turns a 1 into true has changed.
    if first is ABSENT or second is ABSENT:
        return first is second
    return json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def _bundle_problem(label: str, message: str) -> ConfigError:
    return ConfigError(
        [
            Problem(
                Location(rank=0, label=label),
                "",
                message,
                hint="give a bundle directory written by satc compile",
            )
        ]
    )


def load_bundle(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A bundle directory (or its args.json) -> (args.json document, its files)."""
    directory = path.parent if path.name == committed.ARGS and path.is_file() else path
    if not directory.is_dir():
        raise _bundle_problem(str(path), "no such bundle directory")
    try:
        document = committed.read_document(directory)
    except committed.UnreadableBundle as exc:
        raise _bundle_problem(str(path), str(exc)) from None
    return document, committed.read_files(directory)


def file_changes(
    files_a: dict[str, bytes],
    files_b: dict[str, bytes],
    document_a: dict[str, Any],
    document_b: dict[str, Any],
) -> list[Change]:
    """Artifacts present in one bundle only, and ds_config.json files that disagree with
    their own args.json (a hand edit: `satc check` says more)."""
    changes = [
        Change(
            "files", name, "present" if name in files_a else ABSENT, "present" if name in files_b else ABSENT
        )
        for name in sorted(set(files_a) ^ set(files_b))
    ]
    states = [
        _ds_config_state(files.get("ds_config.json"), document)
        for files, document in ((files_a, document_a), (files_b, document_b))
    ]
    if DISAGREES in states:
        changes.append(Change("files", "ds_config.json", *states))
    return changes


DISAGREES = "disagrees with args.json deepspeed_config (hand-edited? run satc check)"


def _ds_config_state(text: bytes | None, document: dict[str, Any]) -> Any:
    if text is None:
        return ABSENT
    try:
        consistent = files.load_json(text) == document.get("deepspeed_config")
    except ValueError:
        consistent = False
    return "matches args.json" if consistent else DISAGREES


def diff_bundles(path_a: Path, path_b: Path) -> list[Change]:
    problems: list[Problem] = []
    loaded = []
    for path in (path_a, path_b):
        try:
            loaded.append(load_bundle(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    (document_a, files_a), (document_b, files_b) = loaded
    return compare_documents(document_a, document_b) + file_changes(files_a, files_b, document_a, document_b)


def show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def render_text(changes: list[Change], label_a: str, label_b: str) -> str:
    if not changes:
        return f"{label_a} and {label_b}: no differences\n"
    lines = [f"--- {label_a}", f"+++ {label_b}"]
    for section in SECTIONS:
        group = [change for change in changes if change.section == section]
        if not group:
            continue
        lines.append(f"{section}:")
        for change in group:
            lines.append(f"  {change.key}: {show(change.before)} -> {show(change.after)}")
    return "\n".join(lines) + "\n"


def render_json(changes: list[Change], label_a: str, label_b: str) -> str:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        item = change.as_dict()
        del item["section"]
        grouped.setdefault(change.section, []).append(item)
    document = {"a": label_a, "b": label_b, "identical": not changes, "sections": grouped}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
