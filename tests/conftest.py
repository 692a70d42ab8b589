import sys
from pathlib import Path

# Tests import their helpers as `support` whatever the import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))
