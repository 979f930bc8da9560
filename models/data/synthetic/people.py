"""People of the synthetic world: what varies (``Person``) and the pixel skeleton (``Body``).

A ``Person`` holds size-free random draws: skin, hair, body shape, pose, framing, light and
background. ``build_body`` turns it into pixel geometry for one image size. Geometry lives
in a *body frame* (origin at the centre of the hips, y down, pixels) that is leaned and
placed into the image by ``Body.to_image``; garments are laid out in the same frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .textures import cdf, choice_p, jitter

# Skin tones from very light to very deep (sRGB).
SKIN_TONES = (
    (250, 222, 200), (238, 196, 170), (224, 172, 138), (200, 144, 106),
    (170, 112, 78), (134, 86, 58), (100, 64, 44), (72, 46, 32),
)  # fmt: skip
HAIR_COLOURS = (
    (18, 16, 15), (40, 28, 22), (70, 48, 32), (105, 72, 44), (150, 104, 60),
    (196, 158, 98), (224, 196, 140), (150, 62, 34), (125, 125, 125), (225, 225, 220),
)  # fmt: skip
HAIR_STYLES = ("short", "bob", "long", "bun", "buzz", "curly")
ARM_POSES = ("down", "out", "hip", "front")
BACKGROUNDS = ("flat", "gradient", "studio", "room", "plaster")
_BG_CDF = cdf((0.2, 0.22, 0.2, 0.26, 0.12))
_HAIR_CDF = cdf((0.22, 0.18, 0.3, 0.12, 0.1, 0.08))
_POSE_CDF = cdf((0.42, 0.24, 0.2, 0.14))


@dataclass(frozen=True)
class Background:
    kind: str
    colors: tuple[tuple[int, int, int], ...]
    floor: float  # wall/floor line as a fraction of the image height (room, studio)
    frames: tuple[tuple[float, float, float, float], ...] = ()  # (x0, y0, x1, y1) fractions
    seed: int = 0


@dataclass(frozen=True)
class Person:
    """Size-free description of one person, pose, light and background."""

    skin: tuple[int, int, int]
    hair_color: tuple[int, int, int]
    hair_style: str
    lip: tuple[int, int, int]
    shoes: tuple[int, int, int]
    masculinity: float  # 0..1: shoulder/hip ratio and waist
    weight: float  # width multiplier, ~0.85..1.3
    head: float  # head height / body height
    neck: float  # neck length / body height
    legs: float  # leg length factor
    height: float  # head top to sole, as a fraction of the image height
    top: float  # head top, as a fraction of the image height
    cx: float  # horizontal centre, as a fraction of the image width
    lean: float  # radians, about the hips
    turn: float  # -1..1: slight body turn (far side narrower, face shifted)
    arm_pose: tuple[str, str]  # viewer's left arm, viewer's right arm
    arm_angle: tuple[float, float]  # upper-arm angle from vertical, outward positive (radians)
    elbow: tuple[float, float]  # extra forearm angle (down/out poses) or target offset
    leg_spread: tuple[float, float]  # radians, outward
    hair_len: float  # long styles: how far down the back/front strands go (0..1)
    front_strands: tuple[bool, bool]  # long hair falling in front of each shoulder
    light: tuple[float, float, float]  # unit vector towards the light (x right, y down, z viewer)
    background: Background


def _background(rng: np.random.Generator) -> Background:
    kind = BACKGROUNDS[choice_p(rng, _BG_CDF)]
    light = tuple(int(v) for v in rng.integers(150, 250, 3))
    base = jitter(rng, light, 12)
    other = jitter(rng, base, 35)
    floor = float(rng.uniform(0.62, 0.86))
    frames: list[tuple[float, float, float, float]] = []
    colors = [base, other]
    if kind == "room":
        colors.append(jitter(rng, (150, 110, 75), 30))  # wooden floor
        colors.append(jitter(rng, (235, 235, 230), 12))  # baseboard / window light
        for _ in range(int(rng.integers(0, 3))):
            w, h = rng.uniform(0.12, 0.3), rng.uniform(0.12, 0.3)
            x0 = rng.uniform(-0.05, 1.0 - w * 0.5)
            y0 = rng.uniform(0.06, max(floor - h - 0.1, 0.07))
            frames.append((float(x0), float(y0), float(x0 + w), float(y0 + h)))
    if kind == "plaster":
        colors = [jitter(rng, base, 10), jitter(rng, base, 25)]
    return Background(kind, tuple(colors), floor, tuple(frames), int(rng.integers(2**31)))


def _arm(rng: np.random.Generator, pose: str) -> tuple[float, float]:
    d = np.radians
    if pose == "down":
        return float(d(rng.uniform(4, 12))), float(d(rng.uniform(-4, 10)))
    if pose == "out":
        return float(d(rng.uniform(20, 42))), float(d(rng.uniform(-12, 20)))
    if pose == "hip":
        return float(d(rng.uniform(30, 48))), float(rng.uniform(-0.5, 0.5))
    return float(d(rng.uniform(-4, 6))), float(rng.uniform(-0.5, 0.5))  # front


def random_person(rng: np.random.Generator) -> Person:
    """Draw a person, a pose, a light and a background."""
    tone = rng.uniform(0, len(SKIN_TONES) - 1)
    i = int(tone)
    f = tone - i
    skin = np.add(np.multiply(SKIN_TONES[i], 1 - f), np.multiply(SKIN_TONES[min(i + 1, len(SKIN_TONES) - 1)], f))
    skin = jitter(rng, skin, 6)
    hair = jitter(rng, HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))], 10)
    style = HAIR_STYLES[choice_p(rng, _HAIR_CDF)]
    lip = jitter(rng, np.multiply(skin, (0.78, 0.55, 0.55)) + (30, 0, 5), 8)
    shoes = jitter(rng, [(30, 30, 30), (240, 240, 240), (110, 70, 40), (60, 60, 80)][int(rng.integers(4))], 10)
    p = rng.random()
    poses = []
    for _ in range(2):
        poses.append(ARM_POSES[choice_p(rng, _POSE_CDF)])
    if poses[0] == poses[1] == "front" and p < 0.7:
        poses[1] = "down"
    a0, e0 = _arm(rng, poses[0])
    a1, e1 = _arm(rng, poses[1])
    # mostly full-length shots, a quarter closer three-quarter shots (head to thighs or knees)
    height = float(rng.uniform(0.8, 1.1) if rng.random() < 0.75 else rng.uniform(1.1, 1.5))
    light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.7, -0.15), rng.uniform(0.6, 1.0)])
    light /= np.linalg.norm(light)
    long_hair = style == "long"
    return Person(
        skin=skin, hair_color=hair, hair_style=style, lip=lip, shoes=shoes,
        masculinity=float(rng.uniform(0, 1)), weight=float(rng.uniform(0.85, 1.28)),
        head=float(rng.uniform(0.122, 0.142)), neck=float(rng.uniform(0.028, 0.045)),
        legs=float(rng.uniform(0.96, 1.04)), height=height,
        top=float(rng.uniform(0.025, 0.075)), cx=float(0.5 + rng.uniform(-0.1, 0.1)),
        lean=float(np.radians(rng.uniform(-3.5, 3.5))), turn=float(rng.uniform(-1, 1) * rng.random()),
        arm_pose=(poses[0], poses[1]), arm_angle=(a0, a1), elbow=(e0, e1),
        leg_spread=(float(np.radians(rng.uniform(0.5, 6))), float(np.radians(rng.uniform(0.5, 6)))),
        hair_len=float(rng.uniform(0.3, 1.0)),
        front_strands=(bool(long_hair and rng.random() < 0.5), bool(long_hair and rng.random() < 0.5)),
        light=(float(light[0]), float(light[1]), float(light[2])),
        background=_background(rng),
    )  # fmt: skip


@dataclass
class Limb:
    """A chain of joints with a radius at each; pixel body-frame coordinates."""

    joints: np.ndarray  # (k, 2)
    radii: np.ndarray  # (k,)


@dataclass
class Body:
    """Pixel geometry of a person at one image size, in the body frame (see module doc)."""

    size: tuple[int, int]
    P: float  # body height in pixels
    origin: np.ndarray  # image position of the body-frame origin
    lean: float
    turn: float
    levels: dict[str, float]  # y of named levels in the body frame
    widths: dict[str, float]  # half-widths in pixels
    side_scale: tuple[float, float]  # width multipliers of the viewer's left / right side
    centre: float  # x of the sternum line (shifts with the turn)
    arms: tuple[Limb, Limb]  # shoulder, elbow, wrist (viewer's left, right)
    hands: tuple[np.ndarray, np.ndarray]  # hand direction unit vectors
    legs: tuple[Limb, Limb]  # hip joint, knee, calf, ankle
    head_c: np.ndarray
    head_r: tuple[float, float]
    face_shift: float
    light: np.ndarray

    def __post_init__(self):
        c, s = float(np.cos(self.lean)), float(np.sin(self.lean))
        self._rt = np.array([[c, s], [-s, c]])  # row vectors: p @ _rt rotates by lean
        self._cs = (np.float32(c), np.float32(s))
        self._o32 = (np.float32(self.origin[0]), np.float32(self.origin[1]))

    def to_image(self, pts: np.ndarray) -> np.ndarray:
        """Body-frame points (k, 2) to image pixel coordinates."""
        return np.asarray(pts, dtype=np.float64) @ self._rt + self.origin

    def to_body(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel coordinates (arrays) to body-frame coordinates (float32)."""
        c, s = self._cs
        dx = X - self._o32[0]
        dy = Y - self._o32[1]
        return dx * c + dy * s, dy * c - dx * s


