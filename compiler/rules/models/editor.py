"""The `model:` and `data:` sections of the editor schema, built from schemas/models.json.

The same knowledge the compile-time checks use (targets.py), as JSON Schema: an editor
flags an unknown parameter of a known target (M1), a missing required one (M3), one
whose type contradicts its default (M8) and an unread `transformer_args` / conditioner
item key (M6) exactly where `satc compile` errors.  Unread keys beside them (M2, M4, M5,
M7) stay valid here: JSON Schema cannot tell a near miss from a key of your own; and the
profile rules (M9+) compare several sections, which it cannot say either.
"""

from __future__ import annotations

from typing import Any

NODE = "satc-target-node"
ANY = "satc-any"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _passed_by_parents(models: dict[str, Any]) -> set[tuple[str, str]]:
    """(child config key, parameter) pairs some parent passes itself: never required."""
    parents = [models["engine"], *models["targets"].values()]
    return {
        (key, name)
        for parent in parents
        for key, child in parent.get("children", {}).items()
        for name in child["passes"]
    }


def _type(default: Any) -> dict[str, Any] | None:
    """The JSON type a default fixes (targets.py's M8): flags also take 0 and 1."""
    if isinstance(default, bool):
        return {"anyOf": [{"type": "boolean"}, {"enum": [0, 1]}]}
    for kind, name in (
        (int, "number"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
    ):
        if isinstance(default, kind):
            # A scalar default does not make a list or mapping wrong (targets.py's M8).
            widened = [] if name in ("array", "object") else [{"type": "array"}, {"type": "object"}]
            return {"anyOf": [{"type": name}, {"type": "null"}, *widened]}
    return None


def _params(
    target: str, entry: dict[str, Any], passed: set[tuple[str, str]], positions: list[str] | None
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, param in entry["params"].items():
        sub: dict[str, Any] = {**_ref(ANY), "description": f"{param['from']} ({param['source']})"}
        if "default" in param:
            sub["default"] = param["default"]
            typed = _type(param["default"])
            if typed:
                sub.update(typed)
        if "indexed" in entry.get("uses", {}).get(name, {}):
            # M25: the class indexes it (`patch_size[1:]`): an integer fails at build.
            sub["not"] = {"type": "integer"}
            sub["description"] += f"; indexed at {entry['uses'][name]['indexed']}: a list"
        space = entry.get("namespaces", {}).get(name)
        if space and not set(space["reads"]) & {"get", "items", "keys", "values", "pop"}:
            sub = {
                "type": "object",
                "description": sub["description"],
                "properties": {key: {} for key in space["reads"]},
                "additionalProperties": False,
            }
        items = entry.get("item_keys", {}).get(name)
        if items:
            sub = {
                "type": "array",
                "description": sub["description"],
                "items": {
                    "allOf": [_ref(NODE)],
                    "properties": {key: {} for key in items},
                    "additionalProperties": False,
                },
            }
        properties[name] = sub
    # Where the official configs put this target, its parent passes what it passes there;
    # elsewhere (a sibling class) anything some parent passes may be passed.
    passed_names = {name for key, name in passed if positions is None or key in positions}
    required = sorted(
        name for name, param in entry["params"].items() if param.get("required") and name not in passed_names
    )
    schema: dict[str, Any] = {
        "type": "object",
        "description": f"Parameters of {target} ({entry['source']})",
        "properties": dict(sorted(properties.items())),
    }
    if "open" in entry or "swallows" in entry:
        schema["additionalProperties"] = _ref(ANY)
    else:
        schema["additionalProperties"] = False
    if required:
        schema["required"] = required
    return schema


def definitions(models: dict[str, Any]) -> dict[str, Any]:
    passed = _passed_by_parents(models)
    branches = [
        {
            "if": {"properties": {"target": {"const": target}}, "required": ["target"]},
            "then": {
                "properties": {
                    "params": _params(target, entry, passed, models.get("official_positions", {}).get(target))
                }
            },
        }
        for target, entry in sorted(models["targets"].items())
    ]
    return {
        NODE: {
            "type": "object",
            "description": "A target/params mapping, built as target(**params) by instantiate_from_config.",
            "properties": {
                "target": {
                    "type": "string",
                    "examples": sorted(models.get("official_targets", models["targets"])),
                },
            },
            "allOf": branches,
            "additionalProperties": _ref(ANY),
        },
        ANY: {
            "if": {"type": "object"},
            "then": _ref(NODE),
            "else": {"if": {"type": "array"}, "then": {"items": _ref(ANY)}},
        },
    }


def sections(models: dict[str, Any]) -> dict[str, dict[str, Any]]:
    engine = models["engine"]
    if engine is None:  # a project without CogVideoX's engine: `model:` is its own
        return {
            "data": {**_ref(NODE), "description": "The data config (args.data_config)."},
        }
    model_keys = {
        key: {**_ref(ANY), "description": f"read by {engine['target']} ({entry['source']})"}
        | ({"default": entry["default"]} if "default" in entry else {})
        for key, entry in engine["keys"].items()
    }
    return {
        "model": {
            "type": "object",
            "description": f"The model config (args.model_config), read by {engine['target']}.",
            "properties": model_keys,
            "additionalProperties": _ref(ANY),
        },
        "data": {
            **_ref(NODE),
            "description": "The data config (args.data_config): target.create_dataset_function(path, args, **params).",
        },
    }


def editor_schema(base: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
    """satc's schema with the model knowledge in its `model` / `data` sections."""
    schema = dict(base)
    schema["properties"] = {**base["properties"], **sections(models)}
    schema["$defs"] = {**base.get("$defs", {}), **definitions(models)}
    return schema
