"""Garment fabrics: solid, stripes, checks, plaid, dots, florals, gradients, denim, camo, prints.

A ``TextureSpec`` is a small frozen description drawn from ``Draws``; ``make_texture`` turns
it into a float32 image (3, h, w) in the garment's own (s, v) coordinates: s runs across the
front panel, v from the top of the garment to its hem (one garment length = h texels). The
product shot and the worn garment both sample this one image, so they show the same
fabric: the try-on model has to move these pixels, it cannot paint a colour.

Patterns that vary along one axis (stripes along an axis, the bands of checks and plaid)
are computed in one dimension and broadcast; stripe and band profiles are pre-filtered
look-up tables (anti-aliased at one texel); florals are drawn once as a tile by Pillow and
repeated, as printed fabric is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .draws import Draws, cdf
from .geometry import clip

F32 = np.float32
TEXTURE_KINDS = ("solid", "stripes", "checks", "plaid", "dots", "floral", "gradient", "denim", "camo", "print")
_KIND_CDF = {
    "upper": cdf((0.1, 0.18, 0.08, 0.07, 0.09, 0.1, 0.05, 0.03, 0.03, 0.27)),
    "lower": cdf((0.2, 0.1, 0.1, 0.1, 0.05, 0.07, 0.03, 0.28, 0.04, 0.03)),
    "dress": cdf((0.1, 0.15, 0.1, 0.06, 0.16, 0.2, 0.08, 0.02, 0.02, 0.11)),
}

# Apparel colours (sRGB); jittered per garment.
PALETTE = (
    (245, 245, 240), (30, 30, 34), (128, 130, 135), (28, 42, 82), (160, 28, 38), (100, 24, 40),
    (92, 104, 56), (190, 168, 120), (222, 206, 180), (62, 96, 150), (240, 180, 190), (160, 220, 200),
    (222, 170, 40), (20, 120, 130), (230, 110, 40), (170, 150, 210), (110, 70, 45), (40, 110, 70),
    (120, 170, 225), (250, 220, 120), (210, 40, 110), (60, 60, 62), (250, 250, 252), (200, 60, 50),
)  # fmt: skip
DENIM = ((52, 78, 130), (38, 52, 88), (96, 126, 170), (40, 40, 46), (150, 170, 195))
GREENS = ((60, 120, 60), (90, 140, 70), (40, 90, 60), (120, 150, 80))

WORDS = (
    "NOVA", "ORBIT", "WAVE", "SUMMER", "CITY", "1987", "MOBILE", "HELLO", "STUDIO", "AURORA",
    "LUMEN", "NORTH", "VTON", "OK!", "RIVER", "TOKYO", "PARIS", "ZEN", "BLOOM", "RUN",
    "23", "07", "LOVE", "WILD", "SKATE", "COFFEE", "NYC", "GOOD VIBES", "BERLIN", "ATHLETIC",
)  # fmt: skip
LOGOS = ("", "circle", "ring", "box", "band", "star", "triangle", "diamond", "bars", "chevron")

_FONT_DIR = Path(__file__).resolve().parents[3] / "assets" / "fonts"


@lru_cache(maxsize=64)
def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The bundled DejaVu Sans at ``size`` px (Pillow's built-in font if assets are absent)."""
    path = _FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    size = max(int(size), 4)
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        return ImageFont.load_default(size)


@dataclass(frozen=True)
class TextureSpec:
    """Everything that determines a fabric. Lengths are in units of the garment's length."""

    kind: str
    colors: tuple[tuple[int, int, int], ...]  # base colour first
    period: float = 0.1  # stripes, checks, plaid, dots, florals: the repeat
    angle: float = 0.0  # radians; stripes: 0 = vertical, pi/2 = horizontal; gradients: direction
    widths: tuple[float, ...] = ()  # stripes and plaid: band widths (fractions of the period), one per colour
    duty: float = 0.5  # checks: band width; dots: radius; florals: flower size (fractions of the period)
    stagger: bool = False  # checks: checkerboard (else gingham); dots: staggered rows
    petals: int = 5  # florals
    text: str = ""  # prints: a word, or "" for a logo alone
    text_pos: tuple[float, float] = (0.5, 0.3)  # (s, v) of the print's centre
    text_size: float = 0.1
    text_color: tuple[int, int, int] = (255, 255, 255)
    logo: str = ""  # one of LOGOS
    logo_color: tuple[int, int, int] = (0, 0, 0)
    bold: bool = True
    base: str = "solid"  # prints: the fabric under the print ("solid" or "stripes")
    grain: float = 0.0  # amplitude of fine weave noise
    seed: int = 0  # for noise, florals and camo, so the texture is a pure function of the spec


