"""Exponential moving average of a module's trainable parameters.

``shadow = d * shadow + (1 - d) * param`` after every optimiser step, with
``d = min(decay, (1 + n) / (10 + n))`` so early averages are not dominated by the random
initialisation (n = updates so far). The averaged weights are what checkpoints ship.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


class EMA:
    def __init__(self, module: nn.Module, decay: float, warmup: bool = True):
        self.decay = float(decay)
        self.warmup = warmup
        self.updates = 0
        self.shadow = {n: p.detach().clone().float() for n, p in module.named_parameters() if p.requires_grad}

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        d = self.current_decay()
        if getattr(self, "_pairs_of", None) is not module:  # the tensor lists, built once per module
            params = dict(module.named_parameters())
            self._live = [params[n].detach() for n in self.shadow]
            self._fp32 = all(p.dtype == torch.float32 for p in self._live)
            self._pairs_of = module
        shadows = list(self.shadow.values())
        if shadows and self._fp32:
            torch._foreach_lerp_(shadows, self._live, 1.0 - d)  # a few fused launches, no per-tensor loop
        else:
            for s, p in zip(shadows, self._live, strict=True):
                s.lerp_(p.float(), 1.0 - d)
        self.updates += 1

    def averaged_state(self, module: nn.Module) -> dict[str, torch.Tensor]:
        """The module's full state dict with the averaged values in place of the trainable ones."""
        state = dict(module.state_dict())
        for name, s in self.shadow.items():
            state[name] = s.to(state[name].dtype)
        return state

    @contextmanager
    def applied(self, module: nn.Module):
        """Temporarily load the averaged weights into ``module`` (sampling, evaluation)."""
        params = dict(module.named_parameters())
        backup = {n: params[n].detach().clone() for n in self.shadow}
        with torch.no_grad():
            for n, s in self.shadow.items():
                params[n].copy_(s)
        try:
            yield module
        finally:
            with torch.no_grad():
                for n, b in backup.items():
                    params[n].copy_(b)

    def state_tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}{n}": s for n, s in self.shadow.items()}

    def load_tensors(self, tensors: dict[str, torch.Tensor], prefix: str) -> None:
        for n in self.shadow:
            self.shadow[n] = tensors[f"{prefix}{n}"].to(self.shadow[n].device).float().clone()
