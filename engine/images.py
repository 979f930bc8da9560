"""Reading user images safely, and fitting them to the model's resolution and back.

Every problem becomes an ``InputError`` that names the file and says what is wrong; odd
but valid images (grayscale, CMYK, RGBA, 16-bit, palette, EXIF-rotated) are converted.

Hostile files are expected (docs/reliability.md):

- only the formats a photo comes in are decoded (``PHOTO_FORMATS``); Pillow is never
  allowed to pick another plugin from the content, so a PostScript file named ``.png``
  is refused instead of being handed to Ghostscript;
- only regular files are opened (never a FIFO, a device or a socket), without blocking,
  and a file is never read whole: the decoder streams it;
- the file size and the pixel count from the header are checked before anything is
  decoded; the decoded picture is converted to RGB in bands and rotated upright in place,
  so an 80 MP photo costs its decoded size once plus one RGB copy, not five float copies;
- large arrays are resized in bands (``resize_array``), never through one full-size
  Pillow copy;
- results are written to a unique temporary file in the same folder (``O_EXCL``, never
  following a planted symlink), flushed (fsync'd where asked) and renamed into place,
  and never over one of the inputs.
"""

from __future__ import annotations

import errno
import hashlib
import io
import math
import os
import secrets
import stat
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import InputError

MAX_PIXELS = 80_000_000  # larger inputs are refused as possible decompression bombs
MIN_SIDE = 32
MAX_ASPECT = 20.0  # longer side / shorter side
MAX_FILE_BYTES = 512 * 1024 * 1024
# The formats photos come in (Pillow's JPEG plugin also opens multi-picture "MPO" files from phones).
PHOTO_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")
FORMAT_NAMES = "PNG, JPEG, WebP, BMP, TIFF or GIF"
GARMENT_MAX_SIDE = 2048  # garments only ever feed the model at <= 1024 px: decode them smaller
BAND_BYTES = 32 << 20  # work in bands of about this many bytes of Pillow data

_EXIF_ORIENTATION = 0x0112


# -- opening files --------------------------------------------------------------------------------
def _os_problem(exc: OSError) -> str:
    """A user-facing sentence for an OS error on a path."""
    code = exc.errno
    if code == errno.ENOENT:
        return "file not found"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.EISDIR:
        return "is a folder, not an image file"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long for this system"
    if code == errno.ENOTDIR:
        return "a part of the path is not a folder"
    if code == errno.ELOOP:
        return "too many levels of symbolic links"
    return f"cannot be read ({exc.strerror or exc})"