def pick_color(d: Draws, avoid=None) -> tuple[int, int, int]:
    """A jittered palette colour, far enough from ``avoid`` to read as a different colour."""
    for _ in range(8):
        c = d.jitter(d.choice(PALETTE), 18)
        if avoid is None or sum(abs(a - b) for a, b in zip(c, avoid, strict=True)) > 120:
            return c
    return c


def _log_uniform(d: Draws, lo: float, hi: float) -> float:
    return float(np.exp(d.uniform(np.log(lo), np.log(hi))))


def _angle(d: Draws) -> float:
    return d.choice((0.0, np.pi / 2, np.pi / 2, np.pi / 4, -np.pi / 4, d.uniform(0, np.pi)))


def _bands(d: Draws, colors) -> tuple[float, ...]:
    w = [d.uniform(0.3, 1.0) if i else d.uniform(0.6, 1.6) for i in range(len(colors))]
    total = sum(w)
    return tuple(x / total for x in w)


def random_texture(d: Draws, category: str, kind: str | None = None) -> TextureSpec:
    """Draw a fabric for a garment of ``category`` (prints likelier on tops, denim on trousers)."""
    if kind is None:
        kind = d.weighted(TEXTURE_KINDS, _KIND_CDF[category])
    base = pick_color(d)
    second = pick_color(d, avoid=base)
    third = pick_color(d, avoid=second)
    seed = d.seed()
    grain = d.uniform(0.0, 0.06)
    if kind == "solid":
        return TextureSpec("solid", (base,), period=d.choice((0.0, 0.0, 0.012)), grain=grain * 1.5, seed=seed)
    if kind == "stripes":
        n = d.choice((2, 2, 2, 3, 4))
        colors = (base, second, third, second)[:n]
        return TextureSpec("stripes", colors, period=_log_uniform(d, 0.02, 0.3), angle=_angle(d),
                           widths=_bands(d, colors), grain=grain, seed=seed)  # fmt: skip
    if kind == "checks":
        return TextureSpec("checks", (base, second), period=_log_uniform(d, 0.035, 0.2), duty=d.uniform(0.3, 0.55),
                           stagger=d.chance(0.3), grain=grain, seed=seed)  # fmt: skip
    if kind == "plaid":
        colors = (base, second, third, pick_color(d, avoid=base))[: d.choice((3, 4))]
        return TextureSpec("plaid", colors, period=_log_uniform(d, 0.08, 0.3), widths=_bands(d, colors),
                           grain=grain, seed=seed)  # fmt: skip
    if kind == "dots":
        return TextureSpec("dots", (base, second), period=_log_uniform(d, 0.035, 0.16), duty=d.uniform(0.14, 0.36),
                           stagger=d.chance(0.6), grain=grain, seed=seed)  # fmt: skip
    if kind == "floral":
        leaf = d.jitter(d.choice(GREENS), 12)
        return TextureSpec("floral", (base, second, third, leaf), period=_log_uniform(d, 0.09, 0.28),
                           duty=d.uniform(0.55, 0.85), petals=d.choice((4, 5, 5, 6, 8)), grain=grain, seed=seed)  # fmt: skip
    if kind == "gradient":
        colors = (base, second) if d.chance(0.7) else (base, second, third)
        return TextureSpec("gradient", colors, angle=d.choice((np.pi / 2, np.pi / 2, 0.0, d.uniform(0, np.pi))),
                           seed=seed)  # fmt: skip
    if kind == "denim":
        denim = d.jitter(d.choice(DENIM), 10)
        return TextureSpec("denim", (denim,), period=0.012, angle=np.pi / 4, grain=0.1, seed=seed)
    if kind == "camo":
        colors = (base, second, third, pick_color(d, avoid=third))[: d.choice((3, 4))]
        return TextureSpec("camo", colors, period=d.uniform(0.12, 0.3), seed=seed)
    if kind == "print":
        logo = d.choice(LOGOS)
        text = d.choice(WORDS) if (not logo or d.chance(0.6)) else ""
        place = d.choice(("centre", "centre", "centre", "chest", "big"))
        size = {"centre": d.uniform(0.06, 0.11), "chest": d.uniform(0.035, 0.05), "big": d.uniform(0.13, 0.2)}[place]
        s = {"chest": 0.32, "big": 0.5}.get(place, 0.5 + d.uniform(-0.05, 0.05))
        v = 0.2 if category == "lower" else {"chest": 0.22, "big": 0.38}.get(place, 0.33)
        under = "stripes" if d.chance(0.2) else "solid"
        return TextureSpec(
            "print", (base, second), period=_log_uniform(d, 0.04, 0.15), angle=np.pi / 2,
            widths=(0.6, 0.4), text=text, text_pos=(s, v), text_size=size, text_color=pick_color(d, avoid=base),
            logo=logo, logo_color=third, bold=d.chance(0.75), base=under, grain=grain, seed=seed,
        )  # fmt: skip
    raise ValueError(f"unknown texture kind {kind!r}")


