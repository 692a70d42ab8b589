"""The project reader reads each real tree the way its own code behaves: the argument surface
equals the parser the project's own ``get_args`` builds (SAT and DeepSpeed imported for
real), sections, get_args rules, targets and engine match the code, and a copy of a tree
changed by hand is read without any change to satc."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from satc.compiler.project import find_root, read_project, sources
from satc.compiler.project.facts import Project
from support import ROOT, cogvideo_sat, require, require_module


def forks() -> Path:
    path = cogvideo_sat().parent / "forks"
    require((path / "Tora" / "sat" / "arguments.py").is_file(), f"{path}: the forks' reference trees")
    return path


def trees() -> dict[str, Path]:
    return {
        "cogvideo-sat": cogvideo_sat(),
        "Tora": forks() / "Tora" / "sat",
        "CogView3": forks() / "CogView3" / "sat",
    }


TREES = ["cogvideo-sat", "Tora", "CogView3"]


def _targets_in(node: Any) -> set[str]:
    if isinstance(node, dict):
        here = {node["target"]} if isinstance(node.get("target"), str) else set()
        return here.union(*(_targets_in(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_targets_in(v) for v in node))
    return set()


def config_targets(root: Path) -> set[str]:
    found: set[str] = set()
    for path in sorted((root / "configs").rglob("*.yaml")):
        found |= _targets_in(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATC_CACHE_DIR", str(tmp_path / "cache"))


# Builds the parser the project's own get_args builds: its arguments.py imported with the
# SAT it imports (a vendored one first on sys.path), get_args called with a parser whose
# parse_args stops the run and hands the parser back.
PROBE = r"""
import argparse, json, sys
root, vendored = sys.argv[1], sys.argv[2]
sys.path[:0] = [p for p in (vendored, root) if p]
import importlib.util, logging.handlers, types
if importlib.util.find_spec("concurrent_log_handler") is None:
    # Tora's vendored SAT logs through this package at import; it plays no part in parsing
    stub = types.ModuleType("concurrent_log_handler")
    stub.ConcurrentRotatingFileHandler = logging.handlers.RotatingFileHandler
    sys.modules["concurrent_log_handler"] = stub
import sat
if vendored:
    assert sat.__file__.startswith(vendored), sat.__file__
import arguments

class Stop(Exception):
    pass

class Parser(argparse.ArgumentParser):
    def parse_args(self, *a, **k):
        raise Stop()

parser = Parser(description="sat")
try:
    arguments.get_args([], parser=parser)
except Stop:
    pass
names = {
    "_StoreAction": "store", "_StoreTrueAction": "store_true", "_StoreFalseAction": "store_false",
    "_StoreConstAction": "store_const", "_AppendAction": "append", "_CountAction": "count",
}
out = {}
for action in parser._actions:
    if action.dest == "help":
        continue
    t = action.type
    out[action.dest] = {
        "flags": list(action.option_strings),
        "action": names.get(type(action).__name__, "other"),
        "type": None if t is None else (t.__name__ if t in (int, float, str, bool, list) else "expr"),
        "nargs": action.nargs,
        "default": repr(action.default),
        "const": repr(action.const),
        "choices": None if action.choices is None else [repr(c) for c in action.choices],
    }
for dest, value in parser._defaults.items():
    out.setdefault(dest, {"default": repr(value)})
