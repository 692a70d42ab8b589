"""satc: SwissArmyTransformer configs compiled into reproducible launch bundles."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Subpackages reachable as attributes after a bare `import satc` (`satc.runtime.init()`),
# imported on first use: `import satc` itself stays as light as the compile path needs.
_LAZY = ("compiler", "runtime")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
