"""The built-in profile: the project satc assumes when it finds none.

A compile run outside any project folder (the README's ``make example`` from satc's own
checkout, say) is judged against CogVideoX's ``sat/`` folder at commit e519ece.  The
facts are the static reader's own output on that tree (``tools/builtin_profile.py``
writes ``schemas/builtin_project.json``; a test regenerates it), so every stage
consumes one shape and no retyped copy of CogVideoX's code stays in satc.
"""

from __future__ import annotations

import json
from functools import lru_cache

from ..resources import data_text
from .facts import Project
from .serial import from_json

LABEL = "CogVideoX sat/ at e519ece (satc's built-in profile)"


@lru_cache(maxsize=1)
def builtin_project() -> Project:
    text = data_text("schemas", "builtin_project.json")
    return from_json(json.loads(text))
