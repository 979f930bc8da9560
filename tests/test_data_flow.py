"""The synthetic world's garment flows: where each worn garment pixel is in its product photo."""

import numpy as np
import pytest

from models.data.synthetic.correspondence import flow_mask, garment_flow, warp
from models.data.synthetic.world import SyntheticWorld


@pytest.fixture(scope="module")
def samples():
    world = SyntheticWorld(seed=11, size=(256, 192), n=16, flow=True)
    return world, [world[i] for i in range(16)]


def _pairs(s):
    yield s.target_flow, s.garment, s.target, s.target_mask
    yield s.person_flow, s.garment_worn, s.person, s.person_mask


def test_flow_leaves_the_images_as_they_were_and_is_deterministic(samples):
    world, got = samples
    plain = SyntheticWorld(seed=11, size=(256, 192), n=16)
    for i in (0, 5):
        a, b = plain[i], got[i]
        assert a.target_flow is None and a.person_flow is None
        for key in ("person", "garment", "target", "garment_worn", "target_mask", "person_mask"):
            assert np.array_equal(getattr(a, key), getattr(b, key)), key
        assert b.target_flow.shape == (256, 192, 2) and b.target_flow.dtype == np.float32
        again = garment_flow(world.spec(i), (256, 192), "b")
        assert np.array_equal(again, b.target_flow, equal_nan=True)


def test_flow_lies_on_the_garment_and_inside_the_product_photo(samples):
    _, got = samples
    cover = []
    for s in got:
        for flow, photo, _, mask in _pairs(s):
            m = flow_mask(flow)
            assert not (m & ~mask).any(), "a flow outside the garment's own mask"
            xy = flow[m]
            assert (xy >= 0).all() and (xy[:, 0] <= photo.shape[1]).all() and (xy[:, 1] <= photo.shape[0]).all()
            cover.append(m.sum() / max(mask.sum(), 1))
    assert np.mean(cover) > 0.75  # fabric everywhere but edges, collars, ribs, cuffs and buttons


def test_the_product_photo_warped_by_the_flow_is_the_worn_garment(samples):
    """Sampling the product photo at the flow gives the worn garment's pattern: its error
    against the portrait is clearly lower than with the same flow shifted by 4 pixels
    (what is left is light: folds and the two photos' own lighting and cameras)."""
    _, got = samples
    right, shifted = [], []
    for s in got:
        for flow, photo, portrait, _ in _pairs(s):
            m = flow_mask(flow)
            if m.sum() < 50:
                continue
            moved = flow.copy()
            moved += 4.0
            right.append(np.abs(warp(photo, flow)[m].astype(float) - portrait[m]).mean())
            shifted.append(np.abs(warp(photo, moved)[m].astype(float) - portrait[m]).mean())
    right, shifted = np.array(right), np.array(shifted)
    assert len(right) >= 20
    assert right.mean() < 0.8 * shifted.mean()
    assert (right < shifted).mean() > 0.8


def test_landscape_flows_stay_inside_the_fitted_photo():
    world = SyntheticWorld(seed=0, size=(128, 96), n=400, flow=True)
    spec = next(world.spec(i) for i in range(400) if world.spec(i).landscape)
    flow = garment_flow(spec, (128, 96), "b")
    rows = np.flatnonzero(flow_mask(flow).any(axis=1))
    sample = world.sample(spec.index)
    band = np.flatnonzero(sample.target_mask.any(axis=1))
    assert len(rows) and rows.min() >= band.min() and rows.max() <= band.max()
    with pytest.raises(ValueError, match="which"):
        garment_flow(spec, (128, 96), "c")
