"""People and garments as ``Part``s: polygons in back-to-front order and the shaders that colour them.

Shading is soft Lambertian light with wrap-around (``Light``: direction, key and ambient
colours, softness) on simple normals: cylinders across limbs, torso, garments, sleeves and
trouser legs, an ellipsoid for the head. Garments sample their fabric (``fabric.Fabric``,
folds baked in): worn, the front panel wraps a cylinder, so the fabric compresses towards
the sides; flat, s follows x and v follows y. ``PersonScene.outfit`` lists the parts of
the person wearing an outfit in drawing order; ``raster`` does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .draws import Draws
from .fabric import Fabric
from .garments import Garment, GarmentShape, Sleeve, worn_shape
from .geometry import ProfileLUT, capsule, catmull_rom, clip, ellipse, lin
from .people import Body, Person, build_body, torso_profile
from .raster import Part, PartMap

F32 = np.float32
ONE, ZERO = F32(1.0), F32(0.0)


def _rgb(color) -> np.ndarray:
    """An sRGB colour as float32 (3, 1) in [0, 1]."""
    return (np.asarray(color, dtype=F32) / F32(255.0)).reshape(3, 1)


# ---------------------------------------------------------------------------------------
# light


@dataclass(frozen=True)
class Light:
    direction: tuple[float, float, float]  # unit vector towards the key light (x right, y down, z viewer)
    key: tuple[float, float, float]  # key light colour and strength
    ambient: tuple[float, float, float]  # fill light colour and strength
    wrap: float  # 0: hard light; up to 0.8: soft (light wraps round the form)


def random_light(d: Draws) -> Light:
    v = np.array([d.uniform(-0.7, 0.7), d.uniform(-0.8, -0.1), d.uniform(0.5, 1.0)])
    v /= np.linalg.norm(v)
    soft = d.random()
    warm = d.uniform(-1, 1)  # key light warmer (> 0) or cooler than the fill
    key = 0.72 - 0.22 * soft
    amb = 0.32 + 0.2 * soft
    return Light(
        direction=(float(v[0]), float(v[1]), float(v[2])),
        key=(key * (1 + 0.07 * warm), key, key * (1 - 0.07 * warm)),
        ambient=(amb * (1 - 0.05 * warm), amb, amb * (1 + 0.05 * warm)),
        wrap=0.1 + 0.7 * soft,
    )


PRODUCT_LIGHT = Light((-0.25, -0.45, 0.86), (0.42, 0.42, 0.42), (0.62, 0.62, 0.62), 0.6)
_LUT_N = 256


_A = np.linspace(-1, 1, _LUT_N, dtype=F32)  # a across a cylinder, for its light table
_NZ = np.sqrt(np.maximum(F32(1) - _A * _A, F32(0.0004)))  # the normal's z there


class Shading:
    """A ``Light`` applied to normals: (3, n) multipliers of an albedo."""

    def __init__(self, light: Light):
        self.light = light
        lx, ly, lz = light.direction
        self.L = (F32(lx), F32(ly), F32(lz))
        self.key = np.asarray(light.key, dtype=F32).reshape(3, 1)
        self.amb = np.asarray(light.ambient, dtype=F32).reshape(3, 1)
        self._w = F32(1.0 / (1.0 + light.wrap))
        self._wb = F32(light.wrap / (1.0 + light.wrap))
        self._tables: dict[tuple[float, float], np.ndarray] = {}

    def dot(self, ndotl: np.ndarray) -> np.ndarray:
        """Light (3, n) for cosines ``ndotl`` (n,) between normals and the light."""
        diffuse = ndotl * self._w
        diffuse += self._wb
        clip(diffuse, ZERO, ONE, out=diffuse)
        return self.amb + self.key * diffuse

    def cylinder_table(self, px: float, py: float) -> np.ndarray:
        """The light (3, _LUT_N) over a in [-1, 1] on a cylinder across (px, py)."""
        key = (px, py)
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = self.dot(_A * F32(px * self.L[0] + py * self.L[1]) + _NZ * self.L[2])
        return table


def _lookup(table: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Entries of a (3, _LUT_N) table over a in [-1, 1]."""
    i = a * F32((_LUT_N - 1) / 2)
    i += F32((_LUT_N - 1) / 2 + 0.5)
    clip(i, ZERO, F32(_LUT_N - 1), out=i)
    return np.take(table, i.astype(np.intp), axis=1)


