"""Garments of the synthetic world: a size-free ``Garment`` spec and its two outlines.

``flat_shape`` lays a garment out as a product shot; ``worn_shape`` fits the same garment
(neckline, collar, sleeve length, hem, looseness, flare, pleats) to a ``Body``. Both give a
``GarmentShape`` in a local frame with the (s, v) parametrisation that the renderer uses
to look up the fabric (s across the front panel, v from the top to the hem), so the flat
and the worn garment show the same fabric, print and folds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .draws import Draws, cdf
from .geometry import Frame, catmull_rom, chain_part, ellipse, lin, tube_chain
from .people import Body, torso_profile
from .textures import TextureSpec, random_texture

GARMENT_KINDS = {
    "upper": ("tshirt", "longsleeve", "tank", "shirt", "sweater", "crop_top", "polo"),
    "lower": ("trousers", "wide_trousers", "shorts", "skirt", "pencil_skirt", "pleated_skirt"),
    "dress": ("tee_dress", "sleeveless", "slip", "shirt_dress", "long_sleeve_dress"),
}
_KIND_CDF = {
    "upper": cdf((0.2, 0.15, 0.12, 0.16, 0.13, 0.11, 0.13)),
    "lower": cdf((0.26, 0.12, 0.16, 0.2, 0.12, 0.14)),
    "dress": cdf((0.24, 0.22, 0.14, 0.18, 0.22)),
}
NECKLINES = ("crew", "v", "scoop", "boat", "square", "turtle")
_NECK_CDF = cdf((0.36, 0.2, 0.18, 0.1, 0.08, 0.08))
_NECK_WIDTH = {"crew": 1.35, "v": 1.7, "scoop": 1.75, "boat": 2.4, "square": 1.8, "turtle": 1.2}
_NECK_DEPTH = {"crew": (0.12, 0.3), "v": (0.5, 0.9), "scoop": (0.35, 0.7), "boat": (0.06, 0.16),
               "square": (0.3, 0.55), "turtle": (0.05, 0.1)}  # fmt: skip
LOWER_LEGS = ("trousers", "wide_trousers", "shorts")  # lower garments with legs (the rest are skirts)
TOP_LENGTH = 0.36  # top hems run from the chest (0) to below the crotch (1); the waist is here


@dataclass(frozen=True)
class Fold:
    """One fold of the fabric, in the garment's (s, v) coordinates (see ``fabric.fold_map``)."""

    kind: str  # "wave" | "drag" | "ripple" | "pleats"
    amp: float  # shading amplitude (a fraction of the light)
    a: float = 0.0  # wave: cycles across; drag: start s; ripple: centre v; pleats: count
    b: float = 0.0  # wave: cycles down; drag: start v; ripple: cycles down
    c: float = 0.0  # wave: phase; drag: direction (radians); ripple: half-height in v
    d: float = 0.0  # wave: 1 = grows towards the hem; drag: length in (s, v) units
    width: float = 0.05  # drag: half-width in (s, v) units


@dataclass(frozen=True)
class Garment:
    """Everything that determines one garment, flat or worn."""

    category: str
    kind: str
    texture: TextureSpec
    neck: str = "crew"
    neck_depth: float = 0.5  # 0..1 within the neckline's range
    collar: str = ""  # "" | "shirt" | "polo": collar flaps over the neckline
    buttons: int = 0  # buttons down a front placket (0: no placket)
    button_color: tuple[int, int, int] = (240, 240, 235)
    sleeve: float = 0.0  # fraction of the arm covered (0 = sleeveless)
    cuff: float = 1.0  # sleeve-end width factor (> 1: bell sleeves)
    length: float = 0.5  # hem position within the kind's range
    ease: float = 0.3  # looseness 0..1
    flare: float = 1.0  # hem width factor (skirts, dresses, trouser legs)
    pleats: int = 0  # pleated skirts: pleats across the front
    trim: tuple[int, int, int] | None = None  # rib of collar, cuffs, hem band or waistband
    hem_band: bool = False  # a rib band at the hem (sweaters)
    strap: float = 0.03  # sleeveless tops: strap width, a fraction of the body height
    folds: tuple[Fold, ...] = ()
    seed: int = field(default=0)

    @property
    def sleeved(self) -> bool:
        return self.sleeve > 0


