"""Rendering: layers (coverage + colour inside a box) composited back to front.

Each body or garment part becomes one ``Layer``. Coverage comes from PIL polygon fills at
2-4× (``geometry.raster``); colour is computed with numpy only inside the layer's box, so
the cost follows the area a part covers. Images are float32 channel-first (3, H, W) while
rendering (numpy broadcasts over long rows that way) and become uint8 (H, W, 3) at the end.
Shading is Lambertian on simple normals: cylinders across limbs, torso and garments, an
ellipsoid for the head, plus a few sinusoidal folds on garments.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageFilter

from .garments import Garment, GarmentShape, Sleeve, flat_shape, worn_shape
from .geometry import (
    Box,
    ProfileLUT,
    bbox,
    capsule,
    catmull_rom,
    clip,
    ellipse,
    layer_coverage,
    lin,
    raster_rgba,
    seg_coords,
)
from .people import Body, Person, build_body, torso_profile
from .textures import make_texture

F32 = np.float32
ONE = F32(1.0)
ZERO = F32(0.0)


class Layer(NamedTuple):
    box: Box
    alpha: np.ndarray  # (h, w) float32 coverage
    rgb: np.ndarray  # (3, h, w) or (3, 1, 1) float32 colour
    tag: str | None = None  # garment category, for visibility masks


def _rgb(color) -> np.ndarray:
    return (np.asarray(color, dtype=F32) / F32(255.0)).reshape(3, 1, 1)


def supersampling(size: tuple[int, int]) -> int:
    """Coverage supersampling: 4× for small images, 2× otherwise."""
    return 4 if size[0] < 200 else 2


def composite(
    img: np.ndarray, layer: Layer, vis: np.ndarray | None = None, tag: str | None = None, origin=(0, 0)
) -> None:
    """Blend ``layer`` into ``img`` (3, H, W) in place; track where ``tag`` stays visible in ``vis``.

    ``origin`` (y, x) is where ``img`` (and ``vis``) sit in the full image, so a crop of it
    can be composited with the same arithmetic per pixel.
    """
    b = layer.box
    a = layer.alpha
    y0, x0 = b.y0 - origin[0], b.x0 - origin[1]
    y1, x1 = y0 + (b.y1 - b.y0), x0 + (b.x1 - b.x0)
    region = img[:, y0:y1, x0:x1]
    region += (layer.rgb - region) * a
    if vis is not None:
        vr = vis[y0:y1, x0:x1]
        if tag is not None and layer.tag == tag:
            vr += (ONE - vr) * a
        else:
            vr *= ONE - a


def union_box(layers) -> Box | None:
    """The smallest box holding every layer's box (None for no layers)."""
    boxes = [layer.box for layer in layers]
    if not boxes:
        return None
    return Box(min(b.y0 for b in boxes), max(b.y1 for b in boxes), min(b.x0 for b in boxes), max(b.x1 for b in boxes))


_BAND_PIXELS = 24576  # pixels per band when compositing: a band's floats stay in the CPU cache


