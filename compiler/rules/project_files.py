"""V2: a file of the project that every rank imports does not parse."""

from __future__ import annotations

from ..errors import Problem
from ..load import LoadedConfig
from ..project.facts import Project


def v2_unparsable(config: LoadedConfig, project: Project) -> tuple[list[Problem], bool]:
    """The parser module (``arguments.py``, which every script imports) and the launched
    script, where they do not parse: Python stops on them on every rank before any config
    is read.  Returns the problems and whether the parser itself is among them (then
    nothing else satc would say about the config means anything: it judges keys by that
    parser)."""
    if project.origin != "scanned" or not project.broken:
        return [], False
    launch = config.tree.get("launch")
    entry = launch.get("entrypoint") if isinstance(launch, dict) else None
    entry_name = entry.rsplit("/", 1)[-1] if isinstance(entry, str) else None
    found: list[Problem] = []
    parser = False
    for label, why in sorted(project.broken.items()):
        name = label.rsplit("/", 1)[-1]
        if name == "arguments.py":
            parser = True
            what = "the project's parser (every script imports it)"
        elif entry_name is not None and label == entry_name:
            what = "the launched script"
        else:
            continue
        found.append(
            Problem(
                None,
                "launch.entrypoint",
                f"{label} does not parse ({why}): {what} fails on every rank before any config is read [V2]",
                hint=f"fix the syntax error (python -m py_compile {label} shows it)",
            )
        )
    return found, parser
