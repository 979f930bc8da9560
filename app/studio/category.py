"""Guessing a garment's category from the product photo itself (Qt-free, no model).

A product shot shows one garment on a plain background. The garment is separated from
the background (the border's colour), and its silhouette decides:

- **lower** when the bottom part splits into two legs (trousers, shorts), or when the
  silhouette is a trapezoid no taller than wide, narrow at the waist (a skirt);
- **dress** when it is clearly taller than wide and flares or stays wide towards the hem
  (the mass does not sit at the top);
- **upper** otherwise (tops: sleeves or shoulders make the top the widest part).

It returns ``None`` when the photo is not a product shot it can read (a busy background,
no garment found), and the caller falls back to the file name. The user's choice always
wins and is remembered per garment (:class:`CategoryMemory`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from engine.images import preview, write_atomic
from engine.request import CATEGORIES

WORK_SIDE = 192


@dataclass(frozen=True)
class Silhouette:
    aspect: float  # height / width of the garment's bounding box
    top: float  # mean row width (fraction of the box width) over the top 10-30% of the box
    middle: float  # ... over 40-60%
    bottom: float  # ... over 75-95%
    leg_gap: float  # fraction of the bottom third's rows with background between two filled sides
    mass_y: float  # centre of mass, 0 = top of the box, 1 = bottom
    neck: float  # how far the top edge dips in the centre (a neckline), as a fraction of the height
    sleeves: float  # fraction of the middle rows split into three or more runs (sleeve, body, sleeve)
    fill: float  # filled fraction of the bounding box


def garment_mask(image: np.ndarray) -> np.ndarray | None:
    """bool (h, w) at a small size: the pixels that differ from the border's colour."""
    small = preview(image, WORK_SIDE).astype(np.int16)
    h, w = small.shape[:2]
    if h < 16 or w < 16:
        return None
    border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1], small[1], small[-2],
                             small[:, 1], small[:, -2]])
    bg = np.median(border, axis=0)
    spread = np.percentile(np.abs(border - bg).max(axis=1), 90)
    if spread > 40:  # not a plain background: a photo of a scene, not a product shot
        return None
    diff = np.abs(small - bg).max(axis=2)
    mask = (diff > max(12.0, 3.0 * spread)).astype(np.uint8) * 255
    img = Image.fromarray(mask).filter(ImageFilter.MedianFilter(5))
    mask = np.asarray(img) > 127
    if mask.mean() < 0.03 or mask.mean() > 0.97:
        return None
    return mask


def silhouette(mask: np.ndarray) -> Silhouette | None:
    ys, xs = np.nonzero(mask)
    if len(ys) < 50:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = mask[y0:y1, x0:x1]
    bh, bw = box.shape
    if bh < 8 or bw < 8:
        return None
    filled = box.any(axis=1)
    first = np.where(filled, box.argmax(axis=1), 0)
    last = np.where(filled, bw - 1 - box[:, ::-1].argmax(axis=1), 0)
    width = np.where(filled, (last - first + 1) / bw, 0.0)

    def band(a: float, b: float) -> float:
        return float(width[int(a * bh): max(int(a * bh) + 1, int(b * bh))].mean())

    lo = int(0.62 * bh)
    c0, c1 = int(0.44 * bw), max(int(0.44 * bw) + 1, int(0.56 * bw))
    third = max(1, bw // 3)
    gaps = 0
    rows = box[lo:int(0.97 * bh)]
    for row in rows:
        if not row[c0:c1].any() and row[:third].any() and row[-third:].any():
            gaps += 1
    mass_y = float(ys.mean() - y0) / bh
    cols = box.any(axis=0)
    top_edge = np.where(cols, box.argmax(axis=0), bh)  # first filled row of each column
    centre = float(np.median(top_edge[int(0.42 * bw): max(int(0.42 * bw) + 1, int(0.58 * bw))]))
    shoulders = float(min(top_edge[: max(1, int(0.42 * bw))].min(), top_edge[int(0.58 * bw):].min()))
    neck = max(0.0, centre - shoulders) / bh  # how far the neckline dips below the shoulders
    mid = box[int(0.35 * bh): max(int(0.35 * bh) + 1, int(0.8 * bh))]
    runs = (np.diff(mid.astype(np.int8), axis=1) == 1).sum(axis=1) + mid[:, 0]
    return Silhouette(bh / bw, band(0.10, 0.30), band(0.40, 0.60), band(0.75, 0.95),
                      gaps / max(1, len(rows)), mass_y, neck, float((runs >= 3).mean()),
                      float(box.mean()))


def classify(s: Silhouette) -> str:
    if s.leg_gap > 0.35:
        return "lower"  # two legs: trousers, shorts
    if s.neck < 0.006:
        return "lower"  # a straight waistband, no neckline: a skirt or shorts
    if s.bottom - s.middle >= 0.09 and s.aspect >= 0.95:
        return "dress"  # a neckline, and it flares from the waist to a long hem
    return "upper"


def guess_from_image(image: np.ndarray) -> str | None:
    """The category the silhouette suggests, or None when the photo is not a product shot."""
    mask = garment_mask(image)
    if mask is None:
        return None
    s = silhouette(mask)
    return classify(s) if s is not None else None


# -- the user's choice, remembered per garment ------------------------------------------------------
def garment_key(path: str | Path) -> str | None:
    """A content hash of the garment file (so a renamed copy is the same garment)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()[:24]


class CategoryMemory:
    """``<data dir>/categories.json``: garment content hash -> the category the user chose."""

    LIMIT = 5000

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._data: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._data is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError):
                raw = {}
            self._data = {k: v for k, v in raw.items() if isinstance(k, str) and v in CATEGORIES} \
                if isinstance(raw, dict) else {}
        return self._data

    def get(self, key: str | None) -> str | None:
        return self._load().get(key) if key else None

    def remember(self, key: str | None, category: str) -> None:
        if not key or category not in CATEGORIES:
            return
        data = self._load()
        if data.get(key) == category:
            return
        data.pop(key, None)
        data[key] = category
        while len(data) > self.LIMIT:
            data.pop(next(iter(data)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, (json.dumps(data) + "\n").encode(), private=True)
        except OSError:
            pass  # remembering is a convenience; never an error for the user