# ---------------------------------------------------------------------------------------
# the body


def _segment(color, p0, p1, r0: float, r1: float, sh: Shading):
    """Skin on one tapered cylinder from ``p0`` to ``p1`` (scene pixels): the position along
    and across the axis are linear in (X, Y), the light comes from a table over the cylinder
    (albedo included)."""
    dx, dy = float(p1[0] - p0[0]), float(p1[1] - p0[1])
    L2 = max(dx * dx + dy * dy, 1e-9)
    L = np.sqrt(L2)
    ax, ay, a0 = F32(dx / L2), F32(dy / L2), F32(-(p0[0] * dx + p0[1] * dy) / L2)
    bx, by, b0 = F32(-dy / L), F32(dx / L), F32((p0[0] * dy - p0[1] * dx) / L)
    table = sh.cylinder_table(-dy / L, dx / L) * _rgb(color)
    r0, dr = F32(r0), F32(r1 - r0)

    def shade(X, Y):
        t = X * ax
        t += Y * ay
        t += a0
        clip(t, ZERO, ONE, out=t)
        d = X * bx
        d += Y * by
        d += b0
        t *= dr
        t += r0
        d /= t
        return _lookup(table, d)

    return shade


def _flat(rgb: np.ndarray, polys: list[np.ndarray], tag: str | None = None) -> Part:
    """A part of one colour: its shader and its grid shader need no coordinates."""
    grid = rgb.reshape(3, 1, 1)
    return Part(polys, lambda X, Y: rgb, tag, lambda X, Y: grid)


class BodyParts(NamedTuple):
    hair_back: list[Part]
    arms: tuple[list[Part], list[Part]]  # each arm: upper arm, forearm with the hand
    legs: list[Part]  # legs and shoes
    torso: list[Part]
    neck: list[Part]
    head: list[Part]  # ears, head and face
    hair_front: list[Part]


