"""Reading user images safely, and fitting them to the model's resolution and back.

Every problem becomes an ``InputError`` that names the file and says what is wrong; odd
but valid images (grayscale, CMYK, RGBA, 16-bit, palette, EXIF-rotated) are converted.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError

MAX_PIXELS = 80_000_000  # larger inputs are refused as possible decompression bombs
MIN_SIDE = 32
MAX_FILE_BYTES = 512 * 1024 * 1024


def load_image(path: str | Path) -> np.ndarray:
    """Read ``path`` as an upright RGB ``uint8`` array (H, W, 3) or raise ``InputError``."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not an image file")
    try:
        size = path.stat().st_size
        if size == 0:
            raise InputError(path, "file is empty (0 bytes)")
        if size > MAX_FILE_BYTES:
            raise InputError(path, f"file is {size / 2**20:.0f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    return decode_image(data, path)


def decode_image(data: bytes, name: str | Path = "<image>") -> np.ndarray:
    """Decode encoded image bytes (used for files and for pasted clipboard data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise InputError(
                    name, f"image is {w}x{h} ({w * h / 1e6:.0f} MP); the limit is {MAX_PIXELS // 1_000_000} MP"
                )
            img.load()
        except InputError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InputError(name, f"image is too large (over {MAX_PIXELS // 1_000_000} MP)") from None
        except UnidentifiedImageError:
            raise InputError(name, "not an image, or an image format this app cannot read") from None
        except (OSError, SyntaxError, ValueError) as exc:
            msg = str(exc).lower()
            if "truncated" in msg or "broken" in msg or "premature" in msg:
                raise InputError(name, "image data is truncated or corrupt") from None
            raise InputError(name, f"image data is corrupt ({exc})") from None
    if min(w, h) < MIN_SIDE:
        raise InputError(name, f"image is only {w}x{h} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed")
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a malformed EXIF block should not make a good image unusable
        pass
    return to_rgb(img)


def to_rgb(img: Image.Image) -> np.ndarray:
    """Any PIL mode -> RGB uint8. Transparency is composited onto white."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if mode == "F":
            top = max(float(arr.max(initial=1.0)), 1.0) if arr.max(initial=0) > 1.0 else 1.0
        gray = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


@dataclass(frozen=True)
class Fit:
    """How an image was placed in the model canvas, so the result can be put back."""

    source_size: tuple[int, int]  # (H, W) of the original
    canvas_size: tuple[int, int]  # (H, W) of the model input
    box: tuple[int, int, int, int]  # (top, left, height, width) of the image inside the canvas


def fit_image(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Fit]:
    """Resize ``image`` to fit inside ``size`` keeping its aspect, pad the rest by edge replication."""
    H, W = size
    h0, w0 = image.shape[:2]
    scale = min(H / h0, W / w0)
    h, w = max(1, min(H, round(h0 * scale))), max(1, min(W, round(w0 * scale)))
    resized = np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.LANCZOS))
    top, left = (H - h) // 2, (W - w) // 2
    canvas = np.pad(resized, ((top, H - h - top), (left, W - w - left), (0, 0)), mode="edge")
    return canvas, Fit((h0, w0), (H, W), (top, left, h, w))


def unfit_image(result: np.ndarray, fit: Fit) -> np.ndarray:
    """Crop the image region out of a model-size result and resize it to the source size."""
    top, left, h, w = fit.box
    crop = result[top : top + h, left : left + w]
    H0, W0 = fit.source_size
    if crop.shape[:2] == (H0, W0):
        return np.ascontiguousarray(crop)
    return np.asarray(Image.fromarray(crop).resize((W0, H0), Image.Resampling.LANCZOS))


def resize_square(image: np.ndarray, side: int) -> np.ndarray:
    """Letterbox into a white square (the adapter's input: garment shape is kept)."""
    h0, w0 = image.shape[:2]
    scale = side / max(h0, w0)
    h, w = max(1, round(h0 * scale)), max(1, round(w0 * scale))
    resized = np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.LANCZOS))
    canvas = np.full((side, side, 3), 255, np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top : top + h, left : left + w] = resized
    return canvas


def to_model(image: np.ndarray) -> np.ndarray:
    """uint8 HWC -> float32 NCHW in [-1, 1]."""
    return (image.astype(np.float32).transpose(2, 0, 1)[None] / 127.5) - 1.0


def from_model(x: np.ndarray) -> np.ndarray:
    """float NCHW (or CHW) in [-1, 1] -> uint8 HWC."""
    if x.ndim == 4:
        x = x[0]
    return np.clip((x.transpose(1, 2, 0) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def save_image(image: np.ndarray, path: str | Path) -> Path:
    """Save RGB uint8 as PNG/JPEG/WebP by suffix (JPEG at quality 95)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        raise InputError(path, "unsupported output format; use .png, .jpg or .webp")
    if path.parent and not path.parent.exists():
        raise InputError(path, f"folder {path.parent} does not exist")
    options = {"quality": 95} if suffix in (".jpg", ".jpeg", ".webp") else {}
    tmp = path.with_name(f".{path.name}.part")
    try:
        Image.fromarray(image).save(tmp, format=Image.registered_extensions()[suffix], **options)
        tmp.replace(path)  # atomic: a crash never leaves half a file under the real name
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(path, f"cannot be written ({exc.strerror or exc})") from None
    return path
