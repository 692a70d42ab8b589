import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Tests import their helpers as `support` whatever the import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import support  # noqa: E402 - found through the path above
from slow_first import slowest_files_first  # noqa: E402 - found through the path above

# In CI the property tests run a fixed, reproducible set of examples: a landing must not
# depend on the draw. Locally they explore afresh on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """One line naming what was skipped and why, after pytest's own summary: a fresh
    clone without CogVideoX's sat/ folder skips every model-rule and CogVideoX test."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return
    total = sum(reasons.values())
    parts = [f"{reason} ({count})" for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1])]
    terminalreporter.write_line(f"satc: {total} test(s) skipped: " + "; ".join(parts))


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Slowest files first, so parallel workers finish together (tests/slow_first.py)."""
    slowest_files_first(items)


@pytest.fixture(autouse=True)
def _slurm_turn():  # type: ignore[no-untyped-def]
    """A test that took the SLURM node's turn (support.slurm_node) gives it back when it ends."""
    yield
    support.release_slurm_node()