def body_parts(person: Person, body: Body, sh: Shading) -> BodyParts:
    """Every part of the bare person."""
    fr = body.frame
    lv, wd, P = body.levels, body.widths, body.P
    legs = []
    shoes = []
    for k, sign in enumerate((-1, 1)):
        leg = body.legs[k]
        j = fr.to_image(leg.joints)
        polys = [capsule(j[i], j[i + 1], leg.radii[i], leg.radii[i + 1]) for i in range(len(j) - 1)]
        legs.append(Part(polys, _segment(person.skin, j[0], j[-1], leg.radii[0], leg.radii[-1], sh)))
        a = leg.joints[-1]
        shoes.append(fr.to_image(ellipse(a + np.array([sign * 0.012 * P, 0.03 * P]), 0.036 * P, 0.022 * P, 0, 16)))
    shoe = _rgb(person.shoes)
    sole = lv["sole"] + 0.05 * P

    def shade_shoes(X, Y):
        _, by = fr.to_local(X, Y)
        return shoe * (F32(0.7) + F32(0.4) * clip((F32(sole) - by) * F32(1 / (0.04 * P)), ZERO, ONE))

    legs.append(Part(shoes, shade_shoes))

    # the torso, with the base of the neck and the crotch
    ys, hl, hr = torso_profile(body)
    left = catmull_rom(np.stack([-hl, ys], axis=1), 4)
    right = catmull_rom(np.stack([hr, ys], axis=1), 4)
    c = body.centre
    ny = lv["neck_base"]
    outline = np.concatenate([
        [[c - wd["neck"], ny - 0.01 * P], [c - wd["neck"] * 1.7, ny + 0.008 * P]], left,
        [[0.0, lv["crotch"] + 0.02 * P]], right[::-1],
        [[c + wd["neck"] * 1.7, ny + 0.008 * P], [c + wd["neck"], ny - 0.01 * P]],
    ])  # fmt: skip
    profile = ProfileLUT(ys, -hl, hr)
    torso_table = sh.cylinder_table(1, 0) * _rgb(person.skin)

    def shade_torso(X, Y):
        bx, by = fr.to_local(X, Y)
        return _lookup(torso_table, profile.across(bx, by)[0])

    torso = [Part([fr.to_image(outline)], shade_torso)]
    n0 = fr.to_image(np.array([c * 0.8, lv["chin"] - 0.03 * P]))
    n1 = fr.to_image(np.array([c, ny + 0.005 * P]))
    neck_skin = _segment(person.skin, n0, n1, wd["neck"], wd["neck"] * 1.08, sh)
    cy0, cy1 = F32(n0[1]), F32(2.5 / max(n1[1] - n0[1], 1.0))

    def shade_neck(X, Y):  # darker under the chin
        return neck_skin(X, Y) * (F32(0.72) + F32(0.28) * clip((Y - cy0) * cy1, ZERO, ONE))

    neck = [Part([capsule(n0, n1, wd["neck"], wd["neck"] * 1.08)], shade_neck)]

    arms = []
    for k in range(2):
        arm = body.arms[k]
        dvec = body.hands[k]
        hand_len = 0.085 * P
        hc = arm.joints[-1] + dvec * hand_len * 0.42
        j = fr.to_image(arm.joints)
        r = arm.radii
        hand = fr.to_image(ellipse(hc, hand_len * 0.5, wd["wrist"] * 1.35, float(np.arctan2(dvec[1], dvec[0])), 14))
        arms.append([
            Part([capsule(j[0], j[1], r[0], r[1])], _segment(person.skin, j[0], j[1], r[0], r[1], sh)),
            Part([capsule(j[1], j[2], r[1], r[2]), hand], _segment(person.skin, j[1], j[2], r[1], r[2], sh)),
        ])  # fmt: skip
    hair = hair_parts(person, body, sh)
    return BodyParts(hair[0], (arms[0], arms[1]), legs, torso, neck, head_parts(person, body, sh), hair[1])


