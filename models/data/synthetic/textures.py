"""Garment fabrics: solid, stripes, checks, dots, gradients, twill and printed logos/text.

A ``TextureSpec`` is a small frozen description drawn from an RNG; ``make_texture`` turns
it into a float32 image (3, h, w) in the garment's own (s, v) coordinates: s runs across the
front panel (0 = wearer's right edge as seen by the viewer's left, 1 = the other edge), v
runs from the top of the garment to its hem. The flat product shot and the worn garment
both sample this one image, so they show the same fabric.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .geometry import clip

TEXTURE_KINDS = ("solid", "stripes", "checks", "dots", "gradient", "twill", "print")

# Apparel colours (sRGB); jittered per garment.
PALETTE = (
    (245, 245, 240),  # white
    (30, 30, 34),  # black
    (128, 130, 135),  # grey
    (28, 42, 82),  # navy
    (160, 28, 38),  # red
    (100, 24, 40),  # burgundy
    (92, 104, 56),  # olive
    (190, 168, 120),  # khaki
    (222, 206, 180),  # beige
    (62, 96, 150),  # denim blue
    (240, 180, 190),  # pastel pink
    (160, 220, 200),  # mint
    (222, 170, 40),  # mustard
    (20, 120, 130),  # teal
    (230, 110, 40),  # orange
    (170, 150, 210),  # lavender
    (110, 70, 45),  # brown
    (40, 110, 70),  # green
    (120, 170, 225),  # sky blue
    (250, 220, 120),  # pale yellow
)

WORDS = (
    "NOVA", "ORBIT", "WAVE", "SUMMER", "CITY", "1987", "MOBILE", "HELLO", "STUDIO", "AURORA",
    "LUMEN", "NORTH", "VTON", "OK!", "RIVER", "TOKYO", "PARIS", "ZEN", "BLOOM", "RUN",
)  # fmt: skip

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
    period: float = 0.1
    angle: float = 0.0  # radians; stripes: 0 = vertical, pi/2 = horizontal
    duty: float = 0.5
    stagger: bool = False
    text: str = ""
    text_pos: tuple[float, float] = (0.5, 0.3)  # (s, v) of the print's centre
    text_size: float = 0.1
    text_color: tuple[int, int, int] = (255, 255, 255)
    emblem: str = ""  # "", "circle", "box", "band"
    emblem_color: tuple[int, int, int] = (0, 0, 0)
    bold: bool = True
    grain: float = 0.0  # amplitude of fine weave noise
    seed: int = 0  # for the weave noise, so the texture is a pure function of the spec


def cdf(p) -> list[float]:
    """The cumulative distribution ``Generator.choice`` builds from probabilities ``p``."""
    c = np.asarray(p, dtype=np.float64).cumsum()
    c /= c[-1]
    return c.tolist()


def choice_p(rng: np.random.Generator, c: list[float]) -> int:
    """``int(rng.choice(len(p), p=p))`` for ``c = cdf(p)``: the same single uniform draw and
    the same search, without ``choice``'s per-call argument checks."""
    return bisect_right(c, rng.random())


def choice_of(rng: np.random.Generator, seq):
    """``rng.choice(seq)`` for a short list: one bounded integer draw, as ``choice`` makes."""
    return seq[int(rng.integers(len(seq)))]


def jitter(rng: np.random.Generator, color, amount: float = 18.0) -> tuple[int, int, int]:
    # float64 sums and the clip to [0, 255] in Python floats: the same values as numpy's
    noise = rng.normal(0, amount, 3).tolist()
    return tuple(int(min(max(float(c) + n, 0.0), 255.0)) for c, n in zip(color, noise, strict=True))


def pick_color(rng: np.random.Generator, avoid=None) -> tuple[int, int, int]:
    """A jittered palette colour, far enough from ``avoid`` to read as a different colour."""
    for _ in range(8):
        c = jitter(rng, PALETTE[int(rng.integers(len(PALETTE)))])
        if avoid is None or sum(abs(a - b) for a, b in zip(c, avoid, strict=True)) > 120:
            return c
    return c


