"""Compile small configs in-process, for rule tests that need many quick compiles."""

from __future__ import annotations

from pathlib import Path

from satc.compiler.errors import ConfigError
from satc.compiler.pipeline import Bundle, compile_bundle


def write_configs(tmp_path: Path, layers: dict[str, str]) -> list[str]:
    paths = []
    for name, text in layers.items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(str(path))
    return paths


def compile_layers(
    tmp_path: Path, *texts: str, overrides: tuple[str, ...] = (), strict: bool = False
) -> Bundle:
    paths = write_configs(tmp_path, {f"layer{i}.yaml": text for i, text in enumerate(texts)})
    return compile_bundle(paths, list(overrides), tmp_path / "bundle", strict=strict)


def problems(tmp_path: Path, *texts: str, overrides: tuple[str, ...] = ()) -> str:
    try:
        compile_layers(tmp_path, *texts, overrides=overrides)
    except ConfigError as exc:
        return "\n".join(p.render() for p in exc.problems)
    raise AssertionError("expected a ConfigError")
