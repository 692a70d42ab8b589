"""Sequence parallelism as a SAT whose mpu adds it lays it out (SP1), restated here.

The layout is the one of ``initialize_model_parallel(model_parallel_size_,
sequence_parallel_size_, num_multi_query_heads_)`` in the SAT vendored by
zai-org/SCAIL at commit 563652d864dbb68a306d9cd779c38a95123e36d2, file
sat/mpu/initialize.py (the same layout ships in CriliasMiller/Kaleido's vendored SAT).
It is written out below in our own words from reading that file, never imported or
copied, so a test compares satc's groups to an independent statement of the formula:

* ``mp = min(model_parallel_size, world)``, ``sp = max(sequence_parallel_size, 1)``;
  ``world`` must be a multiple of ``mp * sp``; ``dp = world // (mp * sp)``.
* data-parallel group ``i`` for ``i < mp * sp``: ranks ``i, i + mp*sp, i + 2*mp*sp, ...``.
* model-parallel group ``i``: ranks ``i*mp .. i*mp + mp - 1``.
* for each ``d < dp`` and ``m < mp``: sequence-parallel group ranks
  ``d*sp*mp + m, d*sp*mp + m + mp, ...`` below ``(d + 1)*sp*mp``; data-broadcast group
  ``d``: ranks ``d*sp*mp .. (d + 1)*sp*mp - 1``.
* sequence-data-parallel group ``i < mp`` (when ``sp > 1``): ranks ``i, i + mp, ...``
  below ``world``; at ``sp == 1`` SAT hands out the data-parallel group instead.
* node group: blocks of ``LOCAL_WORLD_SIZE`` consecutive ranks.

Also the compile-side helpers the sequence-parallel tests share: a bundle compiled for
a project whose arguments define ``sequence_parallel_size``, and a minimal stand-in for
such a project's vendored ``sat`` package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import REFERENCE

CITATION = "zai-org/SCAIL@563652d864dbb68a306d9cd779c38a95123e36d2:sat/mpu/initialize.py"


def vendored_layout(
    world: int, model_parallel: int, sequence_parallel: int
) -> dict[int, dict[str, tuple[int, ...]]]:
    """rank -> kind -> members, by enumerating every group the way the vendored SAT does."""
    mp = min(model_parallel, world)
    sp = max(sequence_parallel, 1)
    assert world % (mp * sp) == 0, (world, mp, sp)
    dp = world // (mp * sp)
    groups: dict[str, list[tuple[int, ...]]] = {
        "data_parallel": [tuple(range(i, world, mp * sp)) for i in range(mp * sp)],
        "model_parallel": [tuple(range(i * mp, (i + 1) * mp)) for i in range(world // mp)],
        "sequence_parallel": [
            tuple(range(d * sp * mp + m, (d + 1) * sp * mp, mp)) for d in range(dp) for m in range(mp)
        ],
        "data_broadcast": [tuple(range(d * sp * mp, (d + 1) * sp * mp)) for d in range(dp)],
    }
    groups["sequence_data_parallel"] = (
        [tuple(range(i, world, mp)) for i in range(mp)] if sp > 1 else groups["data_parallel"]
    )
    layout: dict[int, dict[str, tuple[int, ...]]] = {rank: {} for rank in range(world)}
    for kind, members_list in groups.items():
        for members in members_list:
            for rank in members:
                assert kind not in layout[rank], (kind, rank)  # each rank is in one group per kind
                layout[rank][kind] = members
    assert all(len(kinds) == len(groups) for kinds in layout.values())
    return layout


def overlay(directory: Path, *, nodes: int, per_node: int, mp: int, sp: Any, timeout: int = 60) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"overlay-n{nodes}x{per_node}-mp{mp}-sp{sp}.yaml"
    path.write_text(
        "launch:\n  device: cpu\n"
        f"  nodes: {nodes}\n  gpus_per_node: {per_node}\n  init_timeout: {timeout}\n"
        "  master_addr: 127.0.0.1\n"
        f"args:\n  model_parallel_size: {mp}\n  sequence_parallel_size: {sp}\n"
        "  seed: 1234\n  distributed_backend: gloo\n"
        "  sampling_image_size: [480, 720]\n  sampling_num_frames: 13\n"
        + ("" if 30 % mp == 0 else "model:\n  network_config:\n    params:\n      num_attention_heads: 32\n"),
        encoding="utf-8",
    )
    return path


def configs(directory: Path, **topology: Any) -> list[str]:
    return [
        str(REFERENCE / "cogvideox_2b.yaml"),
        str(REFERENCE / "inference.yaml"),
        str(overlay(directory, **topology)),
    ]


def resolve(directory: Path, **topology: Any) -> Any:
    """The plan for CogVideoX's 2B config with args.sequence_parallel_size set.

    The key reaches resolve the way a project that declares it makes it reach (reading
    the project's own arguments is the validator's job, not this rule's): load, then
    resolve, skipping the schema check that knows only CogVideoX's own arguments.
    """
    from satc.compiler.load import load
    from satc.compiler.resolve import resolve as resolve_plan

    return resolve_plan(load(configs(directory, **topology), []))


def compile_bundle(directory: Path, **topology: Any) -> Path:
    """A written bundle for that plan (load -> resolve -> render -> write)."""
    from satc.compiler.load import load
    from satc.compiler.pipeline import relative_to_bundle
    from satc.compiler.render import Provenance, render
    from satc.compiler.resolve import resolve as resolve_plan
    from satc.compiler.write import write_bundle

    out = directory / "bundle"
    config = load(configs(directory, **topology), [])
    names = tuple(relative_to_bundle(item.label, out) for item in config.inputs)
    plan = resolve_plan(config, names)
    provenance = Provenance(
        inputs=tuple(zip(names, (item.sha256 for item in config.inputs), strict=True)), overrides=()
    )
    write_bundle(out, render(plan, provenance, config.tree))
    return out
