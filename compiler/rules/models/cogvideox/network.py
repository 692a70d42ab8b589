"""The network itself: precision per family, text length, image input, patch size."""

from __future__ import annotations

from ....errors import dotted
from ....project import select
from ...work import Work
from .context import POS_EMBED, T5_TARGET, Model, Path
from .profiles import NETWORK


def _precision_path(work: Work, name: str) -> Path:
    """Where the precision the job gets was decided: the DeepSpeed section wins (R6)."""
    if work.given("deepspeed", name, "enabled"):
        return ("deepspeed", name, "enabled")
    return ("args", name)


def _network_free(model: Model) -> str | None:
    """The launch's entry script, where the project's reader found that it never runs the
    network (facts.Project.entry_facts "free:"): fp16's overflow is the network's."""
    entry = _entry(model)
    return entry if entry and select.entry_fact(model.work.config, f"free:{entry}") else None


def m16_precision(model: Model) -> None:
    """M16: every model but CogVideoX-2B was trained in bf16; fp16 gives black videos or
    NaN (CogVideo #593, #637).  2B was trained in fp16 (SAT README: `fp16: True # For
    CogVideoX-2B`).  The overflow is the network's: where the launch's entry script never
    samples or trains (facts.Project.network_free), a warning."""
    profile = model.profile
    args = model.work.args
    if profile is None:
        return
    if profile.precision == "bf16" and args.get("fp16") and _network_free(model):
        model.warn(
            _precision_path(model.work, "fp16"),
            "M16",
            f"{profile.name} was trained in bf16: fp16 gives black videos or NaN where the network runs, "
            f"but {_network_free(model)} never samples or trains it (no .sample, sampling_main or "
            "training_main in it or the project code it imports): left to its code",
            "use bf16 (deepspeed.bf16.enabled: true, fp16.enabled: false; or args.bf16: true)",
        )
    elif profile.precision == "bf16" and args.get("fp16"):
        model.error(
            _precision_path(model.work, "fp16"),
            "M16",
            f"{profile.name} was trained in bf16: fp16 gives black videos or NaN",
            "use bf16 (deepspeed.bf16.enabled: true, fp16.enabled: false; or args.bf16: true)",
        )
    elif profile.precision == "fp16" and args.get("bf16"):
        model.warn(
            _precision_path(model.work, "bf16"),
            "M16",
            f"{profile.name} was trained in fp16; CogVideoX's README runs it in fp16",
            "use fp16 (deepspeed.fp16.enabled: true, bf16.enabled: false; or args.fp16: true)",
        )


def _t5(model: Model) -> tuple[Path, int] | None:
    """The T5's max_length, where the T5 is the conditioner's only embedder: beside another
    one the context is what the project's conditioner joins (GeneralConditioner concatenates
    their outputs; a project may join them along the sequence: ReSim adds 9 trajectory
    tokens, aayank-singhai/ReSim-Exp@9acfff2 sat/sgm/modules/encoders/modules.py:75 and its
    configs' text_length 235), so its length is not the T5's alone."""
    found, embedders = model.value(("model", "conditioner_config", "params", "emb_models"))
    if not found or not isinstance(embedders, list) or len(embedders) != 1:
        return None
    for index, item in enumerate(embedders):
        if isinstance(item, dict) and item.get("target") == T5_TARGET:
            path: Path = (
                "model",
                "conditioner_config",
                "params",
                "emb_models",
                index,
                "params",
                "max_length",
            )
            length = model.int_at(path)
            if length is not None:
                return path, length
            return path, 77  # FrozenT5Embedder's default
    return None


def m17_text_length(model: Model) -> None:
    """M17: the position embedding's `text_length` must equal the T5 `max_length`: the
    network splits its sequence at `context.shape[1]` (dit_video_concat.py:889) while the
    embedding is laid out for `text_length` (dit_video_concat.py:211).  226 for 1.0, 224
    for 1.5 (the official configs)."""
    path = (*POS_EMBED, "text_length")
    text_length = model.int_at(path)
    t5 = _t5(model)
    if text_length is None or t5 is None:
        return
    t5_path, max_length = t5
    split = model.uses(POS_EMBED[:-1], "text_length").get("divided_by") or {}
    if split.get("by") == max_length and text_length > 0:
        # The project's embedding takes several prompts of max_length tokens each: the
        # code it guards is that split, not CogVideoX's one prompt.
        if text_length % max_length:
            model.error(
                path,
                "M17",
                f"text_length {text_length} is not a whole number of {max_length}-token prompts: the "
                f"position embedding splits it into text_length // {max_length} ({split.get('at')})",
                f"set a multiple of {max_length}",
            )
        return
    if text_length != max_length:
        model.error(
            path,
            "M17",
            f"text_length {text_length} differs from the T5 max_length {max_length} ({dotted(t5_path)})",
            f"set both to {model.profile.text_length if model.profile else max_length}",
        )
    elif model.profile is not None and text_length != model.profile.text_length:
        model.warn(
            path,
            "M17",
            f"{model.profile.name} was trained with text_length {model.profile.text_length}",
            f"use {model.profile.text_length} here and in the T5 max_length",
        )


