"""Build the DeepSpeed CPU ops the test suite loads, once, before the tests need them.

DeepSpeed compiles its C++ ops the first time a process loads them (torch's JIT
extensions, cached under ~/.cache/torch_extensions).  On a fresh CI machine that is
several minutes of g++ on two cores, paid inside whichever test first starts DeepSpeed
while the others wait on the build lock.  ci/test.sh runs this beside its remaining
installs instead: the same builder.load() a test would call, so a failing build still
fails the tests that need the op, with DeepSpeed's own error.
"""

import sys
import time

from deepspeed.accelerator import get_accelerator

# deepspeed.init_distributed on CPU (every DeepSpeed test), FusedAdam (an "Adam"/"AdamW"
# optimizer without torch_adam) and DeepSpeedCPUAdam (ZeRO-Offload).
OPS = ("ShareMemCommBuilder", "FusedAdamBuilder", "CPUAdamBuilder")


def main() -> int:
    failed = 0
    for name in OPS:
        started = time.monotonic()
        builder = get_accelerator().create_op_builder(name)
        if type(builder).__name__ != name:  # an unknown name gets None or NotImplementedBuilder
            failed += 1
            print(
                f"{name}: not an op builder of DeepSpeed's {get_accelerator()._name} accelerator", flush=True
            )
            continue
        try:
            builder.load()
        except Exception as exc:  # noqa: BLE001 - reported; the tests that need it fail on their own
            failed += 1
            print(f"{name}: build failed: {type(exc).__name__}: {exc}", flush=True)
            continue
        print(f"{name}: ready in {time.monotonic() - started:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
