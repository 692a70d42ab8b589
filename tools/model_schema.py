"""Regenerate ``schemas/models.json``: the parameters every CogVideoX / SAT ``target`` accepts.

A thin wrapper over satc's project reader (``compiler/project``), which reads the real code
by static analysis (``ast``), never importing it: each class's ``__init__`` parameters,
``**kwargs`` followed to the class that finally takes them (``DiffusionTransformer`` -> SAT
``BaseModel`` -> ``BaseTransformer``), what a parent passes a child config itself.  Here it
is pointed at CogVideoX's tree and its official configs' targets.

    python tools/model_schema.py [COGVIDEO_SAT_DIR]   (default: $SATC_COGVIDEO_SAT)

``tests/test_model_schema.py`` fails when the committed file differs from what this writes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = ROOT / "schemas" / "models.json"
FORMAT = "satc.models/1"


def _targets_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        target = node.get("target")
        if isinstance(target, str):
            found.add(target)
        for value in node.values():
            found |= _targets_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= _targets_in(item)
    return found


def official_targets(reference: Path) -> set[str]:
    import yaml

    targets: set[str] = set()
    for path in sorted((reference / "configs").glob("*.yaml")):
        targets |= _targets_in(yaml.safe_load(path.read_text(encoding="utf-8")))
    return targets


def _positions(node: Any, key: str, found: dict[str, set[str]]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("target"), str):
            found.setdefault(node["target"], set()).add(key)
        for sub_key, value in node.items():
            _positions(value, sub_key if sub_key != "params" else key, found)
    elif isinstance(node, list):
        for item in node:
            _positions(item, key, found)


def official_positions(reference: Path) -> dict[str, list[str]]:
    """Under which config key each official target appears (`pos_embed_config`), so the
    editor schema knows which parent passes it what."""
    import yaml

    found: dict[str, set[str]] = {}
    for path in sorted((reference / "configs").glob("*.yaml")):
        _positions(yaml.safe_load(path.read_text(encoding="utf-8")), "", found)
    return {target: sorted(keys) for target, keys in sorted(found.items())}


def build(reference: Path) -> dict[str, Any]:
    from satc.compiler.project import read_project

    named = official_targets(reference)
    project = read_project(reference, sorted(named), use_cache=False, siblings=True)
    missing = sorted(named - set(project.targets))
    if missing:
        raise SystemExit(f"cannot read the parameters of: {', '.join(missing)}")
    # the former format: no "uses" (the compiler reads those from the project itself)
    targets = {k: {f: v for f, v in entry.items() if f != "uses"} for k, entry in project.targets.items()}
    return {
        "format": FORMAT,
        "generated_by": "tools/model_schema.py",
        "official_targets": sorted(named),
        "official_positions": official_positions(reference),
        "engine": project.engine,
        "targets": dict(sorted(targets.items())),
    }


def text(reference: Path) -> str:
    return json.dumps(build(reference), indent=1, sort_keys=True, allow_nan=False) + "\n"


def main(argv: list[str]) -> None:
    given = argv[0] if argv else os.environ.get("SATC_COGVIDEO_SAT", "")
    if not given:
        raise SystemExit("usage: model_schema.py COGVIDEO_SAT_DIR (or set SATC_COGVIDEO_SAT)")
    reference = Path(given).resolve()
    if not (reference / "dit_video_concat.py").is_file():
        raise SystemExit(f"{reference}: not CogVideoX's sat/ folder (no dit_video_concat.py)")
    OUT_PATH.write_text(text(reference), encoding="utf-8")
    print(f"wrote {OUT_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
