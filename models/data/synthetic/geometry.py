"""2-D geometry for the synthetic world: outlines as numpy point arrays, rasterised by PIL.

Shapes are polygons (float pixel coordinates, shape (k, 2) as x, y). ``raster`` fills a
union of polygons inside a bounding box at ``ss``× supersampling and box-filters it back,
which gives anti-aliased coverage in C instead of per-pixel Python.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw


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
        """Pixel-centre coordinates (X, Y) as float32 arrays broadcastable to ``shape``."""
        xs = np.arange(self.x0, self.x1, dtype=np.float32) + 0.5
        ys = np.arange(self.y0, self.y1, dtype=np.float32) + 0.5
        return xs[None, :], ys[:, None]


def bbox(polys: list[np.ndarray], size: tuple[int, int], pad: float = 1.0) -> Box | None:
    """The clipped integer box around ``polys``; None when it lies outside the image."""
    pts = np.concatenate(polys, axis=0)
    H, W = size
    x0 = max(int(np.floor(pts[:, 0].min() - pad)), 0)
    x1 = min(int(np.ceil(pts[:, 0].max() + pad)), W)
    y0 = max(int(np.floor(pts[:, 1].min() - pad)), 0)
    y1 = min(int(np.ceil(pts[:, 1].max() + pad)), H)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return Box(y0, y1, x0, x1)


def raster(polys: list[np.ndarray], box: Box, ss: int = 2) -> np.ndarray:
    """Coverage (float32 in [0, 1], shape ``box.shape``) of the union of ``polys``."""
    h, w = box.shape
    img = Image.new("L", (w * ss, h * ss), 0)
    draw = ImageDraw.Draw(img)
    off = np.array([box.x0, box.y0], dtype=np.float64)
    for p in polys:
        q = (p - off) * ss
        draw.polygon(q.ravel().tolist(), fill=255)
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
    idx = np.arange(nseg)[:, None] + np.arange(4)[None, :]  # (nseg, 4) control points per segment
    ctrl = ext[idx]  # (nseg, 4, 2)
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
    t = np.clip((rx * dx + ry * dy) * np.float32(1.0 / length2), 0.0, 1.0)
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
        self.n = n

    def rows(self, ly: np.ndarray) -> np.ndarray:
        return np.clip(ly - np.float32(self.y0), np.float32(0.0), np.float32(self.n - 1)).astype(np.intp)

    def across(self, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
        """Position across the outline at each pixel: 0 at the left edge, 1 at the right."""
        i = self.rows(ly)
        return (lx - self.left[i]) * self.inv_width[i]