def _rgb(color) -> np.ndarray:
    return (np.asarray(color, dtype=F32) / F32(255.0)).reshape(3, 1)


def _profile(colors, widths, period_px: float) -> tuple[np.ndarray, float]:
    """Repeating bands of ``colors`` (``widths`` fractions of a period of ``period_px``
    texels) as a look-up table (3, R) over one period, pre-filtered with a one-texel box;
    returns the table and R / period_px."""
    period_px = max(period_px, 2.0)  # finer stripes would only alias
    R = int(min(max(8 * period_px, 64), 1024))
    fine = 4
    x = (np.arange(R * fine) + 0.5) / (R * fine)
    edges = np.cumsum((0.0, *widths))
    band = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(colors) - 1)
    cols = np.asarray(colors, dtype=np.float64).T / 255.0  # (3, k)
    hi = cols[:, band]  # (3, R * fine)
    k = max(1, int(round(fine * R / period_px)))  # one texel in fine samples
    c = np.cumsum(np.concatenate([hi[:, -k:], hi], axis=1), axis=1)
    box = (c[:, k:] - c[:, :-k]) / k  # circular box filter of one texel
    lut = box[:, ::fine].astype(F32)
    return np.ascontiguousarray(lut), R / period_px


def _lookup(lut: np.ndarray, scale: float, c: np.ndarray) -> np.ndarray:
    """Colours (3, *c.shape) of the repeating profile at coordinate ``c`` (texels)."""
    R = lut.shape[1]
    i = (np.mod(c, F32(R / scale)) * F32(scale)).astype(np.intp)
    np.minimum(i, R - 1, out=i)
    return np.take(lut, i, axis=1)


def _band(c: np.ndarray, period: float, duty: float) -> np.ndarray:
    """Anti-aliased coverage (0..1) of bands ``duty`` of a ``period`` wide along ``c`` (texels)."""
    f = np.mod(c, F32(period))
    w = F32(duty * period)
    d = np.where(f < w, np.minimum(f, w - f), -np.minimum(f - w, F32(period) - f))
    return clip(d + F32(0.5), F32(0), F32(1))


