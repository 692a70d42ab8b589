import os
import sys
from pathlib import Path

from hypothesis import settings

# Tests import their helpers as `support` whatever the import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

# In CI the property tests run a fixed, reproducible set of examples: a landing must not
# depend on the draw. Locally they explore afresh on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
