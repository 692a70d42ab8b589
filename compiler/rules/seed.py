"""D5: the seed is frozen at compile time, and usable by every rank."""

from __future__ import annotations

from ..plan import Derivation
from .work import Work

# numpy.random.seed accepts 0..2**32-1; SAT seeds python, numpy and torch with it.
SEED_LIMIT = 2**32 - 1


def d5_seed(work: Work) -> None:
    """D5: the seed is frozen at compile time (R14 adds the data-parallel rank at run time).

    So the frozen seed must leave room for every rank: seed + (dp - 1) <= 2**32 - 1,
    else the last data-parallel rank fails inside numpy while rank 0 starts training;
    and it must be at least 1: SAT's set_random_seed asserts seed > 0 on every rank."""
    seed = work.args.get("seed")
    dp = work.topology.get("data_parallel_size", 1)
    top = SEED_LIMIT - (dp - 1)
    if isinstance(seed, int) and not isinstance(seed, bool) and not 1 <= seed <= top:
        work.error(
            "args.seed",
            f"seed {seed} is outside 1..{top}: SAT's set_random_seed asserts seed > 0, and each "
            f"of the {dp} data-parallel rank(s) seeds numpy with seed + its rank (R14), which "
            f"takes at most {SEED_LIMIT}",
            f"choose a seed from 1 to {top}",
        )
        return
    source = "from the config" if work.given("args", "seed") else "SAT's default"
    work.derivations.append(
        Derivation(
            "args.seed",
            "D5",
            f"frozen at compile time ({source}); each rank adds its data-parallel rank (R14)",
            ("args.seed",),
        )
    )
