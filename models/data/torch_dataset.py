"""A ``torch.utils.data.Dataset`` over any sample source (synthetic world, loaders).

The only module of ``models.data`` that imports torch at import time. Each item is a dict
of tensors the trainer and the export calibration consume:

* ``person``, ``garment``, ``target``, ``garment_worn``: float32 (3, H, W) in [-1, 1]
  (``target``/``garment_worn`` are zeros where unknown: see ``has_target``/``has_garment_worn``);
* ``person_mask``, ``target_mask``: float32 (1, H, W) in {0, 1} (zeros where unknown:
  see ``has_masks``);
* ``category``: int64 index into ``CATEGORIES``; ``paired``: bool; ``index``: int64.

Every field is always present, so the default collate function batches any source.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .images import fit_image, fit_mask
from .sample import CATEGORIES, TryOnSample


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) → float32 (3, H, W) in [-1, 1] (the same scaling as ``engine.images.to_model``)."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(127.5).sub_(1.0)


def mask_tensor(mask: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(mask)).float().unsqueeze(0)


class TryOnTensors(Dataset):
    """Tensors for ``source[i]``; samples are fitted to ``size`` (H, W) if given."""

    def __init__(self, source: Sequence[TryOnSample], size: tuple[int, int] | None = None, fit: str = "pad"):
        self.source = source
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.fit = fit

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return sample_tensors(self.source[index], index, self.size, self.fit)


def sample_tensors(s: TryOnSample, index: int = 0, size=None, fit: str = "pad") -> dict[str, torch.Tensor]:
    """The tensors of one sample (see the module docstring)."""
    size = size or s.person.shape[:2]
    person = fit_image(s.person, size, fit)
    H, W = person.shape[:2]
    zeros_img = torch.zeros(3, H, W)
    zeros_mask = torch.zeros(1, H, W)
    has_masks = s.person_mask is not None and s.target_mask is not None
    return {
        "person": image_tensor(person),
        "garment": image_tensor(fit_image(s.garment, size, fit)),
        "target": image_tensor(fit_image(s.target, size, fit)) if s.target is not None else zeros_img,
        "garment_worn": image_tensor(fit_image(s.garment_worn, size, fit)) if s.garment_worn is not None else zeros_img,
        "person_mask": mask_tensor(fit_mask(s.person_mask, size, fit)) if s.person_mask is not None else zeros_mask,
        "target_mask": mask_tensor(fit_mask(s.target_mask, size, fit)) if s.target_mask is not None else zeros_mask,
        "has_target": torch.tensor(s.target is not None),
        "has_garment_worn": torch.tensor(s.garment_worn is not None),
        "has_masks": torch.tensor(has_masks),
        "category": torch.tensor(CATEGORIES.index(s.category), dtype=torch.int64),
        "paired": torch.tensor(bool(s.paired)),
        "index": torch.tensor(int(index), dtype=torch.int64),
    }
