"""D8 for SAT's real training loop: make its CUDA-only calls safe in a cpu bundle.

SAT's ``training_main`` assumes a GPU in three places that a CPU-only torch cannot run:
its timers call ``torch.cuda.synchronize`` (sat/training/utils.py), checkpoints save and
load ``torch.cuda.get_rng_state`` / ``set_rng_state`` (sat/training/model_io.py), and the
optimizer CogVideoX's configs name, ``sat.ops.FusedEmaAdam``, JIT-builds a CUDA kernel.
``init()`` calls :func:`make_sat_cpu_safe` only for bundles compiled with
``launch.device: cpu``; a cuda bundle runs torch and SAT untouched.

Nothing here touches CogVideoX's own code (its ``.cuda()`` calls are its own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

# The attribute set on a patched function, so a second init() in one process is a no-op.
_MARK = "_satc_cpu_safe"


def _no_op() -> Callable[..., None]:
    """A fresh function each time: torch._dynamo keeps one rule per function object, and
    two torch functions sharing one object fail its lookup table."""

    def no_op(*_args: Any, **_kwargs: Any) -> None:
        return None

    return _marked(no_op)


def _marked(function: Callable[..., Any]) -> Callable[..., Any]:
    setattr(function, _MARK, True)
    return function


def _empty_rng_state(*_args: Any, **_kwargs: Any) -> Any:
    """What a checkpoint records as the CUDA RNG state where there is no CUDA: an empty
    byte tensor (``torch.cuda.set_rng_state`` of it is ignored below)."""
    import torch

    return torch.empty(0, dtype=torch.uint8)


def _patch_torch_cuda() -> None:
    import torch

    if torch.cuda.is_available() or getattr(torch.cuda.synchronize, _MARK, False):
        return
    torch.cuda.synchronize = _no_op()
    torch.cuda.get_rng_state = _marked(_empty_rng_state)
    torch.cuda.set_rng_state = _no_op()


def cpu_ema_adam() -> type:
    """``sat.ops.FusedEmaAdam`` in plain torch: the same state (``step``, ``exp_avg``,
    ``exp_avg_sq``, ``shadow``), the same float32 arithmetic per element as SAT's
    ``multi_tensor_ema_adam`` kernel, and the same step bookkeeping."""
    import torch

    class CpuEmaAdam(torch.optim.Optimizer):
        def __init__(
            self,
            params: Iterable[Any],
            lr: float = 1e-3,
            bias_correction: bool = True,
            betas: tuple[float, float] = (0.9, 0.999),
            eps: float = 1e-8,
            adam_w_mode: bool = True,
            weight_decay: float = 0.0,
            amsgrad: bool = False,
            set_grad_none: bool = True,
            ema_decay: float = 0.9999,
            use_num_upates: bool = True,
        ) -> None:
            if amsgrad:
                raise RuntimeError("FusedAdam does not support the AMSGrad variant.")
            defaults = {
                "lr": lr,
                "bias_correction": bias_correction,
                "betas": betas,
                "eps": eps,
                "weight_decay": weight_decay,
            }
            super().__init__(params, defaults)
            self.adam_w_mode = 1 if adam_w_mode else 0
            self.set_grad_none = set_grad_none
            self.ema_decay = ema_decay
            self.num_updates = 0 if use_num_upates else -1
            self.collected_params: list[Any] = []

        def zero_grad(self, set_to_none: bool = True) -> None:
            if self.set_grad_none:
                for group in self.param_groups:
                    for p in group["params"]:
                        p.grad = None
            else:
                super().zero_grad(set_to_none=False)

        def copy_to(self) -> None:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.requires_grad:
                        p.data.copy_(self.state[p]["shadow"].data)

        def store(self, parameters: Iterable[Any]) -> None:
            self.collected_params = [param.clone() for param in parameters]

        def restore(self, parameters: Iterable[Any]) -> None:
            for c_param, param in zip(self.collected_params, parameters, strict=False):
                param.data.copy_(c_param.data)

        @torch.no_grad()
        def step(self, closure: Callable[[], Any] | None = None) -> Any:
            loss = closure() if closure is not None else None
            ema_decay = self.ema_decay
            if self.num_updates >= 0:
                self.num_updates += 1
                ema_decay = min(self.ema_decay, (1 + self.num_updates) / (10 + self.num_updates))
            for group in self.param_groups:
                by_dtype: dict[Any, list[Any]] = {}
                state: dict[str, Any] = {}
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = group.get("step", 0)
                        state["exp_avg"] = torch.zeros_like(p.data)
                        state["exp_avg_sq"] = torch.zeros_like(p.data)
                        state["shadow"] = p.data.clone()
                    if p.dtype not in (torch.float16, torch.bfloat16, torch.float32):
                        raise RuntimeError("FusedEmaAdam only support fp16, bf16 and fp32.")
                    by_dtype.setdefault(p.dtype, []).append(p)
                # As SAT's kernel launch: the step counter is that of the group's last
                # parameter with a gradient, advanced once per dtype present.
                for dtype in (torch.float16, torch.bfloat16, torch.float32):
                    if dtype in by_dtype:
                        state["step"] += 1
                        self._update(group, by_dtype[dtype], ema_decay, state["step"])
            return loss

        def _update(self, group: dict[str, Any], params: list[Any], ema_decay: float, step: int) -> None:
            beta1, beta2 = group["betas"]
            correction1 = 1 - beta1**step if group["bias_correction"] else 1.0
            correction2 = 1 - beta2**step if group["bias_correction"] else 1.0
            lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
            for p in params:
                state = self.state[p]
                g = p.grad.float()
                w = p.data.float()
                m = state["exp_avg"].float()
                v = state["exp_avg_sq"].float()
                s = state["shadow"].float()
                if self.adam_w_mode == 0:
                    g = g + decay * w
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g * g
                update = (m / correction1) / ((v / correction2).sqrt() + eps)
                if self.adam_w_mode == 1:
                    update = update + decay * w
                w = w - lr * update
                s = ema_decay * s + (1 - ema_decay) * w
                p.data.copy_(w)
                state["exp_avg"].copy_(m)
                state["exp_avg_sq"].copy_(v)
                state["shadow"].copy_(s)

    CpuEmaAdam.__name__ = CpuEmaAdam.__qualname__ = "FusedEmaAdam"
    return CpuEmaAdam


def _patch_sat_optimizer() -> None:
    """SAT imports ``sat.ops`` and reads ``FusedEmaAdam`` from it at deepspeed.initialize."""
    import sat.ops

    if getattr(sat.ops.FusedEmaAdam, _MARK, False):
        return
    replacement = cpu_ema_adam()
    setattr(replacement, _MARK, True)
    sat.ops.FusedEmaAdam = replacement


def make_sat_cpu_safe() -> None:
    """Idempotent; for ``launch.device: cpu`` bundles only (see the module docstring)."""
    _patch_torch_cuda()
    _patch_sat_optimizer()
