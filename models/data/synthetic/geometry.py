"""2-D geometry for the synthetic world: outlines as numpy point arrays (k, 2) of (x, y).

Outlines are built in a local frame (the body frame for people and worn garments, the
garment's own frame for product shots) and moved into the image by a ``Frame``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

try:  # the clip ufunc itself: np.clip reaches it through two Python-level wrappers
    from numpy._core.umath import clip
except ImportError:  # numpy < 2
    from numpy.core.umath import clip

F32 = np.float32

__all__ = [
    "Frame", "ProfileLUT", "capsule", "catmull_rom", "chain_part", "clip", "ellipse", "lin", "tube", "tube_chain",
    "unit",
]  # fmt: skip


@lru_cache(maxsize=256)
def lin(start: float, stop: float, num: int, endpoint: bool = True) -> np.ndarray:
    """``np.linspace`` for constant arguments, computed once (read-only)."""
    t = np.linspace(start, stop, num, endpoint=endpoint)
    t.flags.writeable = False
    return t


def unit(v) -> np.ndarray:
    n = float(np.hypot(v[0], v[1]))
    return np.asarray(v, dtype=np.float64) / n if n > 1e-9 else np.array([0.0, 1.0])


@lru_cache(maxsize=64)
def _circle(n: int, start: float = 0.0, stop: float = 2 * np.pi, endpoint: bool = False) -> np.ndarray:
    t = np.linspace(start, stop, n, endpoint=endpoint)
    c = np.stack([np.cos(t), np.sin(t)], axis=1)
    c.flags.writeable = False
    return c


def ellipse(c, rx: float, ry: float, angle: float = 0.0, n: int = 24) -> np.ndarray:
    """An ellipse outline centred at ``c`` with radii ``rx``, ``ry``, rotated by ``angle``."""
    pts = _circle(n) * (rx, ry)
    if angle:
        ca, sa = np.cos(angle), np.sin(angle)
        pts = pts @ np.array([[ca, sa], [-sa, ca]])
    return pts + c


def capsule(p0, p1, r0: float, r1: float, n: int = 7) -> np.ndarray:
    """A tapered capsule: segment p0 → p1, radius r0 at p0 and r1 at p1, round ends."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    length = float(np.hypot(dx, dy))
    c, s = (dx / length, dy / length) if length > 1e-9 else (0.0, 1.0)
    h = _circle(n, -np.pi / 2, np.pi / 2, True) @ np.array([[c, s], [-s, c]])  # half circle facing p0 → p1
    return np.concatenate([np.asarray(p1) + r1 * h, np.asarray(p0) - r0 * h], axis=0)


def tube(p0, p1, r0: float, r1: float, cap0: bool = True, cap1: bool = False, n: int = 7) -> np.ndarray:
    """A tapered tube from p0 to p1 with optional round caps (a straight cut without)."""
    p0 = np.asarray(p0, dtype=np.float64)
    p1 = np.asarray(p1, dtype=np.float64)
    d = unit(p1 - p0)
    nrm = np.array([-d[1], d[0]])
    base = float(np.arctan2(d[1], d[0]))
    if cap1:
        end = p1 + r1 * (_circle(n, -np.pi / 2, np.pi / 2, True) @ _rot(base))
    else:
        end = np.stack([p1 - nrm * r1, p1 + nrm * r1])
    if cap0:
        start = p0 + r0 * (_circle(n, np.pi / 2, 3 * np.pi / 2, True) @ _rot(base))
    else:
        start = np.stack([p0 + nrm * r0, p0 - nrm * r0])
    return np.concatenate([end, start], axis=0)


