"""runtime/cpu.py on its own: the plain-torch FusedEmaAdam follows SAT's kernel
(sat/ops/csrc/adam/multi_tensor_ema_adam.cu) step by step, and the CUDA fallbacks are
installed only where CUDA is missing, once."""

from __future__ import annotations

import math

import pytest
from support import require_module


def _kernel_step(
    p: float, g: float, m: float, v: float, s: float, step: int, ema: float
) -> tuple[float, ...]:
    """The kernel's ADAM_MODE_1 (AdamW) arithmetic for one element, written out."""
    lr, beta1, beta2, eps, decay = 0.01, 0.9, 0.95, 1e-8, 0.1
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    update = (m / (1 - beta1**step)) / (math.sqrt(v / (1 - beta2**step)) + eps) + decay * p
    p = p - lr * update
    s = ema * s + (1 - ema) * p
    return p, m, v, s


def test_cpu_ema_adam_matches_the_kernel_arithmetic() -> None:
    require_module("torch")
    import torch
    from satc.runtime.cpu import cpu_ema_adam

    weight = torch.nn.Parameter(torch.tensor([0.5, -1.0], dtype=torch.float32))
    optimizer = cpu_ema_adam()([weight], lr=0.01, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    expected = [(0.5, 0.0, 0.0, 0.5), (-1.0, 0.0, 0.0, -1.0)]
    for step, grads in enumerate([(0.2, -0.3), (0.1, 0.4)], start=1):
        weight.grad = torch.tensor(grads)
        optimizer.step()
        ema = min(0.9999, (1 + step) / (10 + step))  # use_num_upates: SAT's warm-up of the EMA
        expected = [
            _kernel_step(p, g, m, v, s, step, ema) for (p, m, v, s), g in zip(expected, grads, strict=True)
        ]
        assert weight.detach().tolist() == pytest.approx([e[0] for e in expected], rel=1e-6)
        assert optimizer.state[weight]["shadow"].tolist() == pytest.approx([e[3] for e in expected], rel=1e-6)
        assert optimizer.state[weight]["step"] == step
    optimizer.zero_grad()
    assert weight.grad is None  # set_grad_none, as SAT's


def test_fallbacks_are_installed_once_and_only_without_cuda() -> None:
    require_module("sat")
    import sat.ops
    import torch
    from satc.runtime.cpu import make_sat_cpu_safe

    make_sat_cpu_safe()
    first = (torch.cuda.synchronize, sat.ops.FusedEmaAdam)
    make_sat_cpu_safe()
    assert (torch.cuda.synchronize, sat.ops.FusedEmaAdam) == first
    assert sat.ops.FusedEmaAdam.__name__ == "FusedEmaAdam"
    if not torch.cuda.is_available():
        torch.cuda.synchronize()  # a no-op instead of "Torch not compiled with CUDA enabled"
        assert torch.cuda.get_rng_state().numel() == 0