def make_texture(spec: TextureSpec, height: int, width: int, panel_x0: float = 0.0, panel_w: float | None = None) -> np.ndarray:
    """Render ``spec`` to a float32 image (3, height, width) in [0, 1].

    One garment length is ``height`` texels. The front panel (s = 0..1, where prints and
    gradients are placed) spans columns ``panel_x0`` to ``panel_x0 + panel_w``; columns
    outside it continue the pattern (skirt flare, sleeves, trouser legs).
    """
    h, w = max(int(height), 4), max(int(width), 4)
    pw = float(w if panel_w is None else panel_w)
    gx = np.arange(w, dtype=F32)[None, :] + F32(0.5 - panel_x0)  # texels from the panel's left edge
    gy = np.arange(h, dtype=F32)[:, None] + F32(0.5)
    L = float(h)
    kind = spec.kind
    out = None
    if kind == "stripes" or (kind == "print" and spec.base == "stripes"):
        out = _stripes(spec.colors, spec.widths, spec.period * L, spec.angle, gx, gy)
    elif kind == "checks":
        p = spec.period * L
        a = _band(gx, p, spec.duty)  # (1, W): the bands depend on one axis each
        b = _band(gy, p, spec.duty)  # (H, 1)
        c0, c1 = _rgb(spec.colors[0])[:, :, None], _rgb(spec.colors[1])[:, :, None]
        if spec.stagger:  # checkerboard
            out = c0 + (c1 - c0) * (a + b - 2 * a * b)
        else:  # gingham: bands at half strength, the crossings full
            out = c0 + (c1 - c0) * (F32(0.5) * (a + b - 2 * a * b) + a * b)
    elif kind == "plaid":
        lut, sc = _profile(spec.colors, spec.widths, spec.period * L)
        warp = _lookup(lut, sc, gx)  # (3, 1, W)
        weft = _lookup(lut, sc, gy)  # (3, H, 1)
        # the weave: warp and weft threads alternate along diagonals, one texel apart
        twill = ((np.arange(w)[None, :] + np.arange(h)[:, None]) & 1).astype(F32) * F32(0.3) + F32(0.35)
        out = weft + (warp - weft) * twill
    elif kind == "dots":
        p = F32(spec.period * L)
        row = np.floor(gy / p)
        shift = np.mod(row, 2) * F32(0.5) * p if spec.stagger else F32(0)
        cx = (np.floor((gx - shift) / p) + F32(0.5)) * p + shift
        cy = (row + F32(0.5)) * p
        dist = np.sqrt((gx - cx) ** 2 + (gy - cy) ** 2)
        a = clip(F32(spec.duty) * p - dist + F32(0.5), F32(0), F32(1))
        c0, c1 = _rgb(spec.colors[0])[:, :, None], _rgb(spec.colors[1])[:, :, None]
        out = c0 + (c1 - c0) * a
    elif kind == "floral":
        out = _floral(spec, h, w, panel_x0)
    elif kind == "gradient":
        ca, sa = F32(np.cos(spec.angle)), F32(np.sin(spec.angle))
        c = gx * (ca / F32(pw)) + gy * (sa / F32(h))
        lo, hi = min(0.0, ca) + min(0.0, sa), max(0.0, ca) + max(0.0, sa)
        t = clip((c - F32(lo)) * F32(1 / max(hi - lo, 1e-6)), F32(0), F32(1))
        cols = np.asarray(spec.colors, dtype=F32).T / F32(255)  # (3, k)
        k = cols.shape[1] - 1
        if k == 1:
            out = cols[:, :1, None] + (cols[:, 1:, None] - cols[:, :1, None]) * t
        else:  # three stops: look the colour up in a fine table
            ramp = np.linspace(0, k, 256)
            table = np.stack([np.interp(ramp, np.arange(k + 1), cols[ch]) for ch in range(3)]).astype(F32)
            out = np.take(table, (t * F32(255) + F32(0.5)).astype(np.intp), axis=1)
    elif kind == "denim":  # twill lines every third texel, faded in soft patches
        twill = ((np.arange(w)[None, :] + np.arange(h)[:, None]) % 3 == 0).astype(F32) * F32(-0.12) + F32(1.0)
        fade = _smooth_noise(spec.seed, h, w, 5, 4) * F32(0.35) + F32(0.85)
        out = _rgb(spec.colors[0])[:, :, None] * (twill * fade)
    elif kind == "camo":
        n = _smooth_noise(spec.seed, h, w, max(2, int(1 / spec.period)), max(2, int(w / (h * spec.period))))
        k = len(spec.colors)
        q = np.minimum((n * F32(k)).astype(np.intp), k - 1)
        out = np.take(np.asarray(spec.colors, dtype=F32).T / F32(255), q, axis=1)
    if out is None:  # solid and prints on solid
        out = _rgb(spec.colors[0])[:, :, None]
        if spec.period > 0:  # a knit rib
            out = out * (F32(0.93) + F32(0.07) * _band(gx, max(spec.period * L, 2.0), 0.5))
    if out.shape != (3, h, w):
        out = np.broadcast_to(out, (3, h, w)).copy()
    if kind == "print":
        _print(out, spec, panel_x0, pw)
    if spec.grain > 0:
        out *= _grain(spec.seed, spec.grain, h, w)
    return out


