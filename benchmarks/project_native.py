"""A SAT-derived project's own way to read its configs, timed by bench_project.py.

    python benchmarks/project_native.py TREE CONFIG...   (MASTER_ADDR/MASTER_PORT set)

What every process of the project pays before it can start: from its entrypoint folder
TREE, import the project's own ``arguments.py`` (with the SAT it imports: a vendored one
wins, as ``pip install -e`` of it would), and call its ``get_args(["--base", CONFIG...])``
-- SAT, DeepSpeed and torch imports, the parse, ``process_config_to_args`` and the real
``initialize_distributed`` (gloo, a world of one).  Nothing is neutralised except the
backend, since no GPU is assumed; the vendored SAT's logging package is stood in for
when the environment lacks it, as tests/reference/project_get_args.py does.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "tests" / "reference" / "project_get_args.py"


def harness():
    """The reference harness, loaded by path: its folder stays off sys.path."""
    spec = importlib.util.spec_from_file_location("project_get_args", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(tree: Path, configs: list[str]) -> None:
    reference = harness()
    os.chdir(tree)
    sat_home = reference.vendored_sat(tree)
    sys.path[:0] = [str(tree), *([str(sat_home)] if sat_home else [])]
    reference._stub_missing_logging_package()
    import arguments

    args = arguments.get_args(["--base", *configs, "--distributed-backend", "gloo"])
    print(f"project get_args: mode={args.mode} world_size={args.world_size}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), sys.argv[2:])
