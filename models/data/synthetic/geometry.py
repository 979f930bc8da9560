"""2-D geometry for the synthetic world: outlines as numpy point arrays, rasterised by PIL.

Shapes are polygons (float pixel coordinates, shape (k, 2) as x, y). ``raster`` fills a
union of polygons inside a bounding box at ``ss``× supersampling and box-filters it back,
which gives anti-aliased coverage in C instead of per-pixel Python.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

try:  # the clip ufunc itself: np.clip reaches it through two Python-level wrappers
    from numpy._core.umath import clip
except ImportError:  # numpy < 2
    from numpy.core.umath import clip


class Box(NamedTuple):
    """A pixel rectangle [y0, y1) × [x0, x1) inside the image."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates (X, Y) as float32 arrays broadcastable to ``shape``
        (read-only views of one shared array)."""
        c = _pixel_centres(max(self.x1, self.y1))
        return c[None, self.x0 : self.x1], c[self.y0 : self.y1, None]


_centres = np.zeros(0, np.float32)


def _pixel_centres(n: int) -> np.ndarray:
    """``np.arange(n, dtype=float32) + 0.5`` (at least), computed once and shared."""
    global _centres
    if len(_centres) < n:
        c = np.arange(max(n, 2048), dtype=np.float32) + np.float32(0.5)
        c.flags.writeable = False
        _centres = c
    return _centres


def bbox(polys: list[np.ndarray], size: tuple[int, int], pad: float = 1.0) -> Box | None:
    """The clipped integer box around ``polys``; None when it lies outside the image."""
    return _points_box(np.concatenate(polys, axis=0) if len(polys) > 1 else polys[0], size, pad)


def _points_box(pts: np.ndarray, size: tuple[int, int], pad: float) -> Box | None:
    lo = np.minimum.reduce(pts, axis=0)  # the ufuncs' reduce directly: no Python wrappers
    hi = np.maximum.reduce(pts, axis=0)
    H, W = size
    x0 = max(math.floor(lo[0] - pad), 0)
    x1 = min(math.ceil(hi[0] + pad), W)
    y0 = max(math.floor(lo[1] - pad), 0)
    y1 = min(math.ceil(hi[1] + pad), H)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return Box(y0, y1, x0, x1)


_INV255 = np.float32(1.0 / 255.0)


def _public_drawer(buf: np.ndarray):
    """``fill(xy, ink)`` drawing polygons straight into the uint8 array ``buf`` (public PIL API)."""
    h, w = buf.shape
    img = Image.frombuffer("L", (w, h), buf, "raw", "L", 0, 1)
    img.readonly = 0  # frombuffer maps ``buf``; drawing must not copy it
    draw = ImageDraw.Draw(img)
    return lambda xy, ink: draw.polygon(xy, fill=ink)


def _core_drawer(buf: np.ndarray):
    """The same through Pillow's C core, without the Python wrappers (checked at import)."""
    h, w = buf.shape
    draw = Image.core.draw(Image.core.map_buffer(buf, (w, h), "raw", 0, ("L", 0, 1)), 0)
    return lambda xy, ink: draw.draw_polygon(xy, ink, 1)


def _polygon_xy(p: np.ndarray, off: np.ndarray, ss: int) -> np.ndarray:
    """Vertices for PIL, flattened: PIL truncates them to int, so they are passed already
    truncated, as float32 (exact for these magnitudes), which PIL reads without a list."""
    return np.trunc((p - off) * ss).astype(np.float32).ravel()


def _pick_drawer():
    rng = np.random.default_rng(0)
    try:
        for _ in range(8):
            pts = rng.uniform(-9.0, 41.0, (9, 2))
            off = np.array([1.5, 2.0])
            ref = Image.new("L", (64, 48), 0)
            ImageDraw.Draw(ref).polygon(((pts - off) * 2).ravel().tolist(), fill=1)
            outs = []
            for make in (_core_drawer, _public_drawer):
                buf = np.zeros((48, 64), np.uint8)
                make(buf)(_polygon_xy(pts, off, 2), 1)
                outs.append(buf.tobytes())
            if not outs[0] == outs[1] == ref.tobytes():
                return _public_drawer
        return _core_drawer
    except Exception:  # a Pillow without these internals
        return _public_drawer


_drawer = _pick_drawer()


def _subsamples(polys: list[np.ndarray], box: Box, ss: int, pts: np.ndarray | None = None) -> np.ndarray:
    """The polygons filled at ``ss``× into a uint8 buffer (h·ss, w·ss): ink 1, or 255 at 1×.
    ``pts`` is ``np.concatenate(polys)`` when the caller has it."""
    h, w = box.shape
    buf = np.zeros((h * ss, w * ss), np.uint8)
    fill = _drawer(buf)
    if pts is None:
        pts = np.concatenate(polys, axis=0) if len(polys) > 1 else polys[0]
    q = pts - np.array([box.x0, box.y0], dtype=np.float64)
    q *= ss
    q = np.trunc(q, out=q).astype(np.float32)
    ink = 255 if ss == 1 else 1
    k = 0
    for p in polys:
        n = len(p)
        fill(q[k : k + n].ravel(), ink)
        k += n
    return buf