def _sleeve_length(d: Draws, kind: str) -> float:
    """Sleeves of every length: cap, short, elbow, three-quarter, long."""
    if kind in ("tank", "sleeveless", "slip") or kind in GARMENT_KINDS["lower"]:
        return 0.0
    if kind in ("tshirt", "polo", "tee_dress"):
        return d.uniform(0.1, 0.4)
    if kind in ("longsleeve", "sweater"):
        return d.uniform(0.86, 1.0)
    if kind == "long_sleeve_dress":
        return d.uniform(0.6, 1.0)
    if kind == "crop_top":
        return d.choice((0.0, 0.0, d.uniform(0.1, 0.35), d.uniform(0.85, 1.0)))
    # shirts: short, three-quarter or long
    return d.choice((d.uniform(0.18, 0.35), d.uniform(0.55, 0.78), d.uniform(0.88, 1.0), d.uniform(0.88, 1.0)))


def random_garment(d: Draws, category: str, kind: str | None = None, fabric: str | None = None) -> Garment:
    """Draw a garment of ``category`` (of ``kind`` / with a ``fabric`` kind if given)."""
    kinds = GARMENT_KINDS[category]
    if kind is None:
        kind = d.weighted(kinds, _KIND_CDF[category])
    elif kind not in kinds:
        raise ValueError(f"{kind!r} is not a {category} garment; use one of {kinds}")
    tex = random_texture(d, category, fabric)
    neck = d.weighted(NECKLINES, _NECK_CDF)
    collar, buttons = "", 0
    if kind in ("shirt", "shirt_dress"):
        collar, neck, buttons = "shirt", "v", d.choice((4, 5, 6))
    elif kind == "polo":
        collar, neck, buttons = "polo", "v", d.choice((2, 3))
    elif kind == "slip":
        neck = d.choice(("v", "scoop", "square"))
    elif kind == "tank" and neck in ("turtle", "boat"):
        neck = "scoop"
    sleeve = _sleeve_length(d, kind)
    length = {
        "tshirt": d.uniform(0.55, 0.95), "longsleeve": d.uniform(0.55, 0.95), "tank": d.uniform(0.5, 0.9),
        "shirt": d.uniform(0.6, 1.0), "sweater": d.uniform(0.5, 0.9), "crop_top": d.uniform(0.12, 0.34),
        "polo": d.uniform(0.55, 0.9),
        "trousers": d.uniform(0.84, 1.0), "wide_trousers": d.uniform(0.62, 1.0), "shorts": d.uniform(0.12, 0.45),
        "skirt": d.uniform(0.15, 0.8), "pencil_skirt": d.uniform(0.25, 0.6), "pleated_skirt": d.uniform(0.15, 0.7),
        "tee_dress": d.uniform(0.2, 0.8), "sleeveless": d.uniform(0.2, 1.2), "slip": d.uniform(0.25, 1.1),
        "shirt_dress": d.uniform(0.3, 0.8), "long_sleeve_dress": d.uniform(0.25, 1.2),
    }[kind]  # fmt: skip
    ease = d.uniform(0.05, 0.9) if kind != "sweater" else d.uniform(0.4, 1.0)
    cut = d.random()  # trousers: skinny, straight or flared
    flare = {
        "skirt": d.uniform(1.12, 1.9), "pencil_skirt": d.uniform(0.9, 1.04), "pleated_skirt": d.uniform(1.2, 1.75),
        "trousers": 0.55 + 0.35 * cut if cut < 0.75 else d.uniform(1.05, 1.5),
        "wide_trousers": d.uniform(1.3, 2.0), "shorts": d.uniform(1.0, 1.5),
        "tee_dress": d.uniform(1.1, 1.7), "sleeveless": d.uniform(1.1, 2.0), "slip": d.uniform(1.02, 1.6),
        "shirt_dress": d.uniform(1.05, 1.6), "long_sleeve_dress": d.uniform(1.05, 1.9),
    }.get(kind, 1.0)  # fmt: skip
    trim = None
    if kind == "sweater" or d.chance(0.3):
        base = tex.colors[0]
        if d.chance(0.6):
            f = d.uniform(0.5, 0.8)
            trim = tuple(int(c * f) for c in base)
        else:
            trim = tuple(int(min(max(240 - c * 0.2, 0), 255)) for c in base)
    button = d.choice(((240, 240, 235), (30, 30, 30), (150, 110, 70), (200, 200, 205)))
    return Garment(
        category=category, kind=kind, texture=tex, neck=neck, neck_depth=d.random(), collar=collar,
        buttons=buttons, button_color=button, sleeve=sleeve,
        cuff=d.uniform(1.2, 1.7) if sleeve > 0.5 and d.chance(0.15) else 1.0,
        length=length, ease=ease, flare=flare,
        pleats=int(d.uniform(10, 22)) if kind == "pleated_skirt" else 0, trim=trim,
        hem_band=kind == "sweater" or (category == "upper" and d.chance(0.1)),
        strap=0.012 if kind == "slip" else d.uniform(0.02, 0.04),
        folds=_random_folds(d, category, kind, ease), seed=d.seed(),
    )  # fmt: skip


