"""Guessing a garment's category from the product photo itself (Qt-free, no network model).

A product shot shows one garment on a plain background. The garment is separated from the
backdrop (the border's colour; a shadow, which darkens the backdrop without changing its hue,
is backdrop too; thin things such as a hanger's hook are opened away; holes where the print
matches the backdrop are filled), and its silhouette decides: the width, the filled share and
the number of separate runs (legs, sleeves beside the body) of each eighth of its height, its
aspect and fill, scored by a small linear classifier (:data:`WEIGHTS_FILE`).

The classifier's weights are fitted by ``python benchmarks/category_guess.py --fit`` on the
synthetic world's product shots of the fitting seeds (never the held-out seeds the benchmark
and the tests score). It returns ``None`` when the photo is not a product shot it can read
(a busy background, no garment found), and the caller falls back to the file name. The
user's choice always wins and is remembered per garment (:class:`CategoryMemory`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from engine.images import preview, write_atomic
from engine.request import CATEGORIES

WORK_SIDE = 192
BANDS = 8  # the silhouette is read in this many horizontal bands, top to bottom
WEIGHTS_FILE = Path(__file__).with_name("resources") / "category_guess.json"


def garment_mask(image: np.ndarray) -> np.ndarray | None:
    """bool (h, w) at a small size: the garment, apart from its backdrop and shadow."""
    small = preview(image, WORK_SIDE).astype(np.float32)
    h, w = small.shape[:2]
    if h < 16 or w < 16:
        return None
    border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1], small[1], small[-2],
                             small[:, 1], small[:, -2]])
    bg = np.median(border, axis=0)
    spread = np.percentile(np.abs(border - bg).max(axis=1), 90)
    if spread > 40:  # not a plain background: a photo of a scene, not a product shot
        return None
    fg = np.abs(small - bg).max(axis=2) > max(12.0, 3.0 * spread)
    ratio = (small + 8.0) / (bg + 8.0)  # a shadow scales the backdrop's colour, all channels alike
    light = ratio.mean(axis=2)
    fg &= ~((light > 0.55) & (light < 1.02) & (np.abs(ratio - light[..., None]).max(axis=2) < 0.06))
    img = Image.fromarray(fg.astype(np.uint8) * 255).filter(ImageFilter.MedianFilter(5))
    img = img.filter(ImageFilter.MinFilter(5)).filter(ImageFilter.MaxFilter(5))  # drop hooks, threads
    framed = Image.new("L", (img.width + 2, img.height + 2), 0)
    framed.paste(img, (1, 1))
    ImageDraw.floodfill(framed, (0, 0), 128)  # the backdrop is what the border reaches
    mask = np.asarray(framed)[1:-1, 1:-1] != 128
    if mask.mean() < 0.03 or mask.mean() > 0.97:
        return None
    return mask


def silhouette(mask: np.ndarray) -> np.ndarray | None:
    """The features the classifier reads, or None for a mask too small to read."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 50:
        return None
    box = mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    bh, bw = box.shape
    if bh < 8 or bw < 8:
        return None
    filled = box.any(axis=1)
    first = np.where(filled, box.argmax(axis=1), 0)
    last = np.where(filled, bw - 1 - box[:, ::-1].argmax(axis=1), 0)
    width = np.where(filled, (last - first + 1) / bw, 0.0)  # outer width of each row
    runs = (np.diff(box.astype(np.int8), axis=1) == 1).sum(axis=1) + box[:, 0]  # separate pieces
    edges = np.linspace(0, bh, BANDS + 1).astype(int)

    def bands(row: np.ndarray) -> list[float]:
        return [float(row[a: max(a + 1, b)].mean()) for a, b in zip(edges[:-1], edges[1:], strict=True)]

    return np.array([np.log(bh / bw), float(box.mean())] + bands(width) + bands(box.mean(axis=1))
                    + bands(runs >= 2) + bands(runs >= 3), dtype=np.float64)


@functools.lru_cache(maxsize=1)
def _weights() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    return tuple(data["classes"]), np.asarray(data["weights"], np.float64), np.asarray(data["bias"], np.float64)


def classify(features: np.ndarray) -> str:
    classes, weights, bias = _weights()
    return classes[int(np.argmax(weights @ features + bias))]


def guess_from_image(image: np.ndarray) -> str | None:
    """The category the silhouette suggests, or None when the photo is not a product shot."""
    mask = garment_mask(image)
    if mask is None:
        return None
    features = silhouette(mask)
    return classify(features) if features is not None else None


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
