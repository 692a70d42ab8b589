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

import importlib.metadata

from .facts import Project

_INSTALLED_TOPS = ("sat", "deepspeed", "torch")


def _installed_label(project: Project, label: str) -> bool:
    top = label.split("/", 1)[0]
    if top == "sat" and project.sat.where == "vendored":
        return False  # the project's own copy: hashed with its files
    return top in _INSTALLED_TOPS


def own_files(project: Project) -> list[tuple[str, str]]:
    """(label, sha256) of each file of the project tree (and its vendored SAT) that was read."""
    return sorted((label, sha) for label, sha in project.files if not _installed_label(project, label))


def _deepspeed_version(project: Project) -> str | None:
    if any(label.startswith("deepspeed/") for label, _ in project.files):
        try:
            return importlib.metadata.version("deepspeed")
        except importlib.metadata.PackageNotFoundError:
            return None
    from .reader import snapshot

    version = snapshot().get("deepspeed", {}).get("version")
    return version if isinstance(version, str) else None


def versions(project: Project) -> dict[str, str | None]:
    """{package: version} of the installed (or snapshotted) packages whose code judged it."""
    found: dict[str, str | None] = {"deepspeed": _deepspeed_version(project)}
    if project.sat.where != "vendored":
        found["sat"] = project.sat.version
    return dict(sorted(found.items()))