print(json.dumps(out))
"""


def real_surface(root: Path, vendored: Path | None) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(root), str(vendored or "")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def static_surface(project: Project) -> dict[str, Any]:
    out = {}
    for dest, a in project.arguments.items():
        out[dest] = {
            "flags": list(a.flags),
            "action": a.action,
            "type": a.type if a.type is None or not a.type.startswith("expr:") else "expr",
            "nargs": a.nargs,
            "default": repr(a.default),
            "const": repr(a.const),
            "choices": None if a.choices is None else [repr(c) for c in a.choices],
        }
    return out


@pytest.mark.parametrize("name", TREES)
def test_the_argument_surface_is_the_parser_the_project_builds(name: str) -> None:
    require_module("sat")
    require_module("deepspeed")
    root = trees()[name]
    project = read_project(root, [])
    vendored = None
    if project.sat.where == "vendored":
        vendored = (root / project.sat.path).resolve().parent
    real = real_surface(root, vendored)
    static = static_surface(project)
    assert sorted(static) == sorted(real)
    for dest in real:
        assert static[dest] == real[dest], dest
    assert project.get_args.unsupported == ()


def test_forks_own_arguments_appear_with_their_sources() -> None:
    base = read_project(cogvideo_sat(), [])
    tora = read_project(trees()["Tora"], [])
    cogview = read_project(trees()["CogView3"], [])
    added = set(tora.arguments) - set(base.arguments)
    assert added == {
        "no_flow_injection",
        "flow_path",
        "flow_from_prompt",
        "point_path",
        "vis_traj_features",
        "img_dir",
        "num_samples_per_prompt",
        "sample_flow",
        "do_fuse_object_features",
        "use_raft",
    }
    text = (trees()["Tora"] / "arguments.py").read_text(encoding="utf-8").splitlines()
    for dest in added:
        label, line = tora.arguments[dest].source.split(":")
        assert label == "arguments.py"
        assert dest in text[int(line) - 1].replace("-", "_") or dest in text[int(line)].replace("-", "_")
    assert tora.arguments["flow_from_prompt"].default == "cli"
    assert tora.arguments["point_path"].nargs == "+"
    assert tora.arguments["sample_flow"].group == "train_extra"
    assert "sampling_image_size" not in tora.arguments
    assert cogview.arguments["sampling_image_size"].type == "int"
    assert cogview.arguments["multiaspect_shapes"].nargs == "+"
    assert cogview.arguments["multiaspect_shapes"].group == "additional"
    # SAT's arguments come from the SAT each project imports: Tora's vendored copy
    assert tora.arguments["lr"].source.startswith("../modules/SwissArmyTransformer/sat/arguments.py:")
    assert base.arguments["lr"].source.startswith("sat/arguments.py:")
    assert base.arguments["deepspeed_config"].source.startswith("deepspeed/__init__.py:")


@pytest.mark.parametrize("name", TREES)
def test_sections_are_what_process_config_to_args_does(name: str) -> None:
    project = read_project(trees()[name], [])
    sections = {n: (s.kind, s.dest, s.converts) for n, s in project.sections.items()}
    assert sections == {
        "args": ("namespace", None, "object"),
        "model": ("attribute", "model_config", "omegaconf"),
        "deepspeed": ("attribute", "deepspeed_config", "object"),
        "data": ("attribute", "data_config", "omegaconf"),
    }
    assert project.get_args.args_assignment == "hasattr"
    assert project.sections["model"].source.startswith("arguments.py:")


def test_get_args_rules_differ_per_tree() -> None:
    facts = {name: read_project(root, []).get_args for name, root in trees().items()}
    assert facts["cogvideo-sat"].seed_rule == "data_parallel_rank"
    assert facts["Tora"].seed_rule == "data_parallel_rank_unless_inference"
    assert facts["CogView3"].seed_rule == "global_rank"
    assert facts["cogvideo-sat"].model_parallel == "model_parallel_size"
    assert facts["Tora"].model_parallel == "model_parallel_size"
    assert facts["CogView3"].model_parallel == "fixed:1"
    assert facts["cogvideo-sat"].context_parallel == "cogvideox"
    assert facts["Tora"].context_parallel == "cogvideox"
    assert facts["CogView3"].context_parallel == "none"
    assert facts["cogvideo-sat"].mpu_call == ("args.model_parallel_size",)
    assert facts["CogView3"].mpu_call == ("1",)
    for fact in facts.values():
        assert fact.second_stack is None
        assert dict(fact.injects_model_config) == {}
        assert fact.source.startswith("arguments.py:")


def test_sat_per_tree() -> None:
    cog = read_project(cogvideo_sat(), [])
    tora = read_project(trees()["Tora"], [])
    assert tora.sat.where == "vendored"
    assert tora.sat.path == "../modules/SwissArmyTransformer/sat"
    assert cog.sat.where in ("installed", "snapshot")
    for project in (cog, tora):
        assert project.sat.mpu_dimensions == ("model", "data")
        assert project.sat.mpu_parameters == ("model_parallel_size_",)


def test_cogvideox_targets_match_the_generated_models_json() -> None:
    require_module("torch")
    models = json.loads((ROOT / "schemas" / "models.json").read_text(encoding="utf-8"))
    project = read_project(cogvideo_sat(), models["official_targets"], siblings=True)
    for dotted, entry in models["targets"].items():
        described = dict(project.targets[dotted])
        described.pop("uses", None)
        assert described == entry, dotted
    assert project.engine == models["engine"]
    uses = project.targets["dit_video_concat.DiffusionTransformer"]["uses"]
    assert uses["patch_size"] == {"indexed": "dit_video_concat.py:695"}


@pytest.mark.parametrize("name", ["Tora", "CogView3"])
def test_forks_own_classes_resolve(name: str) -> None:
    root = trees()[name]
    named = config_targets(root)
    project = read_project(root, named)
    assert named <= set(project.targets), named - set(project.targets)
    engines = {"Tora": "diffusion_video.SATVideoDiffusionEngine", "CogView3": "diffusion.SATDiffusionEngine"}
    assert project.engine is not None and project.engine["target"] == engines[name]
    assert "network_config" in project.engine["keys"]


def test_tora_model_classes_are_tora_s_own() -> None:
    root = trees()["Tora"]
    project = read_project(root, config_targets(root))
    dit = project.targets["dit_video_concat.DiffusionTransformer"]
    assert dit["source"].startswith("dit_video_concat.py:")
    cog = read_project(cogvideo_sat(), ["dit_video_concat.DiffusionTransformer"])
    assert set(dit["params"]) != set(cog.targets["dit_video_concat.DiffusionTransformer"]["params"])


# --- cache -----------------------------------------------------------------------------


def test_a_second_read_parses_nothing(tmp_path: Path) -> None:
    root = cogvideo_sat()
    first = read_project(root, ["dit_video_concat.DiffusionTransformer"])
    before = sources.parse_count()
    second = read_project(root, ["dit_video_concat.DiffusionTransformer"])
    assert sources.parse_count() == before
    assert second == first
    # a target not described yet is added without reading the whole tree again
    third = read_project(root, ["dit_video_concat.DiffusionTransformer", "sgm.modules.GeneralConditioner"])
    assert "sgm.modules.GeneralConditioner" in third.targets
    assert sources.parse_count() - before < 5
    assert third.arguments == first.arguments


def _copy(tree: Path, tmp_path: Path) -> Path:
    target = tmp_path / "project" / "sat"
    shutil.copytree(tree, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def test_a_changed_file_invalidates_the_cache(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    before = read_project(root, [])
    assert "my_flag" not in before.arguments
    path = root / "arguments.py"
    text = path.read_text(encoding="utf-8")
    anchor = '    group.add_argument("--image2video", action="store_true")\n'
    assert anchor in text
    path.write_text(
        text.replace(anchor, anchor + '    group.add_argument("--my-flag", type=int, default=3)\n')
    )
    after = read_project(root, [])
    assert after.arguments["my_flag"].default == 3
    assert after.arguments["my_flag"].type == "int"
    assert dict(after.files)["arguments.py"] != dict(before.files)["arguments.py"]


def test_an_edit_to_an_imported_module_that_led_to_no_finding_invalidates_the_cache(tmp_path: Path) -> None:
    """The reader scans the modules an entry script imports for reads of args.base's files
    by position; one that holds none gave no fact, but an edit there can add one."""
    root = _copy(cogvideo_sat(), tmp_path)
    (root / "helpers").mkdir()
    (root / "helpers" / "__init__.py").write_text("")
    module = root / "helpers" / "resume.py"
    module.write_text("def resume_iteration(args):\n    return None\n")
    script = root / "train_video.py"
    text = script.read_text(encoding="utf-8")
    assert "from arguments import get_args\n" in text
    script.write_text(
        text.replace(
            "from arguments import get_args\n",
            "from arguments import get_args\nfrom helpers.resume import resume_iteration\n",
            1,
        )
    )
    assert read_project(root, []).get_args.base_layers is None
    module.write_text(
        "def resume_iteration(args):\n    return args.log_config[1]['args']['specific_iteration']\n"
    )
    layers = read_project(root, []).get_args.base_layers
    assert layers is not None
    assert layers["args_keys"] == {"specific_iteration": "helpers/resume.py:2"}


def test_a_new_module_beside_the_entrypoints_is_seen(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    assert "my_models.Net" not in read_project(root, ["my_models.Net"]).targets
    (root / "my_models.py").write_text("class Net:\n    def __init__(self, depth, width=4):\n        pass\n")
    entry = read_project(root, ["my_models.Net"]).targets["my_models.Net"]
    assert entry["params"]["depth"]["required"] is True
    assert entry["params"]["width"]["default"] == 4


def test_an_unwritable_cache_directory_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SATC_CACHE_DIR", str(blocker / "cache"))
    project = read_project(cogvideo_sat(), ["dit_video_concat.DiffusionTransformer"])
    assert "dit_video_concat.DiffusionTransformer" in project.targets
    before = sources.parse_count()
    read_project(cogvideo_sat(), [])
    assert sources.parse_count() > before  # nothing cached, read again


# --- a project changed by hand ---------------------------------------------------------


def test_a_mutated_copy_is_read_without_any_change_to_satc(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    arguments = root / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    text = text.replace(
        '    group.add_argument("--image2video", action="store_true")\n',
        '    group.add_argument("--image2video", action="store_true")\n'
        '    group.add_argument("--sequence-parallel-size", type=int, default=1, choices=[1, 2, 4])\n',
    )
    text = text.replace(
        '    if "data" in config:\n',
        '    if "lora" in config:\n'
        '        args.lora_config = OmegaConf.to_object(config.pop("lora"))\n'
        '    if "data" in config:\n',
    )
    text = text.replace(
        "    initialize_distributed(args)\n",
        "    args.model_config.network_config.params.sp_size = args.sequence_parallel_size\n"
        "    args.exotic = args.lr * 2\n"
        "    if args.image2video:\n"
        "        args.fp16 = False\n"
        "    initialize_distributed(args)\n",
    )
    arguments.write_text(text, encoding="utf-8")
    dit = root / "dit_video_concat.py"
    code = dit.read_text(encoding="utf-8")
    code = code.replace(
        "        ofs_embed_dim=None,\n        **kwargs,\n",
        "        ofs_embed_dim=None,\n        my_gate=0.5,\n        **kwargs,\n",
    )
    dit.write_text(code, encoding="utf-8")

    project = read_project(root, ["dit_video_concat.DiffusionTransformer"])
    sp = project.arguments["sequence_parallel_size"]
    assert (sp.type, sp.default, sp.choices, sp.group) == ("int", 1, (1, 2, 4), "sampling")
    assert project.sections["lora"].dest == "lora_config"
    assert project.sections["lora"].converts == "object"
    injected = project.get_args.injects_model_config["network_config.params.sp_size"]
    assert injected["from"] == "args.sequence_parallel_size"
    # its own rules: a new attribute, and a reproduced one decided on something else
    assert [u.split(": ", 1)[1] for u in project.get_args.unsupported] == [
        "args.exotic = args.lr * 2",
        "args.fp16 = False",
    ]
    assert project.get_args.unsupported[0].startswith("arguments.py:")
    params = project.targets["dit_video_concat.DiffusionTransformer"]["params"]
    assert params["my_gate"]["default"] == 0.5


def test_an_integer_patch_size_is_indexed_only_where_the_code_indexes_it(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    dit = root / "dit_video_concat.py"
    code = dit.read_text(encoding="utf-8")
    indexed = "reduce(mul, patch_size[1:])"
    assert indexed in code
    before = read_project(root, ["dit_video_concat.DiffusionTransformer"])
    assert "patch_size" in before.targets["dit_video_concat.DiffusionTransformer"]["uses"]
    dit.write_text(code.replace(indexed, "(patch_size * patch_size)"), encoding="utf-8")
    after = read_project(root, ["dit_video_concat.DiffusionTransformer"])
    assert "patch_size" not in after.targets["dit_video_concat.DiffusionTransformer"].get("uses", {})


def test_a_second_config_stack_is_recorded(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    arguments = root / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    text = text.replace(
        '    group.add_argument("--image2video", action="store_true")\n',
        '    group.add_argument("--image2video", action="store_true")\n'
        '    group.add_argument("--second", type=str, nargs="*", default=None)\n',
    )
    text = text.replace(
        "    args = process_config_to_args(args)\n",
        "    args = process_config_to_args(args)\n    args.second_args = load_second(args)\n",
    )
    text += (
        "\n\ndef load_second(args):\n"
        "    configs = [OmegaConf.load(cfg) for cfg in args.second]\n"
        "    return OmegaConf.merge(*configs)\n"
    )
    arguments.write_text(text, encoding="utf-8")
    project = read_project(root, [])
    second = project.get_args.second_stack
    assert second is not None
    assert (second["flag"], second["dest"]) == ("--second", "second_args")
    assert project.get_args.unsupported == ()
    assert set(project.sections) == {"args", "model", "deepspeed", "data"}


def test_a_vendored_sat_with_sequence_parallelism(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    vendored = tmp_path / "project" / "third_party" / "SwissArmyTransformer" / "sat"
    (vendored / "mpu").mkdir(parents=True)
    (vendored / "__init__.py").write_text("__version__ = '0.4.99'\n")
    (vendored / "mpu" / "__init__.py").write_text("from .initialize import *\n")
    (vendored / "mpu" / "initialize.py").write_text(
        "_MODEL_PARALLEL_GROUP = None\n_SEQUENCE_PARALLEL_GROUP = None\n\n\n"
        "def initialize_model_parallel(model_parallel_size, sequence_parallel_size=1):\n"
        "    global _MODEL_PARALLEL_GROUP, _SEQUENCE_PARALLEL_GROUP, _SEQUENCE_DATA_PARALLEL_GROUP\n"
    )
    project = read_project(root, [])
    assert project.sat.where == "vendored"
    assert project.sat.path == "../third_party/SwissArmyTransformer/sat"
    assert project.sat.version == "0.4.99"
    assert project.sat.mpu_dimensions == ("model", "sequence", "sequence_data", "data")
    assert project.sat.mpu_source == "../third_party/SwissArmyTransformer/sat/mpu/initialize.py:5"
    assert project.sat.mpu_parameters == ("model_parallel_size", "sequence_parallel_size")


# --- where the project is --------------------------------------------------------------


def test_find_root(tmp_path: Path) -> None:
    assert find_root(cogvideo_sat(), None) == cogvideo_sat()
    assert find_root(cogvideo_sat().parent, "cogvideo-sat/train_video.py") == cogvideo_sat()
    assert find_root(tmp_path, "train.py") is None
    assert find_root(tmp_path, None) is None


def test_reading_imports_no_heavy_module() -> None:
    probe = (
        "import sys\n"
        "from satc.compiler.project import read_project\n"
        f"read_project({str(cogvideo_sat())!r}, ['dit_video_concat.DiffusionTransformer'], use_cache=False)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'deepspeed', 'sat'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_timing(capsys: pytest.CaptureFixture[str]) -> None:
    """Printed, not asserted: the machine's load decides the numbers."""
    lines = []
    for name, root in trees().items():
        named = config_targets(root)
        start = time.perf_counter()
        read_project(root, named, use_cache=False)
        cold = time.perf_counter() - start
        read_project(root, named)
        start = time.perf_counter()
        read_project(root, named)
        cached = time.perf_counter() - start
        lines.append(
            f"{name}: cold {cold * 1000:.0f} ms, cached {cached * 1000:.1f} ms ({len(named)} targets)"
        )
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_a_second_stack_through_a_copied_namespace_and_injections_before_landing(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    arguments = root / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    text = text.replace(
        '    group.add_argument("--image2video", action="store_true")\n',
        '    group.add_argument("--image2video", action="store_true")\n'
        '    group.add_argument("--second", type=str, nargs="*", default=None)\n'
        '    group.add_argument("--use-pose", type=bool, default=False)\n',
    )
    text = text.replace(
        "    args = process_config_to_args(args)\n",
        "    args = process_config_to_args(args)\n"
        "    if args.second:\n"
        "        import copy\n"
        "        second = copy.deepcopy(args)\n"
        "        second.base = args.second\n"
        "        args.second_namespace = process_config_to_args(second)\n",
    )
    text = text.replace(
        '        model_config = config.pop("model", OmegaConf.create())\n',
        '        model_config = config.pop("model", OmegaConf.create())\n'
        "        model_config.network_config.params.use_pose = args.use_pose\n",
    )
    arguments.write_text(text, encoding="utf-8")
    facts = read_project(root, []).get_args
    assert facts.second_stack is not None
    assert (facts.second_stack["flag"], facts.second_stack["dest"]) == ("--second", "second_namespace")
    assert facts.injects_model_config["network_config.params.use_pose"]["from"] == "args.use_pose"
    assert facts.unsupported == ()


def test_a_project_satc_cannot_read_says_so(tmp_path: Path) -> None:
    (tmp_path / "arguments.py").write_text("def get_args(:\n", encoding="utf-8")
    facts = read_project(tmp_path, ["models.Net"])
    assert facts.get_args.unsupported == ("arguments.py:1: invalid syntax (satc cannot read it)",)
    assert dict(facts.targets) == {}
    assert read_project(tmp_path / "missing", []).get_args.unsupported == (
        "arguments.py: not found in the project folder",
    )


def test_a_chained_group_and_an_attribute_section(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    arguments = root / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    text = text.replace(
        "    parser = add_data_args(parser)\n",
        "    parser = add_data_args(parser)\n"
        '    parser.add_argument_group("pose", "pose options").add_argument("--pose-dim", type=int, default=6)\n',
    )
    text = text.replace(
        '    if "data" in config:\n',
        '    if "pose" in config:\n        args.pose_config = config.pose\n    if "data" in config:\n',
    )
    arguments.write_text(text, encoding="utf-8")
    project = read_project(root, [])
    pose = project.arguments["pose_dim"]
    assert (pose.group, pose.type, pose.default) == ("pose", "int", 6)
    section = project.sections["pose"]
    assert (section.kind, section.dest, section.converts) == ("attribute", "pose_config", "omegaconf")


def test_a_sat_copied_into_the_project_with_sequence_parallelism(tmp_path: Path) -> None:
    """As 2025's 14B projects ship: ``sat/`` inside the entrypoint folder, its mpu taking a
    sequence-parallel size, get_args passing it and a fixed VAE context-parallel size."""
    require_module("sat")
    root = _copy(cogvideo_sat(), tmp_path)
    site = sources.installed("sat")
    assert site is not None
    shutil.copytree(site / "sat", root / "sat", ignore=shutil.ignore_patterns("__pycache__", "*.so", "csrc"))
    initialize = root / "sat" / "mpu" / "initialize.py"
    code = initialize.read_text(encoding="utf-8")
    code = code.replace(
        "def initialize_model_parallel(model_parallel_size_):\n",
        "def initialize_model_parallel(model_parallel_size_, sequence_parallel_size_=1):\n"
        "    global _SEQUENCE_PARALLEL_GROUP, _SEQUENCE_DATA_PARALLEL_GROUP\n",
    )
    initialize.write_text(code, encoding="utf-8")
    arguments = root / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    text = text.replace(
        "mpu.initialize_model_parallel(args.model_parallel_size)",
        "mpu.initialize_model_parallel(args.model_parallel_size, args.sequence_parallel_size)",
    )
    text = text.replace(
        "    if args.model_parallel_size <= 2:\n"
        "        set_context_parallel_group(args.model_parallel_size, mpu.get_model_parallel_group())\n"
        "    else:\n"
        "        initialize_context_parallel(2)\n",
        "    initialize_context_parallel(1)\n",
    )
    text = text.replace(
        '    group.add_argument("--force-pretrain", action="store_true")\n',
        '    group.add_argument("--force-pretrain", action="store_true")\n'
        '    group.add_argument("--sequence-parallel-size", type=int, default=1)\n',
    )
    arguments.write_text(text, encoding="utf-8")
    project = read_project(root, [])
    assert project.sat.where == "vendored"
    assert project.sat.path == "sat"
    assert project.sat.mpu_dimensions == ("model", "sequence", "sequence_data", "data")
    assert project.sat.mpu_parameters == ("model_parallel_size_", "sequence_parallel_size_")
    assert project.sat.mpu_source.startswith("sat/mpu/initialize.py:")
    facts = project.get_args
    assert facts.mpu_call == ("args.model_parallel_size", "args.sequence_parallel_size")
    assert facts.model_parallel == "model_parallel_size"
    assert facts.context_parallel == "fixed:1"
    assert project.arguments["sequence_parallel_size"].default == 1
    assert project.arguments["lr"].source.startswith("sat/arguments.py:")
    assert dict(project.files)["sat/arguments.py"]


def test_output_written_into_the_project_folder_keeps_the_cache(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    read_project(root, [])
    (root / "bundle").mkdir()
    (root / "nohup.out").write_text("log\n")
    before = sources.parse_count()
    read_project(root, [])
    assert sources.parse_count() == before
    (root / "sample_other.py").write_text("from diffusion_video import SATVideoDiffusionEngine\n")
    read_project(root, [])
    assert sources.parse_count() > before  # a new entrypoint: read again


def test_a_changed_copy_of_sat_is_read_not_taken_from_the_snapshot(tmp_path: Path) -> None:
    """The bundled facts of the pinned SAT stand only for files byte-identical to it."""
    require_module("sat")
    root = _copy(cogvideo_sat(), tmp_path)
    site = sources.installed("sat")
    assert site is not None
    shutil.copytree(site / "sat", root / "sat", ignore=shutil.ignore_patterns("__pycache__", "*.so", "csrc"))
    same = read_project(root, ["dit_video_concat.DiffusionTransformer"])
    assert same.arguments["lr"].source == read_project(cogvideo_sat(), []).arguments["lr"].source
    path = root / "sat" / "arguments.py"
    text = path.read_text(encoding="utf-8")
    anchor = "    group.add_argument('--seed', type=int, default=1234, help='random seed')\n"
    assert anchor in text
    path.write_text(
        text.replace(anchor, anchor + "    group.add_argument('--my-seed-offset', type=int, default=7)\n")
    )
    base_model = root / "sat" / "model" / "base_model.py"
    code = base_model.read_text(encoding="utf-8")
    assert "def __init__(self, args, transformer=None, params_dtype=torch.float, **kwargs):" in code
    base_model.write_text(
        code.replace(
            "def __init__(self, args, transformer=None, params_dtype=torch.float, **kwargs):",
            "def __init__(self, args, transformer=None, params_dtype=torch.float, my_flag=False, **kwargs):",
        )
    )
    changed = read_project(root, ["dit_video_concat.DiffusionTransformer"])
    assert changed.arguments["my_seed_offset"].default == 7
    assert changed.arguments["my_seed_offset"].source.startswith("sat/arguments.py:")
    params = changed.targets["dit_video_concat.DiffusionTransformer"]["params"]
    assert params["my_flag"]["from"] == "sat.model.base_model.BaseModel"


def test_why_a_requested_target_has_no_entry() -> None:
    project = read_project(
        cogvideo_sat(),
        ["dit_video_concat.DiffusionTransformr", "sgm.modules.nothere.X", "omegaconf.Foo", "Plain"],
    )
    kinds = {target: dict(why)["kind"] for target, why in project.unresolved.items()}
    assert kinds == {
        "dit_video_concat.DiffusionTransformr": "missing_name",
        "sgm.modules.nothere.X": "missing_module",
        "omegaconf.Foo": "external",
        "Plain": "missing_module",
    }
    assert project.unresolved["dit_video_concat.DiffusionTransformr"]["detail"] == (
        "dit_video_concat.py defines no DiffusionTransformr"
    )
    # the sibling the typo was meant to be is named, for did-you-mean (described only when
    # a config names it), and the typo is not
    assert "dit_video_concat.DiffusionTransformer" in project.target_names
    assert "dit_video_concat.DiffusionTransformr" not in project.target_names
    # cached and extended incrementally, the reasons stay
    again = read_project(cogvideo_sat(), ["dit_video_concat.DiffusionTransformr", "other.Y"])
    assert set(again.unresolved) == set(project.unresolved) | {"other.Y"}


def test_injections_through_a_loop_and_changes_satc_cannot_follow(tmp_path: Path) -> None:
    root = _copy(cogvideo_sat(), tmp_path)
    arguments = root / "arguments.py"
    text = arguments.read_text(encoding="utf-8")
    text = text.replace(
        "    initialize_distributed(args)\n",
        '    for name in ["sampling_fps", "latent_channels"]:\n'
        "        args.model_config.network_config.params[name] = getattr(args, name)\n"
        "    for name in args.force_keys:\n"
        "        args.model_config[name] = 1\n"
        "    args.model_config.network_config.params.update(dict(depth=2))\n"
        "    initialize_distributed(args)\n",
    )
    arguments.write_text(text, encoding="utf-8")
    facts = read_project(root, []).get_args
    injected = {path: entry["from"] for path, entry in facts.injects_model_config.items()}
    assert injected == {
        "network_config.params.sampling_fps": "args.sampling_fps",
        "network_config.params.latent_channels": "args.latent_channels",
    }
    assert [u.split(": ", 1)[1] for u in facts.unsupported] == [
        "args.model_config[name] = 1 (a change to model_config satc cannot follow)",
        "args.model_config.network_config.params.update(dict(depth=2)) (a change to model_config satc cannot follow)",
    ]


def test_numeric_uses_and_entry_scripts_are_read(tmp_path: Path) -> None:
    """A parameter used as a number (a torch.nn size, ``-``), also through ``Cls(**mapping)``,
    is recorded; one the code type-checks or compares with text is not; the entrypoint
    folder's scripts that call get_args are listed."""
    (tmp_path / "arguments.py").write_text("def get_args(args_list=None):\n    return None\n")
    (tmp_path / "sample.py").write_text("from arguments import get_args\nargs = get_args()\n")
    (tmp_path / "helper.py").write_text("def get_args():\n    pass\n")
    (tmp_path / "nets.py").write_text(
        "import torch\n\n\n"
        "class Encoder(torch.nn.Module):\n"
        "    def __init__(self, in_channels, depth=2, kind=None):\n"
        "        self.conv = torch.nn.Conv2d(in_channels, 8, 3)\n"
        "        self.n = depth - 1\n"
        "        if isinstance(kind, int):\n"
        "            self.e = torch.nn.Embedding(kind, 8)\n\n\n"
        "class Wrapper:\n"
        "    def __init__(self, **kwargs):\n"
        "        ddconfig = kwargs.pop('ddconfig')\n"
        "        self.encoder = Encoder(**ddconfig)\n"
    )
    project = read_project(tmp_path, ["nets.Encoder", "nets.Wrapper"], use_cache=False)
    assert project.entrypoints == ("sample.py",)
    encoder = project.targets["nets.Encoder"]["uses"]
    assert encoder == {"depth": {"numeric": "nets.py:7"}, "in_channels": {"numeric": "nets.py:6"}}
    wrapper = project.targets["nets.Wrapper"]["uses"]
    assert wrapper == {"ddconfig": {"items_numeric": {"depth": "nets.py:7", "in_channels": "nets.py:6"}}}


def test_one_read_parses_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The entry-script scan, the base-layer scan and the class reader all look at the
    # entry scripts (and the layer scan at what they import): one parse each is shared.
    import ast

    from satc.compiler.project import reader

    parsed: list[str] = []
    real = ast.parse

    def counting(text: str, filename: str = "<unknown>", *args: object, **kwargs: object) -> ast.AST:
        parsed.append(filename)
        return real(text, filename, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ast, "parse", counting)
    reader.read(cogvideo_sat(), ["dit_video_concat.DiffusionTransformer"])
    assert "sample_video.py" in {Path(name).name for name in parsed}
    assert len(parsed) == len(set(parsed)), sorted(name for name in parsed if parsed.count(name) > 1)


def test_an_entry_question_is_read_when_a_rule_asks_and_kept_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Following an entry script's imports is read only for the launched script and only
    when a rule asks (M24, M16); the answer joins the cached facts, with the files read."""
    from satc.compiler.project import answer_entry

    monkeypatch.setenv("SATC_CACHE_DIR", str(tmp_path / "cache"))
    root = _copy(cogvideo_sat(), tmp_path)
    project = read_project(root, [])
    assert dict(project.entry_facts) == {}
    assert "sgm/util.py" not in dict(project.files)  # no import of any script followed
    asked = answer_entry(project, "reads:train_video.py:image2video")
    # train_video.py and everything it imports never spell image2video (sample_video.py does)
    assert asked.entry_facts["reads:train_video.py:image2video"] is False
    assert "diffusion_video.py" in dict(asked.files)
    assert (
        answer_entry(asked, "reads:sample_video.py:image2video").entry_facts[
            "reads:sample_video.py:image2video"
        ]
        is True
    )
    # a second compile finds the answer with the facts: nothing parsed
    before = sources.parse_count()
    again = read_project(root, [])
    assert again.entry_facts["reads:train_video.py:image2video"] is False
    assert answer_entry(again, "reads:train_video.py:image2video") == again
    assert sources.parse_count() == before
    # a helper that train_video.py imports starts reading the flag: the cache is stale
    (root / "sgm" / "util.py").write_text(
        (root / "sgm" / "util.py").read_text(encoding="utf-8")
        + "\n\ndef flag(args):\n    return args.image2video\n"
    )
    fresh = read_project(root, [])
    assert (
        answer_entry(fresh, "reads:train_video.py:image2video").entry_facts[
            "reads:train_video.py:image2video"
        ]
        is True
    )