def head_parts(person: Person, body: Body, sh: Shading) -> list[Part]:
    """Ears, head and face as one part: the face (eyes, brows, nose, mouth) drawn by Pillow
    into a tile over the head's box, shaded as an ellipsoid."""
    fr = body.frame
    rx, ry = body.head_r
    hc = body.head_c
    L = sh.L
    cx = F32(hc[0] + body.face_shift * 0.3)
    skin = np.asarray(person.skin, dtype=np.float64)
    ears = [fr.to_image(ellipse(hc + (s * rx * 0.97, 0.05 * ry), rx * 0.16, ry * 0.2, 0, 10)) for s in (-1, 1)]
    t = lin(0, 2 * np.pi, 36, False)
    x = np.cos(t) * rx * (1 - 0.16 * np.clip(np.sin(t), 0, 1) ** 2)  # an egg, narrower at the chin
    head = fr.to_image(np.stack([x, np.sin(t) * ry], axis=1) + hc)
    fx = hc[0] + body.face_shift
    eye_y = hc[1] + 0.06 * ry
    hair = np.asarray(person.hair_color, dtype=np.float64)
    face = [(ears, skin * 0.85), ([head], skin)]
    for sign in (-1, 1):
        ex = fx + sign * rx * 0.38
        face.append(([fr.to_image(ellipse((ex, eye_y), rx * 0.16, ry * 0.075, 0, 10))], (238, 236, 230)))
        face.append(([fr.to_image(ellipse((ex + body.face_shift * 0.15, eye_y), rx * 0.075, ry * 0.072, 0, 8))], person.iris))
        face.append(([fr.to_image(ellipse((ex, eye_y - 0.17 * ry), rx * 0.2, ry * 0.035, sign * -0.12, 10))],
                     hair * 0.63 + skin * 0.1))  # fmt: skip
    face.append(([fr.to_image(ellipse((fx, hc[1] + 0.34 * ry), rx * 0.12, ry * 0.05, 0, 10))], skin * 0.85))
    face.append(([fr.to_image(ellipse((fx, hc[1] + 0.58 * ry), rx * 0.27, ry * 0.07, 0, 12))], person.lip))
    pts = np.concatenate(ears + [head])
    x0, y0 = (int(v) - 1 for v in np.floor(pts.min(axis=0)))
    x1, y1 = (int(v) + 1 for v in np.ceil(pts.max(axis=0)))
    w, h = max(x1 - x0, 1), max(y1 - y0, 1)
    # the face as a tile over the head's box: feature k drawn with ink k at 2x, then each
    # subpixel coloured from the palette and averaged
    tile = PartMap((h, w), 2)
    palette = [skin]
    for k, (polys, color) in enumerate(face, 1):
        tile.draw([p - (x0, y0) for p in polys], k)
        palette.append(color)
    sub = np.take(np.asarray(palette, dtype=F32).T * F32(1 / 255), tile.buf, axis=1)  # (3, 2h, 2w)
    colours = (sub[:, 0::2, 0::2] + sub[:, 1::2, 0::2] + sub[:, 0::2, 1::2] + sub[:, 1::2, 1::2]).reshape(3, -1)
    colours *= F32(0.25)
    ox, oy = F32(x0), F32(y0)

    def shade(X, Y):
        ix = clip(X - ox, ZERO, F32(w - 1)).astype(np.intp)
        iy = clip(Y - oy, ZERO, F32(h - 1)).astype(np.intp)
        iy *= w
        iy += ix
        bx, by = fr.to_local(X, Y)
        nx = clip((bx - cx) * F32(1 / rx), -ONE, ONE)
        ny = clip((by - F32(hc[1])) * F32(1 / ry), -ONE, ONE)
        nz = np.sqrt(clip(ONE - nx * nx * F32(0.8) - ny * ny * F32(0.6), ZERO, ONE))
        return np.take(colours, iy, axis=1) * sh.dot(nx * L[0] + ny * (F32(0.6) * L[1]) + nz * L[2])

    return [Part(ears + [head], shade, "face")]  # tagged: the face mask of the samples


