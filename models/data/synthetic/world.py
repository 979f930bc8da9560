"""The synthetic try-on world: deterministic unpaired triplets with ground truth."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..sample import CATEGORIES, TryOnSample
from .backgrounds import Backdrop, random_backdrop, render_backdrop
from .camera import Photo, develop, develop_region, fit, fit_coverage, random_photo
from .correspondence import garment_flow
from .draws import Draws
from .fabric import Prepared, worn_fabric
from .garments import Garment, random_garment
from .people import Person, random_person
from .product import ProductShot, product_layout, random_product_shot, render_product
from .raster import draw_all, parts_box, resolve, supersampling
from .render import GarmentParts, Light, PersonScene, random_light

OTHER = {"upper": "lower", "lower": "upper", "dress": None}
LANDSCAPE = 0.15  # the share of landscape photos
ASPECTS = (4 / 3, 3 / 2, 16 / 9)


@dataclass(frozen=True)
class SampleSpec:
    """Everything random about one sample; rendering it at any size is deterministic."""

    index: int
    category: str
    person: Person
    garment_a: Garment  # worn in ``person``
    garment_b: Garment  # worn in ``target``
    other: Garment | None  # the other garment both wear (lower under a top, top over a lower)
    backdrop: Backdrop
    light: Light
    photo: Photo  # the portrait's camera, the same for person and target
    landscape: float | None  # width / height of a landscape photo (fitted into the canvas); None: portrait
    zoom: float  # a landscape photo's resolution over its fitted size (>= 1: the fit scales it down)
    shot_a: ProductShot  # the product photo of A (``garment_worn``)
    shot_b: ProductShot  # the product photo of B (``garment``)


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    H, W = (int(v) for v in size)
    if H < 64 or W < 48:
        raise ValueError(f"size {H}x{W} is too small; the smallest is 64x48")
    if not 1.0 <= H / W <= 1.7:
        raise ValueError(f"size {H}x{W} is not a portrait near 4:3 (height x width)")
    return H, W


def random_spec(d: Draws, index: int, category: str) -> SampleSpec:
    """Draw sample ``index`` of ``category``."""
    landscape = d.choice(ASPECTS) if d.chance(LANDSCAPE) else None
    zoom = d.uniform(1.15, 1.6) if landscape and d.chance(0.5) else 1.0
    person = random_person(d, category, landscape is not None)
    a = random_garment(d, category)
    b = random_garment(d, category)
    other = OTHER[category]
    return SampleSpec(
        index=index, category=category, person=person, garment_a=a, garment_b=b,
        other=random_garment(d, other) if other else None, backdrop=random_backdrop(d), light=random_light(d),
        photo=random_photo(d), landscape=landscape, zoom=zoom,
        shot_a=random_product_shot(d), shot_b=random_product_shot(d),
    )  # fmt: skip


class SyntheticWorld(Sequence[TryOnSample]):
    """``n`` deterministic samples of the synthetic try-on world at ``size`` = (H, W).

    Sample ``i`` depends only on (``seed``, ``i``, ``size``): its random draws come from
    ``SeedSequence(seed, spawn_key=(i,))``, so any order, any worker and any slice gives
    byte-identical arrays. Categories cycle through ``categories`` by index. With
    ``garment_worn=False`` the product photo of A is not rendered (``garment_worn`` is
    None; everything else is the same): about a seventh of the work, for trainers that
    never read it. With ``flow=True`` each sample also carries ``target_flow`` (and, with
    ``garment_worn``, ``person_flow``): where each worn garment pixel is in its product
    photo (``correspondence.garment_flow``); the images are the same either way.
    """

    def __init__(
        self, seed: int = 0, size: tuple[int, int] = (256, 192), n: int = 1000, categories=CATEGORIES,
        garment_worn: bool = True, flow: bool = False,
    ):  # fmt: skip
        self.seed = int(seed)
        self.size = check_size(size)
        self.n = int(n)
        self.categories = tuple(categories)
        self.garment_worn = bool(garment_worn)
        self.flow = bool(flow)
        bad = [c for c in self.categories if c not in CATEGORIES]
        if bad or not self.categories:
            raise ValueError(f"categories must be a non-empty subset of {CATEGORIES}, got {categories!r}")

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.sample(i) for i in range(*index.indices(self.n))]
        i = int(index)
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(f"sample {index} out of range for {self.n} samples")
        return self.sample(i)

    def __iter__(self) -> Iterator[TryOnSample]:
        for i in range(self.n):
            yield self.sample(i)

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(int(index),)))

    def spec(self, index: int) -> SampleSpec:
        """The random draws of sample ``index`` (any index >= 0, also beyond ``n``)."""
        if index < 0:
            raise IndexError("sample indices are >= 0")
        return random_spec(Draws(self.rng(index)), int(index), self.categories[index % len(self.categories)])

    def sample(self, index: int) -> TryOnSample:
        """Render sample ``index`` (any index >= 0, also beyond ``n``)."""
        return render_sample(self.spec(index), self.size, f"synth-{self.seed}-{index:06d}", self.garment_worn, self.flow)


def scene_size(spec: SampleSpec, canvas: tuple[int, int]) -> tuple[int, int]:
    """The portrait's own size: the canvas, or a landscape photo that the fit scales to the
    canvas's width (``zoom`` times larger than that)."""
    H, W = canvas
    if spec.landscape is None:
        return H, W
    return max(16, round(W / spec.landscape * spec.zoom)), max(16, round(W * spec.zoom))


