"""Regenerate ``schemas/sat-snapshot.json``: the pinned SAT's and DeepSpeed's facts.

A compile-only install of satc has neither SAT nor DeepSpeed, yet a project's
``get_args`` passes its parser through ``sat.arguments.add_*`` and
``deepspeed.add_config_arguments``, and its models hand ``**kwargs`` to SAT's
``BaseModel``/``BaseTransformer`` and mixins.  This records what the project reader would
read from the installed packages (by the same static reader), so such a machine judges a
config exactly as one with SAT installed.

    python tools/snapshot.py          (run where the pinned SAT and DeepSpeed are installed)

``tests/test_project_snapshot.py`` fails when the committed file differs from what this writes.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = ROOT / "schemas" / "sat-snapshot.json"
FORMAT = "satc.sat-snapshot/1"
PINNED = {"sat": "0.4.12", "deepspeed": "0.19.8"}
# The modules whose classes a model's **kwargs reach, or a config names as a target.
CLASS_MODULES = (
    "sat.model.base_model",
    "sat.model.transformer",
    "sat.model.mixins",
    "sat.model.finetune.lora2",
)
# Packages whose re-exports (``from sat.model import BaseModel``) get the same entry.
PACKAGES = ("sat", "sat.model", "sat.model.finetune")


def _sources() -> Any:
    from satc.compiler.project import classes, sat_source
    from satc.compiler.project.sources import Sources, installed

    site = installed("sat")
    if site is None or installed("deepspeed") is None:
        raise SystemExit("tools/snapshot.py needs SAT and DeepSpeed installed")
    return Sources(None, site, opaque=classes.CLOSED_BASES), sat_source


def _positional(func: ast.FunctionDef) -> list[str]:
    return [a.arg for a in [*func.args.posonlyargs, *func.args.args]][1:]


def _exported(sources: Any, module: Any) -> set[str]:
    """Names a module re-exports: its ``from x import a`` names, and for ``from x import *``
    the classes and imported names of ``x``."""
    from satc.compiler.project.sources import absolute

    names: set[str] = set()
    for stmt in module.tree.body:
        if not isinstance(stmt, ast.ImportFrom):
            continue
        for alias in stmt.names:
            if alias.name != "*":
                names.add(alias.asname or alias.name)
                continue
            other = sources.module(absolute(module, stmt))
            if other is not None:
                names |= set(other.classes())
                names |= {
                    a.asname or a.name
                    for s in other.tree.body
                    if isinstance(s, ast.ImportFrom)
                    for a in s.names
                    if a.name != "*"
                }
    return names


def build() -> dict[str, Any]:
    """Each fact is read with fresh sources so the files it depends on are known exactly:
    a project's reader uses a fact only while those files are byte-identical where the
    project imports them from (installed, or vendored beside it)."""
    from satc.compiler.project import classes, parser_surface
    from satc.compiler.project.sources import Found, resolve_dotted

    sources, sat_source = _sources()
    version = sat_source.version(sources.sat_parent / "sat")
    import importlib.metadata

    deepspeed_version = importlib.metadata.version("deepspeed")
    if version != PINNED["sat"] or deepspeed_version != PINNED["deepspeed"]:
        raise SystemExit(
            f"installed SAT {version} / DeepSpeed {deepspeed_version}; the snapshot pins {PINNED}"
        )
    digests: dict[str, str] = {}

    def fresh() -> Any:
        return _sources()[0]

    def depends(reader: Any) -> list[str]:
        digests.update(reader.files)
        return sorted(reader.files)

    functions: dict[str, Any] = {}
    function_files: dict[str, list[str]] = {}
    arguments = sources.module("sat.arguments")
    assert arguments is not None
    names = [n for n, f in sorted(arguments.functions().items()) if n.startswith("add_") and f.args.args]
    for name in [*(f"sat.arguments.{n}" for n in names), "deepspeed.add_config_arguments"]:
        reader = fresh()
        found = resolve_dotted(reader, name)
        assert isinstance(found, Found), name
        surface = parser_surface.read_function(reader, found, {})
        functions[name] = [parser_surface.argument_to_dict(a) for a in surface.arguments.values()]
        function_files[name] = depends(reader)
    targets: dict[str, Any] = {}
    target_files: dict[str, list[str]] = {}
    for module_name in CLASS_MODULES:
        module = sources.module(module_name)
        assert module is not None, module_name
        for class_name in sorted(module.classes()):
            reader = fresh()
            found = resolve_dotted(reader, f"{module_name}.{class_name}")
            assert isinstance(found, Found)
            described = classes.describe(reader, found)
            if described is None:
                continue
            init = classes._init(reader, found)
            if isinstance(init, tuple):
                positional = _positional(init[1])
                described["positional"] = positional
                reads = {
                    p: sorted(classes._namespace_reads(reader, init[0], init[1], p)[0]) for p in positional
                }
                reads = {p: r for p, r in reads.items() if r}
                if reads:
                    described["namespace_reads"] = reads
            targets[found.dotted] = described
            target_files[found.dotted] = depends(reader)
    for package in (*PACKAGES, *CLASS_MODULES):
        module = sources.module(package)
        if module is None:
            continue
        for bound in sorted(_exported(sources, module)):
            alias = f"{package}.{bound}"
            reader = fresh()
            where = resolve_dotted(reader, alias)
            if isinstance(where, Found) and where.dotted in targets and where.dotted != alias:
                targets[alias] = targets[where.dotted]
                target_files[alias] = sorted(set(target_files[where.dotted]) | set(depends(reader)))
    reader = fresh()
    dims, mpu_source, mpu_parameters = sat_source.mpu_dimensions(reader)
    return {
        "format": FORMAT,
        "generated_by": "tools/snapshot.py",
        "sat": {
            "version": version,
            "mpu_dimensions": list(dims),
            "mpu_source": mpu_source,
            "mpu_parameters": list(mpu_parameters),
            "mpu_files": depends(reader),
        },
        "deepspeed": {"version": deepspeed_version},
        "argument_functions": functions,
        "function_files": dict(sorted(function_files.items())),
        "targets": dict(sorted(targets.items())),
        "target_files": dict(sorted(target_files.items())),
        "files": dict(sorted(digests.items())),
    }


def text() -> str:
    return json.dumps(build(), indent=1, sort_keys=True, allow_nan=False) + "\n"


def main(argv: list[str]) -> None:
    del argv
    OUT_PATH.write_text(text(), encoding="utf-8")
    print(f"wrote {OUT_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
