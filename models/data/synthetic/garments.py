"""Garments of the synthetic world: a size-free ``Garment`` spec and its two outlines.

``flat_shape`` lays a garment out as a product shot; ``worn_shape`` fits the same garment
(same neckline, sleeve length, hem, looseness and flare) to a ``Body``. Both produce a
``GarmentShape`` in a local frame with the (s, v) parametrisation that the renderer uses
to look up the fabric, so the flat and the worn garment show the same texture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import ProfileLUT, catmull_rom, clip, lin, linspace, unit
from .people import Body, torso_profile
from .textures import TextureSpec, cdf, choice_p, random_texture

GARMENT_KINDS = {
    "upper": ("tshirt", "longsleeve", "tank"),
    "lower": ("trousers", "shorts", "skirt"),
    "dress": ("tee_dress", "sleeveless", "slip"),
}
NECKLINES = ("crew", "v", "scoop")
_NECK_CDF = cdf((0.55, 0.2, 0.25))


@dataclass(frozen=True)
class Fold:
    amp: float  # shading amplitude
    fs: float  # cycles across the garment
    fv: float  # cycles down the garment
    phase: float
    envelope: str  # "flat" | "hem" (grows towards the hem) | "mid" (strongest mid-way)


@dataclass(frozen=True)
class Garment:
    """Everything that determines one garment, flat or worn."""

    category: str
    kind: str
    texture: TextureSpec
    neck: str = "crew"
    neck_depth: float = 0.5  # 0..1 within the neckline style's range
    sleeve: float = 0.0  # fraction of the arm covered (0 = sleeveless)
    length: float = 0.5  # hem position within the kind's range
    ease: float = 0.3  # looseness 0..1
    flare: float = 1.0  # skirt hem / trouser hem width factor
    trim: tuple[int, int, int] | None = None  # rib of collar, cuffs or waistband
    folds: tuple[Fold, ...] = ()
    flat_bg: tuple[int, int, int] = (240, 240, 240)
    flat_angle: float = 0.0  # product shots are upright; kept for callers that want a tilt
    flat_scale: float = 0.9
    flat_offset: tuple[float, float] = (0.0, 0.0)
    flat_arms: float = 0.5  # sleeve angle in the product shot, 0..1
    seed: int = field(default=0)

    @property
    def sleeved(self) -> bool:
        return self.sleeve > 0


def random_garment(
    rng: np.random.Generator, category: str, kind: str | None = None, fabric: str | None = None
) -> Garment:
    """Draw a garment of ``category`` (and of ``kind`` / with a ``fabric`` kind if given)."""
    kinds = GARMENT_KINDS[category]
    if kind is None:
        kind = kinds[int(rng.integers(len(kinds)))]
    elif kind not in kinds:
        raise ValueError(f"{kind!r} is not a {category} garment; use one of {kinds}")
    tex = random_texture(rng, category, fabric)
    neck = NECKLINES[choice_p(rng, _NECK_CDF)]
    sleeve = {
        "tshirt": rng.uniform(0.14, 0.3), "longsleeve": rng.uniform(0.9, 1.0), "tank": 0.0,
        "tee_dress": rng.uniform(0.12, 0.25), "sleeveless": 0.0, "slip": 0.0,
    }.get(kind, 0.0)  # fmt: skip
    length = {
        "tshirt": rng.uniform(0.3, 0.9), "longsleeve": rng.uniform(0.3, 0.9), "tank": rng.uniform(0.2, 0.8),
        "trousers": rng.uniform(0.9, 1.0), "shorts": rng.uniform(0.15, 0.42), "skirt": rng.uniform(0.15, 0.75),
        "tee_dress": rng.uniform(0.2, 0.7), "sleeveless": rng.uniform(0.2, 0.75), "slip": rng.uniform(0.25, 0.8),
    }[kind]  # fmt: skip
    ease = rng.uniform(0.05, 0.9)
    flare = {
        "skirt": rng.uniform(1.1, 1.9), "trousers": rng.uniform(0.95, 1.6), "shorts": rng.uniform(1.1, 1.5),
        "tee_dress": rng.uniform(1.1, 1.7), "sleeveless": rng.uniform(1.15, 2.0), "slip": rng.uniform(1.05, 1.6),
    }.get(kind, 1.0)  # fmt: skip
    trim = None
    if rng.random() < 0.35:
        base = np.asarray(tex.colors[0], dtype=np.float64)
        trim = tuple(int(v) for v in clip(base * rng.uniform(0.5, 0.8) if rng.random() < 0.6 else 240 - base * 0.2, 0, 255))
    folds = _folds(rng, category, kind)
    bg = tuple(int(v) for v in clip(np.array([242, 242, 240]) + rng.normal(0, 6, 3), 215, 255))
    return Garment(
        category=category, kind=kind, texture=tex, neck=neck, neck_depth=float(rng.uniform(0, 1)),
        sleeve=float(sleeve), length=float(length), ease=float(ease), flare=float(flare), trim=trim,
        folds=folds, flat_bg=bg,
        flat_scale=float(rng.uniform(0.82, 0.94)),
        flat_offset=(float(rng.uniform(-0.03, 0.03)), float(rng.uniform(-0.02, 0.02))),
        flat_arms=float(rng.uniform(0, 1)), seed=int(rng.integers(2**31)),
    )  # fmt: skip


def _folds(rng: np.random.Generator, category: str, kind: str) -> tuple[Fold, ...]:
    out = []
    skirt = kind in ("skirt", "tee_dress", "sleeveless", "slip")
    for _ in range(2):  # drag lines
        out.append(Fold(rng.uniform(0.03, 0.07), rng.uniform(-3, 3), rng.uniform(1.5, 4), rng.uniform(0, 6.3), "flat"))
    if skirt:  # vertical drapes, growing to the hem
        for _ in range(2):
            out.append(Fold(rng.uniform(0.06, 0.12), rng.uniform(3, 8), rng.uniform(-0.5, 0.5), rng.uniform(0, 6.3), "hem"))
    elif category == "lower":  # bunching at knees and ankles
        out.append(Fold(rng.uniform(0.05, 0.1), rng.uniform(-1, 1), rng.uniform(7, 12), rng.uniform(0, 6.3), "hem"))
    else:  # ripples above the hem of a top
        out.append(Fold(rng.uniform(0.04, 0.09), rng.uniform(-1.5, 1.5), rng.uniform(5, 9), rng.uniform(0, 6.3), "hem"))
    return tuple(out)


@dataclass
class Frame:
    """Local → image: rotate by ``angle`` and translate to ``origin`` (pixels)."""

    origin: np.ndarray
    angle: float = 0.0

    def __post_init__(self):
        c, s = float(np.cos(self.angle)), float(np.sin(self.angle))
        self._rt = np.array([[c, s], [-s, c]])
        self._cs = (np.float32(c), np.float32(s))
        self._o32 = (np.float32(self.origin[0]), np.float32(self.origin[1]))

    def to_image(self, pts: np.ndarray) -> np.ndarray:
        return np.asarray(pts, dtype=np.float64) @ self._rt + self.origin

    def to_local(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image → local coordinates. Without rotation the result keeps the inputs'
        broadcastable shapes (a row and a column), which keeps per-pixel work small."""
        dx = X - self._o32[0]
        dy = Y - self._o32[1]
        if self.angle == 0.0:
            return dx, dy
        c, s = self._cs
        return dx * c + dy * s, dy * c - dx * s