_KIND_CDF = {
    "upper": cdf((0.22, 0.18, 0.12, 0.1, 0.08, 0.05, 0.25)),
    "lower": cdf((0.36, 0.1, 0.14, 0.05, 0.05, 0.28, 0.02)),
    "dress": cdf((0.24, 0.16, 0.14, 0.18, 0.12, 0.04, 0.12)),
}


def random_texture(rng: np.random.Generator, category: str, kind: str | None = None) -> TextureSpec:
    """Draw a fabric for a garment of ``category`` (prints are likelier on tops and dresses)."""
    if kind is None:
        kind = TEXTURE_KINDS[choice_p(rng, _KIND_CDF[category])]
    base = pick_color(rng)
    second = pick_color(rng, avoid=base)
    seed = int(rng.integers(2**31))
    grain = float(rng.uniform(0.0, 0.06))
    if kind == "solid":
        return TextureSpec("solid", (base,), grain=grain, seed=seed)
    if kind == "stripes":
        angle = float(choice_of(rng, [0.0, np.pi / 2, np.pi / 2, np.pi / 4, -np.pi / 4, rng.uniform(0, np.pi)]))
        colors = (base, second) if rng.random() < 0.7 else (base, second, pick_color(rng, avoid=second))
        return TextureSpec(
            "stripes", colors, period=float(rng.uniform(0.035, 0.16)), angle=angle,
            duty=float(rng.uniform(0.25, 0.6)), grain=grain, seed=seed,
        )  # fmt: skip
    if kind == "checks":
        return TextureSpec(
            "checks", (base, second), period=float(rng.uniform(0.05, 0.16)),
            duty=float(rng.uniform(0.3, 0.55)), stagger=bool(rng.random() < 0.3), grain=grain, seed=seed,
        )  # fmt: skip
    if kind == "dots":
        return TextureSpec(
            "dots", (base, second), period=float(rng.uniform(0.05, 0.13)),
            duty=float(rng.uniform(0.18, 0.35)), stagger=bool(rng.random() < 0.6), grain=grain, seed=seed,
        )  # fmt: skip
    if kind == "gradient":
        colors = (base, second) if rng.random() < 0.7 else (base, second, pick_color(rng, avoid=second))
        angle = float(choice_of(rng, [np.pi / 2, np.pi / 2, 0.0, rng.uniform(0, np.pi)]))
        return TextureSpec("gradient", colors, angle=angle, seed=seed)
    if kind == "twill":
        denim = jitter(rng, (52, 78, 130), 14) if rng.random() < 0.7 else base
        return TextureSpec("twill", (denim,), period=0.012, angle=np.pi / 4, grain=0.1, seed=seed)
    if kind == "print":
        text = WORDS[int(rng.integers(len(WORDS)))]
        ink = pick_color(rng, avoid=base)
        emblem = choice_of(rng, ("", "", "circle", "box", "band"))
        size = float(rng.uniform(0.06, 0.11))
        pos_v = 0.33 if category != "lower" else 0.2
        return TextureSpec(
            "print", (base,), text=text, text_pos=(0.5 + float(rng.uniform(-0.05, 0.05)), pos_v),
            text_size=size, text_color=ink, emblem=emblem, emblem_color=pick_color(rng, avoid=ink),
            bold=bool(rng.random() < 0.75), grain=grain, seed=seed,
        )  # fmt: skip
    raise ValueError(f"unknown texture kind {kind!r}")


def _band(c: np.ndarray, period_px: float, duty: float) -> np.ndarray:
    """Anti-aliased coverage of stripes ``duty`` wide along coordinate ``c`` (in pixels)."""
    f = np.mod(c, period_px)
    w = duty * period_px
    inside = np.minimum(f, w - f)  # >0 inside the stripe, distance to its nearer edge
    outside = np.minimum(f - w, period_px - f)
    d = np.where(f < w, inside, -outside)
    return clip(d + 0.5, 0.0, 1.0)


