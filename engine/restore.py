"""Keep the portrait's own pixels wherever the try-on left it unchanged (no parser, no mask input).

The model redraws the whole portrait through the VAE at 512x384 or 1024x768 whatever the
photo's size, which softens the face, hair and background a little. Where the result and
the portrait agree at low frequency, the portrait's own full-resolution pixels are kept;
where the try-on changed something (the garment, what it now covers or uncovers), the
result is used, with a grown and feathered seam. The mask comes from the two images
alone, so the pipeline stays mask-free.

All sizes are fractions of the image height, so a 4000-pixel photo and its 512-pixel
preview get the same mask; the mask is made on copies at most ``WORK_HEIGHT`` tall, and
the full-size composite is made in bands of rows, so an 80 MP photo never has a
full-size float copy (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from .images import resize_array, resize_bands

WORK_HEIGHT = 512
COMPOSITE_BAND_BYTES = 8 << 20  # rows of the full-size composite handled at once (float32 bytes)


@dataclass(frozen=True)
class RestoreSettings:
    low: float = 20.0  # blurred colour difference (0..255) below which the portrait is kept
    high: float = 48.0  # ... above which the result is used; linear in between
    blur: float = 0.004  # Gaussian radius of the difference, as a fraction of the height
    grow: float = 0.006  # the changed region grows by this much (covers soft garment edges)
    feather: float = 0.008  # Gaussian radius of the seam


def _work_size(H: int, W: int) -> tuple[int, int]:
    scale = min(1.0, WORK_HEIGHT / H)
    return max(1, round(H * scale)), max(1, round(W * scale))


def work_mask(result: np.ndarray, person: np.ndarray, settings: RestoreSettings = RestoreSettings()) -> np.ndarray:
    """uint8 (h, w) at the work size (at most ``WORK_HEIGHT`` tall): 255 where the try-on changed it.

    ``result`` and ``person`` are uint8 RGB; ``result`` may be any size (it is resized).
    """
    s = settings
    H, W = person.shape[:2]
    h, w = _work_size(H, W)
    a = Image.fromarray(resize_array(result, (h, w), Image.Resampling.BILINEAR))
    b = Image.fromarray(resize_array(person, (h, w), Image.Resampling.BOX))
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
    return np.asarray(mask)


def change_mask(result: np.ndarray, person: np.ndarray, settings: RestoreSettings = RestoreSettings()) -> np.ndarray:
    """float32 (H, W) in [0, 1] at the portrait's size: 1 where the try-on changed it."""
    H, W = person.shape[:2]
    mask = resize_array(work_mask(result, person, settings), (H, W), Image.Resampling.BILINEAR)
    return mask.astype(np.float32) / 255.0


def keep_unchanged(result: np.ndarray, person: np.ndarray, settings: RestoreSettings = RestoreSettings(),
                   check: Callable[[], None] | None = None) -> np.ndarray:
    """The result where the try-on changed the portrait, the portrait's own pixels elsewhere.

    ``result`` may be smaller than ``person`` (the model-resolution crop): it is upscaled
    band by band as the composite is made. Returns uint8 RGB at the portrait's size.
    ``check`` runs between bands (the engine's cancel check).
    """
    H, W = person.shape[:2]
    mask = work_mask(result, person, settings)
    out = np.empty((H, W, 3), np.uint8)
    band_bytes = max(1 << 20, COMPOSITE_BAND_BYTES)
    masks = resize_bands(mask, (H, W), Image.Resampling.BILINEAR, band_bytes)
    results = resize_bands(result, (H, W), Image.Resampling.LANCZOS, band_bytes) if result.shape[:2] != (H, W) \
        else _rows(result, band_bytes)
    pending: list[tuple[int, int, np.ndarray]] = []
    for y0, y1, m in masks:
        m = m.astype(np.float32)[..., None] / 255.0
        # take result rows until this mask band is covered (the two band sizes differ)
        rows = []
        need = y0
        while need < y1:
            if not pending:
                pending.append(next(results))
            r0, r1, r = pending[0]
            lo, hi = need - r0, min(y1, r1) - r0
            rows.append(r[lo:hi])
            need = r0 + hi
            if need >= r1:
                pending.pop(0)
        r = rows[0] if len(rows) == 1 else np.concatenate(rows)
        blend = r.astype(np.float32) * m + person[y0:y1].astype(np.float32) * (1.0 - m)
        out[y0:y1] = np.clip(blend + 0.5, 0, 255).astype(np.uint8)
        if check is not None:
            check()
    return out


def _rows(image: np.ndarray, band_bytes: int):
    h, w = image.shape[:2]
    rows = max(1, band_bytes // max(1, w * 12))
    for y in range(0, h, rows):
        yield y, min(h, y + rows), image[y : min(h, y + rows)]
