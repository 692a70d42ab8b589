"""Build DeepSpeed configs with the real deepspeed.initialize on CPU and take one step.

argv: a JSON file holding a list of `deepspeed:` sections.  A gloo world of one process
is initialised; for each section a tiny model goes through deepspeed.initialize, one
forward, backward and optimizer step (the first step is where three betas fail).
Prints one JSON line per section: {"ok": true, "optimizer", "scheduler", "warmup_type"} or
{"ok": false, "error": "<Type>: <message>"}.
"""

import contextlib
import io
import json
import os
import socket
import sys

import deepspeed
import torch


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK="0", WORLD_SIZE="1", LOCAL_RANK="0"
    )
    deepspeed.init_distributed(dist_backend="gloo")
    with open(sys.argv[1], encoding="utf-8") as handle:
        sections = json.load(handle)
    for section in sections:
        config = {"train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1, **section}
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 2)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                engine, optimizer, _, scheduler = deepspeed.initialize(
                    model=model, model_parameters=model.parameters(), config=config
                )
                engine.backward(engine(torch.ones(1, 4)).sum())
                engine.step()
            result = {
                "ok": True,
                "optimizer": type(optimizer).__name__,
                "scheduler": type(scheduler).__name__,
                "warmup_type": getattr(scheduler, "warmup_type", None),
            }
        except Exception as exc:  # noqa: BLE001 - the point is to report what DeepSpeed raised
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:400]}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