class Views(NamedTuple):
    """One sample's two scenes before the camera, at the scene's size."""

    person: np.ndarray  # float32 (3, h, w): the light of the person wearing A
    target: np.ndarray  # ... wearing B
    visible_a: np.ndarray  # float32 (h, w): how much of each pixel garment A covers in ``person``
    visible_b: np.ndarray  # the same for B in ``target``
    changed: np.ndarray  # bool (h, w): the pixels that were shaded again for ``target``
    face: np.ndarray  # float32 (h, w): how much of each pixel the face (head and ears) covers in ``person``


def _feet(scene: PersonScene) -> tuple[float, float, float] | None:
    body = scene.body
    feet = [body.frame.to_image(leg.joints[-1]) for leg in body.legs]
    y = max(feet[0][1], feet[1][1]) + 0.03 * body.P
    if y > scene.size[0] + 0.02 * body.P:  # out of the frame
        return None
    return (feet[0][0] + feet[1][0]) / 2, y, abs(feet[1][0] - feet[0][0]) / 2 + 0.09 * body.P


def render_views(spec: SampleSpec, canvas: tuple[int, int], layouts: tuple[Prepared, Prepared] | None = None) -> Views:
    """Shade both scenes of ``spec``: the person wearing A, then only what changes with B."""
    size = scene_size(spec, canvas)
    H, W = size
    if layouts is None:
        layouts = product_layout(spec.garment_a, spec.shot_a, canvas), product_layout(spec.garment_b, spec.shot_b, canvas)
    scene = PersonScene(spec.person, size, spec.light)

    def dressed(g: Garment, layout: Prepared | None = None) -> GarmentParts:
        shape = scene.fit(g)
        return scene.garment(g, shape, worn_fabric(g, shape, size, layout))

    worn = {} if spec.other is None else {spec.other.category: dressed(spec.other)}
    order_a = scene.outfit({**worn, spec.category: dressed(spec.garment_a, layouts[0])})
    order_b = scene.outfit({**worn, spec.category: dressed(spec.garment_b, layouts[1])})
    parts, (map_a, map_b) = draw_all(size, supersampling(size), [order_a, order_b])
    person = render_backdrop(spec.backdrop, size, _feet(scene))
    changed = map_a.changed(map_b)
    keep = np.flatnonzero(changed)
    background = keep, np.take(person, keep, axis=1)  # the backdrop where B is shaded again
    res_a = resolve(map_a, parts, person, box=parts_box(order_a, size))  # in place: the backdrop becomes the person
    target = person.copy()
    res_b = resolve(map_b, parts, target, changed, background)
    tagged = [i + 1 for i, p in enumerate(parts) if p.tag == spec.category]
    face = [i + 1 for i, p in enumerate(parts) if p.tag == "face"]
    return Views(
        person.reshape(3, H, W), target.reshape(3, H, W), res_a.coverage(tagged, H * W).reshape(H, W),
        res_b.coverage(tagged, H * W).reshape(H, W), changed, res_a.coverage(face, H * W).reshape(H, W),
    )  # fmt: skip