def _coverage(buf: np.ndarray, ss: int) -> np.ndarray:
    """Coverage per pixel from ``_subsamples``: Pillow's ``reduce`` rounding, then / 255."""
    if ss == 1:
        return np.multiply(buf, _INV255, dtype=np.float32)
    if ss == 2:  # two columns per uint16; each byte lane holds at most 2
        r = buf.view(np.uint16)
        r = r[0::2] + r[1::2]
        r *= 0x0101  # the high byte becomes the sum of both lanes
        r >>= 8
    else:  # four columns per uint32; each byte lane holds at most 4
        r = buf.view(np.uint32)
        r = r[0::4] + r[1::4] + r[2::4] + r[3::4]
        r *= 0x01010101  # the top byte becomes the sum of the four lanes (<= 16)
        r >>= 24
    r *= 255
    r += ss * ss // 2
    r >>= 2 if ss == 2 else 4
    a = r.astype(np.float32)
    a *= _INV255
    return a


def raster(polys: list[np.ndarray], box: Box, ss: int = 2) -> np.ndarray:
    """Coverage (float32 in [0, 1], shape ``box.shape``) of the union of ``polys``.

    Equal to filling the polygons at ``ss``× in a PIL "L" image, ``Image.reduce(ss)`` and
    scaling by 1/255, but the subsamples are drawn straight into a numpy buffer (ink 1)
    and counted with packed integer adds, then mapped through Pillow's rounding
    ``(255 * count + ss * ss / 2) >> log2(ss * ss)``: no image copies or conversions.
    """
    if ss not in (1, 2, 4):
        return _raster_pil(polys, box, ss)
    return _coverage(_subsamples(polys, box, ss), ss)


def layer_coverage(
    polys: list[np.ndarray], size: tuple[int, int], ss: int, pad: float = 1.0, as_uint8: bool = False
) -> tuple[Box, np.ndarray] | None:
    """``bbox`` and ``raster`` in one go (the points are gathered once); None outside the
    image. With ``as_uint8`` (1× only) the coverage is the 0/255 uint8 mask itself."""
    pts = np.concatenate(polys, axis=0) if len(polys) > 1 else polys[0]
    box = _points_box(pts, size, pad)
    if box is None:
        return None
    if ss not in (1, 2, 4):
        return box, _raster_pil(polys, box, ss)
    buf = _subsamples(polys, box, ss, pts)
    if as_uint8 and ss == 1:
        return box, buf
    return box, _coverage(buf, ss)


def _raster_pil(polys: list[np.ndarray], box: Box, ss: int) -> np.ndarray:
    h, w = box.shape
    img = Image.new("L", (w * ss, h * ss), 0)
    draw = ImageDraw.Draw(img)
    off = np.array([box.x0, box.y0], dtype=np.float64)
    for p in polys:
        draw.polygon(((p - off) * ss).ravel().tolist(), fill=255)
    if ss > 1:
        img = img.reduce(ss)
    return np.asarray(img, dtype=np.float32) * (1.0 / 255.0)


def raster_rgba(items: list[tuple[list[np.ndarray], tuple[int, int, int, int]]], box: Box, ss: int, base=(0, 0, 0)):
    """Several flat-coloured shapes in one pass: (rgb float32 (3, h, w), coverage (h, w)).

    Later shapes replace earlier ones; edges blend towards ``base`` (the colour the result
    will be composited over, so the approximation is invisible).
    """
    h, w = box.shape
    img = Image.new("RGBA", (w * ss, h * ss), (*base, 0))
    draw = ImageDraw.Draw(img)
    off = np.array([box.x0, box.y0], dtype=np.float64)
    for polys, rgba in items:
        for p in polys:
            draw.polygon(((p - off) * ss).ravel().tolist(), fill=rgba)
    if ss > 1:
        img = img.reduce(ss)
    arr = np.asarray(img, dtype=np.float32) * np.float32(1.0 / 255.0)
    return np.ascontiguousarray(arr[:, :, :3].transpose(2, 0, 1)), np.ascontiguousarray(arr[:, :, 3])


@lru_cache(maxsize=256)
def lin(start: float, stop: float, num: int, endpoint: bool = True) -> np.ndarray:
    """``np.linspace(start, stop, num, endpoint=endpoint)`` for constant arguments, computed
    once (read-only)."""
    t = np.linspace(start, stop, num, endpoint=endpoint)
    t.flags.writeable = False
    return t


@lru_cache(maxsize=64)
def _arange64(num: int) -> np.ndarray:
    t = np.arange(num, dtype=np.float64)
    t.flags.writeable = False
    return t


