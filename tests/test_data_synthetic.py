"""The synthetic try-on world: determinism, sample contents, and 'only the garment changes'."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image, ImageFilter

from models.data import CATEGORIES, SyntheticWorld, TryOnSample
from models.data.synthetic import GARMENT_KINDS, TEXTURE_KINDS, random_garment, random_person
from models.data.synthetic.render import GarmentLayers, PersonScene, composite, prepare, render_flat
from models.data.synthetic.textures import font, make_texture, random_texture
from models.data.synthetic.world import render_views

SIZE = (128, 96)


def _arrays(s: TryOnSample) -> list[np.ndarray]:
    return [s.person, s.garment, s.target, s.garment_worn, s.target_mask, s.person_mask]


def _same(a: TryOnSample, b: TryOnSample) -> bool:
    return a.id == b.id and a.category == b.category and all(
        x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(_arrays(a), _arrays(b), strict=True)
    )


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    img = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(2 * px + 1))
    return np.asarray(img) > 0


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return SyntheticWorld(seed=11, size=SIZE, n=9)


@pytest.fixture(scope="module")
def samples(world) -> list[TryOnSample]:
    return list(world)


def test_same_seed_index_and_size_give_identical_samples_in_any_order(samples):
    again = SyntheticWorld(seed=11, size=SIZE, n=9)
    for i in reversed(range(len(samples))):  # reversed order, a fresh world: same bytes
        assert _same(again[i], samples[i]), f"sample {i} differs"


def test_other_seed_or_index_gives_other_samples(samples):
    other = SyntheticWorld(seed=12, size=SIZE, n=9)[0]
    assert not np.array_equal(other.person, samples[0].person)
    assert not np.array_equal(samples[0].person, samples[3].person)  # same category, other index


def test_sample_fields_types_and_categories(samples):
    for i, s in enumerate(samples):
        assert s.category == CATEGORIES[i % 3]
        assert not s.paired
        for img in (s.person, s.garment, s.target, s.garment_worn):
            assert img.shape == (*SIZE, 3) and img.dtype == np.uint8
        for m in (s.person_mask, s.target_mask):
            assert m.shape == SIZE and m.dtype == bool
            assert 0.005 < m.mean() < 0.6, "a garment covers a sensible part of the portrait"


def test_only_the_garment_of_the_category_changes(world):
    """person and target share person, pose, background and the other garment exactly:
    a pixel may differ only where garment A or B covers some of it (even a sliver at the
    anti-aliased edge of an arm in front)."""
    for i in range(len(world)):
        v = render_views(world.spec(i), SIZE)
        changed = np.abs(v.person - v.target).max(axis=0) > 1e-5  # float32 blending is not exact
        assert changed.mean() > 0.01, "A and B must look different"
        outside = changed & (v.visible_a == 0) & (v.visible_b == 0)
        assert outside.sum() == 0, f"sample {i}: {outside.sum()} pixels changed where neither garment is"


def test_masks_mark_the_changed_pixels(samples):
    """The stored masks (coverage > 1/2) account for all but the faintest edge pixels."""
    for s in samples:
        changed = np.any(s.person != s.target, axis=2)
        outside = changed & ~_dilate(s.person_mask | s.target_mask, 1)
        assert outside.mean() < 0.003, f"{s.id}: {outside.sum()} changed pixels away from the masks"


def test_product_shots_are_on_a_light_background(samples):
    for s in samples:
        for g in (s.garment, s.garment_worn):
            corners = np.concatenate([g[:4, :4].reshape(-1, 3), g[-4:, -4:].reshape(-1, 3)])
            assert corners.min() > 180
            assert (g.min(axis=2) < 170).mean() > 0.05 or g.std() > 10, "the garment is visible"


def test_worn_garment_shows_the_flat_garments_colour():
    rng = np.random.default_rng(3)
    person = random_person(rng)
    person = dataclasses.replace(person, arm_pose=("down", "down"))
    for cat in CATEGORIES:
        g = random_garment(rng, cat, fabric="solid")
        flat = render_flat(g, (256, 192))
        scene = PersonScene(person, (256, 192))
        img, vis = scene.dress({cat: scene.garment(g)}, track=cat)
        worn = img[:, vis > 0.9].mean(axis=1)
        colour = np.asarray(g.texture.colors[0]) / 255
        assert np.abs(worn - colour).max() < 0.25, (cat, worn, colour)
        assert np.abs(flat[:, flat.shape[1] // 2, flat.shape[2] // 2] - colour).max() < 0.2


def test_arms_in_front_occlude_the_garment():
    person = random_person(np.random.default_rng(5))
    person = dataclasses.replace(person, arm_pose=("front", "hip"), arm_angle=(0.0, 0.7), elbow=(0.0, 0.0))
    g = random_garment(np.random.default_rng(6), "upper", "tank")
    scene = PersonScene(person, (256, 192))
    layers = scene.garment(g)
    _, vis = scene.dress({"upper": layers}, track="upper")
    coverage = np.zeros((3, 256, 192), np.float32)
    for layer in layers.inner + layers.main + layers.sleeves:
        composite(coverage, layer._replace(rgb=np.ones((3, 1, 1), np.float32)))
    hidden = (coverage[0] > 0.5) & (vis < 0.5)
    assert hidden.sum() > 100, "the forearm across the belly hides part of the top"


@pytest.mark.parametrize("size", [(64, 48), (256, 192), (512, 384), (1024, 768)])
def test_renders_at_any_portrait_size(size):
    s = SyntheticWorld(1, size, 1).sample(0)
    assert s.person.shape == (*size, 3) and s.target_mask.shape == size


@pytest.mark.parametrize("size", [(32, 24), (100, 200), (192, 256)])
def test_rejects_tiny_or_landscape_sizes(size):
    with pytest.raises(ValueError):
        SyntheticWorld(0, size)


def test_world_is_a_sequence():
    w = SyntheticWorld(0, SIZE, n=4)
    assert len(w) == 4
    assert _same(w[-1], w[3])
    assert [s.id for s in w[1:3]] == [w[1].id, w[2].id]
    with pytest.raises(IndexError):
        w[4]
    assert w.sample(10).id.endswith("000010")  # indices beyond n still render
    with pytest.raises(ValueError):
        SyntheticWorld(0, SIZE, categories=("shoes",))
    assert {w2.category for w2 in SyntheticWorld(0, SIZE, 4, categories=("dress",))} == {"dress"}


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
def test_every_fabric_renders(kind):
    for cat in CATEGORIES:
        spec = random_texture(np.random.default_rng(1), cat, kind)
        tex = make_texture(spec, 60, 80, panel_x0=10, panel_w=60)
        assert tex.shape == (3, 60, 80) and tex.dtype == np.float32
        assert 0.0 <= tex.min() and tex.max() <= 1.06  # weave grain may brighten slightly
    if kind != "solid":
        assert tex.std() > 0.005


def test_every_garment_kind_renders_flat_and_worn():
    rng = np.random.default_rng(2)
    scene = PersonScene(random_person(rng), SIZE)
    for cat, kinds in GARMENT_KINDS.items():
        for kind in kinds:
            g = random_garment(rng, cat, kind)
            prepared = prepare(g, SIZE)
            assert render_flat(g, SIZE, prepared).shape == (3, *SIZE)
            layers = scene.garment(g, prepared)
            assert isinstance(layers, GarmentLayers) and layers.main
            assert bool(layers.sleeves) == (g.sleeve > 0)


def test_prints_use_the_bundled_font():
    f = font(20)
    assert "DejaVuSans" in f.path
