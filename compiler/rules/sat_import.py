"""V1: the SAT vendored in the project lacks a module that an import run at start-up names."""

from __future__ import annotations

from ..project import select
from .work import Work


def v1_vendored_sat_incomplete(work: Work) -> None:
    """A copy of SAT inside the project wins over the installed one (Python finds the
    entry folder's ``sat/`` first), so a module that copy lacks is missing for the run:
    ``ModuleNotFoundError`` on every rank before any config is read.  Imports of
    ``sat/__init__.py`` run for every script; a script's own imports only where it is the
    one launched (compiler/project/sat_source.py:missing_modules)."""
    project = select.for_config(work.config)
    if project.origin != "scanned" or not project.sat.missing:
        return
    entry = str(work.launch.get("entrypoint") or "").rsplit("/", 1)[-1]
    for module, where in project.sat.missing:
        script = where.rsplit(":", 1)[0]
        if entry and script in project.entrypoints and script != entry:
            continue  # another script's own import
        folder = "/".join([project.sat.path, *module.split(".")[1:]])
        hint = (
            f"restore {folder}.py or {folder}/ (whichever the SAT release has) in the vendored copy (a "
            ".gitignore entry such as `model/` may have kept it out of the repository), or remove the copy "
            "so the installed SAT is imported"
        )
        if project.sat.path == "sat":
            # the entry folder's own sat/: first on sys.path, certainly the one imported
            work.error(
                "launch.entrypoint",
                f"the SAT this project imports (sat/, vendored in the entry folder) has no {module}: the "
                f"import at {where} raises ModuleNotFoundError on every rank before any config is read [V1]",
                hint,
            )
        else:
            # a copy further away runs only where it is installed (Tora's README: pip install -e)
            work.warn(
                "launch.entrypoint",
                f"the SAT vendored at {project.sat.path}/ has no {module}: where that copy is the one "
                f"installed, the import at {where} raises ModuleNotFoundError on every rank [V1]",
                hint,
            )
        return
