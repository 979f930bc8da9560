"""The one sample type that the trainer, the evaluator, the export calibration and the tests use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CATEGORIES = ("upper", "lower", "dress")


@dataclass(frozen=True, eq=False)
class TryOnSample:
    """One try-on example. Images are RGB ``uint8`` arrays of shape (H, W, 3).

    Unpaired (synthetic world, pseudo-triplets): ``person`` wears garment A, ``garment``
    is the flat garment B, ``target`` is the same person, pose and background wearing B.
    Paired (VITON-HD / DressCode as published): ``garment`` is the garment ``person``
    already wears and ``target`` is ``person`` itself.
    """

    id: str
    category: str  # one of CATEGORIES
    person: np.ndarray  # portrait wearing garment A: the model's input
    garment: np.ndarray  # flat product shot of garment B: the model's input
    target: np.ndarray | None = None  # ground truth: the person wearing B (None if unknown)
    garment_worn: np.ndarray | None = None  # flat product shot of garment A, if known
    target_mask: np.ndarray | None = None  # bool (H, W): where garment B is in target
    person_mask: np.ndarray | None = None  # bool (H, W): where garment A is in person
    paired: bool = False
    face_mask: np.ndarray | None = None  # bool (H, W): the face in person and target (synthetic world)
    # float32 (H, W, 2), synthetic world on request: for each pixel of ``target`` showing
    # garment B's fabric, the pixel (x, y) of ``garment`` showing the same texel (NaN elsewhere);
    # ``person_flow`` the same for ``person`` and ``garment_worn`` (synthetic/correspondence.py)
    target_flow: np.ndarray | None = None
    person_flow: np.ndarray | None = None

    def __post_init__(self):
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.id}: unknown category {self.category!r}")
