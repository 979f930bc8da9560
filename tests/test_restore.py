"""The engine's detail restore: the portrait's own pixels wherever the try-on left it unchanged."""

from __future__ import annotations

import numpy as np

from engine.request import TryOnRequest
from engine.restore import change_mask, keep_unchanged


def _portrait(h: int = 240, w: int = 180, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_an_unchanged_portrait_comes_back_exactly():
    person = _portrait()
    assert np.array_equal(keep_unchanged(person, person), person)
    # small, high-frequency differences (a VAE's softening) do not count as change
    soft = np.clip(person.astype(np.int16) + np.random.default_rng(1).integers(-6, 7, person.shape), 0, 255)
    assert change_mask(soft.astype(np.uint8), person).max() < 0.05


def test_a_changed_region_takes_the_result_and_the_rest_keeps_the_portrait():
    person = np.full((240, 180, 3), 120, np.uint8)
    result = person.copy()
    result[80:160, 50:130] = (20, 200, 40)  # a new green garment
    result[5:10, 5:10] = 123  # a faint low-frequency shift elsewhere: ignored
    out = keep_unchanged(result, person)
    assert out.shape == person.shape and out.dtype == np.uint8
    assert np.array_equal(out[100:140, 70:110], result[100:140, 70:110])  # inside: the result
    assert np.array_equal(out[:, :20], person[:, :20])  # far outside: the portrait's own pixels
    assert np.array_equal(out[200:], person[200:])
    m = change_mask(result, person)
    assert m.shape == person.shape[:2] and 0.0 <= m.min() and m.max() <= 1.0
    assert m[79, 90] > 0.5  # the region grows a little past the garment's edge


def test_a_model_size_result_is_composited_at_the_portraits_own_size():
    person = np.full((900, 600, 3), 200, np.uint8)
    small = np.full((300, 200, 3), 200, np.uint8)
    small[100:200, 50:150] = (10, 10, 180)
    out = keep_unchanged(small, person)
    assert out.shape == (900, 600, 3)
    assert np.array_equal(out[:200], person[:200])
    assert abs(int(out[450, 300, 2]) - 180) <= 2  # centre of the changed block, upscaled


def test_requests_carry_the_restore_switch():
    req = TryOnRequest(person="p.png", garment="g.png")
    assert req.restore is True
    again = TryOnRequest.from_json(TryOnRequest(person="p.png", garment="g.png", restore=False).to_json())
    assert again.restore is False
    old = req.to_json()
    old.pop("restore")  # a history row written before the switch existed
    assert TryOnRequest.from_json(old).restore is True
