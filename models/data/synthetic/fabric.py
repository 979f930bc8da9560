"""A garment's fabric as a look-up table in its (s, v) coordinates, with its folds baked in.

``prepare`` lays out the product shot and weaves the fabric at one texel per product-shot
pixel; the worn garment uses the same fabric box-filtered to its own scale. Folds (gentle
waves, drag lines from the armpits, ripples at knees and hems, drapes, pleats) are a
shading map over (s, v), multiplied in once, so shading a pixel costs one look-up whatever
the folds. Waistbands, hem bands and placket stitching are sewn into the fabric too.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image

from .garments import Garment, GarmentShape, flat_proportions, flat_shape
from .geometry import clip
from .textures import make_texture

F32 = np.float32


class Fabric:
    """Texture planes (3, th · cols); column ``x0`` is s = 0, ``unit`` texels per unit of s."""

    __slots__ = ("planes", "th", "cols", "unit", "x0", "_mean")

    def __init__(self, image: np.ndarray, unit: float, x0: float):
        self.th, self.cols = image.shape[1:]
        self.planes = np.ascontiguousarray(image.reshape(3, -1))
        self.unit, self.x0 = float(unit), float(x0)
        self._mean: np.ndarray | None = None

    def image(self) -> np.ndarray:
        return self.planes.reshape(3, self.th, self.cols)

    @property
    def mean(self) -> np.ndarray:
        """The mean colour (3, 1)."""
        if self._mean is None:
            self._mean = self.planes.mean(axis=1, keepdims=True)
        return self._mean

    def sample(self, s: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Nearest-texel colour (3, n) at garment coordinates (clamped at the borders)."""
        return self.texels(s * F32(self.unit) + F32(self.x0), v * F32(self.th))

    def texels(self, col: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Colour (3, n) at texel coordinates (clamped at the borders); ``col`` and ``row`` are
        the caller's to reuse."""
        clip(row, F32(0), F32(self.th - 1), out=row)
        r = row.astype(np.intp)
        r *= self.cols
        clip(col, F32(0), F32(self.cols - 1), out=col)
        r += col.astype(np.intp)
        return np.take(self.planes, r, axis=1)

    def reduced(self, f: int) -> Fabric:
        """The fabric box-filtered by ``f`` (for garments seen smaller than their product shot)."""
        if f <= 1:
            return self
        t = self.image()
        h, w = self.th // f * f, self.cols // f * f
        t = t[:, :h, :w].reshape(3, h // f, f, w // f, f).mean(axis=(2, 4), dtype=F32)
        return Fabric(t, self.unit / f, self.x0 / f)

    def folded(self, g: Garment, worn: bool) -> Fabric:
        """This fabric with ``g``'s folds shaded in: all of them worn; flat, only pleats."""
        shade = fold_shading(g, self, worn)
        if shade is None:
            return self
        return Fabric(self.image() * shade, self.unit, self.x0)


def fold_shading(g: Garment, fabric: Fabric, worn: bool, rows: int = 24, cols: int = 32) -> np.ndarray | None:
    """The folds' shading over the fabric (1 = no fold; broadcastable to (th, cols)), or None.

    Waves and drag lines vary in both directions: they are evaluated on a small grid (all
    the folds of a kind at once) and scaled up bicubically. Ripples vary along v and pleats
    along s only: they are evaluated per row and per column of the fabric, which keeps
    pleats crisp.
    """
    folds = g.folds if worn else [f for f in g.folds if f.kind == "pleats"]
    if not folds:
        return None
    by_kind: dict[str, list] = {}
    for f in folds:
        by_kind.setdefault(f.kind, []).append(f)
    shade = np.ones((1, 1), F32)
    if "wave" in by_kind or "drag" in by_kind:
        s = np.linspace(-fabric.x0 / fabric.unit, (fabric.cols - fabric.x0) / fabric.unit, cols, dtype=F32)[None, None]
        v = np.linspace(0.0, 1.0, rows, dtype=F32)[None, :, None]
        grid = np.zeros((rows, cols), F32)
        if "wave" in by_kind:  # amp * cos(2 pi (a s + b v) + c), growing towards the hem where d is set
            p = np.array([(f.a, f.b, f.c, f.amp, f.d) for f in by_kind["wave"]], F32).T[:, :, None, None]
            term = np.cos((F32(2 * np.pi) * p[0]) * s + ((F32(2 * np.pi) * p[1]) * v + p[2]))
            term *= p[3] * np.where(p[4] > 0, v * v, F32(1))
            grid += term.sum(axis=0)
        if "drag" in by_kind:  # a ridge lit on one side and shadowed on the other, fading along
            p = np.array([(f.a, f.b, np.cos(f.c), np.sin(f.c), f.d, 1 / f.width, f.amp * 2.33) for f in by_kind["drag"]],
                         F32).T[:, :, None, None]  # fmt: skip
            ds, dv = s - p[0], v - p[1]
            along = ds * p[2] + dv * p[3]
            across = (dv * p[2] - ds * p[3]) * p[5]
            env = np.clip(along / (F32(0.15) * p[4]), 0, 1) * np.clip((p[4] - along) / (F32(0.6) * p[4]), 0, 1)
            grid += (p[6] * across * np.exp(-across * across) * env).sum(axis=0)
        img = Image.fromarray(grid, mode="F").resize((fabric.cols, fabric.th), Image.Resampling.BICUBIC)
        shade = shade + np.asarray(img)
    if "ripple" in by_kind:
        v = (np.arange(fabric.th, dtype=F32)[:, None] + F32(0.5)) / F32(fabric.th)
        for f in by_kind["ripple"]:
            shade = shade + F32(f.amp) * np.cos(F32(2 * np.pi * f.b) * v) * np.exp(-(((v - F32(f.a)) / F32(f.c)) ** 2))
    for f in by_kind.get("pleats", ()):  # a sawtooth across: each pleat turns away from the light
        s = (np.arange(fabric.cols, dtype=F32)[None, :] + F32(0.5 - fabric.x0)) / F32(fabric.unit)
        amp = f.amp if worn else f.amp * 0.5
        shade = shade + F32(amp) * (F32(1) - F32(2) * np.mod(s * F32(g.pleats), F32(1)))
    return shade


def add_details(tex: np.ndarray, g: Garment, unit: float, x0: float) -> np.ndarray:
    """Sew the garment's details into its fabric (3, th, cols), in place: a waistband, a rib
    band at the hem, the stitching of a button placket. They sit at fixed (s, v), so the
    product shot and the worn garment show them alike."""
    th, cols = tex.shape[1:]
    trim = None if g.trim is None else (np.asarray(g.trim, F32) / F32(255)).reshape(3, 1, 1)
    if g.category == "lower":
        band = tex[:, : max(1, round(0.07 * th))]
        band[:] = trim if trim is not None else band * F32(0.8)
    if g.hem_band:
        band = tex[:, th - max(1, round(0.06 * th)) :]
        band[:] = trim if trim is not None else band * F32(0.85)
    if g.buttons:
        v0, v1 = round(0.06 * th), round((1.0 if g.collar == "shirt" else 0.3) * th)
        for s in (0.465, 0.535):
            c = int(x0 + s * unit)
            if 0 <= c < cols:
                tex[:, v0:v1, c] *= F32(0.7)
    return tex


class Prepared(NamedTuple):
    """A garment ready to photograph at one size: its product-shot layout and its fabric."""

    flat: GarmentShape
    fabric: Fabric  # unfolded, one texel per product-shot pixel


def texture_box(shape: GarmentShape) -> tuple[int, int, float, float]:
    """(rows, cols, unit, x0) of a fabric matching ``shape``: one texel per local pixel,
    s = 0..1 spanning the reference width, wide enough for the worn wrap (15% more)."""
    hw = max(shape.hw_ref, 2.0)
    unit = 2.0 * hw
    xs = np.concatenate([p[:, 0] for p in shape.main] + [p[:, 0] for t in shape.sleeves for p in t.polys])
    s_lo = 0.5 - 1.15 * (0.5 - min(0.5 + 0.5 * float(xs.min()) / hw, 0.0)) - 0.02
    s_hi = 0.5 + 1.15 * (max(0.5 + 0.5 * float(xs.max()) / hw, 1.0) - 0.5) + 0.02
    th = max(8, int(round(shape.v1 - shape.v0)))
    cols = max(8, int(np.ceil((s_hi - s_lo) * unit)))
    return th, cols, unit, -s_lo * unit


def prepare(g: Garment, size: tuple[int, int], shape: GarmentShape | None = None) -> Prepared:
    """Lay out the product shot (unless given) and weave the fabric to match it."""
    if shape is None:
        shape = flat_shape(g, size)
    th, cols, unit, x0 = texture_box(shape)
    tex = add_details(make_texture(g.texture, th, cols, panel_x0=x0, panel_w=unit), g, unit, x0)
    return Prepared(shape, Fabric(tex, unit, x0))


def worn_fabric(g: Garment, worn: GarmentShape, size: tuple[int, int], prepared: Prepared | None = None) -> Fabric:
    """The fabric at about one texel per pixel of the ``worn`` garment, with all its folds:
    the product shot's fabric box-filtered, or (for a garment never shown flat) woven
    directly at that scale in the proportions a product shot would have, wide enough for
    any worn mapping (s from -0.7 to 1.7)."""
    scale = max(worn.v1 - worn.v0, 1.0)
    if prepared is not None:
        return prepared.fabric.reduced(int(max(prepared.fabric.th / scale, 1.0))).folded(g, worn=True)
    th = max(8, round(scale))
    unit = th / flat_proportions(g)
    cols, x0 = max(8, round(2.4 * unit)), 0.7 * unit
    tex = add_details(make_texture(g.texture, th, cols, panel_x0=x0, panel_w=unit), g, unit, x0)
    return Fabric(tex, unit, x0).folded(g, worn=True)
