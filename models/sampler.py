"""The torch mirror of ``engine/sampler.py`` (same maths, used by training and evaluation).

Kept deliberately line-for-line parallel to the numpy version; ``tests/test_sampler.py``
proves both give the same latents for the same noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from engine.sampler import KINDS, default_sigmas


@dataclass(frozen=True)
class TorchSampler:
    sigmas: tuple[float, ...]
    kind: str = "renoise"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown sampler kind {self.kind!r}")

    @classmethod
    def with_steps(cls, steps: int, kind: str = "renoise") -> TorchSampler:
        return cls(default_sigmas(steps), kind)

    def next_sigma(self, i: int) -> float:
        return self.sigmas[i + 1] if i + 1 < len(self.sigmas) else 0.0

    def step(self, x: torch.Tensor, v: torch.Tensor, i: int, noise: torch.Tensor | None):
        s, s_next = self.sigmas[i], self.next_sigma(i)
        x0 = x - s * v
        if s_next == 0.0:
            return x0, x0
        if self.kind == "euler":
            return x + (s_next - s) * v, x0
        if noise is None:
            raise ValueError("renoise sampling needs fresh noise for every step but the last")
        return (1.0 - s_next) * x0 + s_next * noise, x0

    def sample(
        self,
        velocity: Callable[[torch.Tensor, float, int], torch.Tensor],
        noise: torch.Tensor,
        step_noise: Sequence[torch.Tensor] | Callable[[int], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        x = noise
        x0 = x
        for i, s in enumerate(self.sigmas):
            v = velocity(x, s, i)
            fresh = None
            if self.kind == "renoise" and self.next_sigma(i) > 0.0:
                fresh = step_noise(i) if callable(step_noise) else step_noise[i]
            x, x0 = self.step(x, v, i, fresh)
        return x0


def add_noise(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Flow-matching forward process ``x_sigma = (1 - sigma) x0 + sigma eps`` (sigma per batch item)."""
    s = sigma.reshape(-1, *([1] * (x0.dim() - 1)))
    return (1.0 - s) * x0 + s * noise