def hair_parts(person: Person, body: Body, sh: Shading) -> tuple[list[Part], list[Part]]:
    """Hair behind the head and the body (long hair, buns, bobs, curls) and in front (the cap,
    strands over the shoulders)."""
    fr = body.frame
    rx, ry = body.head_r
    hc = body.head_c
    P = body.P
    style = person.hair_style
    fs = body.face_shift
    back: list[np.ndarray] = []
    front: list[np.ndarray] = []
    big = {"long": 1.12, "bob": 1.12, "curly": 1.12, "afro": 1.12, "buzz": 1.02}.get(style, 1.06)
    bump = 0.07 if style in ("curly", "afro") else 0.0
    t = lin(np.pi * 0.93, np.pi * 2.07, 26)
    rmod = 1 + bump * np.sin(t * 14)
    cap = np.stack([np.cos(t) * rx * big * rmod, np.sin(t) * ry * big * rmod], axis=1)
    line = -0.12 if style == "bob" else -0.42
    side = 0.45 if style in ("bob", "long") else 0.15
    hairline = np.array([
        [rx * 0.98, ry * side], [rx * 0.86, -0.12 * ry], [fs + rx * 0.45, ry * (line - 0.02)],
        [fs, ry * (line - 0.08)], [fs - rx * 0.45, ry * (line + 0.02)], [-rx * 0.86, -0.12 * ry], [-rx * 0.98, ry * side],
    ])  # fmt: skip
    front.append(np.concatenate([cap, catmull_rom(hairline, 3)], axis=0) + hc)
    if style in ("bob", "curly", "afro"):
        w = {"bob": 1.25, "curly": 1.45, "afro": 1.85}[style]
        if style == "bob":
            t = lin(np.pi, 2 * np.pi, 16)
            top = np.stack([np.cos(t) * rx * w * 0.95, np.sin(t) * ry * 1.12 - 0.05 * ry], axis=1)
            shape = np.concatenate([top, [[rx * w, ry * 0.95], [-rx * w, ry * 0.95]]], axis=0)
        else:
            t = lin(0, 2 * np.pi, 40, False)
            r = 1 + 0.06 * np.sin(t * 11)
            tall = 1.15 if style == "curly" else 1.4
            shape = np.stack([np.cos(t) * rx * w * r, np.sin(t) * ry * tall * r - (0.1 if style == "curly" else 0.3) * ry], 1)
        back.append(shape + hc)
    if style == "long":
        yb = body.levels["neck_base"] + (0.04 + 0.22 * person.hair_len) * P
        w_top, w_bot = rx * 1.12, rx * 1.45
        t = lin(np.pi, 2 * np.pi, 16)
        top = np.stack([np.cos(t) * w_top, np.sin(t) * ry * 1.1], axis=1) + hc
        bottom = [[hc[0] + w_bot, yb - 0.03 * P], [hc[0] + w_bot * 0.7, yb], [hc[0] - w_bot * 0.7, yb],
                  [hc[0] - w_bot, yb - 0.03 * P]]  # fmt: skip
        back.append(np.concatenate([top, bottom]))
        for k, sign in enumerate((-1, 1)):
            if person.front_strands[k]:
                x0 = hc[0] + sign * rx * 0.9
                nb = body.levels["neck_base"]
                strand = np.array([
                    [x0 - sign * rx * 0.25, hc[1] - 0.2 * ry], [x0 + sign * rx * 0.2, hc[1] - 0.1 * ry],
                    [x0 + sign * rx * 0.55, nb + 0.02 * P], [x0 + sign * rx * 0.6, yb - 0.02 * P],
                    [x0 + sign * rx * 0.25, yb + 0.01 * P], [x0 + sign * rx * 0.05, nb], [x0 - sign * rx * 0.1, hc[1] + 0.4 * ry],
                ])  # fmt: skip
                front.append(catmull_rom(strand, 3, closed=True))
    if style == "bun":
        back.append(ellipse(hc + np.array([fs * 0.3, -ry * 1.02]), rx * 0.48, ry * 0.36, 0, 16))
    if style == "ponytail":  # gathered behind the head, falling behind the neck
        tail = np.array([[hc[0] - rx * 0.3, hc[1] - ry * 0.2], [hc[0] + rx * 0.3, hc[1] - ry * 0.2],
                         [hc[0] + rx * 0.5, hc[1] + ry * 1.6], [hc[0], hc[1] + ry * 2.1], [hc[0] - rx * 0.45, hc[1] + ry * 1.6]])  # fmt: skip
        back.append(catmull_rom(tail, 3, closed=True))
    hair = _rgb(person.hair_color)
    if style == "buzz":  # the scalp shows through
        hair = hair * F32(0.7) + _rgb(person.skin) * F32(0.3)
    L = sh.L

    def shader(vertical: bool, dim: float):
        def shade(X, Y):
            bx, by = fr.to_local(X, Y)
            dx = (bx - F32(hc[0])) * F32(1 / (rx * 1.3))
            dy = (by - F32(hc[1])) * F32(1 / (ry * 1.3))
            if vertical:
                strands = np.sin(bx * F32(9.0 / rx) + np.sin(by * F32(2.0 / ry)) * F32(2.0))
            else:
                strands = np.sin(np.arctan2(dy, dx) * F32(34.0))
            nx = clip(dx, -ONE, ONE)
            ny = clip(dy, -ONE, ONE) * F32(0.5)
            nz = np.sqrt(clip(ONE - nx * nx - ny * ny, F32(0.05), ONE))
            return hair * sh.dot(nx * L[0] + ny * L[1] + nz * L[2]) * (F32(dim) + F32(0.07 * dim) * strands)

        return shade

    back_parts = [Part([fr.to_image(p) for p in back], shader(True, 0.82))] if back else []
    return back_parts, [Part([fr.to_image(p) for p in front], shader(style == "long", 1.0))]


# ---------------------------------------------------------------------------------------
# garments


class GarmentParts(NamedTuple):
    back: list[Part]  # the collar band and the inside of the back, seen through the neckline
    main: list[Part]  # the body of the garment, its collar, buttons
    sleeves: tuple[list[Part], list[Part]]  # per arm (viewer's left, right); beneath the body when flat