def _rot(angle: float) -> np.ndarray:
    """Row-vector rotation by ``angle``: ``pts @ _rot(a)``."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, s], [-s, c]])


def chain_part(joints: np.ndarray, radii: np.ndarray, frac: float) -> tuple[np.ndarray, np.ndarray]:
    """The first ``frac`` of a joint chain (by length), with interpolated radii."""
    seg = np.hypot(*(joints[1:] - joints[:-1]).T)
    want = frac * float(seg.sum())
    out_j, out_r = [joints[0]], [radii[0]]
    acc = 0.0
    for i, length in enumerate(seg):
        if acc + length >= want - 1e-9:
            f = (want - acc) / max(length, 1e-9)
            out_j.append(joints[i] + (joints[i + 1] - joints[i]) * f)
            out_r.append(radii[i] + (radii[i + 1] - radii[i]) * f)
            break
        out_j.append(joints[i + 1])
        out_r.append(radii[i + 1])
        acc += length
    return np.asarray(out_j), np.asarray(out_r)


def tube_chain(joints: np.ndarray, radii: np.ndarray, cap_start: bool = True) -> list[np.ndarray]:
    """Tubes along a joint chain, rounded at the inner joints, cut straight at the end."""
    last = len(joints) - 2
    return [
        tube(joints[i], joints[i + 1], radii[i], radii[i + 1], cap0=cap_start or i > 0, cap1=i < last)
        for i in range(len(joints) - 1)
    ]


@lru_cache(maxsize=16)
def _cr_basis(per_seg: int) -> np.ndarray:
    t = np.linspace(0, 1, per_seg, endpoint=False)
    t2, t3 = t * t, t * t * t
    return 0.5 * np.stack([-t + 2 * t2 - t3, 2 - 5 * t2 + 3 * t3, t + 4 * t2 - 3 * t3, -t2 + t3], axis=1)


@lru_cache(maxsize=64)
def _cr_index(nseg: int) -> np.ndarray:
    return np.arange(nseg)[:, None] + np.arange(4)[None, :]


def catmull_rom(points, per_seg: int = 5, closed: bool = False) -> np.ndarray:
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
    out = (_cr_basis(per_seg) @ ext[_cr_index(nseg)]).reshape(-1, 2)
    return out if closed else np.concatenate([out, p[-1:]], axis=0)


class Frame:
    """Local → image: rotate by ``angle`` about the local origin, then move it to ``origin``."""

    __slots__ = ("origin", "angle", "_rt", "_c", "_s", "_ox", "_oy")

    def __init__(self, origin, angle: float = 0.0):
        self.origin = np.asarray(origin, dtype=np.float64)
        self.angle = float(angle)
        c, s = float(np.cos(angle)), float(np.sin(angle))
        self._rt = np.array([[c, s], [-s, c]])
        self._c, self._s = F32(c), F32(s)
        self._ox, self._oy = F32(self.origin[0]), F32(self.origin[1])

    def to_image(self, pts) -> np.ndarray:
        """Local points (k, 2) to image pixel coordinates."""
        return np.asarray(pts, dtype=np.float64) @ self._rt + self.origin

    def to_local(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image coordinates (float32 arrays) to local ones."""
        dx = X - self._ox
        dy = Y - self._oy
        if self.angle == 0.0:
            return dx, dy
        return dx * self._c + dy * self._s, dy * self._c - dx * self._s


class ProfileLUT:
    """x of an outline's left and right side per local row, for per-pixel lookups."""

    __slots__ = ("y0", "n", "left", "inv_width2", "half")

    def __init__(self, ys: np.ndarray, xl: np.ndarray, xr: np.ndarray):
        self.y0 = float(ys[0])
        self.n = max(int(np.ceil(ys[-1] - ys[0])) + 2, 2)
        yy = self.y0 + np.arange(self.n)
        self.left = np.interp(yy, ys, xl).astype(F32)
        width = np.maximum(np.interp(yy, ys, xr).astype(F32) - self.left, F32(1.0))
        self.inv_width2 = (F32(2.0) / width).astype(F32)
        self.half = (width * F32(0.5)).astype(F32)

    def rows(self, ly: np.ndarray) -> np.ndarray:
        return clip(ly - F32(self.y0), F32(0), F32(self.n - 1)).astype(np.intp)

    def across(self, lx: np.ndarray, ly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position across the outline, -1 at the left side to 1 at the right; row index)."""
        i = self.rows(ly)
        return (lx - self.left[i]) * self.inv_width2[i] - F32(1.0), i
