"""Portrait/garment pairs for INT8 calibration and parity, drawn from the synthetic world.

Calibration and held-out parity use different seeds, and neither seed is used in training.
"""

from __future__ import annotations

from .bundle import ExampleInput


def example_inputs_from_synthetic(n: int, size: tuple[int, int], seed: int) -> list[ExampleInput]:
    from ..data.synthetic import SyntheticWorld

    world = SyntheticWorld(seed=seed, size=tuple(size))
    out = []
    for i in range(n):
        s = world.sample(i)
        out.append(ExampleInput(person=s.person, garment=s.garment, category=s.category))
    return out
