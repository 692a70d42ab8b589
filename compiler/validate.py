"""Validate stage: the merged tree against satc's JSON Schema, every problem at once.

jsonschema does the structural work; this module turns its errors into located,
readable problems with suggestions, and adds what a schema cannot say: keys that
DeepSpeed reads elsewhere (warnings), deprecated keys (warnings) and dests satc
computes itself (errors).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from . import credentials, memo, resources, schema_check
from .errors import SET_RANK, Location, Problem, dotted
from .load import LoadedConfig
from .project import select
from .project.facts import Project
from .project.schema import FALSE_WORDS, config_schema
from .rules import project_files
from .rules.models import engine_mappings
from .rules.models import targets as model_targets
from .suggest import closest, typo_of
from .tree import value_at, yaml_text

Path = tuple[str | int, ...]

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


_VALIDATORS: dict[int, tuple[dict[str, Any], Any]] = {}


def _validator(schema: dict[str, Any] | None = None) -> Any:
    """Built once per schema: jsonschema re-checks a schema on every `validate()` call (4 ms)."""
    schema = schema if schema is not None else resources.schema()
    hit = _VALIDATORS.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = (schema, _validator_class()(schema))
        _VALIDATORS[id(schema)] = hit
    return hit[1]


@lru_cache(maxsize=1)
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, validators

    def is_integer(_: Any, instance: Any) -> bool:
        # `4.0` and `true` are not integers here, although jsonschema and DeepSpeed
        # would accept them (RELIABILITY.md "jsonschema", "DeepSpeed").
        return isinstance(instance, int) and not isinstance(instance, bool)

    def is_number(_: Any, instance: Any) -> bool:
        return isinstance(instance, int | float) and not isinstance(instance, bool)

    checker = Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": is_integer, "number": is_number})
    return validators.extend(Draft202012Validator, type_checker=checker)


class _Hidden:
    """Stands for a value that must not be echoed (it sits under a credential key)."""


def _describe(value: Any) -> str:
    if isinstance(value, _Hidden):
        return "a value (not shown: the key looks like a credential)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value!r}"
    if isinstance(value, str):
        return f"string {credentials.shown(value)!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "a mapping"


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_TYPE_NAMES.get(name, name) for name in names)


_KEY_INDEXES: dict[int, tuple[dict[str, Any], dict[str, list[str]]]] = {}


def _key_index(schema: dict[str, Any]) -> dict[str, list[str]]:
    """Every known key name -> the dotted places it is valid, for cross-section hints."""
    hit = _KEY_INDEXES.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    index: dict[str, list[str]] = {}

    def walk(schema: dict[str, Any], path: tuple[str, ...]) -> None:
        for name, sub in schema.get("properties", {}).items():
            if "x-satc-misplaced" in sub or "deprecated" in sub:
                continue
            index.setdefault(name, []).append(".".join((*path, name)))
            if isinstance(sub, dict) and len(path) < 3:
                walk(sub, (*path, name))

    walk(schema, ())
    _KEY_INDEXES[id(schema)] = (schema, index)
    return index


# Names CogVideoX's namespace has per process, or that other launchers spell their own
# way: a typo-distance suggestion (world_size -> final_size) would mislead.
_TOPOLOGY_NAMES = {
    "world_size": "the world size is launch.nodes x launch.gpus_per_node",
    "rank": "the rank is per process: the launcher sets it",
    "master_ip": "use launch.master_addr",
    "master_addr": "use launch.master_addr",
    "master_port": "use launch.master_port",
    "nodes": "use launch.nodes",
    "num_nodes": "use launch.nodes",
    "nnodes": "use launch.nodes",
    "gpus_per_node": "use launch.gpus_per_node",
    "nproc_per_node": "use launch.gpus_per_node",
    "num_gpus": "use launch.gpus_per_node (GPUs per node)",
    "local_world_size": "it comes from launch.gpus_per_node",
    "cuda": "use launch.device: cuda or cpu",
}


def _shared_prefix(a: list[str], b: list[str]) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


MAX_UNKNOWN_KEYS = 100  # listed one by one, with a suggestion, per mapping


def _schema_at(root: dict[str, Any], place: str) -> dict[str, Any]:
    node: Any = root
    for part in place.split("."):
        node = node.get("properties", {}).get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _dropped_later_argument(config: LoadedConfig, key: str) -> Problem | None:
    """An ``args:`` key this project's parser lacks but CogVideoX's (satc's built-in
    profile) declares, where the project's ``process_config_to_args`` sets only declared
    arguments (``if hasattr(args, key)``): a setting of a later CogVideoX that this tree
    drops, not a typo.  The 1.0-era ``inference.yaml`` that CogVideoX and its forks ship
    (THUDM/CogVideo@db309f3, ML-GSAI/Concat-ID, VideoVLA-Project/VideoVLA) carries
    ``sampling_image_size``, which their parsers never declared and their sample_video.py
    never reads.  A warning: it changes nothing the project does."""
    from .project.builtin import builtin_project

    project = select.for_config(config)
    section = project.sections.get("args")
    if project.origin == "builtin" or project.get_args.args_assignment != "hasattr" or section is None:
        return None
    if key not in builtin_project().arguments:
        return None
    return Problem(
        config.locate(("args", key)),
        dotted(("args", key)),
        f"not an argument of this project: its process_config_to_args ({section.source}) sets only "
        "the arguments its parser declares, so the value is ignored (a later CogVideoX declares it)",
        "warning",
        hint="delete it, or declare it in the project's arguments.py where its code reads it",
    )


def _set_as_given(config: LoadedConfig, key: str) -> Problem | None:
    """An ``args:`` key the project's parser does not declare, where its
    ``process_config_to_args`` sets every key as given (``setattr(args, key, value)`` with
    no ``hasattr`` guard): the key is on the namespace and the project's code may read it
    (SanGilbert/CogVideo@58f6a87 sat/arguments.py:268-269 sets ``save_total_limit``,
    sat/train_video.py:150 reads it).  A key the entry folder's scripts read is known
    (project.args_reads, in the schema); one that reaches here is read nowhere satc looks:
    a warning.  A near miss of a declared or read key stays an error (the caller checks
    first)."""
    project = select.for_config(config)
    section = project.sections.get("args")
    if project.origin == "builtin" or project.get_args.args_assignment != "setattr" or section is None:
        return None
    return Problem(
        config.locate(("args", key)),
        dotted(("args", key)),
        f"not an argument of this project's parser: its process_config_to_args ({section.source}) sets "
        "every args key as given, so the value reaches args unchecked",
        "warning",
        hint="check that the project's code reads it under this name",
    )


def _unknown_key(
    config: LoadedConfig, path: Path, key: str, schema: dict[str, Any], root: dict[str, Any]
) -> Problem:
    # A dest satc computes or reserves per process (local_rank) is no setting a config can
    # hold: never offered as the key meant.
    allowed = [
        name
        for name, sub in schema.get("properties", {}).items()
        if not (isinstance(sub, dict) and REPORTED_ELSEWHERE & sub.keys())
    ]
    here = typo_of(key, allowed)
    if path == ("args",) and not here and key.lower().replace("-", "_") not in _TOPOLOGY_NAMES:
        dropped = _dropped_later_argument(config, key) or _set_as_given(config, key)
        if dropped is not None:
            return dropped
    elsewhere = [p for p in _key_index(root).get(key, []) if p != dotted((*path, key))]
    if path[:1] == ("args",):
        # Under SAT, DeepSpeed reads only its own config: a deepspeed.* key of the same
        # name (sequence_parallel_size) would compile and change nothing the project does.
        elsewhere = [p for p in elsewhere if not p.startswith("deepspeed.")]
    # A place whose declared type cannot hold the value is another setting of the same
    # name, not where this one belongs (MoCa's `deepspeed.debug: {verbose: true}` is no
    # `deepspeed.comms_logger.debug`, a flag).
    found, value = value_at(config.tree, (*path, key))
    if found:
        elsewhere = [p for p in elsewhere if _has_type(value, _schema_at(root, p))]
    # The nearest place first: launch.slurm.extra.partition -> launch.slurm.partition.
    elsewhere.sort(key=lambda place: -_shared_prefix(place.split("."), [str(part) for part in path]))
    if path[:1] == ("args",) and key.lower().replace("-", "_") in _TOPOLOGY_NAMES:
        hint = _TOPOLOGY_NAMES[key.lower().replace("-", "_")]
    elif here:
        hint = f"did you mean {dotted((*path, here))}?"
    elif elsewhere:
        hint = f"did you mean {elsewhere[0]}? ({key} is not valid under {dotted(path) or 'the top level'})"
    elif len(allowed) <= 12:
        hint = f"valid keys here: {', '.join(sorted(allowed))}"
    else:
        hint = None
    where = dotted(path) or "the top level"
    dropped = _dropped_copy_of_model_key(config, path, key) if here is None else None
    if dropped is not None:
        return dropped
    drops = schema.get("x-satc-drops")
    unread = _unread_arguments(config) if path == ("args",) else []
    if unread:
        # The parser adds arguments satc could not read: this key may be one of them.
        return Problem(
            config.locate((*path, key)),
            dotted((*path, key)),
            f"not among the arguments satc read, but the parser also adds some it cannot read "
            f"({'; '.join(unread[:3])}): satc cannot tell whether the project declares it",
            "warning",
            hint=hint or "check the name against the project's arguments.py",
        )
    return Problem(
        config.locate((*path, key)),
        dotted((*path, key)),
        f"unknown key under {where}" + (f": {drops}" if drops else ""),
        hint=hint,
    )


def _unread_arguments(config: LoadedConfig) -> list[str]:
    """The ``add_argument`` calls (and parser hand-offs) of the project's ``get_args`` that
    satc could not read statically, as ``file:line: why``."""
    from .project import select

    project = select.for_config(config)
    return [
        u for u in project.get_args.unsupported if "add_argument" in u or ": the parser is passed to " in u
    ]


def _dropped_copy_of_model_key(config: LoadedConfig, path: Path, key: str) -> Problem | None:
    """An ``args:`` key the project's loader drops (``if hasattr(args, key)``) that repeats a
    key of ``model:``, the one the code reads: zai-org/SCAIL (33122ea) sets use_i2v_clip
    and i2v_encode_video under both (configs/sampling/wan_pose_14Bsc_xc_cli.yaml:3,15 and
    configs/video_model/*.yaml:2-3).  It changes nothing the project does: a warning, not a
    refusal.  A key no section of the config has stays unknown (a typo)."""
    if path != ("args",):
        return None
    from .project import select

    project = select.for_config(config)
    model = config.tree.get("model")
    if project.get_args.args_assignment != "hasattr" or not isinstance(model, dict) or key not in model:
        return None
    section = project.sections.get("args")
    loader = f" ({section.source})" if section is not None else ""
    return Problem(
        config.locate((*path, key)),
        dotted((*path, key)),
        f"ignored: the project's loader{loader} sets only the args its parser declares; "
        f"model.{key} is the value its code reads",
        severity="warning",
        hint=f"delete args.{key}",
    )


def _yaml_hint(config: LoadedConfig, path: Path, value: Any, expected: Any) -> str | None:
    raw = config.raw.get(path)
    wants_string = expected == "string" or (isinstance(expected, list) and "string" in expected)
    if raw is not None and wants_string and not isinstance(value, str):
        return f'YAML read `{raw}` as {_describe(value)}; write it in quotes ("{raw}") to keep it text'
    if isinstance(value, float) and value.is_integer() and "integer" in str(expected):
        return f"write {int(value)} without a decimal point"
    if isinstance(value, str) and "integer" in str(expected) and value.strip().isdigit():
        return f"remove the quotes: {value.strip()}"
    return None


def _section_hint(config: LoadedConfig, path: Path, value: Any, root: dict[str, Any]) -> str | None:
    """``args: {deepspeed: {...}}``: a mapping under args named like a top-level section the
    project's loader reads (``process_config_to_args`` pops ``deepspeed`` from the merged
    config, not from ``args``) belongs at the top level -- except a DeepSpeed config in an
    inference run: get_args starts DeepSpeed only outside inference (CogVideoX's
    arguments.py:117, ``if args.mode != "inference"``), so the section would go unused there
    as well (rules/deepspeed.py says so of a top-level one)."""
    if len(path) != 2 or path[0] != "args" or not isinstance(value, dict) or not value:
        return None
    section = select.for_config(config).sections.get(str(path[1]))
    if section is None or section.kind != "attribute":
        return None
    if path[1] == "deepspeed" and _mode(config, root) == "inference":
        given = config.origin.get(("args", "mode"))
        where = f", {given}" if given is not None else ", the project's default"
        return (
            f"delete it: an inference run (args.mode: inference{where}) does not start DeepSpeed, so a "
            f"top-level `deepspeed:` section ({section.source}) would go unused as well"
        )
    where = "merge it into the top-level" if path[1] in config.tree else "move it to the top level, as a"
    return (
        f"{where} `{path[1]}:` section: the project reads {path[1]} there "
        f"({section.source}), never under args"
    )


def _mode(config: LoadedConfig, root: dict[str, Any]) -> Any:
    """args.mode as given, else the project's parser default."""
    args = config.tree.get("args")
    if isinstance(args, dict) and "mode" in args:
        return args["mode"]
    return root["properties"]["args"].get("properties", {}).get("mode", {}).get("default")


def _cross_field_rule(error: Any, root: dict[str, Any]) -> tuple[dict[str, Any], Path] | None:
    """The `allOf` rule (with a description) an error comes from, and the instance path
    that rule applies to: DeepSpeed's cross-field constraints live there."""
    node: Any = root
    schema_path = list(error.absolute_schema_path)
    instance = list(error.absolute_path)
    depth = 0  # how much of the instance path the schema path has walked into
    found: tuple[dict[str, Any], Path] | None = None
    for index, step in enumerate(schema_path):
        previous = schema_path[index - 1] if index else None
        if previous in ("properties", "patternProperties") or step in (
            "additionalProperties",
            "items",
            "propertyNames",
        ):
            depth += 1
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return found
        if previous == "allOf" and isinstance(node, dict) and "description" in node:
            found = (node, tuple(instance[:depth]))
    return found


def _mentioned(schema: Any, path: Path) -> list[Path]:
    """Every instance path a rule names (its `required` and `properties`, recursively)."""
    if not isinstance(schema, dict):
        return []
    paths: list[Path] = []
    for branch in ("not", "if", "then", "else"):
        paths += _mentioned(schema.get(branch), path)
    for name in [*schema.get("required", []), *schema.get("properties", {})]:
        paths.append((*path, name))
        paths += _mentioned(schema.get("properties", {}).get(name), (*path, name))
    return paths


def _rule_problem(config: LoadedConfig, rule: dict[str, Any], base: Path) -> Problem:
    """Located at the key that completes the conflict: the last one, in reading order."""
    given = [(config.origin[p], p) for p in _mentioned(rule, base) if p in config.origin]
    location: Location | None
    if given:
        location, path = max(given, key=lambda item: (item[0], len(item[1])))
    else:
        location, path = config.locate(base), base
    paths = {p for _, p in given}
    leaves = {p for p in paths if not any(o[: len(p)] == p and o != p for o in paths)}
    others = sorted(dotted(p) for p in leaves - {path})
    involved = f" (with {', '.join(others)})" if others else ""
    hint = None
    if isinstance(rule.get("x-satc-remove"), str):
        # A deprecated key beside its replacement: DeepSpeed refuses both; the new one stays.
        old = dotted((*base, rule["x-satc-remove"]))
        hint = f"remove {old} (in its layer, or --set {old}=null): the other key replaces it"
    return Problem(location, dotted(path), f"{rule['description'].rstrip('.')}{involved}", hint=hint)


# A schema error at a key so annotated is not reported from here: _annotations reports a
# computed key, the launch rules a reserved variable (beside the other launch.env problems).
REPORTED_ELSEWHERE = frozenset({"x-satc-computed", "x-satc-reserved"})


def _problem_from_error(config: LoadedConfig, error: Any, root: dict[str, Any]) -> list[Problem]:
    path: Path = tuple(error.absolute_path)
    key = dotted(path)
    where = config.locate(path)
    kind = error.validator
    value = error.instance
    if not REPORTED_ELSEWHERE.isdisjoint(error.schema):
        return []
    if "x-satc-removed" in error.schema:
        return [
            Problem(
                where,
                key,
                f"removed from DeepSpeed: {error.schema['x-satc-removed']}",
                hint="delete this key",
            )
        ]
    if any(credentials.is_credential_key(part) for part in path):
        value = _Hidden()
    rule = _cross_field_rule(error, root) if kind not in ("type", "additionalProperties") else None
    if rule is not None:
        # `required` holds vacuously for a non-mapping, so a `not` rule fires there too;
        # the type error already says what is wrong.
        found, base_value = value_at(config.tree, rule[1])
        return [_rule_problem(config, *rule)] if found and isinstance(base_value, dict) else []
    if kind == "not" and isinstance(error.validator_value, dict) and "const" in error.validator_value:
        return [
            Problem(
                where,
                key,
                f"expected a concrete value, got {_describe(value)}",
                hint="satc writes complete configs: put the number DeepSpeed should use",
            )
        ]
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = set(error.schema.get("properties", {}))
        extras = [extra for extra in value if extra not in allowed]
        problems = [
            _unknown_key(config, path, extra, error.schema, root) for extra in extras[:MAX_UNKNOWN_KEYS]
        ]
        if len(extras) > MAX_UNKNOWN_KEYS:
            # A did-you-mean costs ~1 ms a key: 49,000 typos would take a minute to list.
            rest = extras[MAX_UNKNOWN_KEYS:]
            problems.append(
                Problem(
                    config.locate((*path, rest[0])),
                    dotted((*path, rest[0])),
                    f"and {len(rest):,} more unknown keys under {dotted(path) or 'the top level'}",
                    hint="a config with this many unknown keys is probably not meant for this section",
                )
            )
        return problems
    if kind == "type" and error.schema.get("x-satc-flag") and isinstance(value, str):
        # An own flag the loader sets as given: text is what it would misread (as true).
        return [
            Problem(
                where,
                key,
                f"expected true or false, got {_describe(value)}",
                hint="the project's loader sets it as written and any non-empty text reads as true: "
                "write true or false without quotes",
            )
        ]
    if kind == "type":
        return [
            Problem(
                where,
                key,
                f"expected {_expected(error.validator_value)}, got {_describe(value)}",
                hint=_yaml_hint(config, path, value, error.validator_value)
                or _section_hint(config, path, value, root),
            )
        ]
    if kind == "enum":
        choices = ", ".join(yaml_text(choice) for choice in error.validator_value)
        guess = closest(str(value), [str(c) for c in error.validator_value])
        hint = f"did you mean {guess!r}?" if guess and isinstance(value, str) else None
        if key == "launch.gpu" and isinstance(value, str):
            from .memory.gpus import named_like

            cards = named_like(value)  # `A100` names two cards: say which
            hint = f"which one: {' or '.join(cards)}?" if len(cards) > 1 else hint
        return [Problem(where, key, f"expected one of {choices}; got {_describe(value)}", hint=hint)]
    bound = {
        "minimum": "at least",
        "exclusiveMinimum": "more than",
        "maximum": "at most",
        "exclusiveMaximum": "less than",
    }.get(kind)
    if bound:
        return [Problem(where, key, f"expected {bound} {error.validator_value}, got {_describe(value)}")]
    if kind == "uniqueItems":
        return [Problem(where, key, "expected each item once; some appear more than once")]
    if kind == "multipleOf":
        return [Problem(where, key, f"expected a whole number, got {_describe(value)}")]
    if kind == "pattern":
        return [
            Problem(
                where,
                key,
                f"{_describe(value)} contains characters that are not allowed here",
                hint=f"allowed: {error.validator_value}",
            )
        ]
    if kind in ("minItems", "maxItems"):
        return [Problem(where, key, f"{_describe(value)} has the wrong length: {error.message}")]
    if kind in ("anyOf", "oneOf") and isinstance(error.validator_value, list):
        kinds = [_in_words(branch) for branch in error.validator_value]
        if all(kinds):
            return [
                Problem(
                    where,
                    key,
                    f"expected {'; or '.join(k for k in kinds if k)}; got {_describe(value)}",
                    hint=_alternatives_hint(error.schema, value),
                )
            ]
    if kind == "not" and isinstance(error.validator_value, dict) and "enum" in error.validator_value:
        refused = ", ".join(yaml_text(choice) for choice in error.validator_value["enum"])
        text = isinstance(value, str)
        reads_true = text and value in FALSE_WORDS
        return [
            Problem(
                where,
                key,
                f"{_describe(value)} is not allowed here"
                + (
                    ": the code reads this key only for its truth, and any non-empty text is true"
                    if reads_true
                    else f" (not one of: {refused})"
                ),
                hint="to turn it off write false (unquoted) or delete the key"
                if reads_true
                else "use another value",
            )
        ]
    message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return [Problem(where, key, message)]


def _in_words(schema: Any) -> str | None:
    """One alternative of an anyOf in words (``an integer at least 1``), or None when it
    says more than satc can put in words."""
    if not isinstance(schema, dict):
        return None
    if "enum" in schema:
        return "one of " + ", ".join(yaml_text(choice) for choice in schema["enum"])
    if "const" in schema:
        return yaml_text(schema["const"])
    if "type" not in schema:
        return None
    words = _expected(schema["type"])
    if schema.get("minLength") == 1 and schema["type"] == "string":
        words = "a non-empty string"
    for name, bound in (
        ("minimum", "at least"),
        ("maximum", "at most"),
        ("exclusiveMinimum", "more than"),
        ("exclusiveMaximum", "less than"),
    ):
        if name in schema:
            words += f" {bound} {schema[name]}"
    return words


def _alternatives_hint(schema: dict[str, Any], value: Any) -> str | None:
    """Why the value fits none of the alternatives, when one nearly takes it; else the first
    sentence of the schema's description (what the key means)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    for branch in schema.get("anyOf") or schema.get("oneOf") or []:
        kinds = branch.get("type") if isinstance(branch, dict) else None
        if number and kinds in ("integer", "number") and "minimum" in branch and value < branch["minimum"]:
            return f"a number here must be at least {branch['minimum']}"
    if isinstance(value, list | dict):
        return "write a single value here, not a " + ("list" if isinstance(value, list) else "mapping")
    description = schema.get("description")
    if not isinstance(description, str) or not description:
        return None
    first = description.split(". ", 1)[0].rstrip(".")
    return first if len(first) <= 200 else first[:197] + "..."


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def _deprecation_hint(replacement: str) -> str:
    """The schema names a replacement key, or (for a flag) says what to do in words."""
    return replacement if " " in replacement else f"use {replacement} instead"


def _misplaced(config: LoadedConfig, here: Path, value: Any, home: str) -> Problem:
    """A DeepSpeed key where DeepSpeed never reads it.  An error when the run differs
    from what the config says (the key's home section is in effect and DeepSpeed uses
    another value there: e.g. a top-level offload_optimizer, so nothing is offloaded);
    a warning when it does not (sft.yaml's top-level loss_scale family in a bf16 run,
    where fp16's loss scaling is off, or values equal to DeepSpeed's own)."""
    target = f"deepspeed.{home}"
    section, _, name = home.partition(".")
    deepspeed = config.tree.get("deepspeed")
    given = deepspeed.get(section) if isinstance(deepspeed, dict) else None
    given = given if isinstance(given, dict) else {}
    fields = resources.schema()["properties"]["deepspeed"]["properties"][section]["properties"]
    in_effect = "enabled" not in fields or given.get("enabled", fields["enabled"].get("default")) is True
    used = given[name] if name in given else fields.get(name, {}).get("default", _ABSENT)
    same = used is not _ABSENT and type(used) is type(value) and used == value
    if in_effect and not same:
        if used is _ABSENT:
            outcome = "so the run would go without it"
        else:
            source = "set there" if name in given else "DeepSpeed's default"
            outcome = f"so the run would use {_describe(used)} ({source})"
        return Problem(
            config.locate(here),
            dotted(here),
            f"DeepSpeed ignores this key here and reads it only as {target}, {outcome} [MK1]",
            hint=f"move it to {target}",
        )
    return Problem(
        config.locate(here),
        dotted(here),
        f"DeepSpeed ignores this key here; it reads it as {target}",
        severity="warning",
        hint=f"move it to {target}",
    )


_ABSENT = object()


def misplaced_deepspeed_errors(config: LoadedConfig) -> list[Problem]:
    """The misplaced DeepSpeed keys that change the run (see _misplaced)."""
    section = config.tree.get("deepspeed")
    if not isinstance(section, dict):
        return []
    properties = resources.schema()["properties"]["deepspeed"]["properties"]
    found = []
    for key, value in section.items():
        sub = properties.get(key)
        if isinstance(sub, dict) and "x-satc-misplaced" in sub:
            found.append(_misplaced(config, ("deepspeed", key), value, sub["x-satc-misplaced"]))
    return [p for p in found if p.severity == "error"]


# An empty `args.deepspeed_config` of an inference run stays on the namespace (nothing
# computes it there), as the project's get_args leaves it.
_KEPT_IN_INFERENCE = ("args", "deepspeed_config")


def _annotations(config: LoadedConfig, root: dict[str, Any]) -> list[Problem]:
    """Walk the tree beside the schema for satc's own annotations."""
    found: list[Problem] = []

    def _inference() -> bool:
        section = config.tree.get("args")
        return isinstance(section, dict) and section.get("mode") == "inference"

    def walk(node: Any, schema: dict[str, Any], path: Path) -> None:
        if not isinstance(node, dict):
            return
        properties = schema.get("properties", {})
        for key, value in node.items():
            sub = properties.get(key)
            if not isinstance(sub, dict):
                continue
            here = (*path, key)
            if "x-satc-misplaced" in sub:
                problem = _misplaced(config, here, value, sub["x-satc-misplaced"])
                if problem.severity == "warning":  # errors: rule MK1 (resolve), beside the others
                    found.append(problem)
            if "x-satc-deprecated" in sub:
                found.append(
                    Problem(
                        config.locate(here),
                        dotted(here),
                        "deprecated",
                        severity="warning",
                        hint=_deprecation_hint(sub["x-satc-deprecated"]),
                    )
                )
            if "x-satc-computed" in sub and _empty(value) and here == _KEPT_IN_INFERENCE and _inference():
                pass  # the namespace keeps it as the project's get_args does (rules/inputs.py)
            elif "x-satc-computed" in sub and _empty(value):
                # Projects write `deepspeed_config: {}` (CogView3): nothing is lost by
                # satc computing it, so it is dropped (resolve) with a warning.
                found.append(
                    Problem(
                        config.locate(here),
                        dotted(here),
                        "ignored: satc computes this value itself",
                        severity="warning",
                        hint=f"delete it; {sub['x-satc-computed']}",
                    )
                )
            elif "x-satc-computed" in sub:
                found.append(
                    Problem(
                        config.locate(here),
                        dotted(here),
                        "cannot be set in a config",
                        hint=sub["x-satc-computed"],
                    )
                )
            walk(value, sub, here)

    walk(config.tree, root, ())
    return found


# R6 copies these DeepSpeed values into args (CogVideoX's get_args), so each must also be
# a valid value of that arg, although DeepSpeed's optimizer params are free-form.
_FLOWS_INTO_ARGS: dict[Path, str] = {
    ("deepspeed", "optimizer", "params", "lr"): "lr",
    ("deepspeed", "optimizer", "params", "weight_decay"): "weight_decay",
}


def _flows_into_args(config: LoadedConfig, root: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    arg_schemas = root["properties"]["args"]["properties"]
    for path, arg in _FLOWS_INTO_ARGS.items():
        if arg not in arg_schemas:
            continue
        found, value = value_at(config.tree, path)
        if not found or schema_check.valid(arg_schemas[arg], value) is True:
            continue
        for error in _validator(root).evolve(schema=arg_schemas[arg]).iter_errors(value):
            if error.validator == "type":
                expected = f"expected {_expected(error.validator_value)}"
            elif error.validator == "minimum":
                expected = f"expected at least {error.validator_value}"
            else:
                expected = f"expected a valid args.{arg}"
            problems.append(
                Problem(
                    config.locate(path),
                    dotted(path),
                    f"{expected}, got {_describe(value)} (CogVideoX copies it into args.{arg})",
                    hint=_yaml_hint(config, path, value, error.validator_value)
                    if error.validator == "type"
                    else None,
                )
            )
    return problems


def _null_overrides(config: LoadedConfig, project: Project) -> list[Problem]:
    """`--set args.X=null` removes X, so the project's default applies: a located error
    where that default is truthy, unlike None (Tora's `flow_from_prompt: null` would become the
    truthy 'cli'), instead of a silent fallback."""
    found: list[Problem] = []
    for index, override in enumerate(config.overrides):
        parts = override.key.split(".")
        if len(parts) != 2 or parts[0] != "args" or index not in config.nulls:
            continue
        argument = project.arguments.get(parts[1])
        if argument is None or not argument.default:
            continue  # a falsy default reads like None wherever the code tests the value
        default = yaml_text(argument.default)
        found.append(
            Problem(
                Location(rank=SET_RANK + index, label=override.label),
                override.key,
                f"null removes the key, so the project's default {default} applies ({argument.source}), "
                "not None",
                hint=(
                    f"write the value you mean (e.g. --set {override.key}=false), or {default} to keep the default"
                    if isinstance(argument.default, bool)
                    else f"write the value you mean, or {default} to keep the default"
                ),
            )
        )
    return found


_JSON_TYPES: dict[str, Any] = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _has_type(value: Any, schema: dict[str, Any]) -> bool:
    """`type` (and `items`) of a declared argparse type, checked without jsonschema: this
    runs on every compile, and a repeat compile must not import jsonschema (memo.py)."""
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    if names and not any(_JSON_TYPES[name](value) for name in names if name in _JSON_TYPES):
        return False
    items = schema.get("items")
    if isinstance(items, dict) and isinstance(value, list):
        return all(_has_type(item, items) for item in value)
    return True


DECLARED_TYPE = "argparse declares "


def without_covered(errors: list[Problem], warnings: list[Problem]) -> list[Problem]:
    """``warnings`` less a declared-type warning on a key an error already refuses (M14's
    "not an integer" and argparse's type=int on args.sampling_num_frames): one message per
    key, the error, which says what the code does with the value."""
    refused = {
        error.key
        for error in errors
        # a trusted error (satc.trust) is shown as a warning, and still covers its key
        if error.key and (error.severity == "error" or error.message.startswith("trusted (satc.trust"))
    }
    return [w for w in warnings if not (w.key in refused and w.message.startswith(DECLARED_TYPE))]


def _declared_types(config: LoadedConfig, root: dict[str, Any]) -> list[Problem]:
    """A value of another type than the project's own parser declares: the project sets
    YAML values as they are, so argparse's ``type=`` never runs.  The code may well take
    it (a list for a `type=int` size it unpacks), so a warning, not an error."""
    found: list[Problem] = []
    properties = root["properties"]["args"].get("properties", {})
    args = config.tree.get("args")
    for key, value in (args if isinstance(args, dict) else {}).items():
        declared = properties.get(key, {}).get("x-satc-declared")
        if not isinstance(declared, dict):
            continue
        check = {k: v for k, v in declared.items() if k in ("type", "items")}
        if _has_type(value, check):
            continue
        path = ("args", key)
        source = properties[key].get("x-satc-source", "the project's parser")
        found.append(
            Problem(
                config.locate(path),
                dotted(path),
                f"{DECLARED_TYPE}{_expected(declared.get('type', 'array'))} ({source}), "
                f"got {_describe(value)}",
                severity="warning",
                hint=f"process_config_to_args sets YAML values as-is; argparse's "
                f"type={declared['argparse']} is not applied: check that the code reading "
                f"args.{key} takes this value",
            )
        )
    return found


_BOOLEAN_WORDS = ("true", "false")


def _accidental_booleans(config: LoadedConfig, root: dict[str, Any]) -> list[Problem]:
    """A text arg takes `false`/`true` written as such (a project's "off", read for its
    truth), but not YAML 1.1's `no`/`on`/`yes`/`off`: those are text the user meant."""
    found: list[Problem] = []
    properties = root["properties"]["args"].get("properties", {})
    args = config.tree.get("args")
    for key, value in (args if isinstance(args, dict) else {}).items():
        prop = properties.get(key, {})
        types = prop.get("type", prop.get("x-satc-declared", {}).get("type", []))
        if not isinstance(value, bool) or not isinstance(types, list) or "string" not in types:
            continue
        raw = config.raw.get(("args", key))
        if raw is not None and raw.strip().lower() not in _BOOLEAN_WORDS:
            path = ("args", key)
            found.append(
                Problem(
                    config.locate(path),
                    dotted(path),
                    f"expected a string, got {_describe(value)}",
                    hint=_yaml_hint(config, path, value, "string"),
                )
            )
    return found


def _canonical_gpu(tree: dict[str, Any]) -> None:
    """launch.gpu as people spell it (`rtx 4090`, `A100-80GB`) names the card satc knows."""
    launch = tree.get("launch")
    if not isinstance(launch, dict):
        return
    name = launch.get("gpu")
    if isinstance(name, str):
        from .memory.gpus import canonical  # here: its table of names is built on import

        if canonical(name):
            launch["gpu"] = canonical(name)


def _schema_problems(config: LoadedConfig, root: dict[str, Any]) -> tuple[list[Problem], list[Problem]]:
    """jsonschema's problems: the tree's, and those of DeepSpeed values that flow into
    args.  A tree found clean against the same schema before is not checked again
    (memo.py), so a repeat compile does not import jsonschema; nor does a tree that
    schema_check.py proves valid."""
    digest = memo.key("valid", memo.code_stamp(__file__, "jsonschema"), root, config.tree)
    if memo.get("valid", digest) == b"clean":
        return [], []
    problems: list[Problem] = []
    # A tree schema_check proves valid needs no jsonschema (nor its import); any other
    # is checked, and its errors worded, by jsonschema.
    if schema_check.valid(root, config.tree, REPORTED_ELSEWHERE) is not True:
        for error in _validator(root).iter_errors(config.tree):
            problems.extend(_problem_from_error(config, error, root))
    flowing = _flows_into_args(config, root)
    if not problems and not flowing:
        memo.put("valid", digest, b"clean")
    return problems, flowing


def validate(config: LoadedConfig) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) for the merged tree, each located and sorted."""
    project = select.for_config(config)
    unparsable, parser_broken = project_files.v2_unparsable(config, project)
    if parser_broken:
        # every key is judged by the parser satc could not read: nothing else would be true
        return unparsable, []
    root = config_schema(project)
    problems: list[Problem] = list(unparsable)
    _canonical_gpu(config.tree)
    structural, flowing = _schema_problems(config, root)
    problems.extend(structural)
    problems.extend(_annotations(config, root))
    problems.extend(credentials.check_tree(config.tree, config.locate))
    problems.extend(flowing)
    problems.extend(_null_overrides(config, project))
    problems.extend(_accidental_booleans(config, root))
    problems.extend(_declared_types(config, root))
    problems.extend(model_targets.check(config))
    problems.extend(engine_mappings.check(config))
    unique = {(p.key, p.message, p.severity): p for p in problems}
    ordered = sorted(unique.values(), key=Problem.sort_key)
    return (
        [p for p in ordered if p.severity == "error"],
        [p for p in ordered if p.severity == "warning"],
    )