def _rgb32(color) -> np.ndarray:
    return (np.asarray(color, dtype=np.float32) / np.float32(255.0)).reshape(3, 1, 1)


def _mix(out: np.ndarray, color, alpha: np.ndarray) -> None:
    col = _rgb32(color)
    out += (col - out) * alpha.astype(np.float32, copy=False)


def _mixed(out: np.ndarray, color, alpha: np.ndarray) -> np.ndarray:
    """``_mix`` into a new array: ``out`` and ``alpha`` may be smaller and broadcast (the same
    arithmetic per texel)."""
    return out + (_rgb32(color) - out) * alpha.astype(np.float32, copy=False)


def _absorbs(big: np.ndarray, small: np.ndarray) -> bool:
    """Whether ``big + x == big`` bit for bit for every element of ``big`` and every ``x`` in
    ``small`` (rounded addition is monotonic in ``x``, so the extremes of ``small`` decide)."""
    if (big == 0).any():  # keep clear of signed zeros
        return False
    return bool((big + small.max() == big).all() and (big + small.min() == big).all())


def _plane_sum(row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """``row + col`` for a row (1, W) and a column (H, 1) — returned as the row or the column
    alone when the other is too small to change any sum, so work stays one-dimensional."""
    if _absorbs(col, row):
        return col
    if _absorbs(row, col):
        return row
    return row + col


def make_texture(
    spec: TextureSpec, height: int, width: int, panel_x0: float = 0.0, panel_w: float | None = None
) -> np.ndarray:
    """Render ``spec`` to a float32 image (3, height, width) in [0, 1], channels first.

    One garment length is ``height`` texels. The front panel (s = 0..1, where prints and
    gradients are placed) spans columns ``panel_x0`` to ``panel_x0 + panel_w``; columns
    outside it continue the pattern (skirt flare, sleeves).

    Patterns that vary along one axis only (vertical or horizontal stripes, the bands of
    checks) are computed in one dimension and broadcast; the texture becomes a full image
    at the first step that needs one.
    """
    height, width = max(int(height), 4), max(int(width), 4)
    pw = float(width if panel_w is None else panel_w)
    out = _rgb32(spec.colors[0])  # (3, 1, 1) until something varies
    gx = np.arange(width, dtype=np.float32)[None, :] + np.float32(0.5 - panel_x0)  # texels; 1 length = height
    gy = np.arange(height, dtype=np.float32)[:, None] + np.float32(0.5)
    L = float(height)
    kind = spec.kind
    if kind == "stripes" or kind == "twill":
        c = _plane_sum(gx * np.float32(np.cos(spec.angle)), gy * np.float32(np.sin(spec.angle)))
        if kind == "twill":
            a = _band(c, max(spec.period * L, 2.0), 0.5) * 0.12
            out = out * (np.float32(1.0) - a)
        else:
            out = _mixed(out, spec.colors[1], _band(c, spec.period * L, spec.duty))
            if len(spec.colors) > 2:
                out = _mixed(out, spec.colors[2], _band(c + spec.period * L * 0.7, spec.period * L, 0.12))
    elif kind == "checks":
        p = spec.period * L
        a = _band(gx, p, spec.duty)  # (1, W): the bands depend on one axis each
        b = _band(gy, p, spec.duty)  # (H, 1)
        if spec.stagger:  # checkerboard
            out = _mixed(out, spec.colors[1], a + b - 2 * a * b)
        else:  # gingham: the crossings are darkest
            mid = (np.asarray(spec.colors[0]) + np.asarray(spec.colors[1])) / 2
            out = _mixed(out, mid, clip(a + b - 2 * a * b, 0, 1))
            out += (_rgb32(spec.colors[1]) - out) * (a * b)
    elif kind == "dots":
        p = spec.period * L
        row = np.floor(gy / p)
        shift = (np.mod(row, 2) * 0.5 * p) if spec.stagger else 0.0
        cx = (np.floor((gx - shift) / p) + 0.5) * p + shift
        cy = (row + 0.5) * p
        d = np.sqrt((gx - cx) ** 2 + (gy - cy) ** 2)
        out = _mixed(out, spec.colors[1], clip(spec.duty * p - d + 0.5, 0.0, 1.0))
    elif kind == "gradient":
        out = np.empty((3, height, width), np.float32)
        ca, sa = np.float32(np.cos(spec.angle)), np.float32(np.sin(spec.angle))
        c = gx / np.float32(pw) * ca + gy / np.float32(height) * sa
        lo, hi = min(0.0, ca) + min(0.0, sa), max(0.0, ca) + max(0.0, sa)
        t = clip((c - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
        cols = np.asarray(spec.colors, dtype=np.float32) / np.float32(255.0)
        k = len(cols) - 1
        tk = np.broadcast_to(t * np.float32(k), (height, width))
        i = np.minimum(tk.astype(np.intp), k - 1)
        f = (tk - i).astype(np.float32)
        for ch in range(3):
            lo, hi = cols[:, ch][i], cols[:, ch][i + 1]
            out[ch] = lo + (hi - lo) * f
    if spec.kind == "print" and spec.text:
        full = np.empty((3, height, width), np.float32)
        full[:] = out
        out = full
        _print(out, spec, panel_x0, pw)
    if spec.grain > 0:
        rng = np.random.default_rng(spec.seed)
        tile = rng.random((64, 64), dtype=np.float32)
        grain = np.float32(1.0) + np.float32(spec.grain) * (tile - np.float32(0.5))  # per texel of the tile
        reps = (-(-height // 64), -(-width // 64))
        grain = np.tile(grain, reps)[:height, :width]
        if out.shape == (3, height, width):
            out *= grain
        else:
            out = out * grain
    if out.shape != (3, height, width):
        full = np.empty((3, height, width), np.float32)
        full[:] = out
        out = full
    return out


def _print(out: np.ndarray, spec: TextureSpec, panel_x0: float, panel_w: float) -> None:
    """Draw the emblem and the text of a print onto ``out`` (anti-aliased, via PIL)."""
    h, w = out.shape[1:]
    cx, cy = panel_x0 + spec.text_pos[0] * panel_w, spec.text_pos[1] * h
    size = spec.text_size * h
    f = font(round(size), spec.bold)
    text_w = f.getlength(spec.text)
    limit = 0.8 * panel_w
    if text_w > limit:  # long words shrink to fit the panel
        size = size * limit / text_w
        f = font(round(size), spec.bold)
        text_w = f.getlength(spec.text)
    if spec.emblem:
        m = Image.new("L", (w, h), 0)
        d = ImageDraw.Draw(m)
        if spec.emblem == "circle":
            r = max(text_w * 0.56, size * 1.1)
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        elif spec.emblem == "box":
            d.rectangle([cx - text_w * 0.62, cy - size * 0.95, cx + text_w * 0.62, cy + size * 0.95], fill=255)
        else:  # band across the garment
            d.rectangle([0, cy - size * 0.9, w, cy + size * 0.9], fill=255)
        _mix_mask(out, spec.emblem_color, m)
    m = Image.new("L", (w, h), 0)
    ImageDraw.Draw(m).text((cx, cy), spec.text, fill=255, font=f, anchor="mm")
    _mix_mask(out, spec.text_color, m)


def _mix_mask(out: np.ndarray, color, mask: Image.Image) -> None:
    """``_mix`` with coverage ``mask`` / 255, only inside the mask's box: where the coverage
    is 0 the mix leaves a texel exactly as it was."""
    box = mask.getbbox()
    if box is None:
        return
    x0, y0, x1, y1 = box
    alpha = np.asarray(mask.crop(box), dtype=np.float32) * np.float32(1 / 255)
    _mix(out[:, y0:y1, x0:x1], color, alpha)
