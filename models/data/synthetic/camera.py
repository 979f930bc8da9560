"""The photo: how a rendered scene becomes a camera picture, and how a picture is fitted to the model.

``develop`` runs a scene (float32 light, channels first) through a simple camera: lens
vignetting and blur, sensor noise (read noise plus shot noise that grows with the light),
then the picture style (white balance, exposure and a tone curve, one look-up table per
channel) and JPEG compression. Every step is local, so two scenes that differ in one
garment give pictures that are identical wherever the garment and its blur, and the
JPEG blocks that hold it, are not: the person wearing A and the person wearing B share
one noise realisation, one light and one JPEG quality. ``develop_region`` exploits that:
the second picture is developed only around what changed, and the result is the same,
byte for byte, as developing it whole (a test checks this).

``fit`` is the engine's own rule for any input (resize to fit, pad by edge replication),
used for landscape photos and for product shots that are not of the model's aspect.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from engine.images import fit_image

from .draws import Draws
from .geometry import clip

F32 = np.float32
MCU = 16  # JPEG blocks with 4:2:0 chroma are 16x16 pixels


@dataclass(frozen=True)
class Photo:
    """A camera's rendering of one scene: everything but the scene itself."""

    gains: tuple[float, float, float]  # exposure times white balance, per channel
    contrast: float  # tone curve: 0 linear, > 0 an S-curve, < 0 flatter
    gamma: float  # mid-tone lift (1 = none)
    vignette: float  # darkening at the corners (0 = none)
    blur: float  # lens / motion softness: passes of a [1 2 1] filter (0 = sharp; fractions blend)
    noise: float  # read noise, standard deviation in [0, 1] units
    shot: float  # shot noise: standard deviation grows by this times the light
    jpeg: int  # JPEG quality, 0 = none
    noise_at: int  # where this picture's noise starts in the noise bank


def random_photo(d: Draws, product: bool = False) -> Photo:
    """A portrait photo (phone or camera, in any light) or a milder product photo."""
    warm = d.uniform(-1, 1)
    if product:  # studio light, a careful exposure, clean, sometimes compressed
        exposure = d.uniform(0.95, 1.1)
        wb = (1 + 0.03 * warm, 1.0, 1 - 0.03 * warm)
        return Photo(
            gains=tuple(exposure * g for g in wb), contrast=d.uniform(0.0, 0.3), gamma=d.uniform(0.95, 1.1),
            vignette=0.0, blur=0.0, noise=0.0, shot=0.0, jpeg=int(d.uniform(75, 97)) if d.chance(0.3) else 0,
            noise_at=0,
        )  # fmt: skip
    exposure = d.uniform(0.82, 1.18)
    tint = d.uniform(-0.03, 0.03)
    wb = (1 + 0.09 * warm, 1 + tint, 1 - 0.09 * warm)
    return Photo(
        gains=tuple(exposure * g for g in wb), contrast=d.uniform(-0.25, 0.6), gamma=d.uniform(0.85, 1.2),
        vignette=d.uniform(0.05, 0.35) if d.chance(0.4) else 0.0,
        blur=d.uniform(0.3, 1.6) if d.chance(0.3) else 0.0,
        noise=d.uniform(0.002, 0.025) if d.chance(0.75) else 0.0, shot=d.uniform(0.0, 0.03),
        jpeg=int(d.uniform(40, 96)) if d.chance(0.6) else 0, noise_at=d.integer(1 << 30),
    )  # fmt: skip


# -- the noise bank ---------------------------------------------------------------------

_NOISE_SEED = 0x5E7502
_CHUNK = 1 << 20
_bank = np.zeros(0, F32)


