"""``Project`` <-> plain JSON (the cache stores it; a bundle may record it)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from .facts import FORMAT, GetArgs, Project, Sat, Section
from .parser_surface import argument_from_dict, argument_to_dict


def to_json(project: Project) -> dict[str, Any]:
    get_args = project.get_args
    document: dict[str, Any] = {
        "format": FORMAT,
        "root": project.root,
        "origin": project.origin,
        "label": project.label,
        "arguments": {dest: argument_to_dict(a) for dest, a in project.arguments.items()},
        "sections": {name: dict(s.__dict__) for name, s in project.sections.items()},
        "get_args": {
            **get_args.__dict__,
            "injects_model_config": {k: dict(v) for k, v in get_args.injects_model_config.items()},
            "second_stack": dict(get_args.second_stack) if get_args.second_stack is not None else None,
            "unsupported": list(get_args.unsupported),
            "mpu_call": list(get_args.mpu_call),
            "unsupported_when": {k: list(v) for k, v in get_args.unsupported_when.items()}
            if get_args.unsupported_when is not None
            else None,
        },
        "sat": {
            **project.sat.__dict__,
            "mpu_dimensions": list(project.sat.mpu_dimensions),
            "mpu_parameters": list(project.sat.mpu_parameters),
            "missing": [list(item) for item in project.sat.missing],
        },
        "engine": project.engine,
        "targets": dict(project.targets),
        "files": [list(f) for f in project.files],
        "unresolved": {k: dict(v) for k, v in project.unresolved.items()},
        "entrypoints": list(project.entrypoints),
    }
    if project.target_names:  # absent: the built-in profile stays unchanged
        document["target_names"] = list(project.target_names)
    if document["sat"]["mesh_reads"] is None:  # absent: the built-in profile stays unchanged
        del document["sat"]["mesh_reads"]
    if not document["sat"]["missing"]:  # absent: the built-in profile stays unchanged
        del document["sat"]["missing"]
    if project.entry_facts:  # absent: the built-in profile stays unchanged
        document["entry_facts"] = dict(project.entry_facts)
    if project.broken:  # absent: the built-in profile stays unchanged
        document["broken"] = dict(project.broken)
    if project.base_files:  # absent: the built-in profile stays unchanged
        document["base_files"] = list(project.base_files)
        document["target_files"] = {k: list(v) for k, v in project.target_files.items()}
        document["entry_files"] = {k: list(v) for k, v in project.entry_files.items()}
    for optional in (
        "base_layers",
        "entry_get_args",
        "entry_argv",
        "merged_files",
        "deepspeed_inference",
        "world_division",
        "undeclared_reads",
        "unsupported_when",
    ):  # absent: the built-in profile stays unchanged
        if getattr(get_args, optional) is None:
            del document["get_args"][optional]
    return document


def from_json(data: dict[str, Any]) -> Project:
    get_args = dict(data["get_args"])
    get_args["injects_model_config"] = MappingProxyType(get_args.get("injects_model_config", {}))
    get_args["unsupported"] = tuple(get_args.get("unsupported", ()))
    get_args["mpu_call"] = tuple(get_args.get("mpu_call", ()))
    if get_args.get("unsupported_when") is not None:
        get_args["unsupported_when"] = {k: tuple(v) for k, v in get_args["unsupported_when"].items()}
    sat = dict(data["sat"])
    sat["mpu_dimensions"] = tuple(sat["mpu_dimensions"])
    sat["mpu_parameters"] = tuple(sat.get("mpu_parameters", ()))
    sat["missing"] = tuple(tuple(item) for item in sat.get("missing", ()))
    return Project(
        root=data["root"],
        origin=data["origin"],
        label=data["label"],
        arguments=MappingProxyType({d: argument_from_dict(a) for d, a in data["arguments"].items()}),
        sections=MappingProxyType({n: Section(**s) for n, s in data["sections"].items()}),
        get_args=GetArgs(**get_args),
        sat=Sat(**sat),
        engine=data["engine"],
        targets=MappingProxyType(data["targets"]),
        files=tuple((label, digest) for label, digest in data["files"]),
        unresolved=MappingProxyType(data.get("unresolved", {})),
        entrypoints=tuple(data.get("entrypoints", ())),
        target_names=tuple(data.get("target_names", ())),
        entry_facts=MappingProxyType(data.get("entry_facts", {})),
        broken=MappingProxyType(data.get("broken", {})),
        base_files=tuple(data.get("base_files", ())),
        target_files=MappingProxyType({k: tuple(v) for k, v in data.get("target_files", {}).items()}),
        entry_files=MappingProxyType({k: tuple(v) for k, v in data.get("entry_files", {}).items()}),
    )