@dataclass
class Sleeve:
    """A sleeve or trouser leg: a tube along a chain of joints (local frame)."""

    polys: list[np.ndarray]
    joints: np.ndarray  # (k, 2)
    radii: np.ndarray  # (k,)
    s_range: tuple[float, float]  # texture s spanned across the tube
    v_range: tuple[float, float]  # texture v from the first joint to the end


@dataclass
class GarmentShape:
    """A garment outline in a local frame, with what the renderer needs to texture it."""

    frame: Frame
    main: list[np.ndarray]  # polygons of the body of the garment (local frame)
    inner: list[np.ndarray]  # inside of the garment seen through the neckline
    profile: tuple[np.ndarray, np.ndarray, np.ndarray]  # (y, x_left, x_right), y increasing
    v0: float  # local y where v = 0
    v1: float  # local y where v = 1 (the hem)
    sleeves: list[Sleeve]  # drawn above the arms when worn, beneath the body when flat
    legs: list[Sleeve]  # trouser legs: part of the main layer, textured as tubes
    crotch: float  # local y below which the legs' mapping applies
    flat: bool
    band: float = 0.0  # waistband height in v units (lower garments)
    collar: float = 0.0  # rib height along the neckline in local pixels
    neckline: np.ndarray | None = None  # the front neckline, left to right (tops and dresses)
    hw_ref: float = 1.0  # half-width (local px) that spans s = 0..1: chest for tops, hips for lower

    @property
    def lut(self) -> ProfileLUT:
        if not hasattr(self, "_lut"):
            self._lut = ProfileLUT(*self.profile)
        return self._lut


