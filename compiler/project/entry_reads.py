"""The arguments each entry script reads: what a rule guarding a script's own code looks for.

A CogVideoX rule about a flag only its sampling script branches on (``if
args.image2video:``, sample_video.py:160) guards that script's code: a project's other
script that never reads the flag (Metalicana/DiTCtrl 1b91ee4, sat/sample_video_i2v.py
always conditions on the image) runs the same config without it.

Static and on the safe side: the parser's arguments among the attribute names and string
constants of the script and of the project modules it imports (one level: a helper beside
it, or a module of a package in its folder, may read the flag for it).  An argument listed
may not be read; one absent is read by neither the script nor those modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from .sources import Sources


def read(
    sources: Sources, root: Path, entrypoints: tuple[str, ...], arguments: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """{script: sorted arguments it or its folder's imported modules may read}; a script
    that cannot be parsed is left out (unknown: the rules judge it as they would without this)."""
    declared = set(arguments)
    found: dict[str, tuple[str, ...]] = {}
    for script in entrypoints:
        tree = _parse(sources, root / script)
        if tree is None:
            continue
        names = _names(tree)
        for module in sorted(_local_imports(tree, root)):
            helper = _parse(sources, root / f"{module}.py")
            if helper is None:
                break  # a helper satc cannot read: the script's reads are unknown
            names |= _names(helper)
        else:
            found[script] = tuple(sorted(names & declared))
    return found


def _parse(sources: Sources, path: Path) -> ast.Module | None:
    try:
        return ast.parse(sources.read(path), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None


def _names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            names.add(node.value)  # getattr(args, "x"), vars(args)["x"]
    return names


def _local_imports(tree: ast.Module, root: Path) -> set[str]:
    """The project files (relative to its folder, without ``.py``) the script imports: a
    module beside it, or one inside a package of its folder (``from sgm.util import x``
    reads ``sgm/util.py``; ``x`` may be a submodule)."""
    wanted: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            wanted |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            wanted.add(node.module)
            wanted |= {f"{node.module}.{alias.name}" for alias in node.names}
    found: set[str] = set()
    for dotted in wanted:
        base = "/".join(dotted.split("."))
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if (root / candidate).is_file():
                found.add(candidate[: -len(".py")])
    return found
