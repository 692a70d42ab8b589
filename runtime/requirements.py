"""What init() imports, checked before anything else runs: a missing package is one line
naming what to install, not a ModuleNotFoundError traceback -- and DeepSpeed's absence
shows before the rendezvous, not after every peer waited for this rank."""

from __future__ import annotations

import importlib
import importlib.util

from .errors import RuntimeConfigError

# import name -> the distribution that provides it
_DISTRIBUTIONS = {"torch": "torch", "deepspeed": "deepspeed", "sat": "SwissArmyTransformer"}
INSTALL_HINT = "pip install 'satc[runtime]' (torch, deepspeed, SwissArmyTransformer and what they import)"


def require_runtime_modules(deepspeed: bool) -> None:
    """Import torch and SAT (and DeepSpeed when the bundle trains with it); raise a
    RuntimeConfigError naming each package that is missing and who needs it."""
    wanted = ["torch", "sat"] + (["deepspeed"] if deepspeed else [])
    # First without importing anything (`import sat` alone takes seconds), then by
    # importing: a package can be there and lack one of its own dependencies.
    missing = [_DISTRIBUTIONS[module] for module in wanted if not _findable(module)]
    if not missing:
        for module in wanted:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                name = (exc.name or "").split(".")[0] or "?"
                what = _DISTRIBUTIONS.get(name, name)
                missing.append(what if name == module else f"{what} (imported by {_DISTRIBUTIONS[module]})")
    if missing:
        unique = list(dict.fromkeys(missing))
        raise RuntimeConfigError(
            f"this Python ({_executable()}) lacks {', '.join(unique)}, which satc.runtime needs "
            f"to start the bundle; install it: {INSTALL_HINT}"
        )


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-imported package
        return False


def _executable() -> str:
    import sys

    return sys.executable or "python"
