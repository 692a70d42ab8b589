"""The ``args.<name>`` a project's entry folder reads without its parser declaring it.

Where the project's ``process_config_to_args`` sets every ``args:`` key as given (no
``hasattr`` guard), a key its parser never declares still reaches the namespace, and the
project's scripts may read it: SanGilbert/CogVideo@58f6a87 sets ``save_total_limit`` from
its sft.yaml (sat/arguments.py:268-269) and reads it in sat/train_video.py:150.  Such a name
is a setting of the project.  Read by text, from the ``*.py`` files of the entrypoint
folder (the scripts that run get_args and their helpers beside them); a name the code
assigns itself (``args.x = ...``) is the code's, not a setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .sources import Sources

_READ = re.compile(r"\bargs\.([A-Za-z_]\w*)\b(?!\s*=[^=])|getattr\(\s*args\s*,\s*[\"'](\w+)[\"']")
_ASSIGNED = re.compile(r"\bargs\.([A-Za-z_]\w*)\s*=[^=]|setattr\(\s*args\s*,\s*[\"'](\w+)[\"']")


def undeclared_reads(sources: Sources, root: Path, declared: Iterable[str]) -> dict[str, str] | None:
    """{name: "file:line" of its first read} for names no argument declares; None if none."""
    known = set(declared)
    reads: dict[str, str] = {}
    assigned: set[str] = set()
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        assigned.update(a or b for a, b in _ASSIGNED.findall(text))
        found = False
        for match in _READ.finditer(text):
            name = match.group(1) or match.group(2)
            if name in known or name.startswith("_") or name in reads:
                continue
            reads[name] = f"{sources.label(path)}:{text.count(chr(10), 0, match.start()) + 1}"
            found = True
        if found:
            sources.read(path)  # what decided it: re-hashed by `satc check`
    kept = {name: where for name, where in sorted(reads.items()) if name not in assigned}
    return kept or None
