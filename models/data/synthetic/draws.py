"""Scalar random draws for the world's specs, served from blocks of uniforms.

A sample's spec takes a few hundred scalar draws (sizes, angles, colours, choices). Each
``Generator.uniform`` or ``Generator.integers`` call costs about a microsecond of argument
handling; popping a float from a list drawn 128 at a time costs a tenth of that. The
stream is a pure function of the generator, so specs stay deterministic.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np


def cdf(weights: Sequence[float]) -> tuple[float, ...]:
    """Cumulative weights, normalised to end at 1, for ``Draws.weighted``."""
    total = float(sum(weights))
    acc, out = 0.0, []
    for w in weights:
        acc += float(w)
        out.append(acc / total)
    return tuple(out)


class Draws:
    """Uniform, integer, normal, weighted and Bernoulli draws from ``rng``."""

    __slots__ = ("rng", "_block")

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._block: list[float] = []

    def _refill(self) -> list[float]:
        self._block = self.rng.random(128).tolist()
        self._block.reverse()
        return self._block

    def random(self) -> float:
        """A float in [0, 1)."""
        return (self._block or self._refill()).pop()

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * (self._block or self._refill()).pop()

    def integer(self, n: int) -> int:
        """An int in [0, n)."""
        return min(int(self.random() * n), n - 1)

    def choice(self, seq: Sequence):
        return seq[self.integer(len(seq))]

    def weighted(self, seq: Sequence, cum: tuple[float, ...]):
        """An item of ``seq`` drawn with the probabilities behind ``cum = cdf(weights)``."""
        return seq[min(bisect_right(cum, self.random()), len(seq) - 1)]

    def chance(self, p: float) -> bool:
        return self.random() < p

    def normal(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        """Box-Muller from two uniforms."""
        u = 1.0 - self.random()
        return mu + sigma * math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * self.random())

    def seed(self) -> int:
        """A seed for a sub-generator (textures, clutter) drawn from this stream."""
        return int(self.random() * 2**31)

    def jitter(self, color: Sequence[float], amount: float) -> tuple[int, int, int]:
        """``color`` with Gaussian noise of ``amount`` per channel, clipped to [0, 255]."""
        return tuple(int(min(max(c + self.normal(0.0, amount), 0.0), 255.0)) for c in color)
