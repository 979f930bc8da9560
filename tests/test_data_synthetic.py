"""The synthetic try-on world: determinism, sample contents, variety, and 'only the garment changes'."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
from PIL import Image, ImageFilter

from engine.images import fit_image
from models.data import CATEGORIES, SyntheticWorld, TryOnSample
from models.data.synthetic import (
    BACKDROPS,
    FRAMINGS,
    GARMENT_KINDS,
    TEXTURE_KINDS,
    Draws,
    random_backdrop,
    random_garment,
    random_light,
    random_person,
    render_views,
)
from models.data.synthetic.camera import _NOISE_SEED, MCU, Photo, develop, develop_region, fit, noise_bank
from models.data.synthetic.fabric import prepare
from models.data.synthetic.product import STYLES, render_product
from models.data.synthetic.raster import draw_all, supersampling
from models.data.synthetic.render import PersonScene
from models.data.synthetic.textures import font, make_texture, random_texture
from models.data.synthetic.world import render_outfit, scene_size

SIZE = (128, 96)
CLEAN = Photo(gains=(1.0, 1.0, 1.0), contrast=0.0, gamma=1.0, vignette=0.0, blur=0.0, noise=0.0, shot=0.0, jpeg=0,
              noise_at=0)  # fmt: skip


def _draws(seed: int) -> Draws:
    return Draws(np.random.default_rng(seed))


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
    return SyntheticWorld(seed=11, size=SIZE, n=12)


@pytest.fixture(scope="module")
def samples(world) -> list[TryOnSample]:
    return list(world)


def test_same_seed_index_and_size_give_identical_samples_in_any_order(samples):
    again = SyntheticWorld(seed=11, size=SIZE, n=12)
    for i in reversed(range(len(samples))):  # reversed order, a fresh world: same bytes
        assert _same(again[i], samples[i]), f"sample {i} differs"


def test_samples_do_not_depend_on_what_the_process_rendered_before(samples):
    SyntheticWorld(seed=11, size=(1024, 768), n=1)[0]  # grows per-process caches (the noise bank)
    assert _same(SyntheticWorld(seed=11, size=SIZE, n=12)[1], samples[1])


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
            assert 0.003 < m.mean() < 0.7, "a garment covers a sensible part of the portrait"


def test_only_the_garment_of_the_category_changes_in_the_scene(world):
    """Before the camera, person and target share person, pose, background and the other
    garment exactly: a pixel may differ only where garment A or B covers some of it."""
    for i in range(len(world)):
        v = render_views(world.spec(i), SIZE)
        differs = np.any(v.person != v.target, axis=0)
        assert differs.mean() > 0.005, "A and B must look different"
        assert not (differs & ~v.changed).any(), "pixels outside the re-shaded region changed"
        assert not (v.changed & (v.visible_a == 0) & (v.visible_b == 0)).any(), f"sample {i}: changed where neither garment is"


def _touched(changed: np.ndarray, photo: Photo) -> np.ndarray:
    """The pixels a camera may change in a picture when the scene changes at ``changed``:
    the blur's reach, then every JPEG block holding one, plus the two pixels the decoder's
    chroma upsampling reads into neighbouring blocks."""
    out = _dilate(changed, int(np.ceil(photo.blur)) + 1) if photo.blur else changed.copy()
    if photo.jpeg:
        H, W = out.shape
        blocks = np.zeros((-(-H // MCU), -(-W // MCU)), bool)
        ys, xs = np.nonzero(out)
        blocks[ys // MCU, xs // MCU] = True
        out = _dilate(np.kron(blocks, np.ones((MCU, MCU), bool))[:H, :W], 2)
    return out


def test_the_photo_keeps_every_pixel_the_swap_does_not_touch(world):
    """Lighting, noise, blur and JPEG are the same on person and target: the pictures
    differ only where the garment swap reaches (through the blur and the JPEG blocks)."""
    checked = 0
    for i in range(len(world)):
        spec = world.spec(i)
        if spec.landscape:
            continue
        s = world[i]
        differs = np.any(s.person != s.target, axis=2)
        touched = _touched(render_views(spec, SIZE).changed, spec.photo)
        assert not (differs & ~touched).any(), f"sample {i}: pixels away from the swap differ"
        checked += 1
    assert checked >= 6


def test_developing_around_the_change_equals_developing_everything():
    rng = np.random.default_rng(0)
    H, W = 96, 80
    base = rng.random((3, H, W), dtype=np.float32)
    changed = np.zeros((H, W), bool)
    changed[30:52, 20:37] = True
    other = base.copy()
    other[:, changed] = rng.random((3, int(changed.sum())), dtype=np.float32)
    photos = [
        CLEAN,
        dataclasses.replace(CLEAN, noise=0.02, shot=0.02, noise_at=12345, vignette=0.3),
        dataclasses.replace(CLEAN, blur=1.6, jpeg=60, noise=0.01, noise_at=7),
        dataclasses.replace(CLEAN, jpeg=90, contrast=0.5, gamma=1.2, gains=(1.1, 1.0, 0.9)),
    ]
    for photo in photos:
        like = develop(base, photo)
        assert np.array_equal(develop_region(other, photo, like, changed), develop(other, photo)), photo


def test_masks_mark_the_changed_pixels(samples):
    """The masks (coverage >= 1/2) account for all strongly changed pixels but a JPEG halo."""
    for s in samples:
        strong = np.abs(s.person.astype(np.int16) - s.target).max(axis=2) > 48
        outside = strong & ~_dilate(s.person_mask | s.target_mask, 3)
        assert outside.mean() < 0.004, f"{s.id}: {outside.sum()} changed pixels away from the masks"


def test_landscape_photos_are_fitted_like_the_engine_fits_them():
    world = SyntheticWorld(seed=3, size=SIZE, n=200)
    index = next(i for i in range(200) if world.spec(i).landscape)
    spec = world.spec(index)
    s = world[index]
    h0, w0 = scene_size(spec, SIZE)
    h = round(h0 * min(SIZE[0] / h0, SIZE[1] / w0))
    top = (SIZE[0] - h) // 2
    for img in (s.person, s.target):  # edge-replicated bands above and below the photo
        assert (img[:top] == img[top]).all() and (img[top + h :] == img[top + h - 1]).all()
    for m in (s.person_mask, s.target_mask):
        assert not m[:top].any() and not m[top + h :].any()
    picture = np.random.default_rng(1).integers(0, 256, (72, 96, 3), dtype=np.uint8)
    assert np.array_equal(fit(picture, SIZE), fit_image(picture, SIZE)[0])  # padding only
    tall = np.random.default_rng(2).integers(0, 256, (128, 70, 3), dtype=np.uint8)
    assert np.array_equal(fit(tall, SIZE), fit_image(tall, SIZE)[0])


def test_the_world_has_variety():
    """Over a few hundred samples' draws: every framing, backdrop, fabric, product style,
    landscape photos, JPEG and blur appear; garment kinds of every category."""
    world = SyntheticWorld(seed=0, size=SIZE, n=300)
    specs = [world.spec(i) for i in range(300)]
    assert {s.person.framing for s in specs} == set(FRAMINGS)
    assert {s.backdrop.kind for s in specs} == set(BACKDROPS)
    assert {g.texture.kind for s in specs for g in (s.garment_a, s.garment_b)} == set(TEXTURE_KINDS)
    assert {sh.style for s in specs for sh in (s.shot_a, s.shot_b)} == set(STYLES)
    kinds = Counter(g.kind for s in specs for g in (s.garment_a, s.garment_b))
    assert set(kinds) == {k for ks in GARMENT_KINDS.values() for k in ks}
    assert 0.07 < sum(s.landscape is not None for s in specs) / 300 < 0.25
    assert 0.4 < sum(s.photo.jpeg > 0 for s in specs) / 300 < 0.8
    assert all(s.person.framing != "half" for s in specs if s.category == "lower")


def test_product_shots_show_the_garment_on_a_plain_backdrop(samples):
    for s in samples:
        for g in (s.garment, s.garment_worn):
            corners = np.stack([g[2, 2], g[2, -3], g[-3, 2], g[-3, -3]]).astype(int)
            assert np.ptp(corners[:2], axis=0).max() < 40, "the top corners show the same backdrop"
            centre = g[g.shape[0] // 3 : 2 * g.shape[0] // 3, g.shape[1] // 3 : 2 * g.shape[1] // 3].astype(int)
            assert np.abs(centre - corners[0]).max(axis=2).mean() > 10, "the garment is visible"


def test_worn_garment_shows_the_flat_garments_colour():
    d = _draws(3)
    person = dataclasses.replace(random_person(d, "dress"), arm_pose=("down", "down"), framing="full", height=0.85)
    backdrop, light = random_backdrop(d), random_light(d)
    for cat in CATEGORIES:
        g = random_garment(d, cat, fabric="solid")
        img, visible = render_outfit(person, [g], (256, 192), backdrop, light)
        worn = img[:, visible[cat] > 0.99].mean(axis=1)
        colour = np.asarray(g.texture.colors[0]) / 255
        assert np.abs(worn - colour).max() < 0.3, (cat, worn, colour)
        shape, fabric = prepare(g, (256, 192))
        assert np.abs(fabric.mean[:, 0] - colour).max() < 0.1


def test_arms_in_front_occlude_the_garment():
    person = dataclasses.replace(
        random_person(_draws(5)), arm_pose=("front", "hip"), arm_angle=(0.0, 0.7), elbow=(0.0, 0.0),
        framing="full", height=0.85, top=0.05,
    )  # fmt: skip
    g = random_garment(_draws(6), "upper", "tank")
    size = (256, 192)
    scene = PersonScene(person, size, random_light(_draws(7)))
    shape = scene.fit(g)
    fabric = prepare(g, size).fabric
    parts = scene.garment(g, shape, fabric)
    alone = parts.back + parts.main
    _, (pm,) = draw_all(size, supersampling(size), [alone])
    drawn = pm.silhouette()
    _, visible = render_outfit(person, [g], size, random_backdrop(_draws(8)), scene.shading.light)
    hidden = drawn & (visible["upper"] < 0.5)
    assert hidden.sum() > 100, "the forearm across the belly hides part of the top"


@pytest.mark.parametrize("size", [(64, 48), (256, 192), (512, 384), (1024, 768)])
def test_renders_at_any_portrait_size(size):
    s = SyntheticWorld(1, size, 1).sample(0)
    assert s.person.shape == (*size, 3) and s.garment.shape == (*size, 3) and s.target_mask.shape == size


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


def test_a_world_without_the_product_photo_of_a_renders_the_rest_alike(samples):
    lean = SyntheticWorld(seed=11, size=SIZE, n=12, garment_worn=False)[4]
    assert lean.garment_worn is None
    for name in ("person", "garment", "target", "person_mask", "target_mask"):
        assert np.array_equal(getattr(lean, name), getattr(samples[4], name)), name


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
def test_every_fabric_renders(kind):
    for cat in CATEGORIES:
        spec = random_texture(_draws(1), cat, kind)
        tex = make_texture(spec, 60, 80, panel_x0=10, panel_w=60)
        assert tex.shape == (3, 60, 80) and tex.dtype == np.float32
        assert 0.0 <= tex.min() and tex.max() <= 1.06  # weave grain may brighten slightly
        if kind != "solid":
            assert tex.std() > 0.005


def test_every_garment_kind_renders_flat_and_worn():
    d = _draws(2)
    scene = PersonScene(random_person(d), SIZE, random_light(d))
    for cat, kinds in GARMENT_KINDS.items():
        for kind in kinds:
            g = random_garment(d, cat, kind)
            for style in STYLES:
                shot = dataclasses.replace(SyntheticWorld(0, SIZE).spec(0).shot_a, style=style)
                assert render_product(g, shot, SIZE).shape == (*SIZE, 3)
            parts = scene.garment(g, scene.fit(g), prepare(g, SIZE).fabric)
            assert parts.main
            assert bool(parts.sleeves[0]) == (g.sleeve > 0)


def test_the_noise_bank_is_the_same_in_every_process():
    """Chunks from fixed seeds: the bank's start never depends on how much was asked for."""
    first = np.random.default_rng(np.random.SeedSequence(_NOISE_SEED, spawn_key=(0,))).standard_normal(
        1 << 20, dtype=np.float32
    )
    assert np.array_equal(noise_bank(10)[: 1 << 20], first)
    assert np.array_equal(noise_bank(5_000_000)[: 1 << 20], first)
    assert abs(float(first.std()) - 1.0) < 0.01


def test_prints_use_the_bundled_font():
    f = font(20)
    assert "DejaVuSans" in f.path