def _random_folds(d: Draws, category: str, kind: str, ease: float) -> tuple[Fold, ...]:
    out = []
    for _ in range(2):  # gentle waves everywhere
        out.append(Fold("wave", d.uniform(0.02, 0.05), d.uniform(-3, 3), d.uniform(1.5, 4), d.uniform(0, 6.3), 0.0))
    if category == "lower" and kind in LOWER_LEGS:  # bunching at the knees and above the hem, per leg
        for centre in (0.55, 0.92):
            out.append(Fold("ripple", d.uniform(0.05, 0.1), centre + d.uniform(-0.04, 0.04), d.uniform(9, 16),
                            d.uniform(0.05, 0.09)))  # fmt: skip
    elif kind == "pleated_skirt":
        out.append(Fold("pleats", d.uniform(0.1, 0.16), 0.0))
    elif category == "lower" or category == "dress":  # drapes that open towards the hem
        for _ in range(2):
            out.append(Fold("wave", d.uniform(0.06, 0.13), d.uniform(3, 8), d.uniform(-0.5, 0.5), d.uniform(0, 6.3), 1.0))
    if category != "lower":  # drag lines from the armpits towards the waist; looser cuts fold more
        for s0, direction in ((0.08, 0.9), (0.92, np.pi - 0.9)):
            out.append(Fold("drag", d.uniform(0.05, 0.12) * (0.6 + ease), s0 + d.uniform(-0.04, 0.04),
                            d.uniform(0.12, 0.2), direction + d.uniform(-0.35, 0.35), d.uniform(0.25, 0.45),
                            d.uniform(0.03, 0.06)))  # fmt: skip
        if category == "upper":  # ripples above the hem
            out.append(Fold("ripple", d.uniform(0.03, 0.07) * (0.5 + ease), 0.93, d.uniform(6, 10), 0.08))
    return tuple(out)


@dataclass
class Sleeve:
    """A sleeve or trouser leg: a tube along a chain of joints (local frame)."""

    polys: list[np.ndarray]
    joints: np.ndarray  # (k, 2)
    radii: np.ndarray  # (k,)
    s_range: tuple[float, float]  # fabric s spanned across the tube
    v_range: tuple[float, float]  # fabric v from the first joint to the end
    behind: bool = False  # on an arm behind the back


@dataclass
class GarmentShape:
    """A garment outline in a local frame, with what the renderer needs to texture it."""

    frame: Frame
    main: list[np.ndarray]  # polygons of the body of the garment (local frame)
    inner: list[np.ndarray]  # the inside of the back seen through the neckline
    profile: tuple[np.ndarray, np.ndarray, np.ndarray]  # (y, x_left, x_right), y increasing
    v0: float  # local y where v = 0
    v1: float  # local y where v = 1 (the hem)
    sleeves: list[Sleeve]
    legs: list[Sleeve]  # trouser legs: part of the main polygons, textured as tubes
    crotch: float  # local y below which the legs' mapping applies
    flat: bool
    hw_ref: float  # half-width (local px) that spans s = 0..1: chest for tops, hips for lower
    centre: float = 0.0  # local x of the front's centre line (placket, buttons)
    band: float = 0.0  # waistband height in v units (lower garments)
    hem_band: float = 0.0  # rib band at the hem, in v units
    rib: float = 0.0  # rib height along the neckline in local pixels
    neckline: np.ndarray | None = None  # the front neckline, left to right
    collar: list[np.ndarray] = field(default_factory=list)  # collar flaps / a mock neck
    collar_back: list[np.ndarray] = field(default_factory=list)  # the collar band behind the neck
    buttons: list[np.ndarray] = field(default_factory=list)
    placket: tuple[float, float] = (0.0, 0.0)  # local y range of the button placket (none if empty)
    unit: float = 1.0  # local pixels per garment-length unit (sizes of trims and stitches)


