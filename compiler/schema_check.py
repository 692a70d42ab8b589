"""A quick proof that a tree is valid against satc's JSON Schema, without jsonschema.

Importing jsonschema (attrs, referencing, rpds, its format checkers) costs more than the
rest of a compile's validation, and almost every compile is of a valid config.  This
module answers "valid?" for the keywords satc's schemas use, with jsonschema's own
semantics and satc's type checker (``validate._validator_class``: ``true`` and ``4.0``
are not integers).  It answers in three ways: ``True`` only where every keyword is
certainly satisfied, ``False`` only where one is certainly violated, and ``None`` where
it cannot tell (a keyword it does not implement, a value that is not plain YAML data).
Only ``True`` is acted on: anything else goes to jsonschema, which finds and words the
errors as before.  ``tests/test_schema_check.py`` compares both on real and mutated
configs, and fails when jsonschema grows a keyword this module does not know.
"""

from __future__ import annotations

import math
import re
from typing import Any

# Keywords jsonschema's Draft 2020-12 validator asserts that are not implemented here:
# a schema using one gets ``None`` (jsonschema decides).
UNSUPPORTED = frozenset(
    {
        "$ref",
        "$dynamicRef",
        "contains",
        "dependentSchemas",
        "format",
        "patternProperties",
        "prefixItems",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_PLAIN = (dict, list, str, int, float, bool, type(None))
Markers = frozenset[str]
_ALL: Markers = frozenset()
# Keywords whose errors jsonschema reports at the sub-schema they descend into (the
# innermost schema is the error's ``schema``); every other keyword's error is the
# schema's own.
_DESCENDING = frozenset({"properties", "additionalProperties", "items", "allOf", "if", "propertyNames"})


def valid(schema: Any, instance: Any, dropped: Markers = _ALL) -> bool | None:
    """``True``: jsonschema would report no error; ``False``: it would report one;
    ``None``: ask jsonschema.  ``dropped``: annotations (``x-satc-computed``) whose
    schema's own errors the caller discards (another check reports that key), so they
    do not count here either; errors inside ``not``, ``anyOf``, ``oneOf`` and an ``if``'s
    condition always count, as they decide the outer verdict."""
    if not _plain(instance):
        return None
    return _check(schema, instance, dropped)


def _plain(value: Any) -> bool:
    """Only YAML's plain data (a tuple or a date is typed differently by jsonschema)."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    if kind is float:
        return math.isfinite(value)  # nan compares unlike any number: leave it to jsonschema
    return kind in _PLAIN


def _both(first: bool | None, second: bool | None) -> bool | None:
    if first is False or second is False:
        return False
    return None if first is None or second is None else True


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_type(value: Any, name: Any) -> bool | None:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return _number(value)
    return None


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: ``true`` is not ``1``, ``1`` is ``1.0``, containers deeply."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(k in two and _equal(v, two[k]) for k, v in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return bool(one == two)


def _type(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list):
        return None
    answers = [_is_type(instance, name) for name in names]
    if any(answer is True for answer in answers):
        return True
    return None if any(answer is None for answer in answers) else False


def _properties(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    if not isinstance(instance, dict):
        return True
    if not isinstance(value, dict):
        return None
    result: bool | None = True
    for name, sub in value.items():
        if name in instance:
            result = _both(result, _check(sub, instance[name], dropped))
            if result is False:
                return False
    return result


def _additional(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    if not isinstance(instance, dict):
        return True
    if "patternProperties" in schema:
        return None
    known = schema.get("properties", {})
    extras = [name for name in instance if name not in known]
    if isinstance(value, dict):
        result: bool | None = True
        for name in extras:
            result = _both(result, _check(value, instance[name], dropped))
            if result is False:
                return False
        return result
    if isinstance(value, bool):
        return value or not extras
    return None


def _required(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    if not isinstance(instance, dict):
        return True
    return all(name in instance for name in value) if isinstance(value, list) else None


def _items(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    if not isinstance(instance, list) or not instance:
        return True
    if value is False:
        return False
    result: bool | None = True
    for item in instance:
        result = _both(result, _check(value, item, dropped))
        if result is False:
            return False
    return result


def _unique(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    if not value or not isinstance(instance, list):
        return True
    if all(isinstance(item, str) for item in instance) or all(_number(item) for item in instance):
        return len(set(instance)) == len(instance)  # 1 and 1.0 hash alike, as they compare
    return None


def _not(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    inner = _check(value, instance, _ALL)
    return None if inner is None else not inner


def _all_of(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    result: bool | None = True
    for sub in value:
        result = _both(result, _check(sub, instance, dropped))
        if result is False:
            return False
    return result


def _any_of(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    answers = [_check(sub, instance, _ALL) for sub in value]
    if any(answer is True for answer in answers):
        return True
    return None if any(answer is None for answer in answers) else False


def _one_of(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    answers = [_check(sub, instance, _ALL) for sub in value]
    if any(answer is None for answer in answers):
        return None
    return answers.count(True) == 1


def _if(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    condition = _check(value, instance, _ALL)
    if condition is None:
        return None
    branch = "then" if condition else "else"
    return _check(schema[branch], instance, dropped) if branch in schema else True


def _property_names(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    if not isinstance(instance, dict):
        return True
    result: bool | None = True
    for name in instance:
        result = _both(result, _check(value, name, dropped))
        if result is False:
            return False
    return result


def _dependent_required(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    if not isinstance(instance, dict):
        return True
    if not isinstance(value, dict):
        return None
    return all(all(d in instance for d in deps) for name, deps in value.items() if name in instance)


def _multiple_of(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    if not _number(instance):
        return True
    if not _number(value) or not value:
        return None
    try:
        if isinstance(value, float):
            quotient = instance / value
            return bool(int(quotient) == quotient)
        return not instance % value
    except (OverflowError, ValueError, ZeroDivisionError):
        return None


def _sized(kind: type, test: Any) -> Any:
    def check(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
        if not isinstance(instance, kind):
            return True
        return bool(test(instance, value)) if _number(value) else None

    return check


def _numeric(test: Any) -> Any:
    def check(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
        if not _number(instance):
            return True
        return bool(test(instance, value)) if _number(value) else None

    return check


def _pattern(value: Any, instance: Any, schema: dict[str, Any], dropped: Markers) -> bool | None:
    if not isinstance(instance, str):
        return True
    try:
        return re.search(value, instance) is not None
    except (re.error, TypeError):
        return None


_KEYWORDS: dict[str, Any] = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "items": _items,
    "uniqueItems": _unique,
    "not": _not,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "if": _if,
    "propertyNames": _property_names,
    "dependentRequired": _dependent_required,
    "multipleOf": _multiple_of,
    "pattern": _pattern,
    "const": lambda value, instance, schema, dropped: _equal(instance, value),
    "enum": lambda value, instance, schema, dropped: any(_equal(each, instance) for each in value),
    # jsonschema's own failure tests, negated
    "minimum": _numeric(lambda a, b: not a < b),
    "maximum": _numeric(lambda a, b: not a > b),
    "exclusiveMinimum": _numeric(lambda a, b: not a <= b),
    "exclusiveMaximum": _numeric(lambda a, b: not a >= b),
    "minLength": _sized(str, lambda a, b: len(a) >= b),
    "maxLength": _sized(str, lambda a, b: len(a) <= b),
    "minItems": _sized(list, lambda a, b: len(a) >= b),
    "maxItems": _sized(list, lambda a, b: len(a) <= b),
    "minProperties": _sized(dict, lambda a, b: len(a) >= b),
    "maxProperties": _sized(dict, lambda a, b: len(a) <= b),
}


def _check(schema: Any, instance: Any, dropped: Markers) -> bool | None:
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, dict):
        return None
    own_dropped = bool(dropped) and not dropped.isdisjoint(schema)
    result: bool | None = True
    for keyword, value in schema.items():
        handler = _KEYWORDS.get(keyword)
        if handler is None:
            if keyword in UNSUPPORTED:
                result = None
            continue  # an annotation (description, x-satc-*): jsonschema ignores it too
        if own_dropped and (keyword not in _DESCENDING or isinstance(value, bool)):
            continue  # its error would be this schema's, which the caller discards
        answer = handler(value, instance, schema, dropped)
        if answer is False:
            return False
        if answer is None:
            result = None
    return result
