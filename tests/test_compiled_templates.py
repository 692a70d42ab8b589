"""The launch templates' precompiled code (templates/*_sh.py) is jinja2's own compilation
of the current templates, and renders the same bytes as jinja2 does, on every target."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
from satc.compiler import render, template_runtime
from satc.compiler.pipeline import compile_bundle
from support import REFERENCE, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import compile_templates  # noqa: E402

TEMPLATES = compile_templates.templates()


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_the_shipped_code_is_jinja2s_compilation_of_the_template(path: Path) -> None:
    shipped = ROOT / "templates" / f"{compile_templates.module_name(path.name)}.py"
    assert shipped.read_text("utf-8") == compile_templates.compiled_source(
        path.name, path.read_text("utf-8")
    ), "a template changed: run python tools/compile_templates.py"


LAUNCHES = {
    "torchrun, one node": [],
    "torchrun, two nodes": [
        "launch.nodes=2",
        "launch.master_addr=node0",
        "launch.master_port=29500",
        "launch.env.NCCL_DEBUG=INFO",
        "launch.env_passthrough=[WANDB_API_KEY]",
    ],
    "deepspeed, two hosts": [
        "launch.target=deepspeed",
        "launch.nodes=2",
        "launch.hosts=[a, b]",
        "launch.master_addr=a",
        "launch.master_port=29500",
    ],
    "slurm": [
        "launch.target=slurm",
        "launch.nodes=2",
        "launch.slurm.partition=gpu",
        "launch.slurm.output=logs/%x-%j.out",
        "launch.slurm.resume_signal_s=120",
    ],
}


@pytest.mark.parametrize("overrides", LAUNCHES.values(), ids=list(LAUNCHES))
def test_the_compiled_code_renders_what_jinja2_renders(
    overrides: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seen: list[tuple[str, dict[str, Any], str]] = []
    original = render._rendered

    def recorded(name: str, context: dict[str, Any]) -> str:
        text = original(name, context)
        seen.append((name, context, text))
        return text

    monkeypatch.setattr(render, "_rendered", recorded)
    configs = [str(REFERENCE / "cogvideox_5b_lora.yaml"), str(REFERENCE / "sft.yaml")]
    bundle = compile_bundle(configs, overrides, tmp_path / "out")
    names = [name for name, _, _ in seen]
    assert names == [render.COMMON_TEMPLATE, render.LAUNCH_TEMPLATES[bundle.plan.launch["target"]]]
    for name, context, text in seen:
        assert render._compiled(name, render.resources.template_text(name)) is not None
        assert text == render._template(name).render(**context)  # jinja2 itself
    assert bundle.files["launch.sh"] == seen[-1][2]


def test_an_edited_template_is_rendered_by_jinja2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATC_CACHE_DIR", str(tmp_path))
    name = render.COMMON_TEMPLATE
    edited = render.resources.template_text(name) + "# {{ stop_grace }} more\n"
    assert render._compiled(name, edited) is None
    monkeypatch.setattr(render.resources, "template_text", lambda _: edited)
    render._template.cache_clear()
    try:
        assert render._rendered(name, {"stop_grace": 7}).endswith("# 7 more\n")
    finally:
        render._template.cache_clear()


def test_an_undefined_name_fails_as_under_jinja2s_strict_undefined() -> None:
    module = importlib.import_module("satc.templates.launch_common_sh")
    with pytest.raises(template_runtime.TemplateRuntimeError, match="stop_grace"):
        template_runtime.render(module.root, {})