def render_outfit(
    person: Person, outfit: Sequence[Garment], size: tuple[int, int], backdrop: Backdrop, light: Light
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``person`` wearing ``outfit`` (one garment per category) in front of ``backdrop``,
    before the camera: the light (3, H, W) float32 and, per category, how much of each pixel
    the garment covers as seen (after arms and hair)."""
    scene = PersonScene(person, size, light)
    worn = {}
    for g in outfit:
        shape = scene.fit(g)
        worn[g.category] = scene.garment(g, shape, worn_fabric(g, shape, size))
    parts, (pm,) = draw_all(size, supersampling(size), [scene.outfit(worn)])
    image = render_backdrop(backdrop, size, _feet(scene))
    res = resolve(pm, parts, image)
    H, W = size
    visible = {
        g.category: res.coverage([i + 1 for i, p in enumerate(parts) if p.tag == g.category], H * W).reshape(H, W)
        for g in outfit
    }
    return image.reshape(3, H, W), visible


def render_portrait(
    person: Person, outfit: Sequence[Garment], size: tuple[int, int], backdrop: Backdrop, light: Light, photo: Photo
) -> np.ndarray:
    """``render_outfit`` photographed: uint8 (H, W, 3)."""
    return develop(render_outfit(person, outfit, size, backdrop, light)[0], photo)


def render_sample(spec: SampleSpec, canvas: tuple[int, int], sample_id: str, garment_worn: bool = True,
                  flow: bool = False) -> TryOnSample:  # fmt: skip
    """Render a ``SampleSpec`` into ``canvas`` = (H, W): person wearing A, product photo of B,
    the same person wearing B, product photo of A (unless ``garment_worn`` is False), the
    masks (where the garment covers at least half of a pixel, after arms and hair) and, with
    ``flow``, the garment flows (``correspondence.garment_flow``)."""
    layouts = product_layout(spec.garment_a, spec.shot_a, canvas), product_layout(spec.garment_b, spec.shot_b, canvas)
    v = render_views(spec, canvas, layouts)
    person = develop(v.person, spec.photo)
    target = develop_region(v.target, spec.photo, person, v.changed)
    return TryOnSample(
        id=sample_id,
        category=spec.category,
        person=fit(person, canvas),
        garment=render_product(spec.garment_b, spec.shot_b, canvas, layouts[1]),
        target=fit(target, canvas),
        garment_worn=render_product(spec.garment_a, spec.shot_a, canvas, layouts[0]) if garment_worn else None,
        target_mask=fit_coverage(v.visible_b, canvas),
        person_mask=fit_coverage(v.visible_a, canvas),
        paired=False,
        face_mask=fit_coverage(v.face, canvas),
        target_flow=garment_flow(spec, canvas, "b") if flow else None,
        person_flow=garment_flow(spec, canvas, "a") if flow and garment_worn else None,
    )


def tune_allocator(mmap_threshold_mb: int = 32, trim_threshold_mb: int = 64) -> bool:
    """Opt-in and process-wide: let glibc's ``malloc`` keep freed memory for reuse.

    Rendering allocates and frees many arrays of 0.1-3 MB per sample. With glibc's
    defaults most of them come from fresh ``mmap``s or from heap space trimmed off and
    grown again, so every sample pays hundreds of page faults. Serving allocations below
    ``mmap_threshold_mb`` from the heap and trimming it only beyond ``trim_threshold_mb``
    free removes them (docs/data.md has the figures). Outputs are unchanged; the cost is
    that the process keeps up to ``trim_threshold_mb`` of freed memory. Meant for
    processes that mostly generate data (DataLoader workers, ``vton data synth``); it
    affects every allocation in the process, so it is never called implicitly. Returns
    False where the C library has no ``mallopt`` (not glibc).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold_mb << 20)) and bool(
        mallopt(M_TRIM_THRESHOLD, trim_threshold_mb << 20)
    )
