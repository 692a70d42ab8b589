"""Start the slowest test files first.

ci/test.sh gives xdist whole files (--dist loadfile) in collection order
(--no-loadscope-reorder).  xdist's own default orders files by how many tests they hold,
which started the two slowest files (6 and 5 tests, minutes each) among the last thirty:
they ran on after the other workers had emptied the queue, and bounded the wall time.
Longest first is the classic longest-processing-time rule: the long files overlap each
other and the many short ones fill the gaps at the end.

SECONDS: wall seconds per file in the CI run of 2026-12-05 (1580 s in all; per-test
times from pytest --durations, summed per file).  test_optimizer_config.py's and
test_plan_cli.py's are estimates without DeepSpeed's op builds, which ci/test.sh now does
before pytest.  Only the order depends on them: a file missing here, or a stale number,
changes when a file starts, never what runs.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

SECONDS = {
    # the SLURM resume tests left test_resume_sat.py for a file of their own: estimates
    "test_resume_sat.py": 420,
    "test_resume_slurm.py": 380,
    "test_cogvideox_entrypoints.py": 316,
    "test_plan_cli.py": 230,
    "test_runtime_ranks.py": 200,
    "test_optimizer_config.py": 180,
    "test_runtime_failures.py": 108,
    "test_runtime_groups.py": 98,
    "test_launch_engines.py": 71,
    "test_atomic_write.py": 67,
    "test_runtime_launchers.py": 61,
}


def slowest_files_first(items: list[Any]) -> None:
    """Reorder ``items`` in place: known-slow files by their seconds, then the rest by
    their number of tests (xdist's own order).  The sort is stable and keyed per file, so
    each file's tests stay together and in their order (module fixtures are set up once)."""
    tests_in = Counter(item.path.name for item in items)
    items.sort(key=lambda item: (-SECONDS.get(item.path.name, 0), -tests_in[item.path.name]))