def _contour(points: list[tuple[float, float]], per_seg: int = 4) -> np.ndarray:
    """Smooth a side contour given top-to-bottom (x, y) points; y kept increasing."""
    c = catmull_rom(np.asarray(points, dtype=np.float64), per_seg)
    c[:, 1] = np.maximum.accumulate(c[:, 1])
    return c


def _neckline(g: Garment, nw: float, depth_unit: float, cx: float, y: float, n: int = 9) -> np.ndarray:
    """Front neckline from the viewer's left neck point to the right one."""
    lo, hi = {"crew": (0.12, 0.3), "v": (0.5, 0.9), "scoop": (0.35, 0.7)}[g.neck]
    depth = depth_unit * (lo + (hi - lo) * g.neck_depth)
    if g.kind == "slip":
        depth = max(depth, 0.35 * depth_unit)
    t = lin(-1, 1, n)
    if g.neck == "v":
        dy = depth * (1 - np.abs(t))
    else:
        dy = depth * np.sqrt(clip(1 - t * t, 0, 1))
    return np.stack([cx + nw * t, y + dy], axis=1)


def _tube(p0, p1, r0: float, r1: float, cap0: bool = True, cap1: bool = False, n: int = 7) -> np.ndarray:
    """A tapered tube with optional round caps (a flat cut where there is none)."""
    p0 = np.asarray(p0, dtype=np.float64)
    p1 = np.asarray(p1, dtype=np.float64)
    d = unit(p1 - p0)
    nrm = np.array([-d[1], d[0]])
    base = np.arctan2(d[1], d[0])
    if cap1:
        t = base + lin(-np.pi / 2, np.pi / 2, n)
        end = p1 + r1 * np.stack([np.cos(t), np.sin(t)], axis=1)
    else:
        end = np.stack([p1 - nrm * r1, p1 + nrm * r1])
    if cap0:
        t = base + lin(np.pi / 2, 3 * np.pi / 2, n)
        start = p0 + r0 * np.stack([np.cos(t), np.sin(t)], axis=1)
    else:
        start = np.stack([p0 + nrm * r0, p0 - nrm * r0])
    return np.concatenate([end, start], axis=0)


def _chain_part(joints: np.ndarray, radii: np.ndarray, frac: float) -> tuple[np.ndarray, np.ndarray]:
    """The first ``frac`` of a joint chain (by length), with interpolated radii."""
    seg = np.hypot(*(joints[1:] - joints[:-1]).T)
    total = seg.sum()
    want = frac * total
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


def _tube_chain(joints: np.ndarray, radii: np.ndarray, cap_start: bool = True) -> list[np.ndarray]:
    polys = []
    for i in range(len(joints) - 1):
        last = i == len(joints) - 2
        polys.append(_tube(joints[i], joints[i + 1], radii[i], radii[i + 1], cap0=cap_start or i > 0, cap1=not last))
    return polys


