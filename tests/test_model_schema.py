"""schemas/models.json is generated from the real code, covers every official target, and
the editor schema (`satc schema`) errors exactly where `satc compile` does."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from satc.compiler import resources
from satc.compiler.load import load
from support import ROOT, cogvideo_sat, require_module, satc


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("model_schema", ROOT / "tools" / "model_schema.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["model_schema"] = module
    spec.loader.exec_module(module)
    return module


def test_regenerating_from_the_reference_code_changes_nothing() -> None:
    require_module("sat")
    require_module("torch")
    committed = (ROOT / "schemas" / "models.json").read_text(encoding="utf-8")
    assert _generator().text(cogvideo_sat()) == committed, "run: make model-schema"


def _targets(node: Any) -> set[str]:
    if isinstance(node, dict):
        here = {node["target"]} if isinstance(node.get("target"), str) else set()
        return here.union(*(_targets(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_targets(v) for v in node))
    return set()


def test_every_target_of_the_official_configs_is_known() -> None:
    models = resources.models()
    named: set[str] = set()
    for path in sorted((cogvideo_sat() / "configs").glob("*.yaml")):
        named |= _targets(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert len(named) > 20
    assert named <= set(models["targets"]), named - set(models["targets"])
    assert sorted(named) == models["official_targets"]


def test_kwargs_are_followed_to_the_class_that_takes_them() -> None:
    params = resources.models()["targets"]["dit_video_concat.DiffusionTransformer"]["params"]
    assert (
        params["num_layers"]["required"]
        and params["num_layers"]["from"] == "dit_video_concat.DiffusionTransformer"
    )
    # DiffusionTransformer(**kwargs) -> SAT BaseModel(**kwargs) -> BaseTransformer(**kwargs)
    assert params["params_dtype"]["from"] == "sat.model.base_model.BaseModel"
    assert params["init_method_std"]["from"] == "sat.model.transformer.BaseTransformer"
    assert params["init_method_std"]["default"] == 0.02
    # BaseModel passes these itself (ARGS_DEFAULT, hooks), DiffusionTransformer sets layernorm:
    # giving them again would be a TypeError, so they are not parameters.
    assert not {"hooks", "hidden_dropout", "layernorm", "num_attention_heads_"} & set(params)
    lora = resources.models()["targets"]["sat.model.finetune.lora2.LoraMixin"]["params"]
    assert lora["r"] == {
        "default": 0,
        "from": "sat.model.finetune.lora2.LoraMixin",
        "required": False,
        "source": lora["r"]["source"],
    }
    sft = resources.models()["targets"]["data_video.SFTDataset"]["params"]
    assert sorted(sft) == ["fps", "max_num_frames", "skip_frms_num", "video_size"]  # data_dir is the path


def _editor_errors(files: list[Path]) -> set[str]:
    config = load([str(f) for f in files], [])
    schema = json.loads(resources.editor_schema_text())
    found = set()
    for error in Draft202012Validator(schema).iter_errors(config.tree):
        path = list(error.absolute_path)
        if path[:1] not in (["model"], ["data"]):
            continue
        if error.validator == "additionalProperties":
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            found |= {".".join(map(str, [*path, k])) for k in extra}
        elif error.validator in ("required", "anyOf"):
            found.add(".".join(map(str, path)))
    return found


def _compile_errors(files: list[Path], tmp_path: Path) -> set[str]:
    result = satc("compile", *map(str, files), "-o", str(tmp_path / "out"))
    keys = set()
    for line in result.stderr.splitlines():
        if ": error: " in line and any(f"[{rule}]" in line for rule in ("M1", "M3", "M6", "M8")):
            key = line.split(": error: ", 1)[1].split(": ", 1)[0]
            keys.add(key.replace("[", ".").replace("]", ""))
    return keys


STRUCTURAL = {
    "unknown-network-param": "model:\n  network_config:\n    params:\n      num_layer: 12\n",
    "unknown-data-param": "data:\n  params:\n    video_sise: [480, 720]\n",
    "missing-required": "model:\n  network_config:\n    params:\n      modules:\n        pos_embed_config:\n"
    "          target: dit_video_concat.Rotary3DPositionEmbeddingMixin\n",
    "transformer-args-typo": "model:\n  network_config:\n    params:\n      transformer_args:\n"
    "        checkpoint_activation: true\n",
    "conditioner-item-typo": "model:\n  conditioner_config:\n    params:\n      emb_models:\n"
    "        - {target: sgm.modules.encoders.modules.FrozenT5Embedder, input_key: txt, ucg_rat: 0.1,"
    " params: {model_dir: t5, max_length: 226}}\n",
    "param-type": "model:\n  network_config:\n    params:\n      modules:\n        adaln_layer_config:\n"
    "          params:\n            qk_ln: maybe\n",
    "warnings-only": "model:\n  latent_imput: true\n  first_stage_config:\n    params:\n      encoder_config:\n"
    "        params:\n          z_chanels: 16\n",
    "official": "",
}


@pytest.mark.parametrize("name", sorted(STRUCTURAL))
def test_schema_and_compile_agree(name: str, tmp_path: Path) -> None:
    configs = cogvideo_sat() / "configs"
    layer = tmp_path / "layer.yaml"
    layer.write_text(STRUCTURAL[name] or "{}\n", encoding="utf-8")
    files = [configs / "cogvideox_2b.yaml", configs / "sft.yaml", layer]
    from_compile = _compile_errors(files, tmp_path)
    assert _editor_errors(files) == from_compile
    assert bool(from_compile) == (name not in ("warnings-only", "official"))


@pytest.mark.parametrize(
    "model", ["cogvideox_2b_lora.yaml", "cogvideox_5b_i2v_lora.yaml", "cogvideox1.5_5b.yaml"]
)
def test_the_editor_schema_accepts_every_official_model(model: str) -> None:
    configs = cogvideo_sat() / "configs"
    assert _editor_errors([configs / model, configs / "sft.yaml"]) == set()


def test_the_editor_schema_is_a_valid_json_schema() -> None:
    schema = json.loads(resources.editor_schema_text())
    Draft202012Validator.check_schema(schema)
    params = schema["$defs"]["satc-target-node"]["allOf"]
    lora = next(
        b for b in params if b["if"]["properties"]["target"]["const"] == "sat.model.finetune.lora2.LoraMixin"
    )
    assert lora["then"]["properties"]["params"]["additionalProperties"] is False
    assert "layer_num" not in lora["then"]["properties"]["params"].get(
        "required", []
    )  # DiffusionTransformer passes it
