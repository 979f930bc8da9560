"""Backgrounds: studio sweeps, plain and textured walls, and cluttered rooms, shops, streets and parks.

A ``Backdrop`` is a small spec; ``render_backdrop`` draws it at a scene size as float32
(3, H·W). Plain kinds are computed with numpy from a row and a column profile; cluttered
kinds are drawn by Pillow (walls, floors, furniture, shelves of books, plants, lamps,
windows, clothes rails, buildings, trees) at a reduced resolution and scaled up, which is
both the depth of field of a portrait lens and cheap: a background behind a sharp person
is drawn at a quarter of the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .draws import Draws, cdf
from .geometry import clip

F32 = np.float32
BACKDROPS = ("studio", "plain", "plaster", "brick", "room", "shop", "street", "park")
_KIND_CDF = cdf((0.16, 0.12, 0.07, 0.06, 0.24, 0.11, 0.13, 0.11))
WALLS = ((236, 232, 225), (214, 208, 196), (190, 200, 205), (222, 214, 190), (170, 180, 170), (120, 130, 140),
         (200, 170, 150), (60, 64, 70), (245, 245, 245), (180, 160, 190))  # fmt: skip


@dataclass(frozen=True)
class Backdrop:
    kind: str
    colors: tuple[tuple[int, int, int], ...]  # wall / sky first, then floor and accents
    floor: float  # wall-floor line (or horizon) as a fraction of the height
    blur: float  # depth of field: drawn at 1 / blur of the scene's resolution (1 = sharp)
    side: float  # -1..1: which side the light falls from (the wall is brighter there)
    seed: int


def random_backdrop(d: Draws) -> Backdrop:
    kind = d.weighted(BACKDROPS, _KIND_CDF)
    wall = d.jitter(d.choice(WALLS), 14)
    if kind == "studio" and d.chance(0.4):  # coloured paper
        wall = d.jitter((d.uniform(60, 240), d.uniform(60, 240), d.uniform(60, 240)), 10)
    floor = d.jitter(d.choice(((150, 110, 75), (120, 90, 60), (180, 170, 160), (90, 90, 95), (200, 190, 175))), 14)
    accent = d.jitter((d.uniform(30, 230), d.uniform(30, 230), d.uniform(30, 230)), 10)
    sky = d.jitter(d.choice(((150, 190, 230), (200, 215, 230), (235, 225, 210), (170, 180, 190))), 10)
    colors = {
        "street": (sky, d.jitter((120, 120, 125), 15), accent), "park": (sky, d.jitter((90, 140, 70), 20), accent),
        "brick": (d.jitter(d.choice(((150, 70, 50), (170, 110, 80), (120, 60, 50), (200, 190, 180))), 12), wall, accent),
    }.get(kind, (wall, floor, accent))  # fmt: skip
    blur = 1.0 if kind in ("studio", "plain") else d.choice((1.0, 1.5, 2.0, 2.0, 3.0, 4.0))
    return Backdrop(kind, colors, d.uniform(0.6, 0.86), blur, d.uniform(-1, 1), d.seed())


def render_backdrop(bd: Backdrop, size: tuple[int, int], feet: tuple[float, float, float] | None = None) -> np.ndarray:
    """The backdrop as float32 (3, H·W) in [0, 1]; ``feet`` = (x, y, half-width) in pixels
    adds a soft contact shadow on the floor."""
    H, W = size
    x = (np.arange(W, dtype=F32) + F32(0.5)) / F32(W) - F32(0.5)
    side = F32(1.0) + F32(0.12 * bd.side) * x  # brighter on the side of the light
    if bd.kind in ("studio", "plain", "plaster", "brick"):
        img = _plain(bd, H, W)
        img *= side
    else:
        h, w = max(8, round(H / bd.blur)), max(8, round(W / bd.blur))
        pic = Image.new("RGB", (w, h), bd.colors[0])
        _CLUTTER[bd.kind](ImageDraw.Draw(pic), bd, h, w, Draws(np.random.default_rng(bd.seed)))
        if (h, w) != (H, W):
            pic = pic.resize((W, H), Image.Resampling.BILINEAR)
        img = np.empty((3, H, W), F32)  # channels first in one pass over the picture
        np.multiply(np.asarray(pic).transpose(2, 0, 1), side * F32(1 / 255), out=img)
    if feet is not None and bd.kind not in ("plain", "brick", "plaster"):
        _contact_shadow(img, *feet)
    return img.reshape(3, H * W)


def _plain(bd: Backdrop, H: int, W: int) -> np.ndarray:
    y = (np.arange(H, dtype=F32)[:, None] + F32(0.5)) / F32(H)
    x = (np.arange(W, dtype=F32)[None, :] + F32(0.5)) / F32(W)
    c0 = np.asarray(bd.colors[0], F32).reshape(3, 1, 1) / F32(255)
    c1 = np.asarray(bd.colors[1], F32).reshape(3, 1, 1) / F32(255)
    if bd.kind == "studio":  # a paper sweep: wall curving into the floor, a soft vignette
        t = clip((y - F32(bd.floor)) / F32(0.2), F32(0), F32(1))
        t = t * t * (F32(3) - F32(2) * t)
        floor = c0 * F32(0.85) + c1 * F32(0.1)
        vignette = F32(1) - F32(0.22) * ((x - F32(0.5)) ** 2 + (y - F32(0.45)) ** 2)
        return (c0 + (floor - c0) * t[None]) * vignette[None]
    if bd.kind == "plain":  # a wall, flat or graded top to bottom
        return (c0 + (c0 * F32(0.82) - c0) * y[None]) * np.ones((1, 1, W), F32)
    if bd.kind == "plaster":
        small = np.random.default_rng(bd.seed).random((9, 8), dtype=np.float32)
        n = np.asarray(Image.fromarray(small, mode="F").resize((W, H), Image.Resampling.BICUBIC))
        return c0 * (F32(0.9) + F32(0.14) * clip(n, F32(0), F32(1)))[None]
    # brick: staggered courses, each brick its own shade, mortar between: a tile of 8 courses
    # of 4 bricks, repeated
    rng = np.random.default_rng(bd.seed)
    bh = max(int(round(H / rng.uniform(18, 30))), 3)
    bw = max(int(round(bh * rng.uniform(2.2, 3.0))), 4)
    mortar = max(int(round(bh * 0.12)), 1)
    shade = rng.uniform(0.8, 1.1, (8, 4)).astype(F32)
    tile = np.repeat(np.repeat(shade, bh, axis=0), bw, axis=1)  # (8 bh, 4 bw)
    for r in range(1, 8, 2):  # every other course shifted by half a brick
        tile[r * bh : (r + 1) * bh] = np.roll(tile[r * bh : (r + 1) * bh], bw // 2, axis=1)
    wall = np.ones_like(tile, dtype=bool)
    for r in range(8):
        wall[r * bh : r * bh + mortar] = False
        off = (bw // 2) * (r % 2)
        for c in range(5):
            x = (c * bw + off) % (4 * bw)
            wall[r * bh : (r + 1) * bh, x : x + mortar] = False
    t = np.where(wall, tile, F32(-1))
    reps = (-(-H // (8 * bh)), -(-W // (4 * bw)))
    t = np.tile(t, reps)[:H, :W]
    return np.where(t[None] < 0, c1 * F32(0.9), c0 * t[None])


def _contact_shadow(img: np.ndarray, cx: float, cy: float, rx: float) -> None:
    _, H, W = img.shape
    ry = max(rx * 0.22, 1.0)
    y0, y1 = max(int(cy - ry) - 1, 0), min(int(cy + ry) + 2, H)
    x0, x1 = max(int(cx - rx) - 1, 0), min(int(cx + rx) + 2, W)
    if y1 <= y0 or x1 <= x0:
        return
    Y = (np.arange(y0, y1, dtype=F32) + F32(0.5))[:, None]
    X = (np.arange(x0, x1, dtype=F32) + F32(0.5))[None, :]
    q = ((X - F32(cx)) / F32(rx)) ** 2 + ((Y - F32(cy)) / F32(ry)) ** 2
    img[:, y0:y1, x0:x1] *= F32(1) - F32(0.35) * clip(F32(1) - q, F32(0), F32(1))


# -- clutter, drawn by Pillow at the backdrop's reduced resolution --------------------------


def _shade(c, f: float) -> tuple[int, int, int]:
    return tuple(int(min(max(v * f, 0), 255)) for v in c)


def _random_colour(d: Draws) -> tuple[int, int, int]:
    return (int(d.uniform(20, 235)), int(d.uniform(20, 235)), int(d.uniform(20, 235)))


def _floor(draw, bd: Backdrop, h: int, w: int, d: Draws) -> int:
    """A floor below the wall line (planks or tiles) and a skirting board; returns the line."""
    fy = int(bd.floor * h)
    wood = bd.colors[1]
    if d.chance(0.6):  # planks, taller towards the viewer
        y = fy
        k = 0
        while y < h:
            step = max(1, int((h - fy) * 0.04 * (1 + 2.5 * (y - fy) / max(h - fy, 1))))
            draw.rectangle([0, y, w, y + step], fill=_shade(wood, 0.85 + 0.25 * ((k * 7919) % 10) / 10))
            y += step
            k += 1
    else:
        draw.rectangle([0, fy, w, h], fill=wood)
    draw.rectangle([0, fy - max(1, h // 60), w, fy], fill=_shade(bd.colors[0], 1.08))
    return fy


def _room(draw, bd: Backdrop, h: int, w: int, d: Draws) -> None:
    fy = _floor(draw, bd, h, w, d)
    for _ in range(d.integer(4) + 2):
        kind = d.choice(("frame", "frame", "shelf", "plant", "lamp", "window", "door", "sofa"))
        x = d.uniform(-0.1, 0.95) * w
        s = d.uniform(0.6, 1.3) * h
        c = _random_colour(d)
        if kind == "frame":
            fw, fh = 0.12 * s, 0.15 * s
            y = d.uniform(0.1, 0.45) * fy
            draw.rectangle([x, y, x + fw, y + fh], fill=_shade(c, 0.4))
            draw.rectangle([x + 0.1 * fw, y + 0.1 * fh, x + 0.9 * fw, y + 0.9 * fh], fill=_random_colour(d))
            draw.ellipse([x + 0.3 * fw, y + 0.3 * fh, x + 0.7 * fw, y + 0.6 * fh], fill=_random_colour(d))
        elif kind == "shelf":
            y = d.uniform(0.2, 0.5) * fy
            sw = 0.3 * s
            for row in range(2):
                yb = y + row * 0.12 * s
                bx = x
                while bx < x + sw:  # books of many colours and heights
                    bw = d.uniform(0.01, 0.025) * s
                    draw.rectangle([bx, yb - d.uniform(0.06, 0.1) * s, bx + bw, yb], fill=_random_colour(d))
                    bx += bw * 1.1
                draw.rectangle([x - 0.01 * s, yb, x + sw, yb + 0.012 * s], fill=_shade(bd.colors[1], 0.7))
        elif kind == "plant":
            py = fy + 0.02 * h
            draw.polygon([x, py - 0.1 * s, x + 0.1 * s, py - 0.1 * s, x + 0.085 * s, py, x + 0.015 * s, py], fill=c)
            green = (int(d.uniform(30, 90)), int(d.uniform(90, 150)), int(d.uniform(40, 90)))
            for _ in range(7):
                lx, ly = x + 0.05 * s + d.normal(0, 0.06) * s, py - 0.1 * s - abs(d.normal(0.12, 0.08)) * s
                draw.ellipse([lx - 0.04 * s, ly - 0.02 * s, lx + 0.04 * s, ly + 0.02 * s], fill=_shade(green, d.uniform(0.7, 1.2)))
        elif kind == "lamp":
            draw.rectangle([x, fy - 0.5 * s, x + 0.008 * s, fy], fill=(40, 40, 40))
            draw.polygon([x - 0.05 * s, fy - 0.5 * s, x + 0.06 * s, fy - 0.5 * s, x + 0.035 * s, fy - 0.6 * s,
                          x - 0.025 * s, fy - 0.6 * s], fill=_shade((250, 235, 200), d.uniform(0.85, 1.0)))  # fmt: skip
        elif kind == "window":
            ww, wh = 0.22 * s, 0.3 * s
            y = d.uniform(0.05, 0.3) * fy
            draw.rectangle([x, y, x + ww, y + wh], fill=(238, 240, 242))
            draw.rectangle([x + 0.05 * ww, y + 0.05 * wh, x + 0.95 * ww, y + 0.95 * wh], fill=(200, 220, 240))
            draw.rectangle([x + 0.48 * ww, y, x + 0.52 * ww, y + wh], fill=(238, 240, 242))
            draw.rectangle([x, y + 0.48 * wh, x + ww, y + 0.52 * wh], fill=(238, 240, 242))
        elif kind == "door":
            draw.rectangle([x, fy - 0.55 * s, x + 0.2 * s, fy], fill=_shade(c, 0.8))
            draw.rectangle([x + 0.02 * s, fy - 0.52 * s, x + 0.18 * s, fy - 0.3 * s], fill=_shade(c, 0.9))
        else:  # sofa
            sw = 0.5 * s
            draw.rounded_rectangle([x, fy - 0.2 * s, x + sw, fy + 0.02 * s], radius=0.04 * s, fill=c)
            draw.rounded_rectangle([x + 0.03 * s, fy - 0.12 * s, x + sw - 0.03 * s, fy - 0.02 * s],
                                   radius=0.02 * s, fill=_shade(c, 1.15))  # fmt: skip


def _shop(draw, bd: Backdrop, h: int, w: int, d: Draws) -> None:
    fy = _floor(draw, bd, h, w, d)
    for _ in range(d.integer(2) + 1):  # clothes rails with garments hanging side by side
        x0 = d.uniform(-0.2, 0.7) * w
        y = d.uniform(0.15, 0.35) * h
        x1 = x0 + d.uniform(0.3, 0.6) * w
        draw.rectangle([x0, y, x1, y + max(1, h // 150)], fill=(120, 120, 125))
        x = x0
        while x < x1:
            gw = d.uniform(0.02, 0.05) * w
            gl = d.uniform(0.15, 0.35) * h
            draw.polygon([x, y, x + gw, y, x + gw * 1.15, y + gl, x - gw * 0.15, y + gl], fill=_random_colour(d))
            x += gw * d.uniform(0.6, 1.0)
    for _ in range(d.integer(2)):  # shelves of folded clothes
        x = d.uniform(0.0, 0.8) * w
        y = d.uniform(0.45, 0.6) * fy
        for k in range(d.integer(3) + 2):
            draw.rectangle([x, y - (k + 1) * 0.025 * h, x + 0.1 * w, y - k * 0.025 * h], fill=_random_colour(d))
        draw.rectangle([x - 0.02 * w, y, x + 0.14 * w, y + 0.01 * h], fill=_shade(bd.colors[1], 0.8))


def _sky(draw, bd: Backdrop, h: int, w: int, horizon: int) -> None:
    top, low = _shade(bd.colors[0], 0.85), _shade(bd.colors[0], 1.1)
    for k in range(8):
        y0, y1 = horizon * k // 8, horizon * (k + 1) // 8
        f = k / 7
        draw.rectangle([0, y0, w, y1], fill=tuple(int(a + (b - a) * f) for a, b in zip(top, low, strict=True)))


def _street(draw, bd: Backdrop, h: int, w: int, d: Draws) -> None:
    horizon = int(bd.floor * h)
    _sky(draw, bd, h, w, horizon)
    x = d.uniform(-0.2, 0) * w
    while x < w:  # building facades with rows of windows
        bw = d.uniform(0.2, 0.5) * w
        top = d.uniform(0.0, 0.5) * horizon
        c = d.jitter(d.choice(((200, 190, 170), (160, 150, 140), (190, 120, 90), (220, 215, 205), (120, 125, 130))), 15)
        draw.rectangle([x, top, x + bw, horizon], fill=c)
        win = _shade(c, d.uniform(0.35, 0.6))
        step = d.uniform(0.07, 0.12) * h
        for wy in np.arange(top + step * 0.4, horizon - step * 0.8, step):  # a strip of glass per floor ...
            draw.rectangle([x + step * 0.3, wy, x + bw - step * 0.3, wy + step * 0.55], fill=win)
        for wx in np.arange(x + step * 0.7, x + bw - step * 0.3, step * 0.8):  # ... cut into windows
            draw.rectangle([wx, top, wx + step * 0.4, horizon], fill=c)
        x += bw
    draw.rectangle([0, horizon, w, h], fill=bd.colors[1])  # pavement
    draw.rectangle([0, horizon, w, horizon + max(1, h // 80)], fill=_shade(bd.colors[1], 1.2))
    for _ in range(d.integer(3)):  # lamp posts and trees
        px = d.uniform(0, 1) * w
        if d.chance(0.5):
            draw.rectangle([px, horizon - 0.55 * h, px + max(1, w // 120), horizon + 0.02 * h], fill=(50, 55, 60))
        else:
            draw.rectangle([px, horizon - 0.25 * h, px + max(1, w // 60), horizon + 0.02 * h], fill=(80, 60, 40))
            draw.ellipse([px - 0.1 * w, horizon - 0.55 * h, px + 0.11 * w, horizon - 0.2 * h],
                         fill=(int(d.uniform(40, 90)), int(d.uniform(90, 140)), int(d.uniform(40, 80))))  # fmt: skip


def _park(draw, bd: Backdrop, h: int, w: int, d: Draws) -> None:
    horizon = int(bd.floor * h * 0.8)
    _sky(draw, bd, h, w, horizon)
    for _ in range(d.integer(6) + 6):  # a tree line of overlapping crowns
        cx, r = d.uniform(-0.1, 1.1) * w, d.uniform(0.08, 0.2) * w
        cy = horizon - d.uniform(0.0, 0.6) * r
        green = (int(d.uniform(30, 80)), int(d.uniform(80, 140)), int(d.uniform(30, 70)))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r * 0.8], fill=green)
    draw.rectangle([0, horizon, w, h], fill=bd.colors[1])  # grass
    for k in range(4):  # darker bands of grass towards the viewer
        y = horizon + (h - horizon) * (k + 1) / 5
        draw.rectangle([0, y, w, h], fill=_shade(bd.colors[1], 1.0 - 0.05 * (k + 1)))
    if d.chance(0.6):  # a path running into the distance
        px = d.uniform(0.3, 0.7) * w
        draw.polygon([px - 0.02 * w, horizon, px + 0.02 * w, horizon, px + 0.35 * w, h, px - 0.35 * w, h], fill=(190, 175, 150))


_CLUTTER = {"room": _room, "shop": _shop, "street": _street, "park": _park}
