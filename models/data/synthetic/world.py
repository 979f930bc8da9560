"""The synthetic try-on world: deterministic unpaired triplets with ground truth."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..sample import CATEGORIES, TryOnSample
from .garments import Garment, random_garment
from .people import Person, random_person
from .render import PersonScene, prepare, render_flat, render_flat_uint8

OTHER = {"upper": "lower", "lower": "upper", "dress": None}


@dataclass(frozen=True)
class SampleSpec:
    """Everything random about one sample; rendering it at any size is deterministic."""

    index: int
    category: str
    person: Person
    garment_a: Garment  # worn in ``person``
    garment_b: Garment  # worn in ``target``
    other: Garment | None  # the other garment both wear (lower under a top, top over a lower)


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    H, W = (int(v) for v in size)
    if H < 64 or W < 48:
        raise ValueError(f"size {H}x{W} is too small; the smallest is 64x48")
    if not 1.0 <= H / W <= 1.7:
        raise ValueError(f"size {H}x{W} is not a portrait near 4:3 (height x width)")
    return H, W


class SyntheticWorld(Sequence[TryOnSample]):
    """``n`` deterministic samples of the synthetic try-on world at ``size`` = (H, W).

    Sample ``i`` depends only on (``seed``, ``i``, ``size``): its RNG is spawned from
    ``SeedSequence(seed, spawn_key=(i,))``, so any order, any worker and any slice gives
    byte-identical arrays. Categories cycle through ``categories`` by index.
    """

    def __init__(
        self, seed: int = 0, size: tuple[int, int] = (256, 192), n: int = 1000, categories=CATEGORIES
    ):
        self.seed = int(seed)
        self.size = check_size(size)
        self.n = int(n)
        self.categories = tuple(categories)
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
        rng = self.rng(index)
        category = self.categories[index % len(self.categories)]
        person = random_person(rng)
        a = random_garment(rng, category)
        b = random_garment(rng, category)
        other = OTHER[category]
        return SampleSpec(index, category, person, a, b, random_garment(rng, other) if other else None)

    def sample(self, index: int) -> TryOnSample:
        """Render sample ``index`` (any index >= 0, also beyond ``n``)."""
        return render_sample(self.spec(index), self.size, f"synth-{self.seed}-{index:06d}")


class Views(NamedTuple):
    """The float renders of one sample: images (3, H, W) in [0, 1], coverage (H, W)."""

    person: np.ndarray  # wearing A
    target: np.ndarray  # wearing B
    flat_a: np.ndarray
    flat_b: np.ndarray
    visible_a: np.ndarray  # how much of each pixel garment A covers in ``person``
    visible_b: np.ndarray  # the same for B in ``target``


def _outfits(spec: SampleSpec, size: tuple[int, int]):
    """The scene, both garments' prepared textures (shared by flat and worn renders) and
    the two outfits: the same other garment, with A or B in the sample's category."""
    scene = PersonScene(spec.person, size)
    prep_a, prep_b = prepare(spec.garment_a, size), prepare(spec.garment_b, size)
    outfit = {} if spec.other is None else {spec.other.category: scene.garment(spec.other)}
    outfit_a = {**outfit, spec.category: scene.garment(spec.garment_a, prep_a)}
    outfit_b = {**outfit, spec.category: scene.garment(spec.garment_b, prep_b)}
    return scene, prep_a, prep_b, outfit_a, outfit_b


def render_views(spec: SampleSpec, size: tuple[int, int]) -> Views:
    """Render a ``SampleSpec`` at ``size`` (floats, before quantisation)."""
    scene, prep_a, prep_b, outfit_a, outfit_b = _outfits(spec, size)
    img_a, vis_a = scene.dress(outfit_a, track=spec.category)
    img_b, vis_b = scene.dress(outfit_b, track=spec.category)
    flat_a = render_flat(spec.garment_a, size, prep_a)
    flat_b = render_flat(spec.garment_b, size, prep_b)
    return Views(img_a, img_b, flat_a, flat_b, vis_a, vis_b)


def render_sample(spec: SampleSpec, size: tuple[int, int], sample_id: str) -> TryOnSample:
    """Render a ``SampleSpec`` at ``size``: person wearing A, flat B, person wearing B, masks
    (where the garment covers at least half of a pixel, after arms and hair).

    Byte-identical to quantising ``render_views``, but floats are only computed where the
    two people (or a product shot and its plain backdrop) differ.
    """
    scene, prep_a, prep_b, outfit_a, outfit_b = _outfits(spec, size)
    (person, mask_a), (target, mask_b) = scene.dress_uint8_many([outfit_a, outfit_b], track=spec.category)
    return TryOnSample(
        id=sample_id,
        category=spec.category,
        person=person,
        garment=render_flat_uint8(spec.garment_b, size, prep_b),
        target=target,
        garment_worn=render_flat_uint8(spec.garment_a, size, prep_a),
        target_mask=mask_b,
        person_mask=mask_a,
        paired=False,
    )


def tune_allocator(mmap_threshold_mb: int = 32, trim_threshold_mb: int = 64) -> bool:
    """Opt-in and process-wide: let glibc's ``malloc`` keep freed memory for reuse.

    Rendering allocates and frees many arrays of 0.1-3 MB per sample. With glibc's
    defaults most of them come from fresh ``mmap``s or from heap space trimmed off and
    grown again, so every sample pays thousands of page faults (about 2,600 at 512x384,
    900 at 256x192). Serving allocations below ``mmap_threshold_mb`` from the heap and
    trimming it only beyond ``trim_threshold_mb`` free removes them: about 12-15% less
    CPU time at 512x384 and 5-7% at 256x192 (docs/data.md). Outputs are unchanged; the
    cost is that the process keeps up to ``trim_threshold_mb`` of freed memory. Meant for
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