def linspace(start: float, stop: float, num: int) -> np.ndarray:
    """``np.linspace(start, stop, num)`` (float64, endpoint included) with numpy's own
    arithmetic — ``arange * step + start``, the last value set to ``stop`` — minus its
    argument handling."""
    step = (np.float64(stop) - np.float64(start)) / (num - 1) if num > 1 else 0.0
    if num < 2 or step == 0 or not math.isfinite(step):
        return np.linspace(start, stop, num)
    y = _arange64(num) * step
    y += start
    y[-1] = stop
    return y


def rot(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else np.array([0.0, 1.0])


@lru_cache(maxsize=64)
def _circle(n: int, start: float = 0.0, stop: float = 2 * np.pi, endpoint: bool = False) -> np.ndarray:
    t = np.linspace(start, stop, n, endpoint=endpoint)
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def ellipse(c, rx: float, ry: float, angle: float = 0.0, n: int = 28) -> np.ndarray:
    """An ellipse outline centred at ``c`` with radii rx, ry, rotated by ``angle``."""
    pts = _circle(n) * (rx, ry)
    if angle:
        pts = pts @ rot(angle).T
    return pts + c


def capsule(p0, p1, r0: float, r1: float, n: int = 7) -> np.ndarray:
    """A tapered capsule: segment p0→p1 with radius r0 at p0 and r1 at p1, round ends."""
    p0 = np.asarray(p0, dtype=np.float64)
    p1 = np.asarray(p1, dtype=np.float64)
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    n_ = np.hypot(dx, dy)
    c, s = (dx / n_, dy / n_) if n_ > 1e-9 else (0.0, 1.0)
    half = _circle(n, -np.pi / 2, np.pi / 2, True)  # unit half circle facing +x
    R = np.array([[c, s], [-s, c]])  # rotate +x onto the segment direction (row vectors)
    h = half @ R
    return np.concatenate([p1 + r1 * h, p0 - r0 * h], axis=0)


@lru_cache(maxsize=16)
def _cr_basis(per_seg: int) -> np.ndarray:
    t = np.linspace(0, 1, per_seg, endpoint=False)
    t2, t3 = t * t, t * t * t
    return 0.5 * np.stack([-t + 2 * t2 - t3, 2 - 5 * t2 + 3 * t3, t + 4 * t2 - 3 * t3, -t2 + t3], axis=1)


@lru_cache(maxsize=64)
def _cr_index(nseg: int) -> np.ndarray:
    """(nseg, 4) indices of each segment's control points."""
    return np.arange(nseg)[:, None] + np.arange(4)[None, :]


def catmull_rom(points: np.ndarray, per_seg: int = 5, closed: bool = False) -> np.ndarray:
    """A smooth curve through ``points`` (k, 2) with ``per_seg`` samples per segment."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 3:
        return p
    if closed:
        ext = np.concatenate([p[-1:], p, p[:2]], axis=0)
        nseg = len(p)
    else:
        ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]], axis=0)
        nseg = len(p) - 1
    ctrl = ext[_cr_index(nseg)]  # (nseg, 4, 2)
    out = np.einsum("tk,skd->std", _cr_basis(per_seg), ctrl).reshape(-1, 2)
    if not closed:
        out = np.concatenate([out, p[-1:]], axis=0)
    return out


def seg_coords(X: np.ndarray, Y: np.ndarray, p0, p1) -> tuple[np.ndarray, np.ndarray]:
    """For pixel centres (X, Y): position along p0→p1 (0..1, clipped) and the signed
    distance from the axis in pixels, measured along the unit normal (-dy, dx) of p0→p1."""
    dx, dy = float(p1[0] - p0[0]), float(p1[1] - p0[1])
    length2 = max(dx * dx + dy * dy, 1e-9)
    rx = X - np.float32(p0[0])
    ry = Y - np.float32(p0[1])
    t = clip((rx * dx + ry * dy) * np.float32(1.0 / length2), 0.0, 1.0)
    inv = np.float32(1.0 / np.sqrt(length2))
    d = (ry * dx - rx * dy) * inv
    return t, d


class ProfileLUT:
    """x of the left and right outline per local pixel row, for fast per-pixel lookups."""

    def __init__(self, ys: np.ndarray, xl: np.ndarray, xr: np.ndarray):
        self.y0 = float(ys[0])
        n = max(int(np.ceil(ys[-1] - ys[0])) + 2, 2)
        yy = self.y0 + np.arange(n)
        self.left = np.interp(yy, ys, xl).astype(np.float32)
        width = np.maximum(np.interp(yy, ys, xr).astype(np.float32) - self.left, np.float32(1.0))
        self.inv_width = (np.float32(1.0) / width).astype(np.float32)
        self.half = (width * np.float32(0.5)).astype(np.float32)
        self.inv_width2 = self.inv_width * np.float32(2)  # gathered, the same as inv_width[i] * 2
        self.n = n

    def rows(self, ly: np.ndarray) -> np.ndarray:
        return clip(ly - np.float32(self.y0), np.float32(0.0), np.float32(self.n - 1)).astype(np.intp)

    def across(self, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
        """Position across the outline at each pixel: 0 at the left edge, 1 at the right."""
        i = self.rows(ly)
        return (lx - self.left[i]) * self.inv_width[i]
