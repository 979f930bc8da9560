"""Keep the portrait's own pixels wherever the try-on left it unchanged (no parser, no mask input).

The model redraws the whole portrait through the VAE at 512x384 or 1024x768 whatever the
photo's size, which softens the face, hair and background a little. Where the result and
the portrait agree at low frequency, the portrait's own full-resolution pixels are kept;
where the try-on changed something (the garment, what it now covers or uncovers), the
result is used, with a grown and feathered seam. The mask comes from the two images
alone, so the pipeline stays mask-free.

All sizes are fractions of the image height, so a 4000-pixel photo and its 512-pixel
preview get the same mask; the work is done on a copy at most ``WORK_HEIGHT`` tall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

WORK_HEIGHT = 512


@dataclass(frozen=True)
class RestoreSettings:
    low: float = 20.0  # blurred colour difference (0..255) below which the portrait is kept
    high: float = 48.0  # ... above which the result is used; linear in between
    blur: float = 0.004  # Gaussian radius of the difference, as a fraction of the height
    grow: float = 0.006  # the changed region grows by this much (covers soft garment edges)
    feather: float = 0.008  # Gaussian radius of the seam


def _resize(image: np.ndarray, size: tuple[int, int], resample=Image.Resampling.BILINEAR) -> np.ndarray:
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    return np.asarray(Image.fromarray(image).resize((w, h), resample))


def change_mask(result: np.ndarray, person: np.ndarray, settings: RestoreSettings = RestoreSettings()) -> np.ndarray:
    """float32 (H, W) in [0, 1] at the portrait's size: 1 where the try-on changed it.

    ``result`` and ``person`` are uint8 RGB; ``result`` may be any size (it is resized).
    """
    s = settings
    H, W = person.shape[:2]
    scale = min(1.0, WORK_HEIGHT / H)
    h, w = max(1, round(H * scale)), max(1, round(W * scale))
    a = Image.fromarray(_resize(result, (h, w)))
    b = Image.fromarray(_resize(person, (h, w), Image.Resampling.BOX))
    radius = max(0.5, s.blur * h)
    a = np.asarray(a.filter(ImageFilter.GaussianBlur(radius)), np.float32)
    b = np.asarray(b.filter(ImageFilter.GaussianBlur(radius)), np.float32)
    diff = np.abs(a - b).max(axis=2)
    m = np.clip((diff - s.low) / max(s.high - s.low, 1e-6), 0.0, 1.0)
    mask = Image.fromarray((m * 255.0 + 0.5).astype(np.uint8))
    grow = int(round(s.grow * h))
    if grow > 0:
        mask = mask.filter(ImageFilter.MaxFilter(2 * grow + 1))
    if s.feather > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(max(0.5, s.feather * h)))
    if (h, w) != (H, W):
        mask = mask.resize((W, H), Image.Resampling.BILINEAR)
    return np.asarray(mask, np.float32) / 255.0


def keep_unchanged(result: np.ndarray, person: np.ndarray, settings: RestoreSettings = RestoreSettings()) -> np.ndarray:
    """The result where the try-on changed the portrait, the portrait's own pixels elsewhere.

    Returns uint8 RGB at the portrait's size.
    """
    H, W = person.shape[:2]
    result = _resize(result, (H, W), Image.Resampling.LANCZOS)
    m = change_mask(result, person, settings)[..., None]
    out = result.astype(np.float32) * m + person.astype(np.float32) * (1.0 - m)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
