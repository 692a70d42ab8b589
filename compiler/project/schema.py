"""A project's facts as the JSON Schema the validate stage checks a merged tree against.

``args`` properties come from the project's own parser, typed the way its YAML path
treats a value: CogVideoX's ``process_config_to_args`` sets each value raw
(``setattr(args, key, value)``), so argparse's ``type=`` never runs.  A value is refused
only where the code would choke on it or misread it: a string for a flag (any non-empty
string is true), a scalar where the code iterates a list, text where it computes.
satc's own constraints on SAT's arguments (minimums, dests satc computes) apply to the
dests the project really has.  The top-level sections are the project's own plus
satc's ``launch`` and ``satc``.
"""

from __future__ import annotations

import copy
import marshal
from collections.abc import Mapping
from typing import Any

from .. import resources
from .facts import Argument, Project

# The satc-side annotations of SAT's arguments that survive on any project with the dest.
_KEPT = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "minItems",
    "maxItems",
    "x-satc-computed",
    "x-satc-deprecated",
    "not",
    "errorMessage",
)
_SCALARS = {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}
_SATC_OWN = ("launch", "satc")
PROJECT_KEY = {
    "type": "string",
    "minLength": 1,
    "description": "The project folder satc reads to judge this config (relative to this file); "
    "default: the folder satc runs in, when it holds arguments.py.",
}
# Text dests SAT's code reads only for their truth (CogVideoX's get_args does not run
# SAT's own `eval(args.iterable_dataset_eval)`), with where.
READ_AS_FLAG = {
    "iterable_dataset_eval": "sat/data_utils/configure_data.py:104 "
    "(`not is_train_data and args.iterable_dataset_eval`)",
}
# A string a flag would read as true although it says false.
FALSE_WORDS = ("False", "false", "FALSE", "no", "No", "off", "Off", "0", "None", "none", "null")


def _json_copy(value: Any) -> Any:
    """``copy.deepcopy`` of parsed JSON (satc.schema.json: dicts, lists and scalars, no
    shared parts), many times faster: every compile copies the schema's sections.
    ``marshal`` copies such data in C, keeping every type and the key order; what it
    cannot write (a read-only mapping) is copied by walking it."""
    try:
        return marshal.loads(marshal.dumps(value))
    except ValueError:
        return _walk_copy(value)


def _walk_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _walk_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk_copy(item) for item in value]
    return value


def _scalar(arg: Argument) -> dict[str, Any]:
    kind = _SCALARS.get(arg.type or "")
    if kind is None:
        # No type= (or an expression): argparse would hand over text; the YAML path hands
        # over anything, and SAT's consumers of untyped dests mostly take text or paths.
        return {} if arg.type and arg.type.startswith("expr:") else {"type": "string"}
    return {"type": kind}


def argument_schema(arg: Argument) -> dict[str, Any]:
    """What a YAML value of ``args.<dest>`` may be, for the code that reads the dest."""
    prop: dict[str, Any]
    nullable = arg.default is None
    if arg.action in ("store_true", "store_false"):
        prop = {"type": "boolean"}
    elif arg.action in ("count",):
        prop = {"type": "integer"}
    elif arg.type == "list" or (arg.type is None and isinstance(arg.default, list)):
        prop = {"type": "array"}  # `type=list`: the YAML list is kept as it is
    elif arg.action == "append" or arg.nargs in ("+", "*") or isinstance(arg.nargs, int):
        prop = {"type": "array", "items": _scalar(arg)}
        if arg.choices:
            prop["items"] = {**prop["items"], "enum": list(arg.choices)}
    elif arg.nargs == "?" and arg.const is not None:
        # `--flag [VALUE]`: the const (True), the default or one of the choices.
        values = [arg.const, arg.default, *(arg.choices or ())]
        prop = {"enum": list(dict.fromkeys(values))}
        nullable = False
    elif arg.dest in READ_AS_FLAG and arg.type in ("str", None):
        # A text dest SAT's code reads as a flag: true works, and so does text; a text
        # that says false is read as true.
        prop = {"type": ["string", "boolean"], "not": {"enum": list(FALSE_WORDS)}}
    elif arg.type is None and isinstance(arg.default, bool | int | float):
        prop = {"type": _SCALARS[type(arg.default).__name__]}
    elif arg.type in ("str", None) and not arg.choices:
        # Text set raw from YAML: projects write `false` (or true) for a text dest read
        # for its truth (`if args.flow_from_prompt:`), so a boolean is no type error, and
        # neither is null: process_config_to_args sets it raw, a falsy None.
        prop = {"type": ["string", "boolean", "null"]}
    else:
        prop = _scalar(arg)
        if arg.choices:
            prop["enum"] = [*arg.choices, *([None] if nullable else [])]
    if nullable and "type" in prop:
        kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        prop["type"] = [*kinds, "null"] if "null" not in kinds else kinds
    prop["default"] = copy.deepcopy(arg.default)
    prop["description"] = f"{arg.help} ({arg.source})" if arg.help else f"({arg.source})"
    prop["x-satc-source"] = arg.source
    return prop


def _sets_raw(project: Project) -> bool:
    """The project's YAML path sets each ``args:`` value as it is (``setattr``)."""
    section = project.sections.get("args")
    return (
        section is not None
        and section.kind == "namespace"
        and project.get_args.args_assignment in ("hasattr", "setattr")
    )