def m24_image_to_video(model: Model) -> None:
    """M24: an image-to-video network takes the noised image latents concatenated to the
    video latents (diffusion_video.py:172): in_channels = 2 x out_channels exactly when
    `noised_image_input` is true; sampling it needs `args.image2video` (sample_video.py:160)."""
    _, noised = model.value(("model", "noised_image_input"))
    in_channels = model.int_at((*NETWORK, "in_channels"))
    out_channels = model.int_at((*NETWORK, "out_channels"))
    engine = select.for_config(model.work.config).engine
    # the code it guards: an engine that stacks the image latents on the channels
    concat = engine is None or "noised_image_input" in (engine.get("concat_images_when") or {})
    if concat and in_channels is not None and out_channels is not None:
        doubled = in_channels == 2 * out_channels
        if doubled != (noised is True):
            want = 2 * out_channels if noised is True else out_channels
            model.error(
                (*NETWORK, "in_channels"),
                "M24",
                f"in_channels {in_channels} with noised_image_input {str(noised is True).lower()}: "
                f"the network gets {want} channels",
                f"set in_channels: {want}",
            )
    work = model.work
    if work.training or model.profile is None:
        return
    wants = model.profile.image_to_video
    # Only a launch that would be judged asks about the script's code (reading it follows
    # every import of the script).  A script that sets `args.image2video = True` itself
    # takes the branch without the key.
    if wants and not work.args.get("image2video"):
        if _entry_reads_image2video(model) and not _entry_sets_image2video(model):
            model.error(
                ("args", "image2video"),
                "M24",
                f"{model.profile.name} is an image-to-video model: sampling it without args.image2video "
                f"feeds it text-to-video latents{_unknown_reads(model)}",
                "set args.image2video: true (and give prompts as 'text@@image_path')",
            )
    elif not wants and work.args.get("image2video") and _entry_reads_image2video(model):
        model.error(
            ("args", "image2video"),
            "M24",
            f"{model.profile.name} is a text-to-video model",
            "remove args.image2video, or use an I2V model",
        )


def _entry_reads_image2video(model: Model) -> bool:
    """Whether the script launched reads `image2video` (the branch M24's sampling half
    guards, sample_video.py:160): True where satc cannot tell (no project read, no
    entrypoint named, a script it could not follow)."""
    entry = _entry(model)
    return not entry or select.entry_fact(model.work.config, f"reads:{entry}:image2video") is not False


def _unknown_reads(model: Model) -> str:
    """Said where the rule applies because satc could not follow the launched script."""
    entry = _entry(model)
    if not entry or select.entry_fact(model.work.config, f"reads:{entry}:image2video") is not None:
        return ""
    return (
        f" (satc could not follow {entry} or one of the project modules it imports, so it judges the "
        "launch as CogVideoX's sample_video.py, which branches on args.image2video)"
    )


def _entry(model: Model) -> str:
    return str(model.work.launch.get("entrypoint") or "").rsplit("/", 1)[-1]


def _entry_sets_image2video(model: Model) -> bool:
    """Whether the script launched sets `args.image2video = True` itself before any project
    code runs (facts.Project.entry_facts "sets:"): satc is sure the branch is taken."""
    entry = _entry(model)
    return bool(entry) and select.entry_fact(model.work.config, f"sets:{entry}:image2video") is True


def m25_patch_size_list(model: Model) -> None:
    """M25: guards the network class's `patch_size[1:]` (dit_video_concat.py:695 at
    e519ece: the project's `uses.patch_size.indexed` fact); an integer fails there when the
    model is built, and is fine where the project's class takes an integer."""
    found, patch = model.value((*NETWORK, "patch_size"))
    if not found or not isinstance(patch, int) or isinstance(patch, bool):
        return
    indexed = model.uses(NETWORK[:-1], "patch_size").get("indexed")
    if not indexed:
        return  # this project's network takes an integer
    model.error(
        (*NETWORK, "patch_size"),
        "M25",
        f"patch_size {patch}: the network indexes patch_size ({indexed}) and needs [t, h, w]; "
        "an integer fails when the model is built (TypeError: 'int' object is not subscriptable)",
        f"write patch_size: [1, {patch}, {patch}] (CogVideoX 1.0's configs give the integer, "
        "which this code no longer takes)",
    )