# ---------------------------------------------------------------------------------------
# worn


def worn_shape(g: Garment, body: Body) -> GarmentShape:
    """Fit garment ``g`` to ``body`` (local frame = the body frame)."""
    frame = Frame(body.origin, body.lean)
    if g.category == "lower":
        return _worn_lower(g, body, frame)
    return _worn_top(g, body, frame)


def _worn_top(g: Garment, body: Body, frame: Frame) -> GarmentShape:
    lv, wd, P = body.levels, body.widths, body.P
    c = body.centre
    ys, hl, hr = torso_profile(body)
    ease = (0.006 + 0.02 * g.ease) * P
    dress = g.category == "dress"
    if dress:
        hem = lv["hip"] + (lv["ankle"] - lv["hip"]) * (0.18 + 0.62 * g.length)
    else:
        hem = lv["waist"] + (lv["crotch"] + 0.04 * P - lv["waist"]) * g.length
    nw = wd["neck"] * (1.35 if g.neck == "crew" else 1.7)
    neck_y = lv["neck_base"] - 0.004 * P
    sides = []
    for k, sign in enumerate((-1, 1)):
        m = body.side_scale[k]
        hw = hl if sign < 0 else hr
        chest_hw = hw[2]
        pts: list[tuple[float, float]] = []
        strap = g.kind in ("tank", "sleeveless", "slip")
        if strap:
            sw = (0.012 if g.kind == "slip" else 0.03) * P
            outer = c + sign * (nw + sw)
            pts.append((outer, neck_y + 0.002 * P))
            pts.append((sign * (chest_hw * 0.92 + ease * 0.3), lv["armpit"] - 0.035 * P))
            pts.append((sign * (chest_hw + ease * 0.6), lv["armpit"] + 0.012 * P))
        else:
            # up to the top of the shoulder joint, where the sleeve cap takes over
            pts.append((sign * (wd["shoulder"] * m + 0.2 * ease), lv["shoulder"] - 0.2 * wd["arm"]))
            pts.append((sign * (chest_hw + ease), lv["armpit"]))
        for y, w in zip(ys[2:], hw[2:], strict=True):
            if y >= hem - 1e-6:
                break
            loose = g.ease * max(0.0, chest_hw - w) * (0.25 if dress else 0.8)
            fitted = 0.5 if dress else 1.0
            pts.append((sign * (w + ease * fitted + loose), y))
        if dress:  # the skirt flares from the hips to the hem
            hip_w = (hw[4] + ease) * 1.03
            if pts[-1][1] < lv["hip"]:
                pts.append((sign * hip_w, lv["hip"]))
            pts.append((sign * hip_w * g.flare, hem))
        else:
            w_hem = np.interp(hem, ys, hw)
            loose = g.ease * max(0.0, chest_hw - w_hem) * 0.8
            pts.append((sign * (w_hem + ease + loose), hem))
        sides.append(_contour(pts))
    left, right = sides
    # the hem bows slightly towards the viewer (a cylinder seen from the front)
    t = lin(-1, 1, 9)
    hem_x = left[-1, 0] + (right[-1, 0] - left[-1, 0]) * (t + 1) / 2
    hem_line = np.stack([hem_x, hem + 0.008 * P * (1 - t * t)], axis=1)
    neck = _neckline(g, nw, 0.11 * P, c, neck_y)
    # neck point, down the left side, along the hem, up the right side, along the neckline
    outline = np.concatenate([neck[:1], left, hem_line[1:-1], right[::-1], neck[::-1][:-1]], axis=0)
    back = np.stack([c + nw * t, neck_y - 0.004 * P + 0.01 * P * (1 - t * t)], axis=1)
    inner = [np.concatenate([back, neck[::-1]], axis=0)]
    profile = _profile(left, right)
    sleeves = []
    if g.sleeved:
        for k in range(2):
            arm = body.arms[k]
            j, r = _chain_part(arm.joints, arm.radii, g.sleeve)
            r = r * (1.08 + 0.2 * g.ease) + 0.002 * P
            r[0] = arm.radii[0] * (1.02 + 0.08 * g.ease)
            sleeves.append(Sleeve(_tube_chain(j, r), j, r, (0.15, 0.85), _sleeve_v(g)))
    return GarmentShape(
        frame=frame, main=[outline], inner=inner, profile=profile, v0=neck_y, v1=hem, sleeves=sleeves,
        legs=[], crotch=np.inf, flat=False, collar=0.008 * P if g.trim else 0.0, neckline=neck,
        hw_ref=(hl[2] + hr[2]) / 2 + ease,
    )  # fmt: skip