def _contour(points: list[tuple[float, float]], per_seg: int = 4) -> np.ndarray:
    """Smooth a side contour given top to bottom (x, y) points; y kept increasing."""
    c = catmull_rom(np.asarray(points, dtype=np.float64), per_seg)
    c[:, 1] = np.maximum.accumulate(c[:, 1])
    return c


def _neckline(g: Garment, nw: float, depth_unit: float, cx: float, y: float, n: int = 9) -> np.ndarray:
    """The front neckline from the viewer's left neck point to the right one."""
    lo, hi = _NECK_DEPTH[g.neck]
    depth = depth_unit * (lo + (hi - lo) * g.neck_depth)
    if g.collar == "shirt":
        depth = depth_unit * 0.35
    elif g.collar == "polo":
        depth = depth_unit * 0.25
    if g.kind == "slip":
        depth = max(depth, 0.35 * depth_unit)
    t = lin(-1, 1, n)
    if g.neck == "v":
        dy = depth * (1 - np.abs(t))
    elif g.neck == "square":
        dy = depth * np.minimum(1.0, 4 * (1 - np.abs(t)))
    else:
        dy = depth * np.sqrt(np.clip(1 - t * t, 0, 1))
    return np.stack([cx + nw * t, y + dy], axis=1)


def _profile(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y0 = max(left[0, 1], right[0, 1])
    y1 = min(left[-1, 1], right[-1, 1])
    ys = np.linspace(y0, y1, 48)
    return ys, np.interp(ys, left[:, 1], left[:, 0]), np.interp(ys, right[:, 1], right[:, 0])


def _hem(left: np.ndarray, right: np.ndarray, bow: float, pleats: int = 0, zig: float = 0.0) -> np.ndarray:
    """The hem between the two sides' last points, bowed towards the viewer; pleated hems zigzag."""
    n = max(9, 2 * pleats + 1)
    t = lin(-1, 1, n)
    x = left[-1, 0] + (right[-1, 0] - left[-1, 0]) * (t + 1) / 2
    y = left[-1, 1] + bow * (1 - t * t)
    if pleats:
        y = y + zig * (np.arange(n) % 2)
    return np.stack([x, y], axis=1)[1:-1]


def _collar(g: Garment, c: float, nw: float, neck_y: float, unit: float, up: float):
    """Collar flaps (front) and the collar band (behind the neck) for shirts and polos; a mock
    neck for turtlenecks. ``unit`` sizes the collar, ``up`` is how far the band rises."""
    front, back = [], []
    if g.collar:
        drop = unit * (0.055 if g.collar == "shirt" else 0.04)
        for sign in (-1, 1):
            front.append(np.array([
                [c + sign * nw * 0.12, neck_y + drop * 0.35], [c + sign * nw * 1.15, neck_y - up * 0.25],
                [c + sign * nw * 1.45, neck_y + drop * 0.3], [c + sign * nw * 0.55, neck_y + drop],
            ]))  # fmt: skip
        t = lin(-1, 1, 9)
        top = np.stack([c + nw * 1.15 * t, neck_y - up + up * 0.25 * t * t], axis=1)
        back.append(np.concatenate([top, [[c + nw * 1.2, neck_y + up * 0.3], [c - nw * 1.2, neck_y + up * 0.3]]]))
    elif g.neck == "turtle":
        t = lin(-1, 1, 9)
        top = np.stack([c + nw * 0.95 * t, neck_y - up + 0.1 * up * t * t], axis=1)
        bottom = np.stack([c + nw * 1.1 * t[::-1], neck_y + 0.15 * up * (1 - t * t)], axis=1)
        front.append(np.concatenate([top, bottom]))
    return front, back


def _buttons(g: Garment, c: float, y0: float, y1: float, r: float) -> tuple[list[np.ndarray], tuple[float, float]]:
    """Buttons evenly down the placket from ``y0`` to ``y1``, and the placket's y range."""
    if not g.buttons or y1 <= y0 + 4 * r:
        return [], (0.0, 0.0)
    ys = np.linspace(y0 + 1.5 * r, y1 - 1.5 * r, g.buttons)
    return [ellipse((c, y), r, r, 0.0, 10) for y in ys], (y0, y1)


# ---------------------------------------------------------------------------------------
# worn


def worn_shape(g: Garment, body: Body) -> GarmentShape:
    """Fit garment ``g`` to ``body`` (local frame = the body frame)."""
    if g.category == "lower":
        return _worn_lower(g, body)
    return _worn_top(g, body)


def _worn_top(g: Garment, body: Body) -> GarmentShape:
    lv, wd, P = body.levels, body.widths, body.P
    c = body.centre
    ys, hl, hr = torso_profile(body)
    ease = (0.006 + 0.02 * g.ease) * P
    dress = g.category == "dress"
    if dress:
        hem = lv["hip"] + (lv["ankle"] - lv["hip"]) * (0.18 + 0.62 * g.length)
    else:
        hem = lv["chest"] + (lv["crotch"] + 0.04 * P - lv["chest"]) * g.length
    nw = wd["neck"] * _NECK_WIDTH[g.neck]
    neck_y = lv["neck_base"] - 0.004 * P
    sides = []
    for k, sign in enumerate((-1, 1)):
        m = body.side_scale[k]
        hw = hl if sign < 0 else hr
        chest_hw = hw[2]
        pts: list[tuple[float, float]] = []
        if not g.sleeved:
            outer = c + sign * (nw + g.strap * P)
            pts.append((outer, neck_y + 0.002 * P))
            pts.append((sign * (chest_hw * 0.92 + ease * 0.3), lv["armpit"] - 0.035 * P))
            pts.append((sign * (chest_hw + ease * 0.6), lv["armpit"] + 0.012 * P))
        else:  # up to the top of the shoulder joint, where the sleeve cap takes over
            pts.append((sign * (wd["shoulder"] * m + 0.2 * ease), lv["shoulder"] - 0.2 * wd["arm"]))
            pts.append((sign * (chest_hw + ease), lv["armpit"]))
        for y, w in zip(ys[2:], hw[2:], strict=True):
            if y >= hem - 0.01 * P:
                break
            loose = g.ease * max(0.0, chest_hw - w) * (0.25 if dress else 0.8)
            pts.append((sign * (w + ease * (0.5 if dress else 1.0) + loose), y))
        if dress:  # the skirt flares from the hips to the hem
            hip_w = (hw[4] + ease) * 1.03
            if pts[-1][1] < lv["hip"]:
                pts.append((sign * hip_w, lv["hip"]))
            pts.append((sign * hip_w * g.flare, hem))
        else:
            w_hem = float(np.interp(hem, ys, hw))
            loose = g.ease * max(0.0, chest_hw - w_hem) * 0.8
            pts.append((sign * (w_hem + ease + loose), hem))
        sides.append(_contour(pts))
    left, right = sides
    hem_line = _hem(left, right, 0.008 * P)
    neck = _neckline(g, nw, 0.11 * P, c, neck_y)
    # neck point, down the left side, along the hem, up the right side, along the neckline
    outline = np.concatenate([neck[:1], left, hem_line, right[::-1], neck[::-1][:-1]], axis=0)
    t = lin(-1, 1, 9)
    back = np.stack([c + nw * t, neck_y - 0.004 * P + 0.01 * P * (1 - t * t)], axis=1)
    collar, collar_back = _collar(g, c, nw, neck_y, P * 0.55, 0.014 * P)
    buttons, placket = _buttons(g, c, float(neck[len(neck) // 2, 1]) + 0.004 * P,
                                hem if g.collar == "shirt" else lv["chest"], 0.006 * P)  # fmt: skip
    sleeves = []
    if g.sleeved:
        for k in range(2):
            arm = body.arms[k]
            j, r = chain_part(arm.joints, arm.radii, g.sleeve)
            r = r * (1.08 + 0.2 * g.ease) + 0.002 * P
            r[0] = arm.radii[0] * (1.02 + 0.08 * g.ease)
            r[-1] *= g.cuff
            sleeves.append(Sleeve(tube_chain(j, r), j, r, (0.15, 0.85), _sleeve_v(g), body.behind[k]))
    return GarmentShape(
        frame=body.frame, main=[outline], inner=[np.concatenate([back, neck[::-1]], axis=0)],
        profile=_profile(left, right), v0=neck_y, v1=hem, sleeves=sleeves, legs=[], crotch=np.inf, flat=False,
        hw_ref=(hl[2] + hr[2]) / 2 + ease, centre=c,
        hem_band=0.05 * P / max(hem - neck_y, 1.0) if g.hem_band else 0.0,
        rib=0.008 * P if g.trim and not g.collar else 0.0, neckline=neck, collar=collar, collar_back=collar_back,
        buttons=buttons, placket=placket, unit=P * 0.5,
    )  # fmt: skip


def _sleeve_v(g: Garment) -> tuple[float, float]:
    """Sleeves take their fabric from the lower part of the panel, away from any print."""
    return 0.55, 0.55 + 0.45 * g.sleeve


def _worn_lower(g: Garment, body: Body) -> GarmentShape:
    lv, wd, P = body.levels, body.widths, body.P
    ease = (0.004 + 0.014 * g.ease) * P
    waist_y = lv["waist"] + 0.03 * P * (1 - g.ease)  # looser cuts sit lower
    crotch = lv["crotch"] + 0.012 * P
    skirt = g.kind not in LOWER_LEGS
    hem = lv["hip"] + (lv["ankle"] - lv["hip"]) * (0.12 + 0.8 * g.length)
    sides = []
    for k, sign in enumerate((-1, 1)):
        m = body.side_scale[k]
        pts = [(sign * (wd["waist"] * m * 1.04 + ease * 0.5), waist_y), (sign * (wd["hip"] * m + ease), lv["hip"])]
        if skirt:
            pts.append((sign * (wd["hip"] * m + ease) * g.flare, hem))
        else:
            pts.append((sign * (wd["hip"] * m + ease) * 0.99, crotch))
        sides.append(_contour(pts))
    left, right = sides
    legs: list[Sleeve] = []
    if skirt:
        hem_line = _hem(left, right, 0.01 * P, g.pleats, 0.012 * P)
        main = [np.concatenate([left, hem_line, right[::-1]], axis=0)]
        v1 = hem
    else:
        main = [np.concatenate([left, np.array([[0.0, crotch + 0.01 * P]]), right[::-1]], axis=0)]
        frac = {"trousers": 0.9 + 0.08 * g.length, "wide_trousers": 0.45 + 0.53 * g.length}.get(
            g.kind, 0.1 + 0.45 * g.length
        )
        v1 = 0.0
        for k, sign in enumerate((-1, 1)):
            leg = body.legs[k]
            j, r = chain_part(leg.joints, leg.radii, frac)
            # the leg opening: at least the thigh's width, wider for loose, wide or flared cuts
            r = r * 1.08 + ease
            r[0] = max(r[0], wd["thigh"] * 1.05 + ease)
            if g.kind == "wide_trousers":
                r = np.maximum(r, r[0] * np.linspace(1.0, 0.8 * g.flare, len(r)))
            else:
                r[-1] = max(r[-1], r[0] * (0.55 if g.kind == "trousers" else 0.9) * g.flare)
            polys = tube_chain(j, r, cap_start=True)
            legs.append(Sleeve(polys, j, r, (0.0, 0.5) if sign < 0 else (0.5, 1.0), (0.0, 1.0)))
            main.extend(polys)
            v1 = max(v1, float(j[-1, 1]))
    return GarmentShape(
        frame=body.frame, main=main, inner=[], profile=_profile(left, right), v0=waist_y, v1=v1, sleeves=[],
        legs=legs, crotch=crotch if legs else np.inf, flat=False, hw_ref=wd["hip"] * sum(body.side_scale) / 2 + ease,
        band=0.04 * P / max(v1 - waist_y, 1.0), unit=P * 0.5,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# flat (product shot)


def _worn_proportions(g: Garment) -> float:
    """Length over width (2 x the reference half-width) of ``g`` worn by an average body.
    The levels are ``build_body``'s for masculinity 0.5, weight 1 and average head, neck
    and legs."""
    if g.category == "lower":
        waist = 0.385 + 0.03 * (1 - g.ease)
        hw = 0.093 + 0.004 + 0.014 * g.ease
        if g.kind not in LOWER_LEGS:
            hem = 0.485 + 0.47 * (0.12 + 0.8 * g.length)
        else:
            frac = {"trousers": 0.9 + 0.08 * g.length, "wide_trousers": 0.45 + 0.53 * g.length}.get(
                g.kind, 0.1 + 0.45 * g.length
            )
            hem = 0.497 + 0.458 * frac
        return (hem - waist) / (2 * hw)
    hw = 0.092 + 0.006 + 0.02 * g.ease
    if g.category == "dress":
        hem = 0.485 + 0.47 * (0.18 + 0.62 * g.length)
    else:
        hem = 0.285 + 0.28 * g.length
    return (hem - 0.164) / (2 * hw)


def flat_shape(g: Garment, size: tuple[int, int], scale: float = 0.88, offset=(0.0, 0.0), angle: float = 0.0,
               arms: float = 0.5) -> GarmentShape:  # fmt: skip
    """Lay garment ``g`` out flat in an image of ``size`` = (H, W): ``scale`` of the frame
    filled, ``offset`` (fractions of W, H) from the centre, turned by ``angle``; ``arms`` 0..1
    sets how far the sleeves spread (0 hanging down, 1 spread out)."""
    H, W = size
    if g.category == "lower":
        return _flat_lower(g, H, W, scale, offset, angle)
    return _flat_top(g, H, W, scale, offset, angle, arms)


# A flat garment shows its whole front panel; worn, the body turns the panel away at the
# sides, so the same garment looks narrower. The worn mapping (``render``) puts 1.15 units of
# s across the front's projected width 2r, i.e. one unit of s is about 2.7 r of fabric:
# laid flat, the garment's length over its width is this times its worn proportions.
FLAT_ASPECT = 0.75


def flat_proportions(g: Garment) -> float:
    """Length over reference width of ``g`` laid flat."""
    return FLAT_ASPECT * _worn_proportions(g)


def _flat_top(g: Garment, H: int, W: int, fill: float, offset, angle: float, arms: float) -> GarmentShape:
    dress = g.category == "dress"
    bw = 0.32 + 0.06 * g.ease  # body half-width at the chest, in units of about a top's length
    length = flat_proportions(g) * 2 * bw
    sleeve_len = g.sleeve * 0.85 / 0.95 if g.sleeved else 0.0
    # long sleeves fall along the body or spread to 45 degrees; short ones stand out more
    ang = np.radians(82 - 37 * arms) if g.sleeve > 0.5 else np.radians(55 - 25 * arms)
    span = bw + 0.12 + sleeve_len * np.cos(ang) + 0.1 if g.sleeved else bw + 0.05
    hem_hw = bw * (1.0 + 0.05 * g.ease) if not dress else bw * 0.98 * g.flare * (0.9 + 0.1 * length)
    span = max(span, hem_hw + 0.04)
    drop = max(length, 0.3 + sleeve_len * np.sin(ang) + 0.05) if g.sleeved else length
    u = fill * min(H / (drop + 0.14), W / (2 * span))  # local pixels per garment length
    top = (H - u * drop) / 2 + 0.04 * u
    frame = Frame((W / 2 + offset[0] * W, top + offset[1] * H), angle)
    nw = 0.115 * u * _NECK_WIDTH[g.neck] / 1.35
    armpit, waist = 0.25 * u, 0.48 * u
    sides, roots = [], []
    for sign in (-1, 1):
        pts: list[tuple[float, float]] = []
        if not g.sleeved:
            sw = max(g.strap * 2.5, 0.03) * u
            pts.append((sign * (nw + sw), 0.0))
            pts.append((sign * (nw + sw + 0.015 * u), 0.1 * u))  # a scooped armhole
            pts.append((sign * bw * 0.8 * u, armpit - 0.01 * u))
            pts.append((sign * bw * u, armpit + 0.05 * u))
        else:
            sh = (sign * (bw + 0.06) * u, 0.06 * u)
            pts.append(sh)
            pts.append((sign * bw * u, armpit))
            roots.append((np.array(sh), np.array([sign * bw * u, armpit])))
        hem_y = length * u
        if dress:
            pts.append((sign * bw * 0.86 * u, min(waist, hem_y * 0.6)))
            pts.append((sign * bw * 0.98 * u, min(waist + 0.15 * u, hem_y * 0.8)))
        elif hem_y > armpit + 0.1 * u:
            pts.append((sign * bw * (0.95 + 0.05 * g.ease) * u, 0.5 * (armpit + hem_y)))
        pts.append((sign * hem_hw * u, max(hem_y, pts[-1][1] + 0.02 * u)))
        sides.append(_contour(pts))
    left, right = sides
    hem_line = _hem(left, right, 0.012 * u * (2.5 if dress else 1))
    neck = _neckline(g, nw, 0.28 * u, 0.0, 0.0)
    outline = np.concatenate([neck[:1], left, hem_line, right[::-1], neck[::-1][:-1]], axis=0)
    t = lin(-1, 1, 9)
    back = np.stack([nw * t, 0.03 * u * (1 - t * t)], axis=1)
    collar, collar_back = _collar(g, 0.0, nw, 0.0, u, 0.035 * u)
    v1 = float(left[-1, 1])
    buttons, placket = _buttons(g, 0.0, float(neck[len(neck) // 2, 1]) + 0.01 * u,
                                v1 if g.collar == "shirt" else 0.3 * u, 0.012 * u)  # fmt: skip
    sleeves = []
    for k, (sh, ap) in enumerate(roots):
        sign = -1 if k == 0 else 1
        dvec = np.array([sign * np.cos(ang), np.sin(ang)])
        root = (sh + ap) / 2
        rr = float(np.hypot(*(sh - ap))) / 2
        end = root + dvec * sleeve_len * u
        rc = rr * (0.62 if g.sleeve > 0.6 else 0.85) * g.cuff
        j = np.stack([root - dvec * rr * 0.9, end])  # starts inside the body: no notch at the seam
        r = np.array([rr * 1.05, rc])
        sleeves.append(Sleeve(tube_chain(j, r, cap_start=False), j, r, (0.15, 0.85), _sleeve_v(g)))
    return GarmentShape(
        frame=frame, main=[outline], inner=[np.concatenate([back, neck[::-1]], axis=0)],
        profile=_profile(left, right), v0=0.0, v1=v1, sleeves=sleeves, legs=[], crotch=np.inf, flat=True,
        hw_ref=bw * u, hem_band=0.06 * u / max(v1, 1.0) if g.hem_band else 0.0,
        rib=0.022 * u if g.trim and not g.collar else 0.0, neckline=neck, collar=collar, collar_back=collar_back,
        buttons=buttons, placket=placket, unit=u,
    )  # fmt: skip


def _flat_lower(g: Garment, H: int, W: int, fill: float, offset, angle: float) -> GarmentShape:
    skirt = g.kind not in LOWER_LEGS
    ww = 0.3 + 0.05 * g.ease  # waist half-width
    hip = ww * 1.12
    length = flat_proportions(g) * 2 * hip
    splay = 0.06 if not skirt else 0.0
    leg_out = hip * {"wide_trousers": 0.5, "trousers": 0.31}.get(g.kind, 0.46) * g.flare  # a leg's half-width at the hem
    span = (hip * g.flare if skirt else max(hip * 0.5 + splay * length, 1.04 * leg_out) + max(leg_out, hip * 0.5)) + 0.06
    u = fill * min(H / (length + 0.1), W / (2 * span))
    top = (H - u * length) / 2
    frame = Frame((W / 2 + offset[0] * W, top + offset[1] * H), angle)
    crotch = 0.32 * u
    sides = []
    for sign in (-1, 1):
        pts = [(sign * ww * u, 0.0), (sign * hip * u, 0.2 * u)]
        pts.append((sign * hip * g.flare * u, length * u) if skirt else (sign * hip * u, crotch))
        sides.append(_contour(pts))
    left, right = sides
    legs = []
    if skirt:
        main = [np.concatenate([left, _hem(left, right, 0.02 * u, g.pleats, 0.02 * u), right[::-1]], axis=0)]
    else:
        main = [np.concatenate([left, np.array([[0.0, crotch + 0.01 * u]]), right[::-1]], axis=0)]
        for sign in (-1, 1):
            r0 = hip * 0.5 * u
            r1 = leg_out * u
            xc = max(hip * 0.5 + splay * (length - 0.3), 1.04 * r1 / u)  # the legs do not overlap at the hem
            j = np.stack([np.array([sign * hip * 0.5 * u, crotch - 0.06 * u]), np.array([sign * xc * u, length * u])])
            r = np.array([r0, r1])
            polys = tube_chain(j, r, cap_start=False)
            legs.append(Sleeve(polys, j, r, (0.0, 0.5) if sign < 0 else (0.5, 1.0), (0.0, 1.0)))
            main.extend(polys)
    return GarmentShape(
        frame=frame, main=main, inner=[], profile=_profile(left, right), v0=0.0, v1=length * u, sleeves=[],
        legs=legs, crotch=crotch if legs else np.inf, flat=True, hw_ref=hip * u, band=0.06 / length, unit=u,
    )  # fmt: skip
