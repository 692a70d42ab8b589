"""The few runtime objects jinja2's compiled launch templates call, without jinja2.

tools/compile_templates.py has jinja2 compile each ``templates/*.sh.j2`` to Python
(``templates/<name>_sh.py``), as jinja2 itself would on every run, and points the
generated code's runtime import here.  jinja2's import and its template compiler were a
sixth of a cold compile; rendering the compiled code needs only what is below: strict
undefined names, ``loop.last``, attribute lookup, the ``sh`` filter.  The generator
refuses a template whose code needs anything else (a global, another filter, a runtime
name not defined here), and a compiled module whose template text changed since is not
used (render.py falls back to jinja2), so the two always render the same bytes
(tests/test_compiled_templates.py renders both).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn


def shell_quote(value: Any) -> str:
    """The templates' ``sh`` filter (jinja2's environment in render.py registers it too)."""
    return shlex.quote(str(value))


class _Missing:
    def __repr__(self) -> str:
        return "missing"


missing: Any = _Missing()


class TemplateRuntimeError(RuntimeError):
    """A template asked for what satc's context does not hold: a bug in satc."""


class Undefined:
    """jinja2's StrictUndefined: any use of a name the context lacks raises."""

    def __init__(self, hint: str | None = None, obj: Any = missing, name: str | None = None, exc: Any = None):
        self._name = name

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TemplateRuntimeError(f"{self._name!r} is undefined")

    __str__ = __iter__ = __len__ = __bool__ = __eq__ = __ne__ = __hash__ = __contains__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __lt__ = __le__ = _fail
    __gt__ = __ge__ = __int__ = __float__ = __getitem__ = __call__ = __getattr__ = _fail


def internalcode(function: Callable[..., Any]) -> Callable[..., Any]:
    return function


class LoopContext:
    """``for item, loop in LoopContext(items, undefined)``: ``loop.last`` only (the
    generator refuses templates that read another loop attribute)."""

    def __init__(self, iterable: Iterable[Any], undefined: Any, recurse: Any = None, depth0: int = 0):
        self._items = list(iterable)
        self.last = False

    def __iter__(self) -> Iterator[tuple[Any, LoopContext]]:
        count = len(self._items)
        for index, item in enumerate(self._items):
            self.last = index == count - 1
            yield item, self


class Environment:
    undefined = Undefined
    filters = {"sh": shell_quote}

    @staticmethod
    def concat(parts: Iterable[str]) -> str:
        return "".join(parts)

    @staticmethod
    def getattr(obj: Any, attribute: str) -> Any:
        """jinja2's lookup: the attribute, else the item, else undefined."""
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError):
            return Undefined(obj=obj, name=attribute)


environment = Environment()


class Context:
    def __init__(self, variables: dict[str, Any]):
        self._variables = variables

    def resolve_or_missing(self, key: str) -> Any:
        return self._variables.get(key, missing)

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)


def render(root: Callable[[Context], Iterable[str]], variables: dict[str, Any]) -> str:
    """What jinja2's ``Template.render(**variables)`` returns, from the template's compiled
    ``root`` function."""
    return environment.concat(root(Context(dict(variables))))
