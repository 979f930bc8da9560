"""Product shots: a garment photographed on its own, as shops show them.

A ``ProductShot`` says how: laid out upright as on an invisible mannequin ("ghost"), flat
on a surface seen from above ("flat", turned a little, sleeves spread), or on a hanger
against a wall ("hanger", sleeves hanging); on a white, grey, coloured, graded or wooden
backdrop with the garment's shadow; filling more or less of a portrait, square or 4:5
frame, which the engine's own fit then pads into the model's canvas. Product photos get
their own, milder camera (``random_photo(product=True)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .camera import Photo, develop_box, fit, random_photo
from .draws import Draws, cdf
from .fabric import Prepared, prepare
from .garments import Garment, GarmentShape, flat_shape
from .geometry import lin
from .raster import Part, PartMap, composite, draw_all, supersampling
from .render import PRODUCT_LIGHT, Shading, _flat, garment_parts

F32 = np.float32
STYLES = ("ghost", "flat", "hanger")
_STYLE_CDF = cdf((0.45, 0.3, 0.25))
SURFACES = ("white", "grey", "colour", "graded", "wood")
_SURFACE_CDF = cdf((0.38, 0.2, 0.18, 0.14, 0.1))
ASPECTS = (None, 1.0, 0.8)  # the canvas's own, square, 4:5 (width / height)


@dataclass(frozen=True)
class ProductShot:
    style: str  # one of STYLES
    surface: str  # one of SURFACES
    color: tuple[int, int, int]  # the backdrop's colour
    aspect: float | None  # width / height of the photo; None: the canvas's own
    scale: float  # how much of the frame the garment fills
    offset: tuple[float, float]  # from the centre, fractions of the width and height
    angle: float  # radians (flat-lays)
    arms: float  # 0 sleeves hanging .. 1 spread
    photo: Photo


def random_product_shot(d: Draws) -> ProductShot:
    style = d.weighted(STYLES, _STYLE_CDF)
    surface = d.weighted(SURFACES, _SURFACE_CDF)
    if surface == "white":
        color = d.jitter((248, 248, 246), 3)
    elif surface == "grey":
        color = d.jitter(d.choice(((225, 225, 225), (200, 200, 202), (175, 175, 178))), 4)
    elif surface == "wood":
        color = d.jitter(d.choice(((190, 150, 105), (150, 110, 75), (215, 190, 150))), 10)
    else:  # coloured or graded paper
        color = (int(d.uniform(90, 250)), int(d.uniform(90, 250)), int(d.uniform(90, 250)))
    arms = {"ghost": d.uniform(0.3, 0.7), "flat": d.uniform(0.6, 1.0), "hanger": d.uniform(0.0, 0.3)}[style]
    return ProductShot(
        style=style, surface=surface, color=color, aspect=d.choice(ASPECTS), scale=d.uniform(0.72, 0.95),
        offset=(d.uniform(-0.04, 0.04), d.uniform(-0.03, 0.03)),
        angle=d.uniform(-0.14, 0.14) if style == "flat" else 0.0, arms=arms, photo=random_photo(d, product=True),
    )  # fmt: skip


def shot_size(shot: ProductShot, canvas: tuple[int, int]) -> tuple[int, int]:
    """The photo's size once fitted into ``canvas`` (the engine's rule): it is drawn at that
    size directly, then padded."""
    H, W = canvas
    if shot.aspect is None or abs(shot.aspect - W / H) < 1e-3:
        return H, W
    if shot.aspect > W / H:
        return max(8, round(W / shot.aspect)), W
    return H, max(8, round(H * shot.aspect))


def product_shape(g: Garment, shot: ProductShot, canvas: tuple[int, int]) -> GarmentShape:
    """The garment laid out for ``shot``, at the photo's size."""
    size = shot_size(shot, canvas)
    hanger = 0.08 if shot.style == "hanger" else 0.0  # room for the hook above the garment
    return flat_shape(g, size, shot.scale * (1 - hanger), (shot.offset[0], shot.offset[1] + hanger / 2),
                      shot.angle, shot.arms)  # fmt: skip


def product_layout(g: Garment, shot: ProductShot, canvas: tuple[int, int]) -> Prepared:
    """The garment laid out for ``shot`` and its fabric, at the photo's size."""
    return prepare(g, shot_size(shot, canvas), product_shape(g, shot, canvas))


