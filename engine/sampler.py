"""The few-step flow-matching sampler, defined once for the engine (numpy).

Flow matching as SD3: ``x_sigma = (1 - sigma) * x0 + sigma * eps``; the network predicts
``v = eps - x0`` so ``x0 = x_sigma - sigma * v``. The student samples in a few steps with
no classifier-free guidance. ``renoise`` (DMD2's multi-step sampling) draws fresh noise
between steps: ``x = (1 - s_next) * x0 + s_next * eps_new``; ``euler`` takes the ODE step
``x = x + (s_next - s) * v``. ``models/sampler.py`` mirrors this in torch; a test proves
both give the same latents for the same noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

KINDS = ("renoise", "euler")


def default_sigmas(steps: int) -> tuple[float, ...]:
    """Evenly spaced sigmas from 1 (pure noise) down, excluding 0: 4 -> (1, .75, .5, .25)."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    return tuple(float(s) for s in np.linspace(1.0, 0.0, steps + 1)[:-1])


@dataclass(frozen=True)
class Sampler:
    sigmas: tuple[float, ...]
    kind: str = "renoise"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown sampler kind {self.kind!r}")
        if not self.sigmas or any(b >= a for a, b in zip(self.sigmas, self.sigmas[1:], strict=False)):
            raise ValueError("sigmas must be non-empty and strictly decreasing")

    @classmethod
    def with_steps(cls, steps: int, kind: str = "renoise") -> Sampler:
        return cls(default_sigmas(steps), kind)

    @property
    def steps(self) -> int:
        return len(self.sigmas)

    def next_sigma(self, i: int) -> float:
        return self.sigmas[i + 1] if i + 1 < len(self.sigmas) else 0.0

    def step(self, x: np.ndarray, v: np.ndarray, i: int, noise: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """One step from ``sigmas[i]``. Returns ``(x_next, x0)``; ``noise`` is used by renoise."""
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
        velocity: Callable[[np.ndarray, float, int], np.ndarray],
        noise: np.ndarray,
        step_noise: Sequence[np.ndarray] | Callable[[int], np.ndarray] | None = None,
        on_step: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Run the whole loop. ``velocity(x, sigma, i)`` is the network.

        ``noise`` is the start latent at ``sigmas[0]`` (pure noise when it is 1).
        ``step_noise[i]`` (or ``step_noise(i)``) is the fresh noise used after step ``i``.
        ``on_step(i)`` runs after each step: progress reporting and the cancel check.
        """
        x = noise.astype(np.float32, copy=False)
        x0 = x
        for i, s in enumerate(self.sigmas):
            v = velocity(x, s, i)
            fresh = None
            if self.kind == "renoise" and self.next_sigma(i) > 0.0:
                fresh = step_noise(i) if callable(step_noise) else step_noise[i]
            x, x0 = self.step(x, v, i, fresh)
            x = x.astype(np.float32, copy=False)
            if on_step is not None:
                on_step(i)
        return x0.astype(np.float32, copy=False)


def noise_source(seed: int, shape: tuple[int, ...]) -> tuple[np.ndarray, Callable[[int], np.ndarray]]:
    """The engine's seeded noise: the start latent, and a function giving step ``i``'s fresh noise.

    Each step's noise comes from its own stream, so cancelling or changing the step count
    never shifts the noise of earlier steps.
    """
    def rng(*key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))

    start = rng(0).standard_normal(shape, dtype=np.float32)

    def step_noise(i: int) -> np.ndarray:
        return rng(1, i).standard_normal(shape, dtype=np.float32)

    return start, step_noise
