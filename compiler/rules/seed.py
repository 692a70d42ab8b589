"""D5: the seed is frozen at compile time."""

from __future__ import annotations

from ..plan import Derivation
from .work import Work


def d5_seed(work: Work) -> None:
    """D5: the seed is frozen at compile time (R14 adds the data-parallel rank at run time)."""
    source = "from the config" if work.given("args", "seed") else "SAT's default"
    work.derivations.append(
        Derivation(
            "args.seed",
            "D5",
            f"frozen at compile time ({source}); each rank adds its data-parallel rank (R14)",
            ("args.seed",),
        )
    )