def _mix(col: np.ndarray, color: np.ndarray, w) -> np.ndarray:
    """``col`` (3, ...) mixed towards ``color`` (3, 1) or (3, ...) by ``w``."""
    if color.ndim != col.ndim:
        color = color.reshape(3, *([1] * (col.ndim - 1)))
    return col + (color - col) * w


def garment_parts(g: Garment, shape: GarmentShape, fabric: Fabric, sh: Shading, tag: str | None = None) -> GarmentParts:
    """The parts of a garment, worn (wrapping the body) or flat (``shape.flat``).

    Every shader maps its points to fabric texels with a few multiply-adds: flat, column
    and row follow x and y; worn, the front panel wraps a cylinder (the column follows the
    arcsine of the position across the outline); sleeves and trouser legs are tubes, one
    part per segment, across which the fabric wraps the same way.
    """
    fr = shape.frame
    length = max(shape.v1 - shape.v0, 1.0)
    per_v = F32(fabric.th / length)  # texel rows per local pixel down the garment
    row0 = F32(-shape.v0 * fabric.th / length)
    trim = _rgb(g.trim) if g.trim is not None else None
    neck = shape.neckline
    ox, oy = float(fr.origin[0]), float(fr.origin[1])
    upright = fr.angle == 0.0

    def rib(col, lx, ly):
        """A rib of trim colour along the front neckline (the fabric's own details are sewn in)."""
        ny = np.interp(lx, neck[:, 0], neck[:, 1]).astype(F32)
        dy = ly - ny
        w = clip(F32(shape.rib) - dy, ZERO, ONE) * clip(dy + ONE, ZERO, ONE)
        w *= (lx > F32(neck[0, 0])) & (lx < F32(neck[-1, 0]))
        return _mix(col, trim if trim is not None else col * F32(0.8), w)

    if shape.flat:
        # column = x * per_s + col0, row = y * per_v + row0 (frame-local); a flat garment is
        # lit as a very flat cylinder across its reference width
        per_s = F32(fabric.unit / (2 * shape.hw_ref))
        col0 = F32(fabric.x0 + 0.5 * fabric.unit)
        table = sh.cylinder_table(1, 0)[:, _LUT_N // 2 - _LUT_N // 6 : _LUT_N // 2 + _LUT_N // 6]
        k_light, c_light = F32((table.shape[1] - 1) / (4 * shape.hw_ref)), F32((table.shape[1] - 1) / 2 + 0.5)

        def shade_main(X, Y):
            if upright:
                lx, ly = X - F32(ox), Y - F32(oy)
            else:
                lx, ly = fr.to_local(X, Y)
            i = lx * k_light
            i += c_light
            clip(i, ZERO, F32(table.shape[1] - 1), out=i)
            col = fabric.texels(lx * per_s + col0, ly * per_v + row0)
            if shape.rib > 0 and neck is not None:
                col = rib(col, lx, ly)
            col *= np.take(table, i.astype(np.intp), axis=1)
            return col

        def grid_main(X, Y):  # X a row (1, w), Y a column (h, 1): whole rows and columns of fabric
            if not upright:  # a turned flat-lay: every pixel its own fabric coordinates
                return shade_main(X + ZERO * Y, Y + ZERO * X)
            lx, ly = X - F32(ox), Y - F32(oy)
            i = lx * k_light
            i += c_light
            clip(i, ZERO, F32(table.shape[1] - 1), out=i)
            # one texel per product pixel (``prepare``): the rows and columns are runs
            r0 = int(np.floor(ly[0, 0] * per_v + row0))
            c0 = int(np.floor(lx[0, 0] * per_s + col0))
            h, w = ly.shape[0], lx.shape[1]
            col = fabric.image().take(np.clip(np.arange(r0, r0 + h), 0, fabric.th - 1), axis=1)
            if 0 <= c0 and c0 + w <= fabric.cols:
                col = col[:, :, c0 : c0 + w]
            else:
                col = col.take(np.clip(np.arange(c0, c0 + w), 0, fabric.cols - 1), axis=2)
            if shape.rib > 0 and neck is not None:
                col = rib(col, lx, ly)
            return col * np.take(table, i.astype(np.intp), axis=1)

    else:
        lut = ProfileLUT(*shape.profile)
        # column = asin(across) * half-width * k + col0: the panel wraps a cylinder, so the
        # fabric compresses towards the sides (15% more of it shows than laid flat)
        k_wrap = F32(1.15 / np.pi / shape.hw_ref * fabric.unit)
        col0 = F32(fabric.x0 + 0.5 * fabric.unit)
        table = sh.cylinder_table(1, 0)

        def shade_main(X, Y):
            lx, ly = fr.to_local(X, Y)
            i = lut.rows(ly)
            a = lx - lut.left[i]
            a *= lut.inv_width2[i]
            a -= ONE
            clip(a, -ONE, ONE, out=a)
            c = np.arcsin(a)
            c *= lut.half[i]
            c *= k_wrap
            c += col0
            col = fabric.texels(c, ly * per_v + row0)
            if shape.rib > 0 and neck is not None:
                col = rib(col, lx, ly)
            col *= _lookup(table, a)
            return col

    def tube_segment(tube: Sleeve, k: int, acc: float, total: float):
        """The fabric on segment k of a tube: across it, the tube's share of s wraps the
        cylinder; along it, the row follows the tube's share of v (legs: the garment's own v,
        so that legs continue the panel above them)."""
        p0, p1 = fr.to_image(tube.joints[k : k + 2])
        r0, r1 = float(tube.radii[k]), float(tube.radii[k + 1])
        dx, dy = float(p1[0] - p0[0]), float(p1[1] - p0[1])
        L2 = max(dx * dx + dy * dy, 1e-9)
        L = np.sqrt(L2)
        ax, ay, a0 = F32(dx / L2), F32(dy / L2), F32(-(p0[0] * dx + p0[1] * dy) / L2)
        bx, by, b0 = F32(-dy / L), F32(dx / L), F32((p0[0] * dy - p0[1] * dx) / L)
        s0, s1 = tube.s_range
        k_s, c_s = F32(0.5 * (s1 - s0) * fabric.unit), F32((0.5 * (s0 + s1)) * fabric.unit + fabric.x0)
        seg = float(np.hypot(*(tube.joints[k + 1] - tube.joints[k])))
        if tube.v_range == (0.0, 1.0):  # a trouser leg: v from the local height of the axis
            j0, j1 = tube.joints[k, 1], tube.joints[k + 1, 1]
            k_r, c_r = F32((j1 - j0) * per_v), F32(j0 * per_v + row0)
        else:  # a sleeve: v along the arm, over the tube's share of the panel
            v0, v1 = tube.v_range
            k_r = F32(seg / total * (v1 - v0) * fabric.th)
            c_r = F32((v0 + acc / total * (v1 - v0)) * fabric.th)
        cuff = trim is not None and g.category != "lower" and k == len(tube.joints) - 2
        cuff_at = F32(fabric.th * (tube.v_range[1] - 0.02 - 0.04 * (tube.v_range[1] - tube.v_range[0])))
        table = sh.cylinder_table(-dy / L, dx / L)
        flat = F32(0.3 if shape.flat else 1.0)
        r0f, drf = F32(r0), F32(r1 - r0)

        def shade(X, Y):  # X, Y: points, or a row and a column
            t = X * ax + Y * ay
            t += a0
            row = t * k_r  # past the ends too: a joint's round cap continues the fabric
            row += c_r
            clip(t, ZERO, ONE, out=t)
            a = X * bx + Y * by
            a += b0
            a /= r0f + drf * t
            clip(a, -ONE, ONE, out=a)
            if cuff:
                w = clip((row - cuff_at) * F32(60 / fabric.th), ZERO, ONE)
            col = fabric.texels(a * k_s + c_s, row)
            if cuff:
                col = _mix(col, trim, w)
            col *= _lookup(table, a * flat)
            return col

        return shade

    def tube_parts(tube: Sleeve) -> list[Part]:
        seg = np.hypot(*(tube.joints[1:] - tube.joints[:-1]).T)
        total = max(float(seg.sum()), 1e-6)
        acc = np.concatenate([[0.0], np.cumsum(seg)])
        parts = []
        for k, p in enumerate(tube.polys):
            shade = tube_segment(tube, k, float(acc[k]), total)  # elementwise: also takes a row and a column
            parts.append(Part([fr.to_image(p)], shade, tag, shade))
        return parts

    flat_s = F32(0.5 / shape.hw_ref)

    def shade_collar(X, Y):  # collar flaps and mock necks: the fabric's top row, little rounding
        lx, _ = fr.to_local(X, Y)
        col = fabric.sample(F32(0.5) + lx * flat_s, np.full_like(lx, F32(0.01)))
        if trim is not None:
            col = _mix(col, trim, F32(0.7))
        return col * collar_light

    flat_light = sh.dot(np.array([0.8], F32))
    collar_light = sh.dot(np.array([0.85], F32))
    back: list[Part] = []
    if shape.collar_back:
        band = (trim if trim is not None else fabric.mean) * F32(0.72) * flat_light
        back.append(_flat(band, [fr.to_image(p) for p in shape.collar_back], tag))
    if shape.inner:
        back.append(_flat(fabric.mean * F32(0.45) * flat_light, [fr.to_image(p) for p in shape.inner], tag))
    # worn, the legs go under the pelvis (which overlaps the top of the thighs); flat, they are
    # part of one outline with it and continue its columns and rows
    legs = [] if shape.flat else [q for leg in shape.legs for q in tube_parts(leg)]
    main_polys = shape.main if shape.flat else shape.main[: len(shape.main) - sum(len(leg.polys) for leg in shape.legs)]
    main = legs + [Part([fr.to_image(p) for p in main_polys], shade_main, tag, grid_main if shape.flat else None)]
    if shape.collar:
        main.append(Part([fr.to_image(p) for p in shape.collar], shade_collar, tag))
    if shape.buttons:
        main.append(_flat(_rgb(g.button_color) * flat_light, [fr.to_image(p) for p in shape.buttons], tag))
    sleeves = (tube_parts(shape.sleeves[0]), tube_parts(shape.sleeves[1])) if shape.sleeves else ([], [])
    return GarmentParts(back, main, sleeves)


# ---------------------------------------------------------------------------------------
# a person dressed


class PersonScene:
    """A person, a pose and a light at one scene size; ``outfit`` lists the parts of the
    person wearing some garments, back to front. The body's parts are built once and shared
    by every outfit, so two outfits draw them with the same ids."""

    def __init__(self, person: Person, size: tuple[int, int], light: Light):
        self.person = person
        self.size = size
        self.body = build_body(person, size)
        self.shading = Shading(light)
        self.parts = body_parts(person, self.body, self.shading)

    def fit(self, g: Garment) -> GarmentShape:
        """``g`` fitted to this body."""
        return worn_shape(g, self.body)

    def garment(self, g: Garment, shape: GarmentShape, fabric: Fabric) -> GarmentParts:
        """The parts of ``g`` worn (``shape`` from ``fit``), tagged with its category."""
        return garment_parts(g, shape, fabric, self.shading, g.category)

    def outfit(self, worn: dict[str, GarmentParts]) -> list[Part]:
        """The person wearing ``worn`` (category → parts), back to front: arms behind the back
        and their sleeves, legs, torso, lower garment, the top's back and the neck, the top,
        arms in front and their sleeves, head, hair in front."""
        p = self.parts
        none = GarmentParts([], [], ([], []))
        lower = worn.get("lower", none)
        top = worn.get("dress") or worn.get("upper") or none
        behind = self.body.behind
        order = list(p.hair_back)
        for k in range(2):
            if behind[k]:
                order += p.arms[k] + top.sleeves[k]
        order += p.legs + p.torso + lower.main + top.back + p.neck + top.main
        for k in range(2):
            if not behind[k]:
                order += p.arms[k] + top.sleeves[k]
        return order + p.head + p.hair_front
