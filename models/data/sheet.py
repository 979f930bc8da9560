"""Contact sheets: person | garment | target (| mask) tiles of many samples in one image."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PIL import Image

from .sample import TryOnSample


def _tile(image: np.ndarray | None, h: int, w: int) -> np.ndarray:
    if image is None:
        return np.full((h, w, 3), 128, np.uint8)
    if image.dtype == bool:
        image = np.repeat(image[:, :, None].astype(np.uint8) * 255, 3, axis=2)
    if image.shape[:2] != (h, w):
        image = np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.LANCZOS))
    return image


def contact_sheet(
    samples: Iterable[TryOnSample], columns: int = 2, tile_height: int = 256, masks: bool = False, gap: int = 4
) -> np.ndarray:
    """An RGB uint8 image with one group per sample: person | garment | target (| target mask),
    groups laid out ``columns`` per row, tiles ``tile_height`` pixels high (4:3 portrait)."""
    groups = []
    h, w = tile_height, tile_height * 3 // 4
    for s in samples:
        tiles = [s.person, s.garment, s.target] + ([s.target_mask] if masks else [])
        parts = []
        for t in tiles:
            parts += [_tile(t, h, w), np.full((h, 1, 3), 255, np.uint8)]
        groups.append(np.concatenate(parts[:-1], axis=1))
    if not groups:
        raise ValueError("no samples for the contact sheet")
    rows = []
    for i in range(0, len(groups), columns):
        row = groups[i : i + columns]
        row += [np.full_like(groups[0], 255)] * (columns - len(row))
        sep = np.full((h, gap, 3), 255, np.uint8)
        rows.append(np.concatenate([x for g in row for x in (g, sep)][:-1], axis=1))
    hsep = np.full((gap, rows[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([x for r in rows for x in (r, hsep)][:-1], axis=0)
