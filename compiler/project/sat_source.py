"""Which SAT the project will import, and the parallel dimensions its ``mpu`` creates.

A SAT vendored in or beside the project (Tora keeps ``../modules/SwissArmyTransformer``
and installs it with ``pip -e``) wins over the installed ``sat``: it is the code that
runs.  The search is bounded in depth so a large tree costs a few directory listings.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from .sources import Sources, installed

VENDOR_DIR = "SwissArmyTransformer"
# How deep below the project (and below its parent) a vendored SwissArmyTransformer may sit.
DEPTH_INSIDE = 3
DEPTH_BESIDE = 2
SKIP = {"__pycache__", "node_modules", "configs", "assets", "outputs", "samples", "ckpts", "checkpoints"}


def _is_sat(folder: Path) -> bool:
    return (folder / "__init__.py").is_file() and (
        (folder / "mpu" / "__init__.py").is_file() or (folder / "mpu.py").is_file()
    )


def _search(base: Path, depth: int, skip: Path | None) -> Path | None:
    """``<base>/**/SwissArmyTransformer/sat``, at most ``depth`` folders down, breadth first
    and in name order so the answer is deterministic."""
    level = [base]
    for _ in range(depth + 1):
        following: list[Path] = []
        for folder in level:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False) or entry.name.startswith("."):
                    continue
                if entry.name in SKIP:
                    continue
                path = Path(entry.path)
                if skip is not None and path == skip:
                    continue
                if entry.name == VENDOR_DIR and _is_sat(path / "sat"):
                    return path / "sat"
                following.append(path)
        level = following
    return None


def locate(root: Path | None) -> tuple[str, Path | None]:
    """("vendored" | "installed" | "snapshot", the ``sat`` package folder or None)."""
    if root is not None:
        if _is_sat(root / "sat"):
            return "vendored", root / "sat"
        found = _search(root, DEPTH_INSIDE, None) or _search(root.parent, DEPTH_BESIDE, root)
        if found is not None:
            return "vendored", found
    site = installed("sat")
    if site is not None and _is_sat(site / "sat"):
        return "installed", site / "sat"
    return "snapshot", None


def version(sat_dir: Path) -> str | None:
    """``__version__`` from the package's ``__init__.py`` (or its setup.py beside it)."""
    for path in (sat_dir / "__init__.py", sat_dir.parent / "setup.py"):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        match = re.search(r"""(?:__version__|version)\s*=\s*['"]([^'"]+)['"]""", text)
        if match:
            return match.group(1)
    return None


def mpu_dimensions(sources: Sources) -> tuple[tuple[str, ...], str]:
    """The groups ``mpu.initialize_model_parallel`` creates, in rank order, and where.

    SAT 0.4 builds model-parallel blocks and data-parallel strides.  A vendored mpu that
    also declares sequence-parallel groups (2025's 14B projects) adds the sequence and
    sequence-data dimensions between them."""
    for name in ("sat.mpu.initialize", "sat.mpu"):
        module = sources.module(name)
        if module is None:
            continue
        func = module.functions().get("initialize_model_parallel")
        if func is None:
            continue
        declared: set[str] = set()
        for node in ast.walk(func):
            if isinstance(node, ast.Global):
                declared |= {n.upper() for n in node.names}
        params = [a.arg for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]]
        sequence = any("SEQUENCE" in n and "DATA" not in n for n in declared) or any(
            "sequence" in p for p in params
        )
        where = f"{module.label}:{func.lineno}"
        if sequence:
            return ("model", "sequence", "sequence_data", "data"), where
        return ("model", "data"), where
    return ("model", "data"), ""