def build_body(person: Person, size: tuple[int, int]) -> Body:
    """Lay ``person`` out in pixels for an image of ``size`` = (H, W)."""
    H, W = size
    P = person.height * H
    g, wgt = person.masculinity, person.weight
    head = person.head
    chin = head
    neck_base = chin + person.neck
    sh = neck_base + 0.022
    legf = person.legs
    hip = 0.485
    lv = {
        "top": 0.0, "chin": chin, "neck_base": neck_base, "shoulder": sh, "armpit": sh + 0.07,
        "chest": sh + 0.095, "waist": 0.385 + 0.01 * (1 - legf) * 5, "hip": hip, "crotch": hip + 0.04,
        "knee": hip + (0.73 - hip) * legf, "ankle": hip + (0.955 - hip) * legf, "sole": hip + (1.0 - hip) * legf,
    }  # fmt: skip
    levels = {k: (v - hip) * P for k, v in lv.items()}
    wd = {
        "neck": (0.029 + 0.008 * g) * wgt**0.5,
        "shoulder": (0.097 + 0.027 * g) * (0.88 + 0.12 * wgt),
        "chest": (0.084 + 0.016 * g) * wgt**0.85,
        "waist": (0.064 + 0.018 * g) * wgt,
        "hip": (0.097 - 0.008 * g) * wgt**0.9,
        "arm": 0.029 * wgt**0.6,
        "elbow": 0.021 * wgt**0.5,
        "wrist": 0.016 * wgt**0.3,
        "thigh": (0.05 - 0.004 * g) * wgt**0.8,
        "knee": 0.032 * wgt**0.5,
        "calf": 0.035 * wgt**0.6,
        "ankle": 0.019,
    }
    widths = {k: v * P for k, v in wd.items()}
    t = person.turn
    side_scale = (1 - 0.16 * max(0.0, -t) + 0.04 * max(0.0, t), 1 - 0.16 * max(0.0, t) + 0.04 * max(0.0, -t))
    centre = 0.28 * t * widths["chest"]
    origin = np.array([person.cx * W, (person.top + hip * person.height) * H])

    arms = []
    hands = []
    for k, sign in enumerate((-1, 1)):
        m = side_scale[k]
        r = widths["arm"]
        A = np.array([sign * (widths["shoulder"] * m - 0.55 * r), levels["shoulder"] + 0.75 * r])
        L1, L2 = 0.172 * P, 0.148 * P
        pose = person.arm_pose[k]
        a = person.arm_angle[k]
        if pose in ("down", "out"):  # keep hanging arms clear of the hips
            clear = widths["hip"] * m + widths["elbow"] * 0.9 - abs(A[0])
            a = max(a, float(np.arctan2(clear, levels["hip"] - A[1])))
        d1 = np.array([sign * np.sin(a), np.cos(a)])
        E = A + L1 * d1
        if pose in ("down", "out"):
            b = a + person.elbow[k]
            if pose == "down":
                clear = widths["hip"] * m + widths["wrist"] * 1.2 - abs(E[0])
                b = max(b, float(np.arctan2(clear, levels["crotch"] + 0.05 * P - E[1])))
            d2 = np.array([sign * np.sin(b), np.cos(b)])
            Wr = E + L2 * d2
        else:
            if pose == "hip":
                target = np.array(
                    [sign * widths["waist"] * m * 1.05, levels["waist"] + (0.5 + 0.3 * person.elbow[k]) * 0.06 * P]
                )
            else:  # front: the hand rests on the belly
                target = np.array(
                    [centre - sign * (0.02 + 0.02 * person.elbow[k]) * P, levels["waist"] + 0.04 * person.elbow[k] * P]
                )
            v = target - E
            dist = float(np.hypot(*v))
            d2 = v / max(dist, 1e-6)
            Wr = E + min(L2, dist) * d2
        arms.append(Limb(np.stack([A, E, Wr]), np.array([r, widths["elbow"], widths["wrist"]])))
        hands.append(d2)

    legs = []
    for k, sign in enumerate((-1, 1)):
        m = side_scale[k]
        J = np.array([sign * (widths["hip"] * m - widths["thigh"] * 0.92), 0.012 * P])
        b = person.leg_spread[k]
        Ly = levels["ankle"] - J[1]
        d = np.array([sign * np.sin(b), np.cos(b)])
        Kn = J + d * (levels["knee"] - J[1]) / np.cos(b)
        Kn[0] -= sign * 0.006 * P
        An = J + d * Ly / np.cos(b)
        Ca = Kn + (An - Kn) * 0.28
        legs.append(
            Limb(np.stack([J, Kn, Ca, An]), np.array([widths["thigh"], widths["knee"], widths["calf"], widths["ankle"]]))
        )

    rx, ry = head * P * 0.385, head * P * 0.5
    head_c = np.array([centre * 0.6, levels["top"] + ry])
    return Body(
        size=(H, W), P=P, origin=origin, lean=person.lean, turn=t, levels=levels, widths=widths,
        side_scale=side_scale, centre=centre, arms=(arms[0], arms[1]), hands=(hands[0], hands[1]),
        legs=(legs[0], legs[1]), head_c=head_c, head_r=(rx, ry), face_shift=0.3 * t * rx,
        light=np.asarray(person.light, dtype=np.float32),
    )  # fmt: skip


def torso_profile(body: Body) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bare torso's outline as (y, left half-width, right half-width) samples."""
    lv, wd = body.levels, body.widths
    ys = np.array([lv["shoulder"], lv["armpit"], lv["chest"], lv["waist"], lv["hip"], lv["crotch"]])
    hw = np.array(
        [wd["shoulder"] - 0.4 * wd["arm"], wd["chest"] * 1.0, wd["chest"], wd["waist"], wd["hip"], wd["hip"] * 0.97]
    )
    return ys, hw * body.side_scale[0], hw * body.side_scale[1]