def _hanger(g: Garment, shape: GarmentShape) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A hanger's bar (behind the garment, seen through the neckline) and hook (above it), in
    the garment's frame; for skirts and trousers a bar with clips along the waistband."""
    u = shape.unit
    top = -0.09 * u if g.category != "lower" else -0.12 * u  # the centre of the hook's curl
    r, w = 0.035 * u, 0.009 * u
    t = lin(-0.5 * np.pi, np.pi, 14)  # up from the stem, over the top, down the far side
    ring = np.stack([np.sin(t), -np.cos(t)], axis=1)
    hook = [np.concatenate([ring * (r + w), (ring * (r - w))[::-1]]) + [0.0, top]]
    stem = np.array([[-w, top + r], [w, top + r], [w, 0.02 * u], [-w, 0.02 * u]])
    if g.category == "lower":
        half = shape.hw_ref * 0.95
        bar = np.array([[-half, -0.03 * u], [half, -0.03 * u], [half, -0.01 * u], [-half, -0.01 * u]])
        clips = [np.array([[x - 0.02 * u, -0.035 * u], [x + 0.02 * u, -0.035 * u], [x + 0.02 * u, 0.03 * u],
                           [x - 0.02 * u, 0.03 * u]]) for x in (-half * 0.85, half * 0.85)]  # fmt: skip
        return [], hook + [stem, bar] + clips
    half = shape.hw_ref * 1.05
    bar = np.array([[-w * 2, 0.0], [w * 2, 0.0], [half, 0.1 * u], [half * 0.98, 0.12 * u], [-half * 0.98, 0.12 * u],
                    [-half, 0.1 * u]])  # fmt: skip
    return [bar], hook + [stem]


# the shadow of each style: softness and offset (fractions of the height), darkness
_SHADOW = {"ghost": (0.03, 0.012, 0.28), "flat": (0.012, 0.006, 0.3), "hanger": (0.04, 0.03, 0.25)}


def _rows(shot: ProductShot, H: int) -> np.ndarray:
    """The backdrop's light per row (3, H, 1): paper graded from top to bottom, or planks."""
    y = (np.arange(H, dtype=F32) + F32(0.5)) / F32(H)
    if shot.surface == "graded":
        rows = F32(1.08) - F32(0.22) * y
    elif shot.surface == "wood":  # planks across the frame
        planks = F32(0.88) + F32(0.2) * np.random.default_rng(sum(shot.color)).random(16, dtype=np.float32)
        rows = planks[np.minimum((y * F32(5.5)).astype(np.intp), 15)] * (F32(0.97) + F32(0.03) * np.sin(y * F32(90)))
    else:
        rows = F32(1.0) - F32(0.05) * y
    return (np.asarray(shot.color, F32).reshape(3, 1) / F32(255) * rows).reshape(3, H, 1)


def _shadow(polys: list[np.ndarray], box: tuple[int, int], origin: tuple[int, int], k: int, dy: int, dx: int,
            strength: float) -> np.ndarray:  # fmt: skip
    """(h, w) light factor of the garment's shadow over ``box`` at ``origin``: its outline
    filled at 1/k of the resolution, scaled back up (a soft edge about k pixels wide) and
    shifted down and right."""
    h, w = box
    small = PartMap((-(-h // k), -(-w // k)), 1)
    small.draw([(p - (origin[1] - dx, origin[0] - dy)) / k for p in polys], 255)
    img = Image.frombuffer("L", small.buf.shape[::-1], small.buf, "raw", "L", 0, 1)
    soft = np.asarray(img.resize((small.size[1] * k, small.size[0] * k), Image.Resampling.BILINEAR), dtype=F32)
    shade = soft[:h, :w] * F32(-strength / 255)
    shade += F32(1)
    return shade


def render_product(g: Garment, shot: ProductShot, canvas: tuple[int, int], layout: Prepared | None = None) -> np.ndarray:
    """The product photo of ``g`` fitted into ``canvas``: uint8 (H, W, 3).

    Only the box around the garment and its shadow is shaded and developed in floats; the
    backdrop around it is the same in every column, so its rows are developed once."""
    if layout is None:
        layout = product_layout(g, shot, canvas)
    shape, fabric = layout
    H, W = size = shot_size(shot, canvas)
    parts = garment_parts(g, shape, fabric.folded(g, worn=False), Shading(PRODUCT_LIGHT))
    order = parts.sleeves[0] + parts.sleeves[1] + parts.back
    front: list[Part] = []
    if shot.style == "hanger":
        bar, hook = _hanger(g, shape)
        metal = np.asarray((150, 115, 80) if g.seed % 2 else (200, 200, 205), F32).reshape(3, 1) / F32(255)
        if bar:
            order.append(_flat(metal * F32(0.8), [shape.frame.to_image(p) for p in bar]))
        front.append(_flat(metal, [shape.frame.to_image(p) for p in hook]))
    order += parts.main + front
    soft, depth, strength = _SHADOW[shot.style]
    k = max(2, round(soft * H / 2))
    dy, dx = max(1, round(depth * H)), max(1, round(depth * 0.7 * H))
    pts = np.concatenate([p for part in order for p in part.polys])
    x0, y0 = (max(int(v) - 1, 0) for v in np.floor(pts.min(axis=0)))
    x1 = min(int(np.ceil(pts[:, 0].max())) + dx + k + 2, W)
    y1 = min(int(np.ceil(pts[:, 1].max())) + dy + k + 2, H)
    box = (y1 - y0, x1 - x0)
    all_parts, (pm,) = draw_all(box, supersampling(size), [order], (y0, x0))
    rows = _rows(shot, H)
    backdrop = rows[:, y0:y1] * _shadow([p for part in order for p in part.polys], box, (y0, x0), k, dy, dx, strength)
    light = composite(pm, all_parts, backdrop, origin=(y0, x0))
    return fit(develop_box(rows, light, shot.photo, (y0, x0), W), canvas)
