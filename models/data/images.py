"""Image and mask files for datasets: reading (via the engine's safe loader), fitting to a
size, and writing PNGs deterministically.

Resizing rule (``fit``): ``"pad"`` scales the image to fit inside the requested (H, W)
keeping its aspect and pads the rest by edge replication — the same rule the engine uses
at inference, so training and inference see the same framing; ``"crop"`` scales it to
cover (H, W) and crops the centre. Masks follow the same geometry (nearest neighbour,
padding with False).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from engine.errors import InputError
from engine.images import load_image

FITS = ("pad", "crop")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def read_image(path: str | Path) -> np.ndarray:
    """RGB uint8 (H, W, 3), EXIF-upright; ``InputError`` naming the file if unusable."""
    return load_image(path)


def read_mask(path: str | Path) -> np.ndarray:
    """A mask file (any mode) as bool (H, W): pixels brighter than half are True."""
    img = load_image(path)
    return img.max(axis=2) > 127


def _geometry(src: tuple[int, int], size: tuple[int, int], fit: str):
    """(resized (h, w), crop box in the resized image or None, pad (top, left) or None)."""
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    H, W = size
    h0, w0 = src
    if fit == "pad":
        scale = min(H / h0, W / w0)
        h, w = max(1, min(H, round(h0 * scale))), max(1, min(W, round(w0 * scale)))
        return (h, w), None, ((H - h) // 2, (W - w) // 2)
    scale = max(H / h0, W / w0)
    h, w = max(H, round(h0 * scale)), max(W, round(w0 * scale))
    top, left = (h - H) // 2, (w - W) // 2
    return (h, w), (top, left), None


def fit_image(image: np.ndarray, size: tuple[int, int] | None, fit: str = "pad") -> np.ndarray:
    """Resize an RGB uint8 image to ``size`` = (H, W) by ``fit``; no-op when it already is."""
    if size is None or image.shape[:2] == tuple(size):
        return image
    H, W = size
    (h, w), crop, pad = _geometry(image.shape[:2], size, fit)
    out = np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.LANCZOS))
    if crop is not None:
        top, left = crop
        return np.ascontiguousarray(out[top : top + H, left : left + W])
    top, left = pad
    return np.pad(out, ((top, H - h - top), (left, W - w - left), (0, 0)), mode="edge")


def fit_mask(mask: np.ndarray, size: tuple[int, int] | None, fit: str = "pad") -> np.ndarray:
    """Resize a bool mask with the same geometry as ``fit_image`` (nearest neighbour)."""
    if size is None or mask.shape[:2] == tuple(size):
        return mask
    H, W = size
    (h, w), crop, pad = _geometry(mask.shape[:2], size, fit)
    out = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((w, h), Image.Resampling.NEAREST)) > 127
    if crop is not None:
        top, left = crop
        return np.ascontiguousarray(out[top : top + H, left : left + W])
    top, left = pad
    return np.pad(out, ((top, H - h - top), (left, W - w - left)), constant_values=False)


def png_bytes(array: np.ndarray) -> bytes:
    """PNG encoding of an RGB uint8 image or a bool mask; identical input → identical bytes."""
    if array.dtype == bool:
        img = Image.fromarray(array.astype(np.uint8) * 255, mode="L")
    else:
        img = Image.fromarray(array)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)  # no timestamps or text chunks
    return buf.getvalue()


def write_png(array: np.ndarray, path: str | Path) -> Path:
    """Write ``array`` as PNG atomically (a crash never leaves half a file under the name)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(png_bytes(array))
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(path, f"cannot be written ({exc.strerror or exc})") from None
    return path