def bands(y0: int, y1: int, width: int):
    """Row ranges [a, b) covering [y0, y1) in bands of about ``_BAND_PIXELS`` pixels."""
    rows = max(8, _BAND_PIXELS // max(width, 1))
    for a in range(y0, y1, rows):
        yield a, min(a + rows, y1)


def layer_rows(layer: Layer, y0: int, y1: int) -> Layer | None:
    """The part of ``layer`` in image rows [y0, y1) (None if it has none there)."""
    b = layer.box
    a0, a1 = max(b.y0, y0), min(b.y1, y1)
    if a0 >= a1:
        return None
    if a0 == b.y0 and a1 == b.y1:
        return layer
    rgb = layer.rgb
    if rgb.shape[1] != 1:
        rgb = rgb[:, a0 - b.y0 : a1 - b.y0]
    return Layer(Box(a0, a1, b.x0, b.x1), layer.alpha[a0 - b.y0 : a1 - b.y0], rgb, layer.tag)


def composite_all(img: np.ndarray, layers: list[Layer], vis=None, tag=None, origin=(0, 0)) -> None:
    """``composite`` each of ``layers`` in turn, band by band: the same arithmetic per pixel,
    in the same order, but each band's pixels stay in cache through all the layers."""
    _, h, w = img.shape
    oy, ox = origin
    for a, b in bands(oy, oy + h, w):
        for layer in layers:
            part = layer_rows(layer, a, b)
            if part is not None:
                composite(img, part, vis, tag, origin)


def _layer(polys: list[np.ndarray], size, ss, pad: float = 1.0) -> tuple[Box, np.ndarray] | None:
    return layer_coverage(polys, size, ss, pad)


def _cyl_shade(a: np.ndarray, px, py, light, amb: float = 0.46, dif: float = 0.62) -> np.ndarray:
    """Lambert shading of a cylinder; ``a`` in [-1, 1] is the position across it along (px, py)."""
    a = clip(a, F32(-0.97), F32(0.97))
    nz = np.sqrt(ONE - a * a)
    d = a * (px * F32(light[0]) + py * F32(light[1])) + nz * F32(light[2])
    return F32(amb) + F32(dif) * np.maximum(d, ZERO)


_LUT_N = 256


def _shade_lut(px: float, py: float, light, amb: float = 0.46, dif: float = 0.62) -> np.ndarray:
    """``_cyl_shade`` tabulated over a in [-1, 1] for one normal direction (cached)."""
    return _shade_lut_cached(px, py, tuple(np.asarray(light, F32).tolist()), amb, dif)


@lru_cache(maxsize=256)
def _shade_lut_cached(px: float, py: float, light: tuple, amb: float, dif: float) -> np.ndarray:
    lut = _cyl_shade(np.linspace(-1, 1, _LUT_N, dtype=F32), F32(px), F32(py), np.asarray(light, F32), amb, dif)
    lut.flags.writeable = False
    return lut


def _lookup(lut: np.ndarray, a: np.ndarray) -> np.ndarray:
    i = clip((a + ONE) * F32((_LUT_N - 1) / 2) + F32(0.5), ZERO, F32(_LUT_N - 1)).astype(np.intp)
    return lut[i]


# ---------------------------------------------------------------------------------------
# background


def render_background(person: Person, size: tuple[int, int], body: Body | None = None) -> np.ndarray:
    """The backdrop as float32 (3, H, W)."""
    H, W = size
    bg = person.background
    c0, c1 = _rgb(bg.colors[0]), _rgb(bg.colors[1])
    y = (np.arange(H, dtype=F32)[None, :, None] + F32(0.5)) / F32(H)
    x = (np.arange(W, dtype=F32)[None, None, :] + F32(0.5)) / F32(W)
    img = np.empty((3, H, W), F32)
    if bg.kind == "flat":
        img[:] = c0
    elif bg.kind == "gradient":  # (products written straight into img: one pass, same values)
        np.multiply(c0 + (c1 - c0) * y, ONE - F32(0.24) * (x - F32(0.5)) ** 2, out=img)
    elif bg.kind == "studio":
        t = clip((y - F32(bg.floor)) / F32(0.18), ZERO, ONE)
        t = t * t * (F32(3) - F32(2) * t)
        vignette = (x - F32(0.5)) ** 2 + (y - F32(0.45)) ** 2
        vignette *= F32(0.25)
        np.subtract(ONE, vignette, out=vignette)
        np.multiply(c0 + (c1 * F32(0.9) - c0) * t, vignette, out=img)
    elif bg.kind == "plaster":
        rng = np.random.default_rng(bg.seed)
        small = rng.random((7, 6), dtype=np.float32)
        noise = np.asarray(Image.fromarray(small, mode="F").resize((W, H), Image.Resampling.BICUBIC))
        np.multiply(c1 - c0, clip(noise, ZERO, ONE), out=img)
        img += c0
        img *= F32(0.92) + F32(0.08) * (ONE - y)
    else:  # room: wall, baseboard, wooden floor, a few frames or windows
        rng = np.random.default_rng(bg.seed)
        fy = int(bg.floor * H)
        img[:, :fy] = c0 * (F32(0.9) + F32(0.1) * y[:, :fy])
        rows = np.arange(fy, H, dtype=F32)
        depth = (rows - F32(fy)) / F32(max(H - fy, 1))  # planks get taller towards the viewer
        plank = np.floor(np.sqrt(np.maximum(depth, ZERO)) * F32(9)).astype(np.intp)
        shade = (F32(0.85) + F32(0.25) * rng.random(16, dtype=np.float32))[plank]
        img[:, fy:] = _rgb(bg.colors[2]) * (shade * (F32(0.8) + F32(0.2) * depth))[None, :, None]
        bb = max(1, int(0.018 * H))
        img[:, max(fy - bb, 0) : fy] = _rgb(bg.colors[3]) * F32(0.95)
        for x0, y0, x1, y1 in bg.frames:
            X0, X1 = int(clip(x0 * W, 0, W)), int(clip(x1 * W, 0, W))
            Y0, Y1 = int(clip(y0 * H, 0, fy)), int(clip(y1 * H, 0, fy))
            border = max(1, int(0.012 * H))
            if X1 - X0 < 2 * border + 2 or Y1 - Y0 < 2 * border + 2:
                continue
            img[:, Y0:Y1, X0:X1] = c1 * F32(0.6)
            inner = img[:, Y0 + border : Y1 - border, X0 + border : X1 - border]
            gy = np.linspace(0, 1, inner.shape[1], dtype=F32)[None, :, None]
            inner[:] = _rgb(bg.colors[3]) * (ONE - F32(0.3) * gy) + c1 * F32(0.3) * gy
    if body is not None and bg.kind in ("studio", "room", "gradient"):
        _floor_shadow(img, body)
    return img


def _floor_shadow(img: np.ndarray, body: Body) -> None:
    H, W = img.shape[1:]
    feet = [body.to_image(leg.joints[-1]) for leg in body.legs]
    cx = (feet[0][0] + feet[1][0]) / 2
    cy = max(feet[0][1], feet[1][1]) + 0.03 * body.P
    rx, ry = abs(feet[1][0] - feet[0][0]) / 2 + 0.09 * body.P, 0.025 * body.P
    box = bbox([np.array([[cx - rx, cy - ry], [cx + rx, cy + ry]])], (H, W), 1)
    if box is None:
        return
    X, Y = box.grid()
    q = ((X - F32(cx)) / F32(rx)) ** 2 + ((Y - F32(cy)) / F32(ry)) ** 2
    img[:, box.y0 : box.y1, box.x0 : box.x1] *= ONE - F32(0.35) * clip(ONE - q, ZERO, ONE)


# ---------------------------------------------------------------------------------------
# body


def _segments_shade(X, Y, segs, light) -> np.ndarray:
    """Cylinder shading from the nearest of ``segs`` = [(p0, p1, r0, r1)] (image pixels)."""
    best = shade = None
    for p0, p1, r0, r1 in segs:
        t, d = seg_coords(X, Y, p0, p1)
        r = F32(r0) + F32(r1 - r0) * t
        dx, dy = p1[0] - p0[0], p1[1] - p0[1]
        n = np.hypot(dx, dy) + 1e-9
        sh = _cyl_shade(d / r, F32(-dy / n), F32(dx / n), light)
        if len(segs) == 1:
            return sh
        ex = X - (F32(p0[0]) + F32(dx) * t)
        ey = Y - (F32(p0[1]) + F32(dy) * t)
        dist = (ex * ex + ey * ey) / (r * r)
        if best is None:
            best, shade = dist, sh
        else:
            closer = dist < best
            best = np.where(closer, dist, best)
            shade = np.where(closer, sh, shade)
    return shade


def _limb(body: Body, joints: np.ndarray, radii: np.ndarray, size, ss, color, extra=(), shade_segs=None):
    j = body.to_image(joints)
    polys = [capsule(j[i], j[i + 1], radii[i], radii[i + 1]) for i in range(len(j) - 1)]
    polys.extend(extra)
    lay = _layer(polys, size, ss)
    if lay is None:
        return None
    box, alpha = lay
    X, Y = box.grid()
    if shade_segs is None:
        shade_segs = [(j[i], j[i + 1], radii[i], radii[i + 1]) for i in range(len(j) - 1)]
    else:
        shade_segs = [(body.to_image(p0), body.to_image(p1), r0, r1) for p0, p1, r0, r1 in shade_segs]
    return Layer(box, alpha, _rgb(color) * _segments_shade(X, Y, shade_segs, body.light))


def body_layers(person: Person, body: Body, size, ss) -> dict[str, list[Layer]]:
    """Every part of the bare person, grouped by where garments go between them."""
    skin = _rgb(person.skin)
    lv, wd, P = body.levels, body.widths, body.P
    out: dict[str, list[Layer]] = {}
    hair = hair_layers(person, body, size, ss)
    out["hair_back"] = hair["back"]
    out["hair_front"] = hair["front"]

    legs = []
    shoes = []
    for k, sign in enumerate((-1, 1)):
        leg = body.legs[k]
        a = leg.joints[-1]
        shoes.append(body.to_image(ellipse(a + np.array([sign * 0.012 * P, 0.03 * P]), 0.036 * P, 0.022 * P, 0, 20)))
        lay = _limb(
            body, leg.joints, leg.radii, size, ss, person.skin,
            shade_segs=[(leg.joints[0], leg.joints[-1], leg.radii[0], leg.radii[-1])],
        )  # fmt: skip
        if lay is not None:
            legs.append(lay)
    lay = _layer(shoes, size, ss)
    if lay is not None:
        box, alpha = lay
        X, Y = box.grid()
        _, by = body.to_body(X, Y)
        sh = F32(0.7) + F32(0.4) * clip((F32(lv["sole"] + 0.05 * P) - by) * F32(1 / (0.04 * P)), ZERO, ONE)
        legs.append(Layer(box, alpha, _rgb(person.shoes) * sh))
    out["legs"] = legs

    # torso, with the base of the neck and the crotch
    ys, hl, hr = torso_profile(body)
    left = catmull_rom(np.stack([-hl, ys], axis=1), 4)
    right = catmull_rom(np.stack([hr, ys], axis=1), 4)
    c = body.centre
    ny = lv["neck_base"]
    outline = np.concatenate(
        [
            [[c - wd["neck"], ny - 0.01 * P], [c - wd["neck"] * 1.7, ny + 0.008 * P]],
            left,
            [[0.0, lv["crotch"] + 0.02 * P]],
            right[::-1],
            [[c + wd["neck"] * 1.7, ny + 0.008 * P], [c + wd["neck"], ny - 0.01 * P]],
        ]
    )
    torso = []
    lay = _layer([body.to_image(outline)], size, ss)
    if lay is not None:
        box, alpha = lay
        X, Y = box.grid()
        bx, by = body.to_body(X, Y)
        a = ProfileLUT(ys, -hl, hr).across(bx, by) * F32(2) - ONE
        torso.append(Layer(box, alpha, skin * _cyl_shade(a, ONE, ZERO, body.light)))
    out["torso"] = torso
    n0 = body.to_image(np.array([c * 0.8, lv["chin"] - 0.03 * P]))
    n1 = body.to_image(np.array([c, ny + 0.005 * P]))
    lay = _layer([capsule(n0, n1, wd["neck"], wd["neck"] * 1.08)], size, ss)
    neck = []
    if lay is not None:
        box, alpha = lay
        X, Y = box.grid()
        t, d = seg_coords(X, Y, n0, n1)
        shade = _cyl_shade(d / F32(wd["neck"]), -ONE, ZERO, body.light)
        shade *= F32(0.7) + F32(0.3) * clip(t * F32(2.5), ZERO, ONE)  # shadow under the chin
        neck.append(Layer(box, alpha, skin * shade))
    out["neck"] = neck

    arms = []
    for k in range(2):
        arm = body.arms[k]
        d = body.hands[k]
        hand_len = 0.085 * P
        hc = arm.joints[-1] + d * hand_len * 0.42
        hand = body.to_image(ellipse(hc, hand_len * 0.5, wd["wrist"] * 1.35, float(np.arctan2(d[1], d[0])), 18))
        lay = _limb(body, arm.joints, arm.radii, size, ss, person.skin, extra=[hand])
        if lay is not None:
            arms.append(lay)
    out["arms"] = arms
    out["head"] = head_layers(person, body, size, ss)
    return out


def head_layers(person: Person, body: Body, size, ss) -> list[Layer]:
    """Ears, head and face in one pass (one RGBA raster), shaded as an ellipsoid."""
    rx, ry = body.head_r
    hc = body.head_c
    ears = [body.to_image(ellipse(hc + (s * rx * 0.97, 0.05 * ry), rx * 0.16, ry * 0.2, 0, 12)) for s in (-1, 1)]
    t = lin(0, 2 * np.pi, 36, False)
    x = np.cos(t) * rx * (1 - 0.16 * clip(np.sin(t), 0, 1) ** 2)  # an egg, narrower at the chin
    head = body.to_image(np.stack([x, np.sin(t) * ry], axis=1) + hc)
    fx = hc[0] + body.face_shift
    eye_y = hc[1] + 0.06 * ry
    sclera, iris, brows = [], [], []
    for sign in (-1, 1):
        ex = fx + sign * rx * 0.38
        sclera.append(body.to_image(ellipse((ex, eye_y), rx * 0.16, ry * 0.075, 0, 12)))
        iris.append(body.to_image(ellipse((ex + body.face_shift * 0.15, eye_y), rx * 0.075, ry * 0.072, 0, 10)))
        brows.append(body.to_image(ellipse((ex, eye_y - 0.17 * ry), rx * 0.2, ry * 0.035, sign * -0.12, 12)))
    nose = body.to_image(ellipse((fx, hc[1] + 0.34 * ry), rx * 0.12, ry * 0.05, 0, 10))
    mouth = body.to_image(ellipse((fx, hc[1] + 0.58 * ry), rx * 0.27, ry * 0.07, 0, 14))
    skin8 = tuple(int(c) for c in person.skin)
    dark = tuple(int(c * 0.8) for c in skin8)
    hair8 = tuple(int(c * 0.7) for c in person.hair_color)
    blend = np.asarray(person.skin, dtype=np.float64)
    nose8 = tuple(int(c) for c in blend * 0.85)  # the nose shadow: skin, darker by half of 0.7
    brow8 = tuple(int(c) for c in np.asarray(hair8) * 0.9 + blend * 0.1)
    items = [
        (ears, (*dark, 255)),
        ([head], (*skin8, 255)),
        (sclera, (238, 236, 230, 255)),
        (iris, (30, 20, 16, 255)),
        (brows, (*brow8, 255)),
        ([nose], (*nose8, 255)),
        ([mouth], (*person.lip, 255)),
    ]
    box = bbox(ears + [head], size, 1)
    if box is None:
        return []
    rgb, alpha = raster_rgba(items, box, ss, skin8)
    X, Y = box.grid()
    bx, by = body.to_body(X, Y)
    nx = clip((bx - F32(hc[0] + body.face_shift * 0.3)) * F32(1 / rx), -ONE, ONE)
    ny = clip((by - F32(hc[1])) * F32(1 / ry), -ONE, ONE)
    nz = np.sqrt(clip(ONE - nx * nx * F32(0.8) - ny * ny * F32(0.6), ZERO, ONE))
    L = body.light
    d = nx * F32(L[0]) + ny * F32(0.6 * L[1]) + nz * F32(L[2])
    rgb *= F32(0.5) + F32(0.55) * np.maximum(d, ZERO)  # rgb is a fresh array
    return [Layer(box, alpha, rgb)]


def hair_layers(person: Person, body: Body, size, ss) -> dict[str, list[Layer]]:
    rx, ry = body.head_r
    hc = body.head_c
    P = body.P
    style = person.hair_style
    fs = body.face_shift
    back_polys: list[np.ndarray] = []
    front_polys: list[np.ndarray] = []
    outer = {"long": (1.12, 1.1), "bob": (1.12, 1.1), "curly": (1.12, 1.1), "buzz": (1.02, 1.02)}.get(style, (1.06, 1.05))
    bump = 0.07 if style == "curly" else 0.0
    t = lin(np.pi * 0.93, np.pi * 2.07, 26)
    rmod = 1 + bump * np.sin(t * 14)
    cap_outer = np.stack([np.cos(t) * rx * outer[0] * rmod, np.sin(t) * ry * outer[1] * rmod], axis=1)
    line = -0.12 if style == "bob" else -0.42
    side = 0.45 if style in ("bob", "long") else 0.15
    hairline = np.array(
        [
            [rx * 0.98, ry * side], [rx * 0.86, -0.12 * ry], [fs + rx * 0.45, ry * (line - 0.02)],
            [fs, ry * (line - 0.08)], [fs - rx * 0.45, ry * (line + 0.02)], [-rx * 0.86, -0.12 * ry],
            [-rx * 0.98, ry * side],
        ]
    )  # fmt: skip
    front_polys.append(np.concatenate([cap_outer, catmull_rom(hairline, 3)], axis=0) + hc)
    if style in ("bob", "curly"):
        w = 1.25 if style == "bob" else 1.45
        if style == "curly":
            t = lin(0, 2 * np.pi, 40, False)
            r = 1 + 0.06 * np.sin(t * 11)
            shape = np.stack([np.cos(t) * rx * w * r, np.sin(t) * ry * 1.15 * r - 0.1 * ry], axis=1)
        else:
            t = lin(np.pi, 2 * np.pi, 16)
            top = np.stack([np.cos(t) * rx * w * 0.95, np.sin(t) * ry * 1.12 - 0.05 * ry], axis=1)
            shape = np.concatenate([top, [[rx * w, ry * 0.95], [-rx * w, ry * 0.95]]], axis=0)
        back_polys.append(shape + hc)
    if style == "long":
        yb = body.levels["neck_base"] + (0.04 + 0.22 * person.hair_len) * P
        w_top, w_bot = rx * 1.12, rx * 1.45
        t = lin(np.pi, 2 * np.pi, 16)
        top = np.stack([np.cos(t) * w_top, np.sin(t) * ry * 1.1], axis=1) + hc
        bottom = [[hc[0] + w_bot, yb - 0.03 * P], [hc[0] + w_bot * 0.7, yb], [hc[0] - w_bot * 0.7, yb], [hc[0] - w_bot, yb - 0.03 * P]]
        back_polys.append(np.concatenate([top, bottom]))
        for k, sign in enumerate((-1, 1)):
            if person.front_strands[k]:
                x0 = hc[0] + sign * rx * 0.9
                strand = np.array(
                    [
                        [x0 - sign * rx * 0.25, hc[1] - 0.2 * ry], [x0 + sign * rx * 0.2, hc[1] - 0.1 * ry],
                        [x0 + sign * rx * 0.55, body.levels["neck_base"] + 0.02 * P], [x0 + sign * rx * 0.6, yb - 0.02 * P],
                        [x0 + sign * rx * 0.25, yb + 0.01 * P], [x0 + sign * rx * 0.05, body.levels["neck_base"]],
                        [x0 - sign * rx * 0.1, hc[1] + 0.4 * ry],
                    ]
                )  # fmt: skip
                front_polys.append(catmull_rom(strand, 3, closed=True))
    if style == "bun":
        back_polys.append(ellipse(hc + np.array([fs * 0.3, -ry * 1.02]), rx * 0.48, ry * 0.36, 0, 18))
    hair = _rgb(person.hair_color)
    L = body.light

    def shade_hair(box: Box, vertical: bool) -> np.ndarray:
        X, Y = box.grid()
        bx, by = body.to_body(X, Y)
        dx = (bx - F32(hc[0])) * F32(1 / (rx * 1.3))
        dy = (by - F32(hc[1])) * F32(1 / (ry * 1.3))
        if vertical:
            strands = np.sin(bx * F32(9.0 / rx) + np.sin(by * F32(2.0 / ry)) * F32(2.0))
        else:
            strands = np.sin(np.arctan2(dy, dx) * F32(34.0))
        nx = clip(dx, -ONE, ONE)
        ny = clip(dy, -ONE, ONE) * F32(0.5)
        nz = np.sqrt(clip(ONE - nx * nx - ny * ny, F32(0.05), ONE))
        d = nx * F32(L[0]) + ny * F32(L[1]) + nz * F32(L[2])
        return (F32(0.55) + F32(0.5) * np.maximum(d, ZERO)) * (ONE + F32(0.07) * strands)

    back, front = [], []
    if back_polys:
        lay = _layer([body.to_image(p) for p in back_polys], size, ss)
        if lay is not None:
            back.append(Layer(lay[0], lay[1], hair * F32(0.82) * shade_hair(lay[0], True)))
    lay = _layer([body.to_image(p) for p in front_polys], size, ss)
    if lay is not None:
        alpha = lay[1] * F32(0.7) if style == "buzz" else lay[1]
        front.append(Layer(lay[0], alpha, hair * shade_hair(lay[0], style == "long")))
    return {"back": back, "front": front}


# ---------------------------------------------------------------------------------------
# garments


class Fabric:
    """A garment's texture as channel planes. Column ``x0`` is s = 0; ``unit`` texels per s."""

    __slots__ = ("planes", "th", "cols", "unit", "x0", "_mean")

    def __init__(self, planes: np.ndarray, th: int, cols: int, unit: float, x0: float):
        self.planes = planes  # (3, th * cols) float32
        self.th = th
        self.cols = cols
        self.unit = unit
        self.x0 = x0
        self._mean = None

    @property
    def mean(self) -> np.ndarray:
        """The mean colour (3, 1, 1), computed on first use."""
        if self._mean is None:
            self._mean = self.planes.mean(axis=1).reshape(3, 1, 1)
        return self._mean

    @staticmethod
    def from_image(tex: np.ndarray, unit: float, x0: float) -> Fabric:
        """From a (3, th, cols) float image."""
        th, cols = tex.shape[1:]
        planes = np.ascontiguousarray(tex.reshape(3, -1))
        return Fabric(planes, th, cols, unit, x0)

    def image(self) -> np.ndarray:
        return self.planes.reshape(3, self.th, self.cols)

    def columns(self, s: np.ndarray) -> np.ndarray:
        return clip(s * F32(self.unit) + F32(self.x0), ZERO, F32(self.cols - 1)).astype(np.intp)

    def rows(self, v: np.ndarray) -> np.ndarray:
        return clip(v * F32(self.th), ZERO, F32(self.th - 1)).astype(np.intp)

    def sample(self, s: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Nearest-texel colour (3, h, w) at garment coordinates (clamped at the borders)."""
        return np.take(self.planes, self.rows(v) * self.cols + self.columns(s), axis=1)

    def sample_grid(self, s_cols: np.ndarray, v_rows: np.ndarray) -> np.ndarray:
        """Colour (3, h, w) where s depends on the column only and v on the row only."""
        cols = self.columns(s_cols)
        c = cols.ravel()
        if len(c) and c[-1] - c[0] == len(c) - 1 and (np.diff(c) == 1).all():  # consecutive: a slice
            return self.image()[:, self.rows(v_rows), c[0] : c[-1] + 1]
        img = np.take(self.image(), self.rows(v_rows), axis=1)
        return np.take(img, cols, axis=2)

    def half(self) -> Fabric:
        """Half resolution (box filter), for garments seen smaller than their texture."""
        t = self.image()
        h, w = self.th // 2 * 2, self.cols // 2 * 2
        t = t[:, :h, :w]
        t = (t[:, 0::2, 0::2] + t[:, 1::2, 0::2] + t[:, 0::2, 1::2] + t[:, 1::2, 1::2]) * F32(0.25)
        return Fabric.from_image(t, self.unit / 2, self.x0 / 2)


def bake_folds(fabric: Fabric, g: Garment, scale: float, displace: bool = True) -> Fabric:
    """The fabric with the garment's folds applied in (s, v) space: shading and (if
    ``displace``) a small sideways pull of the pattern. Done once per garment, not per pixel."""
    s = (np.arange(fabric.cols, dtype=F32)[None, :] + F32(0.5 - fabric.x0)) * F32(1 / fabric.unit)
    v = (np.arange(fabric.th, dtype=F32)[:, None] + F32(0.5)) * F32(1 / fabric.th)
    baked = np.empty((3, fabric.th, fabric.cols), F32)
    for a, b in bands(0, fabric.th, fabric.cols):  # band by band: the passes run in cache
        fold = _folds(g, s, v[a:b], scale)
        if displace:
            np.multiply(fabric.sample(s + (fold - ONE) * F32(0.15), v[a:b]), fold, out=baked[:, a:b])
        else:
            np.multiply(fabric.image()[:, a:b], fold, out=baked[:, a:b])
    return Fabric.from_image(baked, fabric.unit, fabric.x0)


class Prepared(NamedTuple):
    """A garment ready to render at one size: its product-shot layout and its fabric."""

    flat: GarmentShape
    fabric: Fabric


def prepare(g: Garment, size: tuple[int, int]) -> Prepared:
    """Lay out the product shot and weave the fabric at one texel per product-shot pixel."""
    shape = flat_shape(g, size)
    hw = max(shape.hw_ref, 2.0)
    unit = 2.0 * hw  # s = 0..1 spans the reference width
    xs = np.concatenate([p[:, 0] for p in shape.main] + [p[:, 0] for t in shape.sleeves for p in t.polys])
    # worn, the panel wraps a cylinder and shows up to 15% more fabric than the flat lay
    s_lo = 0.5 - 1.15 * (0.5 - min(0.5 + 0.5 * float(xs.min()) / hw, 0.0)) - 0.02
    s_hi = 0.5 + 1.15 * (max(0.5 + 0.5 * float(xs.max()) / hw, 1.0) - 0.5) + 0.02
    th = max(8, int(round(shape.v1 - shape.v0)))
    cols = max(8, int(np.ceil((s_hi - s_lo) * unit)))
    x0 = -s_lo * unit
    tex = make_texture(g.texture, th, cols, panel_x0=x0, panel_w=unit)
    return Prepared(shape, Fabric.from_image(tex, unit, x0))


def texture_for(g: Garment, size: tuple[int, int]) -> Fabric:
    """The garment's fabric at a resolution matched to its product shot at ``size``."""
    return prepare(g, size).fabric


def _tube_coords(X, Y, tube: Sleeve):
    """(s, v, a, normal x, normal y) of pixels on a tube (local-frame X, Y)."""
    j, r = tube.joints, tube.radii
    seg = np.hypot(*(j[1:] - j[:-1]).T)
    total = max(float(seg.sum()), 1e-6)
    acc = 0.0
    best = None
    for i in range(len(j) - 1):
        t, d = seg_coords(X, Y, j[i], j[i + 1])
        rad = F32(r[i]) + F32(r[i + 1] - r[i]) * t
        a = d / rad
        along = (F32(acc) + t * F32(seg[i])) * F32(1 / total)
        dx, dy = j[i + 1] - j[i]
        n = np.hypot(dx, dy) + 1e-9
        px, py = F32(-dy / n), F32(dx / n)
        if len(j) == 2:
            A, V, NX, NY = a, along, px, py
            break
        ex = X - (F32(j[i][0]) + F32(dx) * t)
        ey = Y - (F32(j[i][1]) + F32(dy) * t)
        dist = (ex * ex + ey * ey) / (rad * rad)
        if best is None:
            best, A, V = dist, a, along
            NX, NY = np.full_like(a, px), np.full_like(a, py)
        else:
            closer = dist < best
            best = np.where(closer, dist, best)
            A = np.where(closer, a, A)
            V = np.where(closer, along, V)
            NX = np.where(closer, px, NX)
            NY = np.where(closer, py, NY)
        acc += seg[i]
    s0, s1 = tube.s_range
    v0, v1 = tube.v_range
    s = F32(s0) + F32(s1 - s0) * (clip(A, -ONE, ONE) * F32(0.5) + F32(0.5))
    v = F32(v0) + F32(v1 - v0) * V
    return s, v, A, NX, NY


def _folds(g: Garment, s: np.ndarray, v: np.ndarray, scale: float) -> np.ndarray:
    """Shading factor of the garment's folds (1 = no fold); ``s`` and ``v`` broadcast (a row
    and a column keep the per-fold phase to one full-size pass)."""
    shade = None
    two_pi = F32(2 * np.pi)
    hem_env = None
    for f in g.folds:
        ph = (F32(f.fs) * two_pi) * s + (F32(f.fv) * two_pi) * v
        ph += F32(f.phase)
        term = np.cos(ph, out=ph)
        term *= F32(f.amp * scale)
        if f.envelope == "hem":
            if hem_env is None:
                vc = clip(v, ZERO, ONE)
                hem_env = vc * vc
            term *= hem_env
        if shade is None:
            shade = term
        else:
            shade += term
    if shade is None:
        return np.ones(np.broadcast_shapes(np.shape(s), np.shape(v)), F32)
    shade += ONE
    return shade


def _tube_colour(g: Garment, shape: GarmentShape, fabric: Fabric, lx, ly, tube: Sleeve, light) -> np.ndarray:
    s, v, a, nx, ny = _tube_coords(lx, ly, tube)
    col = fabric.sample(s, v)
    if g.trim is not None and g.category != "lower":  # cuffs
        end = tube.v_range[1] - 0.02 - 0.04 * (tube.v_range[1] - tube.v_range[0])
        col += (_rgb(g.trim) - col) * clip((v - F32(end)) * F32(60), ZERO, ONE)
    if shape.flat:
        col *= _cyl_shade(a * F32(0.25), nx, ny, light, 0.72, 0.3)  # col is a fresh array
    else:
        col *= _cyl_shade(a, nx, ny, light)
    return col


def _band(g: Garment, shape: GarmentShape, col: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Waistband of a lower garment: the top of the fabric in the trim colour (or darker)."""
    band = clip((F32(shape.band) - v) * F32(max(shape.v1 - shape.v0, 1.0)) + F32(0.5), ZERO, ONE)
    trim = _rgb(g.trim) if g.trim is not None else col * F32(0.8)
    out = trim - col  # col + (trim - col) * band, in place
    out *= band
    out += col
    return out


def _flat_colour(g: Garment, shape: GarmentShape, fabric: Fabric, box: Box) -> np.ndarray:
    """Product shot: the fabric is laid out flat, so s follows x and v follows y."""
    X, Y = box.grid()
    lx, ly = shape.frame.to_local(X, Y)
    s = F32(0.5) + lx[0] * F32(0.5 / shape.hw_ref)
    v = (ly[:, 0] - F32(shape.v0)) * F32(1 / max(shape.v1 - shape.v0, 1.0))
    col = fabric.sample_grid(s, v)
    if shape.band > 0:
        col = _band(g, shape, col, v[:, None])
    if shape.collar > 0 and g.trim is not None:
        col = _collar(g, shape, lx, ly, col)
    return col


def _worn_colour(g: Garment, shape: GarmentShape, fabric: Fabric, box: Box, light) -> np.ndarray:
    """Worn: the panel wraps a cylinder, so the fabric compresses towards the sides; the
    panel's own width at each height sets how much fabric shows (flare shows more)."""
    X, Y = box.grid()
    lx, ly = shape.frame.to_local(X, Y)
    lut = shape.lut
    i = lut.rows(ly)
    a = (lx - lut.left[i]) * lut.inv_width2[i] - ONE
    s = F32(0.5) + np.arcsin(clip(a, -ONE, ONE)) * lut.half[i] * F32(0.5 * 1.15 / (np.pi / 2) / shape.hw_ref)
    v = (ly - F32(shape.v0)) * F32(1 / max(shape.v1 - shape.v0, 1.0))
    shade = _lookup(_shade_lut(1, 0, light), a)
    for leg in shape.legs:  # trouser legs: tubes below the crotch, blended over a short band
        side = (lx < ZERO) if leg.s_range[0] < 0.25 else (lx >= ZERO)
        w = clip((ly - F32(shape.crotch)) * F32(1 / max((shape.v1 - shape.v0) * 0.05, 1)) + F32(0.5), ZERO, ONE)
        w = w * side
        # where the weight is 0 the blend leaves s and the shade exactly as they are: work
        # only inside the box of the leg's side below the crotch
        rows = np.flatnonzero(w.any(axis=1))
        if not len(rows):
            continue
        cols = np.flatnonzero(w.any(axis=0))
        sub = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        ts, _, ta, tnx, tny = _tube_coords(lx[sub], ly[sub], leg)
        w = w[sub]
        s_sub, shade_sub = s[sub], shade[sub]
        s[sub] = s_sub + (ts - s_sub) * w
        shade[sub] = shade_sub + (_cyl_shade(ta, tnx, tny, light) - shade_sub) * w
    col = fabric.sample(s, v)
    if shape.band > 0:
        col = _band(g, shape, col, v)
    if shape.collar > 0 and g.trim is not None:
        col = _collar(g, shape, lx, ly, col)
    col *= shade  # col is a fresh array
    return col


class GarmentLayers(NamedTuple):
    inner: list[Layer]  # the inside of the back, seen through the neckline
    main: list[Layer]  # the body of the garment
    sleeves: list[Layer]  # sleeves: above the arms when worn


def garment_layers(g: Garment, shape: GarmentShape, fabric: Fabric, size, ss, light, tag=None, soft=None):
    """The layers of a garment: the inside of the collar, the body, the sleeves.

    ``soft`` (Box, coverage blurred) darkens a flat-lay garment towards its outline.
    """
    fr = shape.frame
    inner: list[Layer] = []
    main: list[Layer] = []
    sleeves: list[Layer] = []

    factor = []  # the darkening for the whole soft box, computed on first use

    def edge(box: Box, rgb: np.ndarray) -> np.ndarray:
        if soft is None:
            return rgb
        sb, sa = soft
        if not factor:
            factor.append(F32(0.78) + F32(0.2) * sa)
        rgb *= factor[0][box.y0 - sb.y0 : box.y1 - sb.y0, box.x0 - sb.x0 : box.x1 - sb.x0]  # rgb is ours
        return rgb

    if shape.inner:
        lay = _layer([fr.to_image(p) for p in shape.inner], size, ss)
        if lay is not None:
            inner.append(Layer(lay[0], lay[1], fabric.mean * F32(0.45), tag))
    lay = _layer([fr.to_image(p) for p in shape.main], size, ss)
    if lay is not None:
        box, alpha = lay
        if shape.flat:
            rgb = _flat_colour(g, shape, fabric, box)
        else:
            rgb = _worn_colour(g, shape, fabric, box, light)
        main.append(Layer(box, alpha, edge(box, rgb), tag))
    for tube in shape.sleeves:
        lay = _layer([fr.to_image(p) for p in tube.polys], size, ss)
        if lay is None:
            continue
        box, alpha = lay
        X, Y = box.grid()
        lx, ly = fr.to_local(X, Y)
        rgb = _tube_colour(g, shape, fabric, lx, ly, tube, light)
        sleeves.append(Layer(box, alpha, edge(box, rgb), tag))
    return GarmentLayers(inner, main, sleeves)


def _collar(g: Garment, shape: GarmentShape, lx, ly, rgb: np.ndarray) -> np.ndarray:
    """A rib of trim colour along the front neckline."""
    front = shape.neckline  # left to right
    ny = np.interp(lx, front[:, 0], front[:, 1]).astype(F32)
    within = (lx > F32(front[0, 0])) & (lx < F32(front[-1, 0]))
    dy = ly - ny
    rib = clip(F32(shape.collar) - dy, ZERO, ONE) * clip(dy + ONE, ZERO, ONE) * within
    out = _rgb(g.trim) - rgb  # rgb + (trim - rgb) * rib, in place
    out *= rib
    out += rgb
    return out


# ---------------------------------------------------------------------------------------
# scenes


def _flat_plan(g: Garment, size: tuple[int, int], prepared: Prepared | None) -> tuple[np.ndarray, list[Layer]]:
    """The product shot as its backdrop (3, H, 1), one colour per row, and the layers on it."""
    H, W = size
    if prepared is None:
        prepared = prepare(g, size)
    shape, fabric = prepared
    bg = _rgb(g.flat_bg)
    yy = (np.arange(H, dtype=F32)[None, :, None] + F32(0.5)) / F32(H)
    backdrop = bg * (ONE - F32(0.05) * yy)
    ss = supersampling(size)
    light = np.array([-0.3, -0.4, 0.87], F32)
    polys = [shape.frame.to_image(p) for p in shape.main] + [
        shape.frame.to_image(p) for t in shape.sleeves for p in t.polys
    ]
    blur = max(0.012 * H, 1.0)
    lay = layer_coverage(polys, size, 1, pad=2 * blur + 2, as_uint8=True)  # 0/255
    soft = None
    out: list[Layer] = []
    if lay is not None:
        box, alpha = lay
        soft = (box, _blur(alpha, blur))
        # a drop shadow: the blurred silhouette, shifted down and right
        dy, dx = max(1, round(0.012 * H)), max(1, round(0.008 * H))
        sb = Box(min(box.y0 + dy, H), min(box.y1 + dy, H), min(box.x0 + dx, W), min(box.x1 + dx, W))
        if sb.y1 > sb.y0 and sb.x1 > sb.x0:
            shadow = soft[1][: sb.y1 - sb.y0, : sb.x1 - sb.x0] * F32(0.3)
            out.append(Layer(sb, shadow, bg * F32(0.45)))
    layers = garment_layers(g, shape, bake_folds(fabric, g, 0.45, displace=False), size, ss, light, soft=soft)
    return backdrop, out + layers.sleeves + layers.inner + layers.main


def render_flat(g: Garment, size: tuple[int, int], prepared: Prepared | None = None) -> np.ndarray:
    """The product shot of ``g`` on a light background: float32 (3, H, W) in [0, 1]."""
    backdrop, layers = _flat_plan(g, size, prepared)
    img = np.empty((3, *size), F32)
    img[:] = backdrop
    for layer in layers:
        composite(img, layer)
    return img


def _row_fill(rows: np.ndarray, width: int) -> np.ndarray:
    """(H, width, 3) uint8 with row colours ``rows`` (H, 1, 3): copies of doubling width,
    much faster than a broadcast assignment whose innermost axis has 3 bytes."""
    out = np.empty((rows.shape[0], width, 3), np.uint8)
    out[:, :1] = rows
    k = 1
    while k < width:
        n = min(k, width - k)
        out[:, k : k + n] = out[:, :n]
        k += n
    return out


def render_flat_uint8(g: Garment, size: tuple[int, int], prepared: Prepared | None = None) -> np.ndarray:
    """``to_uint8(render_flat(...))``, computing floats only where the garment and its shadow are."""
    backdrop, layers = _flat_plan(g, size, prepared)
    out = _row_fill(to_uint8(backdrop), size[1])  # one colour per row
    r = union_box(layers)
    if r is not None:
        for a, b in bands(r.y0, r.y1, r.x1 - r.x0):  # band by band: the floats stay in cache
            img = np.empty((3, b - a, r.x1 - r.x0), F32)
            img[:] = backdrop[:, a:b]
            for layer in layers:
                part = layer_rows(layer, a, b)
                if part is not None:
                    composite(img, part, origin=(a, r.x0))
            to_uint8(img, out[a:b, r.x0 : r.x1])
    return out


def _blur(mask: np.ndarray, radius: float) -> np.ndarray:
    """Box blur of a 0/255 uint8 mask (the coverage at 1×, which is exactly 0 or 1), as float."""
    h, w = mask.shape
    img = Image.frombuffer("L", (w, h), mask, "raw", "L", 0, 1).filter(ImageFilter.BoxBlur(radius))
    return np.multiply(np.frombuffer(img.tobytes(), np.uint8).reshape(h, w), F32(1 / 255), dtype=F32)


_U8_BLOCK = 32768  # pixels per block in ``to_uint8``: its temporaries stay in the CPU cache


def to_uint8(img: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """float32 (3, H, W) in [0, 1] → uint8 (H, W, 3), written into ``out`` if given.

    Converted in blocks of rows, so the passes over the float temporaries run in cache.
    """
    _, H, W = img.shape
    if out is None:
        out = np.empty((H, W, 3), np.uint8)
    rows = max(1, _U8_BLOCK // max(W, 1))
    for y in range(0, H, rows):
        t = img[:, y : y + rows] * F32(255)
        t += F32(0.5)
        clip(t, ZERO, F32(255), out=t)
        u8 = t.astype(np.uint8)
        o = out[y : y + rows]
        for k in range(3):  # channel by channel: much faster than a strided transpose copy
            o[:, :, k] = u8[k]
    return out


class PersonScene:
    """A person, pose and background rendered once, dressed many times.

    Everything that does not depend on the outfit is drawn once; ``dress`` composites
    the shared parts with pre-rendered garments, so two variants that differ in one
    garment cost little more than that garment.
    """

    def __init__(self, person: Person, size: tuple[int, int]):
        self.person = person
        self.size = size
        self.ss = supersampling(size)
        self.body = build_body(person, size)
        self._bg: np.ndarray | None = render_background(person, size, self.body)
        self.parts = body_layers(person, self.body, size, self.ss)
        self._base: tuple[tuple, np.ndarray] | None = None

    @property
    def bg(self) -> np.ndarray:
        """The backdrop, float32 (3, H, W)."""
        if self._bg is None:
            self._bg = render_background(self.person, self.size, self.body)
        return self._bg

    def _take_bg(self) -> np.ndarray:
        """The backdrop to draw on: handed over without a copy (rendered again if needed)."""
        bg = self.bg
        self._bg = None
        return bg

    def garment(self, g: Garment, prepared: Prepared | None = None) -> GarmentLayers:
        """The worn layers of ``g``, tagged with its category."""
        if prepared is None:
            prepared = prepare(g, self.size)
        shape = worn_shape(g, self.body)
        fabric = bake_folds(prepared.fabric.half(), g, 1.0)
        return garment_layers(g, shape, fabric, self.size, self.ss, self.body.light, g.category)

    def _plan(self, worn: dict[str, GarmentLayers], track: str | None) -> tuple[np.ndarray, list[Layer]]:
        """The image under the tracked garment (cached: shared by outfits that differ above
        it) and the layers composited over it, back to front."""
        p = self.parts
        none = GarmentLayers([], [], [])
        lower = worn.get("lower", none)
        top = worn.get("dress") or worn.get("upper") or none
        key_top = "lower" if track == "lower" else "top"
        order = [
            ("s", p["hair_back"]), ("s", p["legs"]), ("s", p["torso"]), ("lower", lower.main), ("top", top.inner),
            ("s", p["neck"]), ("top", top.main), ("s", p["arms"]), ("top", top.sleeves), ("s", p["head"]),
            ("s", p["hair_front"]),
        ]  # fmt: skip
        first = len(order)
        if track is not None:
            first = next(i for i, (k, _) in enumerate(order) if k == key_top)
        key = tuple(id(x) for _, layers in order[:first] for x in layers)
        if self._base is None or self._base[0] != key:
            base = self._take_bg()
            composite_all(base, [layer for _, layers in order[:first] for layer in layers])
            self._base = (key, base)
        return self._base[1], [layer for _, layers in order[first:] for layer in layers]

    def dress(self, worn: dict[str, GarmentLayers], track: str | None = None):
        """Composite the person wearing ``worn`` (category → layers from ``garment``).

        Returns the float image (3, H, W) and, if ``track`` names a worn category, the
        coverage (H, W) of that garment as visible in the image (after arms and hair).
        """
        base, layers = self._plan(worn, track)
        img = base.copy()
        vis = np.zeros(self.size, F32) if track is not None else None
        for layer in layers:
            composite(img, layer, vis, track)
        return img, vis

    def dress_uint8(self, worn: dict[str, GarmentLayers], track: str | None = None):
        """``dress`` quantised: ``to_uint8`` of the image and the mask ``visible > 0.5`` (all
        False without ``track``)."""
        return self.dress_uint8_many([worn], track)[0]

    def dress_uint8_many(self, worns: list[dict[str, GarmentLayers]], track: str | None = None):
        """``dress_uint8`` for several outfits that differ only from ``track`` up.

        Floats are computed only inside the box of the layers above the tracked garment
        (one box for all the outfits); the shared base outside it is quantised once.
        """
        plans = [self._plan(worn, track) for worn in worns]
        base = plans[0][0]
        if any(b is not base for b, _ in plans):  # different bases: one at a time
            return [self.dress_uint8_many([worn], track)[0] for worn in worns]
        H, W = self.size
        r = union_box([layer for _, layers in plans for layer in layers])
        first = np.empty((H, W, 3), np.uint8)
        if r is None:
            to_uint8(base, first)
        else:  # the base around the box
            to_uint8(base[:, : r.y0], first[: r.y0])
            to_uint8(base[:, r.y1 :], first[r.y1 :])
            to_uint8(base[:, r.y0 : r.y1, : r.x0], first[r.y0 : r.y1, : r.x0])
            to_uint8(base[:, r.y0 : r.y1, r.x1 :], first[r.y0 : r.y1, r.x1 :])
        results = []
        for k, (_, layers) in enumerate(plans):
            out = first if k == 0 else first.copy()
            mask = np.zeros(self.size, bool)
            if r is not None:
                for a, b in bands(r.y0, r.y1, r.x1 - r.x0):  # band by band: the floats stay in cache
                    img = base[:, a:b, r.x0 : r.x1].copy()
                    vis = np.zeros(img.shape[1:], F32) if track is not None else None
                    for layer in layers:
                        part = layer_rows(layer, a, b)
                        if part is not None:
                            composite(img, part, vis, track, origin=(a, r.x0))
                    to_uint8(img, out[a:b, r.x0 : r.x1])
                    if vis is not None:
                        mask[a:b, r.x0 : r.x1] = vis > 0.5
            results.append((out, mask))
        return results