def _stripes(colors, widths, period: float, angle: float, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    lut, sc = _profile(colors, widths, period)
    ca, sa = float(np.cos(angle)), float(np.sin(angle))
    if abs(sa) < 1e-6:
        c = gx * F32(ca)
    elif abs(ca) < 1e-6:
        c = gy * F32(sa)
    else:
        c = gx * F32(ca) + gy * F32(sa)
    return _lookup(lut, sc, c)


@lru_cache(maxsize=8)
def _grain_tile(seed: int) -> np.ndarray:
    t = np.random.default_rng(seed).random((64, 64), dtype=np.float32) - F32(0.5)
    t.flags.writeable = False
    return t


def _grain(seed: int, amount: float, h: int, w: int) -> np.ndarray:
    """Fine multiplicative weave noise (h, w): one of a few fixed tiles, repeated."""
    tile = _grain_tile(seed % 8)
    reps = (-(-h // 64), -(-w // 64))
    return F32(1.0) + F32(amount) * np.tile(tile, reps)[:h, :w]


def _smooth_noise(seed: int, h: int, w: int, rows: int, cols: int) -> np.ndarray:
    """Smooth noise in [0, 1) (h, w): a small random grid, bicubically upsampled."""
    small = np.random.default_rng(seed).random((rows + 1, cols + 1), dtype=np.float32)
    up = Image.fromarray(small, mode="F").resize((w, h), Image.Resampling.BILINEAR)
    n = np.asarray(up)
    lo, hi = float(n.min()), float(n.max())
    return (n - F32(lo)) * F32(0.999 / max(hi - lo, 1e-6))


def _floral(spec: TextureSpec, h: int, w: int, panel_x0: float) -> np.ndarray:
    """Flowers (petals around a centre) and leaves on the base colour: one tile of 2×2 motifs
    drawn at 2× by Pillow, then repeated over the fabric."""
    cell = max(spec.period * h, 6.0)
    T = int(round(2 * cell))
    ss = 2
    rng = np.random.default_rng(spec.seed)
    img = Image.new("RGB", (T * ss, T * ss), tuple(spec.colors[0]))
    draw = ImageDraw.Draw(img)
    c = cell * ss
    r = 0.5 * spec.duty * c * 0.76  # flower radius; with the jitter it stays inside its cell
    leaf = tuple(spec.colors[3])
    p = spec.petals
    jitter = rng.uniform(-0.1, 0.1, (4, 2)) * c
    rot = rng.uniform(0, 2 * np.pi, 4)
    scale = rng.uniform(0.75, 1.0, 4) * r
    n_leaves = rng.integers(1, 3, 4)
    for m in range(4):
        j, i = divmod(m, 2)
        centre = np.array([(i + 0.5) * c, (j + 0.5) * c]) + jitter[m]
        rr = scale[m]
        leaves = rot[m] + np.pi / p + np.arange(n_leaves[m]) * np.pi * 0.9
        for poly in _petals(centre, leaves, rr * 1.25, rr * 0.3):
            draw.polygon(poly, fill=leaf)
        petal = tuple(spec.colors[1] if m in (0, 3) or len(spec.colors) < 3 else spec.colors[2])
        for poly in _petals(centre, rot[m] + np.arange(p) * (2 * np.pi / p), rr, rr * 0.42):
            draw.polygon(poly, fill=petal)
        cr = rr * 0.28
        inner = tuple(int(v * 0.55) for v in spec.colors[2 if petal == tuple(spec.colors[1]) else 1])
        draw.ellipse((centre[0] - cr, centre[1] - cr, centre[0] + cr, centre[1] + cr), fill=inner)
    tile = np.asarray(img.reduce(ss), dtype=F32).transpose(2, 0, 1) * F32(1 / 255)
    ox = int(round(panel_x0)) % T  # the panel's left edge starts a tile, as on the product shot
    reps = (1, -(-h // T), -(-(w + ox) // T))
    return np.tile(tile, reps)[:, :h, ox : ox + w]


@lru_cache(maxsize=1)
def _petal_shape() -> np.ndarray:
    """A unit petal from the flower's centre along +x: (18, 2) of (along, across)."""
    t = np.linspace(0.0, np.pi, 9)
    along = np.concatenate([np.sin(t / 2), np.sin(t[::-1] / 2)])
    side = np.concatenate([np.sin(t), -np.sin(t[::-1])])
    shape = np.stack([along, side], axis=1)
    shape.flags.writeable = False
    return shape


def _petals(centre: np.ndarray, angles: np.ndarray, length: float, half_width: float) -> list[list[float]]:
    """Petals (or leaves) from ``centre`` pointing at ``angles``: flat xy lists for Pillow."""
    u = _petal_shape() * (length, half_width)  # (18, 2)
    ca, sa = np.cos(angles)[:, None], np.sin(angles)[:, None]
    x = centre[0] + u[None, :, 0] * ca - u[None, :, 1] * sa
    y = centre[1] + u[None, :, 0] * sa + u[None, :, 1] * ca
    return np.stack([x, y], axis=2).reshape(len(angles), -1).tolist()


def _logo_shape(draw: ImageDraw.ImageDraw, logo: str, cx: float, cy: float, r: float, w: int) -> None:
    """A geometric logo of radius ``r`` at (cx, cy), filled with 255 (``band`` spans the width)."""
    if logo == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif logo == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        draw.ellipse([cx - 0.72 * r, cy - 0.72 * r, cx + 0.72 * r, cy + 0.72 * r], fill=0)
    elif logo == "box":
        draw.rectangle([cx - 1.3 * r, cy - 0.75 * r, cx + 1.3 * r, cy + 0.75 * r], fill=255)
    elif logo == "band":
        draw.rectangle([0, cy - 0.6 * r, w, cy + 0.6 * r], fill=255)
    elif logo == "star":
        a = np.linspace(-np.pi / 2, 1.5 * np.pi, 11)[:10]
        rad = np.where(np.arange(10) % 2 == 0, r, 0.42 * r)
        draw.polygon(np.stack([cx + rad * np.cos(a), cy + rad * np.sin(a)], 1).ravel().tolist(), fill=255)
    elif logo == "triangle":
        draw.polygon([cx, cy - r, cx + 0.95 * r, cy + 0.7 * r, cx - 0.95 * r, cy + 0.7 * r], fill=255)
    elif logo == "diamond":
        draw.polygon([cx, cy - r, cx + 0.7 * r, cy, cx, cy + r, cx - 0.7 * r, cy], fill=255)
    elif logo == "bars":
        for k in (-1, 0, 1):
            x = cx + k * 0.6 * r
            draw.polygon([x - 0.18 * r, cy + 0.8 * r, x + 0.18 * r, cy + 0.8 * r, x + 0.45 * r, cy - 0.8 * r,
                          x + 0.09 * r, cy - 0.8 * r], fill=255)  # fmt: skip
    elif logo == "chevron":
        draw.polygon([cx - r, cy - 0.5 * r, cx, cy + 0.4 * r, cx + r, cy - 0.5 * r, cx + r, cy,
                      cx, cy + 0.9 * r, cx - r, cy], fill=255)  # fmt: skip


def _print(out: np.ndarray, spec: TextureSpec, panel_x0: float, panel_w: float) -> None:
    """Draw the logo and the text of a print onto ``out`` (anti-aliased by Pillow)."""
    h, w = out.shape[1:]
    cx, cy = panel_x0 + spec.text_pos[0] * panel_w, spec.text_pos[1] * h
    size = spec.text_size * h
    text_w = 0.0
    f = None
    if spec.text:
        f = font(round(size), spec.bold)
        text_w = f.getlength(spec.text)
        limit = 0.8 * panel_w
        if text_w > limit:  # long words shrink to fit the panel
            size *= limit / text_w
            f = font(round(size), spec.bold)
            text_w = f.getlength(spec.text)
    if spec.logo:
        m = Image.new("L", (w, h), 0)
        if spec.text:  # the logo behind the text, or above it when the text is small
            r = max(text_w * 0.56, size * 1.1) if spec.logo in ("circle", "ring", "box", "band") else size * 1.1
            ly = cy if spec.logo in ("circle", "ring", "box", "band") else cy - 1.6 * size
        else:
            r, ly = max(size * 1.6, 3.0), cy
        _logo_shape(ImageDraw.Draw(m), spec.logo, cx, ly, r, w)
        _mix_mask(out, spec.logo_color, m)
    if f is not None:
        m = Image.new("L", (w, h), 0)
        ImageDraw.Draw(m).text((cx, cy), spec.text, fill=255, font=f, anchor="mm")
        _mix_mask(out, spec.text_color, m)


def _mix_mask(out: np.ndarray, color, mask: Image.Image) -> None:
    """Mix ``color`` into ``out`` with coverage ``mask`` / 255, only inside the mask's box."""
    box = mask.getbbox()
    if box is None:
        return
    x0, y0, x1, y1 = box
    alpha = np.asarray(mask.crop(box), dtype=F32) * F32(1 / 255)
    region = out[:, y0:y1, x0:x1]
    region += (_rgb(color)[:, :, None] - region) * alpha