def is_own(project: Project, arg: Argument) -> bool:
    """Declared by the project's own parser, not by its SAT's or DeepSpeed's (whose
    consumers satc knows)."""
    file = arg.source.rsplit(":", 1)[0]
    sat = f"{project.sat.path}/" if project.sat.where == "vendored" else "sat/"
    return not file.startswith((sat, "deepspeed/"))


def _declared_only(prop: dict[str, Any], arg: Argument) -> dict[str, Any]:
    """argparse's ``type=`` as a note, not a constraint: the YAML value reaches the code
    untyped, and what the code does with it is the project's (validate warns)."""
    declared = {k: prop.pop(k) for k in ("type", "items") if k in prop}
    if declared:
        prop["x-satc-declared"] = {**declared, "argparse": arg.type or arg.nargs or arg.action}
    return prop


# What a YAML value of an own flag may be besides true/false: everything but text.
_NOT_TEXT = ["boolean", "null", "integer", "number", "array", "object"]


def _own_flag(prop: dict[str, Any], arg: Argument) -> dict[str, Any]:
    """An own ``store_true`` flag set from YAML as it is: a string stays an error (any
    non-empty string is true, 'False' included); another value is what the code gets, and
    satc cannot tell whether the code tests it for truth or takes it as it is
    (Texaser/CogVideo@21a08dc declares ``--sampling_image_size`` as a flag, sat/arguments.py:50,
    and its inference.yaml sets ``[480, 720]``, which none of its code reads): a warning."""
    prop = _declared_only(prop, arg)
    prop["type"] = [*_NOT_TEXT]
    prop["x-satc-flag"] = True
    return prop


def args_properties(project: Project) -> dict[str, Any]:
    satc_args = resources.schema()["properties"]["args"]["properties"]
    properties: dict[str, Any] = {}
    raw = _sets_raw(project)
    for dest, arg in sorted(project.arguments.items()):
        prop = argument_schema(arg)
        if raw and is_own(project, arg) and arg.action in ("store_true", "store_false"):
            prop = _own_flag(prop, arg)
        elif raw and is_own(project, arg):
            prop = _declared_only(prop, arg)
        own = satc_args.get(dest, {})
        for keyword in _KEPT:
            if keyword in own:
                prop[keyword] = _json_copy(own[keyword])
        declared = prop.get("x-satc-declared", {}).get("type")
        if "items" in own and "array" in (prop.get("type"), declared) and "items" not in prop:
            # A `type=list` argument declares no item type; what satc knows the code does
            # with the items (sampling_image_size: pixel sizes) fills that gap only.
            prop["items"] = _json_copy(own["items"])
        properties[dest] = prop
    for key, source in (project.get_args.undeclared_reads or {}).items():
        # No argument declares it, but the loader sets every args key as given and the
        # project's code reads this one: a setting of the project, of any value.
        properties.setdefault(
            key,
            {
                "description": f"read by the project's code ({source}); its loader sets it as given",
                "x-satc-source": source,
            },
        )
    layers = project.get_args.base_layers or {}
    for key, source in layers.get("args_keys", {}).items():
        # Not on the namespace (the loader drops it), but the project's code reads it from
        # the layer itself: a key it defines.
        properties.setdefault(
            key,
            {
                "description": f"read by the project's code from args.base's files ({source})",
                "x-satc-source": source,
                "x-satc-layer-only": True,
            },
        )
    return properties


def _section_schema(project: Project, name: str) -> dict[str, Any]:
    section = project.sections[name]
    what = f"args.{section.dest}" if section.dest else "each key set on args"
    return {"description": f"The project's {name} section ({what}; {section.source})."}


_CACHE: dict[int, tuple[Project, dict[str, Any]]] = {}


def config_schema(project: Project) -> dict[str, Any]:
    """satc's schema with the project's arguments and sections (built once per project)."""
    hit = _CACHE.get(id(project))
    if hit is not None and hit[0] is project:
        return hit[1]
    base = resources.schema()
    schema = {key: value for key, value in base.items() if key != "properties"}
    properties: dict[str, Any] = {}
    for name in sorted(set(project.sections) | {"args", "deepspeed", *_SATC_OWN}):
        properties[name] = (
            _json_copy(base["properties"][name])
            if name in base["properties"]
            else _section_schema(project, name)
        )
    properties["args"]["properties"] = args_properties(project)
    section = project.sections.get("args")
    if section is not None and section.kind == "namespace" and project.get_args.args_assignment == "hasattr":
        # Why an unknown args key is an error and not a note: the project's code drops it.
        properties["args"]["x-satc-drops"] = (
            f"the project's parser declares no such argument, so its YAML path ({section.source}) "
            "drops the key without a word"
        )
    properties["satc"]["properties"]["project"] = PROJECT_KEY
    accept = properties["satc"]["properties"]["accept_warnings"]
    properties["satc"]["properties"]["trust"] = {
        **{key: value for key, value in accept.items() if key != "description"},
        "description": "Dotted keys whose errors (judged by the project's code: args, model, data, the "
        "project's sections) you have reviewed against your code: printed as warnings and recorded "
        "in provenance.trusted.",
    }
    schema["properties"] = properties
    _CACHE[id(project)] = (project, schema)
    return schema


def args_defaults(project: Project) -> dict[str, Any]:
    """The namespace's defaults (argparse's), for the dests the project defines."""
    return {dest: copy.deepcopy(arg.default) for dest, arg in sorted(project.arguments.items())}


def models(project: Project) -> Mapping[str, Any]:
    """In the shape of the former schemas/models.json: the engine and every target."""
    return {"engine": project.engine, "targets": project.targets}