def noise_bank(n: int) -> np.ndarray:
    """At least ``n`` standard normal float32s, the same in every process: drawn once in
    chunks of 2**20 from fixed seeds, so a picture's noise is a slice of it (no per-picture
    random generation) and the bank's prefix never depends on how much was asked for."""
    global _bank
    if len(_bank) < n:
        k = max(4, -(-n // _CHUNK))
        chunks = [np.random.default_rng(np.random.SeedSequence(_NOISE_SEED, spawn_key=(i,))).standard_normal(
            _CHUNK, dtype=np.float32) for i in range(k)]  # fmt: skip
        _bank = np.concatenate(chunks)
        _bank.flags.writeable = False
    return _bank


_STARTS = 1 << 20  # where a picture's noise may start in the bank


def _noise(photo: Photo, H: int, W: int) -> np.ndarray:
    """This picture's noise field (3, H, W): a window of the bank, starting at a place that
    depends only on the photo (not on how large the bank has grown in this process)."""
    n = 3 * H * W
    start = photo.noise_at % _STARTS
    return noise_bank(_STARTS + n)[start : start + n].reshape(3, H, W)


# -- the picture style: one look-up table per channel -------------------------------------

_Q = 1024  # light is quantised to 10 bits before the tone curve


@lru_cache(maxsize=16)
def _tone_table(photo: Photo) -> np.ndarray:
    """uint8 (3·_Q,): channel c's 10-bit light q maps to entry c·_Q + q."""
    x = np.arange(_Q, dtype=F32) * F32(1 / (_Q - 1))
    y = np.clip(x[None, :] * np.asarray(photo.gains, F32)[:, None], 0, 1) ** F32(1 / photo.gamma)
    y += F32(photo.contrast) * (y * y * (F32(3) - F32(2) * y) - y)  # towards a smoothstep: an S-curve
    table = (np.clip(y, 0, 1) * F32(255) + F32(0.5)).astype(np.uint8).ravel()
    table.flags.writeable = False
    return table


@lru_cache(maxsize=8)
def _radius2(H: int, W: int) -> np.ndarray:
    """Squared distance from the centre (H, W), 1 at the middle of the sides (read-only)."""
    y = ((np.arange(H, dtype=F32) + F32(0.5)) / F32(H) - F32(0.5)) * F32(2)
    x = ((np.arange(W, dtype=F32) + F32(0.5)) / F32(W) - F32(0.5)) * F32(2)
    r2 = (y * y)[:, None] * F32(0.5) + (x * x)[None, :] * F32(0.5)
    r2.flags.writeable = False
    return r2


def _binomial(x: np.ndarray) -> np.ndarray:
    """One [1 2 1]/4 pass along each axis of (3, h, w), as two [1 1]/2 passes per axis; the
    outermost pixels keep their values."""
    a = x[:, :, :-1] + x[:, :, 1:]
    b = a[:, :, :-1] + a[:, :, 1:]
    c = b[:, :-1] + b[:, 1:]
    d = c[:, :-1] + c[:, 1:]
    d *= F32(1 / 16)
    out = x.copy()
    out[:, 1:-1, 1:-1] = d
    return out


def _blur(img: np.ndarray, amount: float) -> np.ndarray:
    passes = int(np.ceil(amount))
    for p in range(passes):
        b = _binomial(img)
        f = amount - p
        img = b if f >= 1 else img + (b - img) * F32(f)
    return img


def _margin(photo: Photo) -> int:
    """Pixels of context the blur needs around a region."""
    return int(np.ceil(photo.blur)) + 1


_OFF = (np.arange(3, dtype=F32) * _Q + F32(0.5)).reshape(3, 1, 1)  # channel c's table, rounding
_LO = (np.arange(3, dtype=F32) * _Q).reshape(3, 1, 1)
_HI = _LO + F32(_Q - 1)


_BAND = 16384  # pixels per band when developing: a band's floats stay in the CPU cache


def _develop_float(light: np.ndarray, photo: Photo, y0: int, x0: int, full: tuple[int, int]) -> np.ndarray:
    """Lens, sensor and picture style for the window (3, h, w) of a picture of size ``full``
    whose top-left corner is at (y0, x0): uint8 (h, w, 3). ``light`` is not modified.

    The window is developed in bands of rows whose temporaries stay in the CPU cache; the
    blur, which needs neighbours, reads a few rows more around each band (the same values
    as blurring the whole window)."""
    H, W = full
    _, h, w = light.shape
    table = _tone_table(photo)
    out = np.empty((h, w, 3), np.uint8)
    rows = max(1, _BAND // max(w, 1))
    m = int(np.ceil(photo.blur))  # rows of context the blur needs around a band
    for a in range(0, h, rows):
        b = min(a + rows, h)
        if photo.blur:
            top, bottom = max(a - m, 0), min(b + m, h)
            img = _blur(light[:, top:bottom], photo.blur)[:, a - top : a - top + b - a]
        else:
            img = light[:, a:b]
        if photo.vignette:
            img = img * (F32(1) - F32(photo.vignette) * _radius2(H, W)[y0 + a : y0 + b, x0 : x0 + w])
        if photo.noise or photo.shot:
            noise = img * F32(photo.shot)
            noise += F32(photo.noise)
            noise *= _noise(photo, H, W)[:, y0 + a : y0 + b, x0 : x0 + w]
            img = img + noise
        q = img * F32(_Q - 1)
        q += _OFF
        clip(q, _LO, _HI, out=q)
        chw = np.take(table, q.astype(np.intp))
        o = out[a:b]
        for c in range(3):
            o[:, :, c] = chw[c]
    return out


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG round trip (4:2:0 chroma, libjpeg's defaults), decoded by Pillow's JPEG decoder
    directly (the file's headers are known, so the plugin's parsing is skipped)."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality, subsampling="4:2:0")
    h, w = rgb.shape[:2]
    return np.asarray(Image.frombytes("RGB", (w, h), buf.getvalue(), "jpeg", "RGB", ""))


def develop(light: np.ndarray, photo: Photo) -> np.ndarray:
    """A scene's light (3, H, W) float32 as the camera's picture: uint8 (H, W, 3)."""
    _, H, W = light.shape
    out = _develop_float(light, photo, 0, 0, (H, W))
    return _jpeg(out, photo.jpeg) if photo.jpeg else out


def develop_box(rows: np.ndarray, light: np.ndarray, photo: Photo, origin: tuple[int, int], width: int) -> np.ndarray:
    """``develop`` of a picture that is ``rows`` (3, H, 1) in every column except in a box of
    ``light`` (3, h, w) at ``origin`` (y, x): the rows are developed once and repeated, the
    box developed on its own. For photos without vignette, blur or noise (product shots),
    whose pixels develop independently."""
    if photo.vignette or photo.blur or photo.noise or photo.shot:
        raise ValueError("develop_box needs a photo whose pixels develop independently")
    H = rows.shape[1]
    y0, x0 = origin
    _, h, w = light.shape
    line = _develop_float(rows, photo, 0, 0, (H, 1))  # (H, 1, 3)
    out = np.empty((H, width, 3), np.uint8)
    out[:, :1] = line
    k = 1
    while k < width:  # copies of doubling width: much faster than broadcasting 3-byte pixels
        n = min(k, width - k)
        out[:, k : k + n] = out[:, :n]
        k += n
    out[y0 : y0 + h, x0 : x0 + w] = _develop_float(light, photo, y0, x0, (H, width))
    return _jpeg(out, photo.jpeg) if photo.jpeg else out


def develop_region(light: np.ndarray, photo: Photo, like: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """``develop(light, photo)`` computed only around ``changed`` (bool (H, W)), given
    ``like`` = ``develop`` of a scene that differs from ``light`` only there."""
    _, H, W = light.shape
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if not len(rows):
        return like.copy()
    m = _margin(photo)
    # the pixels the blur spreads the change to, then (with JPEG) whole blocks plus a ring of
    # blocks around them (the decoder's chroma upsampling reads one sample into neighbours)
    y0, y1 = max(int(rows[0]) - m, 0), min(int(rows[-1]) + 1 + m, H)
    x0, x1 = max(int(cols[0]) - m, 0), min(int(cols[-1]) + 1 + m, W)
    ring = 0
    if photo.jpeg:
        ring = MCU
        y0, x0 = max((y0 // MCU - 1) * MCU, 0), max((x0 // MCU - 1) * MCU, 0)
        y1, x1 = min(-(-y1 // MCU) * MCU + MCU, H), min(-(-x1 // MCU) * MCU + MCU, W)
    # developed with the blur's context around it; JPEG'd with one more ring of blocks
    cy0, cx0 = max(y0 - ring, 0), max(x0 - ring, 0)
    cy1, cx1 = min(y1 + ring, H), min(x1 + ring, W)
    py0, px0 = max(cy0 - m, 0), max(cx0 - m, 0)
    py1, px1 = min(cy1 + m, H), min(cx1 + m, W)
    window = _develop_float(light[:, py0:py1, px0:px1], photo, py0, px0, (H, W))
    crop = window[cy0 - py0 : cy1 - py0, cx0 - px0 : cx1 - px0]
    if photo.jpeg:
        crop = _jpeg(np.ascontiguousarray(crop), photo.jpeg)
    out = like.copy()
    out[y0:y1, x0:x1] = crop[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]
    return out


# -- fitting to the model's canvas -----------------------------------------------------------


def fit(image: np.ndarray, canvas: tuple[int, int]) -> np.ndarray:
    """The engine's fit (``engine.images.fit_image``): scale to fit, pad by edge replication.
    A picture that already fits (drawn at its fitted size) is only padded, by the same rule
    (a test checks it against the engine's)."""
    H, W = canvas
    h, w = image.shape[:2]
    if (h, w) == (H, W):
        return image
    if not (h == H and w <= W or w == W and h <= H):
        return fit_image(image, canvas)[0]
    top, left = (H - h) // 2, (W - w) // 2
    out = np.empty((H, W, 3), np.uint8)
    out[top : top + h, left : left + w] = image
    out[:top, left : left + w] = image[:1]
    out[top + h :, left : left + w] = image[-1:]
    out[:, :left] = out[:, left : left + 1]
    out[:, left + w :] = out[:, left + w - 1 : left + w]
    return out


def fit_coverage(coverage: np.ndarray, canvas: tuple[int, int]) -> np.ndarray:
    """A mask for ``fit``: the coverage (h, w) float32 scaled with the picture by area, then
    "at least half of a pixel"; the padding is False."""
    H, W = canvas
    h0, w0 = coverage.shape
    if (h0, w0) == (H, W):
        return coverage >= 0.5
    scale = min(H / h0, W / w0)
    h, w = max(1, min(H, round(h0 * scale))), max(1, min(W, round(w0 * scale)))
    small = np.asarray(Image.fromarray(coverage, mode="F").resize((w, h), Image.Resampling.BOX))
    top, left = (H - h) // 2, (W - w) // 2
    out = np.zeros((H, W), bool)
    out[top : top + h, left : left + w] = small >= 0.5
    return out
