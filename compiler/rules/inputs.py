"""args.base and args.deepspeed_config record the inputs, as CogVideoX's get_args does."""

from __future__ import annotations

import copy

from .work import Work


def record_inputs(work: Work) -> None:
    """args.base lists the configs, as CogVideoX's --base does (relative to the bundle)."""
    work.args["base"] = list(work.input_names)
    if work.deepspeed is not None:
        work.args["deepspeed_config"] = work.deepspeed
    elif "deepspeed" in work.config.tree:
        # CogVideoX keeps the section on args even when it does not use it (inference).
        work.args["deepspeed_config"] = copy.deepcopy(work.config.tree["deepspeed"])
    else:
        # An inference run without a `deepspeed:` section: the project's namespace keeps
        # what `args.deepspeed_config` held (CogView3 writes `{}`), nothing computes it.
        section = work.config.tree.get("args")
        given = section.get("deepspeed_config") if isinstance(section, dict) else None
        if given == {}:
            work.args["deepspeed_config"] = {}