def _sleeve_v(g: Garment) -> tuple[float, float]:
    """Sleeves take their fabric from the lower part of the panel, away from any print."""
    return 0.55, 0.55 + 0.45 * g.sleeve


def _profile(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y0 = max(left[0, 1], right[0, 1])
    y1 = min(left[-1, 1], right[-1, 1])
    ys = linspace(y0, y1, 48)
    xl = np.interp(ys, left[:, 1], left[:, 0])
    xr = np.interp(ys, right[:, 1], right[:, 0])
    return ys, xl, xr


def _worn_lower(g: Garment, body: Body, frame: Frame) -> GarmentShape:
    lv, wd, P = body.levels, body.widths, body.P
    ease = (0.004 + 0.014 * g.ease) * P
    waist_y = lv["waist"] + 0.03 * P * (1 - g.ease)  # looser cuts sit lower
    crotch = lv["crotch"] + 0.012 * P
    sides = []
    for k, sign in enumerate((-1, 1)):
        m = body.side_scale[k]
        pts = [(sign * (wd["waist"] * m * 1.04 + ease * 0.5), waist_y), (sign * (wd["hip"] * m + ease), lv["hip"])]
        if g.kind == "skirt":
            hem = lv["hip"] + (lv["ankle"] - lv["hip"]) * (0.12 + 0.8 * g.length)
            pts.append((sign * (wd["hip"] * m + ease) * g.flare, hem))
        else:
            pts.append((sign * (wd["hip"] * m + ease) * 0.99, crotch))
        sides.append(_contour(pts))
    left, right = sides
    legs: list[Sleeve] = []
    if g.kind == "skirt":
        t = lin(-1, 1, 9)
        hem = left[-1, 1]
        hem_x = left[-1, 0] + (right[-1, 0] - left[-1, 0]) * (t + 1) / 2
        hem_line = np.stack([hem_x, hem + 0.01 * P * (1 - t * t)], axis=1)
        outline = np.concatenate([left, hem_line[1:-1], right[::-1]], axis=0)
        main = [outline]
        v1 = hem
    else:
        frac = 0.97 if g.kind == "trousers" else 0.1 + 0.45 * g.length
        crotch_mid = np.array([[0.0, crotch + 0.01 * P]])
        pelvis = np.concatenate([left, crotch_mid, right[::-1]], axis=0)
        main = [pelvis]
        hem_y = 0.0
        for k, sign in enumerate((-1, 1)):
            leg = body.legs[k]
            j, r = _chain_part(leg.joints, leg.radii, frac)
            # the leg opening: at least the thigh's width, wider for loose or flared cuts
            r = r * 1.08 + ease
            r[0] = max(r[0], wd["thigh"] * 1.05 + ease)
            r[-1] = max(r[-1], r[0] * (0.55 if g.kind == "trousers" else 0.9) * g.flare)
            polys = _tube_chain(j, r, cap_start=True)
            legs.append(Sleeve(polys, j, r, (0.0, 0.5) if sign < 0 else (0.5, 1.0), (0.0, 1.0)))
            main.extend(polys)
            hem_y = max(hem_y, float(j[-1, 1]))
        v1 = hem_y
    profile = _profile(left, right)
    return GarmentShape(
        frame=frame, main=main, inner=[], profile=profile, v0=waist_y, v1=v1, sleeves=[], legs=legs,
        hw_ref=wd["hip"] * sum(body.side_scale) / 2 + ease,
        crotch=crotch if legs else np.inf, flat=False, band=0.04 * P / max(v1 - waist_y, 1.0),
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# flat (product shot)


def flat_shape(g: Garment, size: tuple[int, int]) -> GarmentShape:
    """Lay garment ``g`` out flat, centred in an image of ``size`` = (H, W)."""
    H, W = size
    if g.category == "lower":
        return _flat_lower(g, H, W)
    return _flat_top(g, H, W)


def _flat_top(g: Garment, H: int, W: int) -> GarmentShape:
    dress = g.category == "dress"
    # design in units of the garment length L (shoulder line to hem) = 1
    length = 0.9 + 0.9 * g.length if dress else 0.85 + 0.3 * g.length
    bw = 0.32 + 0.06 * g.ease  # body half-width at the chest
    sleeve_len = g.sleeve * 0.85 / 0.95 if g.sleeved else 0.0
    arms = g.flat_arms
    # overall extent, to fit the frame
    if g.sleeved:
        ang = np.radians(35 + 20 * arms) if g.sleeve < 0.6 else np.radians(62 + 18 * arms)
        span = bw + 0.12 + sleeve_len * np.cos(ang) + 0.1
    else:
        span = bw + 0.05
    hem_hw = bw * (1.0 + 0.05 * g.ease) if not dress else bw * 0.98 * g.flare * (0.9 + 0.1 * length)
    span = max(span, hem_hw + 0.04)
    scale = g.flat_scale * min(H / (length + 0.12), W / (2 * span))
    top = (H - scale * length) / 2
    origin = np.array([W / 2 + g.flat_offset[0] * W, top + g.flat_offset[1] * H])
    frame = Frame(origin, g.flat_angle)
    u = scale  # local frame in pixels
    nw = 0.115 * u if g.neck == "crew" else 0.14 * u
    neck_y = 0.0
    armpit = 0.25 * u
    waist = 0.48 * u
    sides = []
    sleeve_roots = []
    for sign in (-1, 1):
        pts: list[tuple[float, float]] = []
        strap = g.kind in ("tank", "sleeveless", "slip")
        if strap:
            sw = (0.03 if g.kind == "slip" else 0.075) * u
            pts.append((sign * (nw + sw), neck_y))
            pts.append((sign * (nw + sw + 0.015 * u), 0.1 * u))  # a scooped armhole
            pts.append((sign * bw * 0.8 * u, armpit - 0.01 * u))
            pts.append((sign * bw * u, armpit + 0.05 * u))
        else:
            sh = (sign * (bw + 0.06) * u, 0.06 * u)
            pts.append(sh)
            pts.append((sign * bw * u, armpit))
            sleeve_roots.append((np.array(sh), np.array([sign * bw * u, armpit])))
        if dress:
            pts.append((sign * bw * 0.86 * u, waist))
            pts.append((sign * bw * 0.98 * u, waist + 0.15 * u))
            pts.append((sign * hem_hw * u, length * u))
        else:
            pts.append((sign * bw * (0.95 + 0.05 * g.ease) * u, 0.5 * (armpit + length * u)))
            pts.append((sign * hem_hw * u, length * u))
        sides.append(_contour(pts))
    left, right = sides
    t = lin(-1, 1, 9)
    hem_x = left[-1, 0] + (right[-1, 0] - left[-1, 0]) * (t + 1) / 2
    hem_line = np.stack([hem_x, length * u + 0.012 * u * (1 - t * t) * (2.5 if dress else 1)], axis=1)
    neck = _neckline(g, nw, 0.28 * u, 0.0, neck_y)
    outline = np.concatenate([neck[:1], left, hem_line[1:-1], right[::-1], neck[::-1][:-1]], axis=0)
    back = np.stack([nw * t, neck_y + 0.03 * u * (1 - t * t)], axis=1)
    inner = [np.concatenate([back, neck[::-1]], axis=0)]
    sleeves = []
    if g.sleeved:
        for k, (sh, ap) in enumerate(sleeve_roots):
            sign = -1 if k == 0 else 1
            d = np.array([sign * np.cos(ang), np.sin(ang)])
            root = (sh + ap) / 2
            rr = np.hypot(*(sh - ap)) / 2
            end = root + d * sleeve_len * u
            rc = rr * (0.62 if g.sleeve > 0.6 else 0.85)
            j = np.stack([root - d * rr * 0.9, end])  # starts inside the body: no notch at the seam
            r = np.array([rr * 1.05, rc])
            sleeves.append(Sleeve(_tube_chain(j, r, cap_start=False), j, r, (0.15, 0.85), _sleeve_v(g)))
    return GarmentShape(
        frame=frame, main=[outline], inner=inner, profile=_profile(left, right), v0=neck_y, v1=length * u,
        sleeves=sleeves, legs=[], crotch=np.inf, flat=True, collar=0.022 * u if g.trim else 0.0, neckline=neck,
        hw_ref=bw * u,
    )  # fmt: skip


def _flat_lower(g: Garment, H: int, W: int) -> GarmentShape:
    if g.kind == "skirt":
        length = 0.45 + 0.75 * g.length
    elif g.kind == "trousers":
        length = 1.55
    else:
        length = 0.45 + 0.35 * g.length
    ww = 0.3 + 0.05 * g.ease  # waist half-width in garment-length units of a pair of trousers
    hip = ww * 1.12
    splay = 0.06 if g.kind != "skirt" else 0.0
    span = (hip * g.flare if g.kind == "skirt" else hip + splay + 0.02 * g.flare) + 0.06
    scale = g.flat_scale * min(H / (length + 0.1), W / (2 * span))
    top = (H - scale * length) / 2
    origin = np.array([W / 2 + g.flat_offset[0] * W, top + g.flat_offset[1] * H])
    frame = Frame(origin, g.flat_angle)
    u = scale
    crotch = 0.32 * u
    sides = []
    for sign in (-1, 1):
        pts = [(sign * ww * u, 0.0), (sign * hip * u, 0.2 * u)]
        if g.kind == "skirt":
            pts.append((sign * hip * g.flare * u, length * u))
        else:
            pts.append((sign * hip * u, crotch))
        sides.append(_contour(pts))
    left, right = sides
    legs = []
    if g.kind == "skirt":
        t = lin(-1, 1, 9)
        hem_x = left[-1, 0] + (right[-1, 0] - left[-1, 0]) * (t + 1) / 2
        hem_line = np.stack([hem_x, length * u + 0.02 * u * (1 - t * t)], axis=1)
        main = [np.concatenate([left, hem_line[1:-1], right[::-1]], axis=0)]
    else:
        main = [np.concatenate([left, np.array([[0.0, crotch + 0.01 * u]]), right[::-1]], axis=0)]
        for sign in (-1, 1):
            r0 = hip * 0.5 * u
            r1 = r0 * (0.62 if g.kind == "trousers" else 0.92) * g.flare
            j = np.stack([np.array([sign * hip * 0.5 * u, crotch - 0.06 * u]),
                          np.array([sign * (hip * 0.5 + splay * (length - 0.3)) * u, length * u])])  # fmt: skip
            r = np.array([r0, r1])
            polys = _tube_chain(j, r, cap_start=False)
            legs.append(Sleeve(polys, j, r, (0.0, 0.5) if sign < 0 else (0.5, 1.0), (0.0, 1.0)))
            main.extend(polys)
    return GarmentShape(
        frame=frame, main=main, inner=[], profile=_profile(left, right), v0=0.0, v1=length * u, sleeves=[],
        hw_ref=hip * u,
        legs=legs, crotch=crotch if legs else np.inf, flat=True, band=0.06 / length,
    )  # fmt: skip
