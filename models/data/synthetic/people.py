"""People of the synthetic world: what varies (``Person``) and the pixel skeleton (``Body``).

A ``Person`` holds size-free random draws: skin, hair, body shape, pose and framing.
``build_body`` turns it into pixel geometry for one scene size. Geometry lives in a *body
frame* (origin at the centre of the hips, y down, pixels) that is leaned and placed into
the scene by ``Body.frame``; worn garments are laid out in the same frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .draws import Draws, cdf
from .geometry import Frame

# Skin tones from very light to very deep (sRGB), interpolated continuously.
SKIN_TONES = (
    (250, 222, 200), (238, 196, 170), (224, 172, 138), (200, 144, 106),
    (170, 112, 78), (134, 86, 58), (100, 64, 44), (72, 46, 32),
)  # fmt: skip
HAIR_COLOURS = (
    (18, 16, 15), (40, 28, 22), (70, 48, 32), (105, 72, 44), (150, 104, 60),
    (196, 158, 98), (224, 196, 140), (150, 62, 34), (125, 125, 125), (225, 225, 220),
)  # fmt: skip
HAIR_STYLES = ("short", "bob", "long", "bun", "buzz", "curly", "ponytail", "afro")
_HAIR_CDF = cdf((0.18, 0.15, 0.25, 0.1, 0.08, 0.08, 0.1, 0.06))
ARM_POSES = ("down", "out", "hip", "front", "raised", "behind")
_POSE_CDF = cdf((0.34, 0.2, 0.18, 0.12, 0.06, 0.1))
FRAMINGS = ("full", "three_quarter", "half")
# framing by category: a lower garment needs the legs in view
_FRAMING_CDF = {"upper": cdf((0.4, 0.25, 0.35)), "lower": cdf((0.65, 0.35, 0.0)), "dress": cdf((0.55, 0.3, 0.15))}
SHOE_COLOURS = ((30, 30, 30), (240, 240, 240), (110, 70, 40), (60, 60, 80), (150, 30, 40), (200, 180, 150))


@dataclass(frozen=True)
class Person:
    """Size-free description of one person, pose and framing."""

    skin: tuple[int, int, int]
    hair_color: tuple[int, int, int]
    hair_style: str
    lip: tuple[int, int, int]
    iris: tuple[int, int, int]
    shoes: tuple[int, int, int]
    masculinity: float  # 0..1: shoulder/hip ratio and waist
    weight: float  # width multiplier, ~0.82..1.35
    head: float  # head height / body height
    neck: float  # neck length / body height
    legs: float  # leg length factor
    framing: str  # one of FRAMINGS
    height: float  # head top to sole, as a fraction of the scene height (> 1: cut off below)
    top: float  # head top, as a fraction of the scene height
    cx: float  # horizontal centre, as a fraction of the scene width
    lean: float  # radians, about the hips
    turn: float  # -1..1: slight body turn (far side narrower, face shifted)
    arm_pose: tuple[str, str]  # viewer's left arm, viewer's right arm
    arm_angle: tuple[float, float]  # upper-arm angle from vertical, outward positive (radians)
    elbow: tuple[float, float]  # extra forearm angle (down/out poses) or target offset
    leg_spread: tuple[float, float]  # radians, outward
    hair_len: float  # long styles: how far down the strands go (0..1)
    front_strands: tuple[bool, bool]  # long hair falling in front of each shoulder


def _arm(d: Draws, pose: str) -> tuple[float, float]:
    r = np.radians
    if pose == "down":
        return float(r(d.uniform(4, 12))), float(r(d.uniform(-4, 10)))
    if pose == "out":
        return float(r(d.uniform(20, 42))), float(r(d.uniform(-12, 20)))
    if pose == "hip":
        return float(r(d.uniform(30, 48))), d.uniform(-0.5, 0.5)
    if pose == "raised":  # the hand goes to the back of the head
        return float(r(d.uniform(118, 150))), d.uniform(-0.5, 0.5)
    if pose == "behind":  # the forearm goes behind the back
        return float(r(d.uniform(6, 16))), d.uniform(-0.5, 0.5)
    return float(r(d.uniform(-4, 6))), d.uniform(-0.5, 0.5)  # front: the hand rests on the belly


def random_framing(d: Draws, category: str, landscape: bool) -> tuple[str, float, float, float]:
    """(framing, height, top, cx) for a garment of ``category`` in a portrait or landscape scene."""
    framing = d.weighted(FRAMINGS, _FRAMING_CDF[category])
    lo, hi = {"full": (0.78, 0.93), "three_quarter": (1.15, 1.5), "half": (1.75, 2.3)}[framing]
    if landscape:  # the short side is the height: people are framed a little looser
        lo, hi = lo * 0.94, hi * 0.92
    height = d.uniform(lo, hi)
    top = d.uniform(0.03, 0.09) if framing == "full" else d.uniform(0.03, 0.12)
    cx = d.uniform(0.28, 0.72) if landscape else 0.5 + d.uniform(-0.09, 0.09)
    return framing, height, top, cx


def random_person(d: Draws, category: str = "upper", landscape: bool = False) -> Person:
    """Draw a person, a pose and a framing suited to showing a garment of ``category``."""
    tone = d.uniform(0, len(SKIN_TONES) - 1)
    i = int(tone)
    f = tone - i
    j = min(i + 1, len(SKIN_TONES) - 1)
    skin = d.jitter([a * (1 - f) + b * f for a, b in zip(SKIN_TONES[i], SKIN_TONES[j], strict=True)], 6)
    hair = d.jitter(d.choice(HAIR_COLOURS), 10)
    style = d.weighted(HAIR_STYLES, _HAIR_CDF)
    lip = d.jitter((skin[0] * 0.78 + 30, skin[1] * 0.55, skin[2] * 0.55 + 5), 8)
    iris = d.jitter(d.choice(((40, 26, 18), (70, 45, 25), (60, 90, 110), (70, 95, 60))), 8)
    shoes = d.jitter(d.choice(SHOE_COLOURS), 10)
    poses = [d.weighted(ARM_POSES, _POSE_CDF) for _ in range(2)]
    if poses[0] == poses[1] == "front" and d.chance(0.7):
        poses[1] = "down"
    if poses[0] == poses[1] == "raised":
        poses[1] = "hip"
    a0, e0 = _arm(d, poses[0])
    a1, e1 = _arm(d, poses[1])
    framing, height, top, cx = random_framing(d, category, landscape)
    long_hair = style == "long"
    return Person(
        skin=skin, hair_color=hair, hair_style=style, lip=lip, iris=iris, shoes=shoes,
        masculinity=d.random(), weight=d.uniform(0.82, 1.35),
        head=d.uniform(0.122, 0.142), neck=d.uniform(0.028, 0.045), legs=d.uniform(0.96, 1.04),
        framing=framing, height=height, top=top, cx=cx,
        lean=float(np.radians(d.uniform(-3.5, 3.5))), turn=d.uniform(-1, 1) * d.random(),
        arm_pose=(poses[0], poses[1]), arm_angle=(a0, a1), elbow=(e0, e1),
        leg_spread=(float(np.radians(d.uniform(0.5, 6))), float(np.radians(d.uniform(0.5, 6)))),
        hair_len=d.uniform(0.3, 1.0),
        front_strands=(long_hair and d.chance(0.5), long_hair and d.chance(0.5)),
    )  # fmt: skip


@dataclass
class Limb:
    """A chain of joints with a radius at each; body-frame pixels."""

    joints: np.ndarray  # (k, 2)
    radii: np.ndarray  # (k,)


@dataclass
class Body:
    """Pixel geometry of a person at one scene size, in the body frame (see module doc)."""

    size: tuple[int, int]
    P: float  # body height in pixels
    frame: Frame  # body frame → scene pixels
    levels: dict[str, float]  # y of named levels in the body frame
    widths: dict[str, float]  # half-widths in pixels
    side_scale: tuple[float, float]  # width multipliers of the viewer's left / right side
    centre: float  # x of the sternum line (shifts with the turn)
    arms: tuple[Limb, Limb]  # shoulder, elbow, wrist (viewer's left, right)
    hands: tuple[np.ndarray, np.ndarray]  # hand direction unit vectors
    behind: tuple[bool, bool]  # arms behind the back: drawn before the torso
    legs: tuple[Limb, Limb]  # hip joint, knee, calf, ankle
    head_c: np.ndarray
    head_r: tuple[float, float]
    face_shift: float


def build_body(person: Person, size: tuple[int, int]) -> Body:
    """Lay ``person`` out in pixels for a scene of ``size`` = (H, W)."""
    H, W = size
    P = person.height * H
    g, wgt = person.masculinity, person.weight
    chin = person.head
    neck_base = chin + person.neck
    sh = neck_base + 0.022
    legf = person.legs
    hip = 0.485
    lv = {
        "top": 0.0, "chin": chin, "neck_base": neck_base, "shoulder": sh, "armpit": sh + 0.07,
        "chest": sh + 0.095, "waist": 0.385 + 0.05 * (1 - legf), "hip": hip, "crotch": hip + 0.04,
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
    frame = Frame((person.cx * W, (person.top + hip * person.height) * H), person.lean)
    rx, ry = person.head * P * 0.385, person.head * P * 0.5
    head_c = np.array([centre * 0.6, levels["top"] + ry])

    arms, hands = [], []
    for k, sign in enumerate((-1, 1)):
        m = side_scale[k]
        r = widths["arm"]
        A = np.array([sign * (widths["shoulder"] * m - 0.55 * r), levels["shoulder"] + 0.75 * r])
        L1, L2 = 0.172 * P, 0.148 * P
        pose = person.arm_pose[k]
        a = person.arm_angle[k]
        if pose in ("down", "out", "behind"):  # keep hanging arms clear of the hips
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
            elif pose == "raised":
                target = head_c + np.array([sign * rx * (0.3 + 0.2 * person.elbow[k]), -0.45 * ry])
            elif pose == "behind":
                target = np.array([centre - sign * 0.02 * P, levels["waist"] + (0.04 + 0.02 * person.elbow[k]) * P])
            else:  # front
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
        d = np.array([sign * np.sin(b), np.cos(b)])
        Kn = J + d * (levels["knee"] - J[1]) / np.cos(b)
        Kn[0] -= sign * 0.006 * P
        An = J + d * (levels["ankle"] - J[1]) / np.cos(b)
        Ca = Kn + (An - Kn) * 0.28
        legs.append(
            Limb(np.stack([J, Kn, Ca, An]), np.array([widths["thigh"], widths["knee"], widths["calf"], widths["ankle"]]))
        )

    return Body(
        size=(H, W), P=P, frame=frame, levels=levels, widths=widths, side_scale=side_scale, centre=centre,
        arms=(arms[0], arms[1]), hands=(hands[0], hands[1]),
        behind=(person.arm_pose[0] == "behind", person.arm_pose[1] == "behind"),
        legs=(legs[0], legs[1]), head_c=head_c, head_r=(rx, ry), face_shift=0.3 * t * rx,
    )  # fmt: skip


def torso_profile(body: Body) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bare torso's outline as (y, left half-width, right half-width) samples."""
    lv, wd = body.levels, body.widths
    ys = np.array([lv["shoulder"], lv["armpit"], lv["chest"], lv["waist"], lv["hip"], lv["crotch"]])
    hw = np.array(
        [wd["shoulder"] - 0.4 * wd["arm"], wd["chest"] * 1.0, wd["chest"], wd["waist"], wd["hip"], wd["hip"] * 0.97]
    )
    return ys, hw * body.side_scale[0], hw * body.side_scale[1]
