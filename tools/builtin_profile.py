"""Regenerate ``schemas/builtin_project.json``: satc's built-in profile, read from
CogVideoX's ``sat/`` folder by the same static reader a compile uses.

    python tools/builtin_profile.py [COGVIDEO_SAT_DIR]   (default: $SATC_COGVIDEO_SAT)

The built-in profile judges configs compiled outside any project folder.  Machine paths
are dropped (root, the installed SAT's folder, the file hashes), so the file is the same
on every machine; ``tests/test_project_consume.py`` fails when it differs from what this
writes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schemas" / "builtin_project.json"
LABEL = "CogVideoX sat/ at e519ece (satc's built-in profile)"


def profile(sat_dir: str) -> dict[str, Any]:
    from satc.compiler.project import read_project
    from satc.compiler.project.serial import to_json

    official = json.loads((ROOT / "schemas" / "models.json").read_text())["targets"]
    data = to_json(read_project(sat_dir, sorted(official), use_cache=False, siblings=True))
    data.update(root=None, origin="builtin", label=LABEL, files=[])
    for which in ("base_files", "target_files", "entry_files"):  # which files: none are recorded
        data.pop(which, None)
    data["sat"] = {**data["sat"], "where": "snapshot", "path": "sat"}
    return data


def main() -> None:
    sat_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SATC_COGVIDEO_SAT", "")
    if not sat_dir:
        raise SystemExit("usage: builtin_profile.py COGVIDEO_SAT_DIR (or set SATC_COGVIDEO_SAT)")
    text = json.dumps(profile(sat_dir), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