def open_regular_file(path: str | Path, what: str = "an image file") -> tuple[io.BufferedReader, int]:
    """Open ``path`` for reading if it is a regular, non-empty file within the size limit.

    Opened without blocking, so a FIFO or a device is refused instead of hanging; the size
    is taken from the open file, so it cannot change between the check and the read.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(path, _os_problem(exc)) from None
    except ValueError:  # an embedded NUL character
        raise InputError(path, "the file name contains a NUL character") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(path, f"is a folder, not {what}")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(path, "is not a regular file (a device, pipe or socket); choose an image file")
        if st.st_size == 0:
            raise InputError(path, "file is empty (0 bytes)")
        if st.st_size > MAX_FILE_BYTES:
            raise InputError(path, f"file is {st.st_size / 2**20:.0f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB")
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def load_image(path: str | Path, max_side: int | None = None) -> np.ndarray:
    """Read ``path`` as an upright RGB ``uint8`` array (H, W, 3) or raise ``InputError``.

    ``max_side`` shrinks the picture (keeping its aspect) so its longer side is at most
    that many pixels; JPEGs are then decoded at reduced size directly.
    """
    path = Path(path)
    fh, _ = open_regular_file(path)
    with fh:
        return _decode(fh, path, max_side)[0]


def load_preview(path: str | Path, max_side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """A picture for the screen: at most ``max_side`` on its longer side, and the upright
    (height, width) of the full picture. Refuses exactly what :func:`load_image` refuses."""
    path = Path(path)
    fh, _ = open_regular_file(path)
    with fh:
        return _decode(fh, path, max_side)


def load_garment(path: str | Path) -> np.ndarray:
    """A garment photo: the model never sees it larger than 1024 px, so it is decoded small."""
    return load_image(path, max_side=GARMENT_MAX_SIDE)


def decode_image(data: bytes, name: str | Path = "<image>", max_side: int | None = None) -> np.ndarray:
    """Decode encoded image bytes (used for pasted clipboard data)."""
    if not data:
        raise InputError(name, "the image data is empty")
    if len(data) > MAX_FILE_BYTES:
        raise InputError(name, f"the image data is {len(data) / 2**20:.0f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB")
    return _decode(io.BytesIO(data), name, max_side)[0]


# -- decoding -------------------------------------------------------------------------------------
def _open(fp, name) -> Image.Image:
    try:
        return Image.open(fp, formats=PHOTO_FORMATS)
    except UnidentifiedImageError:
        raise InputError(name, f"not an image, or an image format this app cannot read (use {FORMAT_NAMES})") from None
    except Exception as exc:  # a header a plugin chokes on: the file is damaged, not our bug
        raise InputError(name, _corrupt(exc)) from None


def _corrupt(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "image is too large to decode on this computer"
    msg = " ".join(str(exc).split())  # one line, whatever the library said
    low = msg.lower()
    if "truncated" in low or "broken" in low or "premature" in low or isinstance(exc, EOFError):
        return "image data is truncated or corrupt"
    return f"image data is corrupt ({msg[:160]})" if msg else "image data is corrupt"


def _check_size(name, w: int, h: int) -> None:
    if w <= 0 or h <= 0:
        raise InputError(name, f"image has no pixels ({w}x{h})")
    if w * h > MAX_PIXELS:
        raise InputError(name, f"image is {w}x{h} ({w * h / 1e6:.0f} MP); the limit is {MAX_PIXELS // 1_000_000} MP")
    if min(w, h) < MIN_SIDE:
        raise InputError(name, f"image is only {w}x{h} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed")
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise InputError(name, f"image is {w}x{h}: too long and thin (at most {MAX_ASPECT:.0f}:1)")


def _decode(fp, name, max_side: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    # Pillow's warnings (odd EXIF, odd MPO...) never reach the user: a file either works or
    # gets one InputError. Errors raised by the decoder on a damaged file become InputError.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        img = _open(fp, name)
        try:
            try:
                w, h = img.size
                _check_size(name, w, h)
                full = (w, h)
                if max_side and img.format in ("JPEG", "MPO") and max(w, h) > 2 * max_side:
                    img.draft("RGB", (max_side, max_side))  # DCT scaling: decode at 1/2, 1/4, 1/8
                img.load()
            except InputError:
                raise
            except Exception as exc:
                raise InputError(name, _corrupt(exc)) from None
            try:
                orientation = int(img.getexif().get(_EXIF_ORIENTATION, 1))
            except Exception:  # a malformed EXIF block should not make a good image unusable
                orientation = 1
            try:
                factor = max(img.size) // max_side if max_side else 1
                if factor >= 2 and img.mode in _REDUCIBLE:
                    # a preview: shrink the decoded picture by box averaging before converting it,
                    # so no full-size RGB copy is made (the final resize below is a Lanczos one)
                    small = img.reduce(factor)
                    img.close()
                    img = small
                rgb = _to_rgb_upright(img, orientation)
            except MemoryError:
                raise InputError(name, "image is too large to decode on this computer") from None
            except Exception as exc:  # a decoder that only fails on conversion (lazy tiles, palettes)
                raise InputError(name, _corrupt(exc)) from None
        finally:
            img.close()
    upright = (full[0], full[1]) if orientation in (5, 6, 7, 8) else (full[1], full[0])
    if max_side and max(rgb.shape[:2]) > max_side:
        h0, w0 = upright
        scale = max_side / max(h0, w0)
        rgb = resize_array(rgb, (max(1, round(h0 * scale)), max(1, round(w0 * scale))))
    return rgb, upright


# PIL's transpose for each EXIF orientation, as numpy views of the *upright* array that have
# the stored picture's shape: writing the stored rows into the view rotates them in place.
_STORED_VIEW = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored
    3: lambda a: a[::-1, ::-1],  # rotated 180
    4: lambda a: a[::-1],  # flipped
    5: lambda a: a.swapaxes(0, 1),  # transposed
    6: lambda a: np.rot90(a, 1),  # stored rotated: display turns it 90 degrees clockwise
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],  # transversed
    8: lambda a: np.rot90(a, -1),
}


def _to_rgb_upright(img: Image.Image, orientation: int) -> np.ndarray:
    """The loaded picture as upright RGB uint8, converted band by band (no full-size copies)."""
    w, h = img.size
    if orientation not in _STORED_VIEW:
        orientation = 1
    upright = (w, h) if orientation in (5, 6, 7, 8) else (h, w)
    out = np.empty((*upright, 3), np.uint8)
    view = _STORED_VIEW[orientation](out)  # shape (h, w, 3)
    top = _gray_top(img)
    rows = max(1, BAND_BYTES // max(1, w * 4))
    for y in range(0, h, rows):
        y1 = min(h, y + rows)
        band = img.crop((0, y, w, y1)) if (y, y1) != (0, h) else img
        view[y:y1] = to_rgb(band, top)
    return out


_HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_REDUCIBLE = ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F")


def _gray_top(img: Image.Image) -> float | None:
    """The value that maps to white for 16-bit, 32-bit and float pictures (the whole picture's)."""
    mode = img.mode
    if mode not in _HIGH_DEPTH:
        return None
    lo, hi = img.getextrema()
    if mode == "F":
        hi = float(hi) if math.isfinite(hi) else 1.0
        return max(hi, 1.0) if hi > 1.0 else 1.0
    return 65535.0 if mode.startswith("I;16") or hi > 255 else 255.0


def to_rgb(img: Image.Image, top: float | None = None) -> np.ndarray:
    """Any PIL mode -> RGB uint8. Transparency is composited onto white.

    ``top`` is the value that maps to white for high-depth modes (default: from ``img``).
    """
    mode = img.mode
    if mode in _HIGH_DEPTH:
        if top is None:
            top = _gray_top(img)
        arr = np.asarray(img, dtype=np.float32 if mode == "F" else np.float64)
        if mode == "F":
            arr = np.nan_to_num(arr, nan=0.0, posinf=top, neginf=0.0)
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


# -- resizing large arrays in bands -------------------------------------------------------------
_SUPPORT = {
    Image.Resampling.NEAREST: 0.5,
    Image.Resampling.BOX: 0.5,
    Image.Resampling.BILINEAR: 1.0,
    Image.Resampling.HAMMING: 1.0,
    Image.Resampling.BICUBIC: 2.0,
    Image.Resampling.LANCZOS: 3.0,
}


def resize_bands(image: np.ndarray, size: tuple[int, int], resample=Image.Resampling.LANCZOS,
                 band_bytes: int = BAND_BYTES) -> Iterator[tuple[int, int, np.ndarray]]:
    """Resize ``image`` (H, W[, C] uint8) to ``size`` (h, w), yielding ``(y0, y1, rows)`` bands.

    Each band is Pillow's resize of just the source rows it needs (with the filter's
    support around them, and ``box`` keeping the sample positions of a whole-image resize),
    so no full-size Pillow copy of a large picture is ever made.
    """
    H0, W0 = image.shape[:2]
    h, w = size
    scale = H0 / h
    support = _SUPPORT.get(resample, 3.0) * max(scale, 1.0) + 2.0
    per_out_row = max(1, W0 * 4) * max(scale, 1.0) + max(1, w * 4)
    rows = max(1, int(band_bytes // per_out_row))
    if rows >= h:
        yield 0, h, np.asarray(Image.fromarray(image).resize((w, h), resample))
        return
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        s0, s1 = y0 * scale, y1 * scale
        a = max(0, int(math.floor(s0 - support)))
        b = min(H0, int(math.ceil(s1 + support)))
        band = Image.fromarray(np.ascontiguousarray(image[a:b]))
        yield y0, y1, np.asarray(band.resize((w, y1 - y0), resample, box=(0.0, s0 - a, float(W0), s1 - a)))


def resize_array(image: np.ndarray, size: tuple[int, int], resample=Image.Resampling.LANCZOS) -> np.ndarray:
    """``image`` resized to ``size`` (h, w), through bands when it is large (same result)."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    out = None
    for y0, y1, band in resize_bands(image, size, resample):
        if out is None:
            if y1 == h:
                return band
            out = np.empty((h, w, *band.shape[2:]), band.dtype)
        out[y0:y1] = band
    return out


# -- fitting to the model and back ----------------------------------------------------------------
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
    resized = resize_array(image, (h, w))
    top, left = (H - h) // 2, (W - w) // 2
    canvas = np.pad(resized, ((top, H - h - top), (left, W - w - left), (0, 0)), mode="edge")
    return canvas, Fit((h0, w0), (H, W), (top, left, h, w))


def crop_fit(result: np.ndarray, fit: Fit) -> np.ndarray:
    """The image region of a model-size result (still at model resolution)."""
    top, left, h, w = fit.box
    return np.ascontiguousarray(result[top : top + h, left : left + w])


def unfit_image(result: np.ndarray, fit: Fit) -> np.ndarray:
    """Crop the image region out of a model-size result and resize it to the source size."""
    crop = crop_fit(result, fit)
    H0, W0 = fit.source_size
    return resize_array(crop, (H0, W0))


def resize_square(image: np.ndarray, side: int) -> np.ndarray:
    """Letterbox into a white square (the adapter's input: garment shape is kept)."""
    h0, w0 = image.shape[:2]
    scale = side / max(h0, w0)
    h, w = max(1, round(h0 * scale)), max(1, round(w0 * scale))
    resized = resize_array(image, (h, w))
    canvas = np.full((side, side, 3), 255, np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top : top + h, left : left + w] = resized
    return canvas


def preview(image: np.ndarray, max_side: int) -> np.ndarray:
    """A copy no larger than ``max_side`` on its longer side (the image itself if it fits)."""
    h0, w0 = image.shape[:2]
    if max(h0, w0) <= max_side:
        return image
    scale = max_side / max(h0, w0)
    return resize_array(image, (max(1, round(h0 * scale)), max(1, round(w0 * scale))))


def to_model(image: np.ndarray) -> np.ndarray:
    """uint8 HWC -> float32 NCHW in [-1, 1]."""
    return (image.astype(np.float32).transpose(2, 0, 1)[None] / 127.5) - 1.0


def from_model(x: np.ndarray) -> np.ndarray:
    """float NCHW (or CHW) in [-1, 1] -> uint8 HWC."""
    if x.ndim == 4:
        x = x[0]
    return np.clip((x.transpose(1, 2, 0) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


# -- writing ---------------------------------------------------------------------------------------
OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
                  ".tif": "TIFF", ".tiff": "TIFF"}


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same existing file (symlinks and hard links included)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def check_output(path: str | Path, inputs: Sequence[str | Path] = ()) -> Path:
    """Refuse an output path that cannot be written or that is one of ``inputs``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise InputError(path, "unsupported output format; use .png, .jpg or .webp")
    parent = path.parent
    try:
        st = os.stat(parent)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise InputError(path, f"folder {parent} does not exist") from None
        raise InputError(path, _os_problem(exc)) from None
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(path, f"{parent} is not a folder")
    if len(os.fsencode(path.name)) > 255:
        raise InputError(path, "the file name is too long for this system")
    for other in inputs:
        if same_file(path, other):
            raise InputError(path, "is one of the input images; choose another output file "
                                   "(inputs are never overwritten)")
    if path.is_dir():
        raise InputError(path, "is a folder")
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not possible on every platform (Windows): the file itself was fsync'd
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def create_temp(folder: Path, name: str, private: bool = False) -> tuple[int, Path]:
    """A new, unique temporary file next to ``name`` in ``folder``: ``O_EXCL``, never a link.

    ``private`` files are 0600; others get the user's umask, like any new file.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    stem = name[:40]
    for _ in range(100):
        tmp = folder / f".{stem}.{secrets.token_hex(6)}.part"
        try:
            return os.open(tmp, flags, 0o600 if private else 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a unique temporary file", str(folder))


def copy_by_content(path: str | Path, folder: Path, suffix: str) -> Path:
    """A private (0600), durable copy of the regular file ``path`` in ``folder``, named by its
    content's sha256 (so one photo is stored once), streamed: never read whole."""
    fh, _ = open_regular_file(path)
    fd, tmp = create_temp(folder, "input", private=True)
    digest = hashlib.sha256()
    try:
        with fh, os.fdopen(fd, "wb") as out:
            while block := fh.read(1 << 20):
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        target = folder / f"{digest.hexdigest()[:24]}{suffix}"
        if target.exists():
            tmp.unlink()
        else:
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def write_atomic(path: str | Path, data: bytes, durable: bool = False, private: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half a file)."""
    path = Path(path)
    fd, tmp = create_temp(path.parent, path.name, private)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)
    return path


def save_image(image: np.ndarray, path: str | Path, inputs: Sequence[str | Path] = (),
               durable: bool = False, private: bool = False) -> Path:
    """Save RGB uint8 as PNG/JPEG/WebP by suffix (JPEG at quality 95), atomically.

    Refuses to write over any of ``inputs``. ``durable`` fsyncs the file and its folder
    before returning (history depends on it); ``private`` makes the file 0600.
    """
    path = check_output(path, inputs)
    suffix = path.suffix.lower()
    options = {"quality": 95} if suffix in (".jpg", ".jpeg", ".webp") else {}
    try:
        fd, tmp = create_temp(path.parent, path.name, private)
    except OSError as exc:
        raise InputError(path, f"cannot be written ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            Image.fromarray(image).save(fh, format=OUTPUT_FORMATS[suffix], **options)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic: a crash never leaves half a file under the real name
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(path, f"cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)
    return path
