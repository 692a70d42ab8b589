"""What provenance records of the code that judged a config.

The project's own files (and a SAT vendored in or beside it) are recorded one by one with
their hashes: a change to them is a change to the code that will run.  Installed packages
(SAT, DeepSpeed) are recorded by name and version instead: a machine without their source
judges by satc's snapshot of the same release, so a per-file record would make the same
bundle differ between a compile-only machine and one with SAT installed, and drift on
every reinstall.  torch is left out: satc reads it only for the signatures of a few
``torch.nn`` classes, and only where it is installed.
"""

from __future__ import annotations

import os

from .facts import Project

_INSTALLED_TOPS = ("sat", "deepspeed", "torch")


def _installed_label(project: Project, label: str) -> bool:
    top = label.split("/", 1)[0]
    if top == "sat" and project.sat.where == "vendored":
        return False  # the project's own copy: hashed with its files
    return top in _INSTALLED_TOPS


def own_files(project: Project, used: set[str] | None = None) -> list[tuple[str, str]]:
    """(label, sha256) of each file of the project tree (and its vendored SAT) that was read
    (of those in ``used``, where given: the ones that judged one config)."""
    return sorted(
        (label, sha)
        for label, sha in project.files
        if not _installed_label(project, label) and (used is None or label in used)
    )


def _dist_info_version(name: str) -> str | None:
    """The version in the one ``<name>-<version>.dist-info`` beside the installed package,
    as pip lays it out; None where that is not what is there (importlib.metadata decides).
    importlib.metadata costs more to import, and to search sys.path, than the rest of a
    repeat compile's project step."""
    from .sources import installed

    site = installed(name)
    if site is None:
        return None
    try:
        with os.scandir(site) as listing:
            found = [
                e.name for e in listing if e.name.startswith(f"{name}-") and e.name.endswith(".dist-info")
            ]
    except OSError:
        return None
    if len(found) != 1:
        return None
    try:
        with open(os.path.join(site, found[0], "METADATA"), encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("Name:") and line[5:].strip().lower().replace("_", "-") != name:
                    return None
                if line.startswith("Version:"):
                    return line[8:].strip() or None
                if not line.strip():
                    return None  # the headers ended without a version
    except OSError:
        return None
    return None


def _deepspeed_version(project: Project) -> str | None:
    if any(label.startswith("deepspeed/") for label, _ in project.files):
        version = _dist_info_version("deepspeed")
        if version is not None:
            return version
        import importlib.metadata

        try:
            return importlib.metadata.version("deepspeed")
        except importlib.metadata.PackageNotFoundError:
            return None
    from ..resources import snapshot

    version = snapshot().get("deepspeed", {}).get("version")
    return version if isinstance(version, str) else None


def versions(project: Project) -> dict[str, str | None]:
    """{package: version} of the installed (or snapshotted) packages whose code judged it."""
    found: dict[str, str | None] = {"deepspeed": _deepspeed_version(project)}
    if project.sat.where != "vendored":
        found["sat"] = project.sat.version
    return dict(sorted(found.items()))
