"""The bundle's copies of the input configs, for a project whose code reopens ``args.base``
file by file (compiler/project/layers.py says which projects do).

Each input is kept, in order, as ``base.<n>.yaml`` (its values, canonical YAML), and the
``--set`` overrides as one last file: merged left to right they are ``config.yaml``.  The
runtime hands their absolute paths as ``args.base``, so ``args.log_config[1]`` is the
second input, as with the project's own ``--base a.yaml b.yaml``.  A project that does not
index ``args.base`` keeps the one merged file.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError, Problem
from .load import LoadedConfig, merge_layers, read_input, read_override
from .project import select
from .render import config_yaml


def layer_name(index: int) -> str:
    return f"base.{index}.yaml"


def layer_files(config: LoadedConfig) -> list[tuple[str, str]]:
    """[(file name, text)] in args.base order; [] when the project needs the merged file only."""
    if not select.for_config(config).get_args.base_layers:
        return []
    texts: list[Any] = []
    for rank, item in enumerate(config.inputs):
        read, document = read_input(item.label, rank)
        if read.sha256 != item.sha256:  # changed while satc compiled it
            raise ConfigError(
                [Problem(None, "", f"{item.label}: changed while satc compiled it", hint="compile again")]
            )
        texts.append(document.data)
    if config.overrides:
        merged, _ = merge_layers([read_override(o) for o in config.overrides])
        texts.append(merged)
    return [(layer_name(n), config_yaml(data)) for n, data in enumerate(texts, 1)]
