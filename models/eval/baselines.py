"""Trivial baselines a try-on model must beat (issue 6).

- ``identity``: return the input portrait unchanged.
- ``paste``: cut the garment out of its product shot (everything that is not the light
  studio background) and paste it, scaled, over the box of the garment the person wears.
  It uses only the model's inputs plus the input garment's region in the portrait.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..data.sample import TryOnSample


def identity(sample: TryOnSample) -> np.ndarray:
    return sample.person


def _garment_cutout(flat: np.ndarray, threshold: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """(RGB crop, alpha crop) of the garment in a product shot on a plain light background."""
    corners = np.stack([flat[0, 0], flat[0, -1], flat[-1, 0], flat[-1, -1]]).astype(np.float32)
    background = np.median(corners, axis=0)
    distance = np.linalg.norm(flat.astype(np.float32) - background, axis=2)
    mask = distance > threshold
    if not mask.any():
        return flat, np.ones(flat.shape[:2], bool)
    ys, xs = np.nonzero(mask)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    return flat[box], mask[box]


def paste(sample: TryOnSample) -> np.ndarray:
    out = sample.person.copy()
    region = sample.person_mask
    if region is None or not region.any():
        return out
    ys, xs = np.nonzero(region)
    top, left, h, w = ys.min(), xs.min(), ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    rgb, alpha = _garment_cutout(sample.garment)
    rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.LANCZOS))
    alpha = np.asarray(Image.fromarray(alpha.astype(np.uint8) * 255).resize((w, h), Image.Resampling.BILINEAR)) > 127
    patch = out[top : top + h, left : left + w]
    patch[alpha] = rgb[alpha]
    return out


BASELINES = {"identity": identity, "paste": paste}
