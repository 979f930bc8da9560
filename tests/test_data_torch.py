"""The torch Dataset wrapper: tensors in [-1, 1], CHW, category index, batchable from any source."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader

from models.data import CATEGORIES, SyntheticWorld, TryOnSample, TryOnTensors


def test_tensors_from_the_synthetic_world():
    world = SyntheticWorld(3, (128, 96), n=3)
    item = TryOnTensors(world)[2]
    for key in ("person", "garment", "target", "garment_worn"):
        t = item[key]
        assert t.shape == (3, 128, 96) and t.dtype == torch.float32
        assert -1.0 <= t.min() and t.max() <= 1.0
    s = world[2]
    back = ((item["person"].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
    assert np.array_equal(back, s.person)
    assert item["target_mask"].shape == (1, 128, 96) and set(item["target_mask"].unique().tolist()) <= {0.0, 1.0}
    assert item["category"].item() == CATEGORIES.index(s.category) and item["category"].dtype == torch.int64
    assert item["has_target"] and item["has_masks"] and not item["paired"]


def test_unknown_fields_are_zero_and_flagged_so_mixed_sources_batch():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)
    paired_real = [TryOnSample("real", "lower", img, img, target=img, paired=True)]
    unpaired_real = [TryOnSample("u", "dress", img, img)]
    synth = SyntheticWorld(0, (128, 96), n=2)
    ds = ConcatDataset([TryOnTensors(synth), TryOnTensors(paired_real, (128, 96)), TryOnTensors(unpaired_real, (128, 96))])
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["person"].shape == (4, 3, 128, 96)
    assert batch["has_target"].tolist() == [True, True, True, False]
    assert batch["has_masks"].tolist() == [True, True, False, False]
    assert batch["target"][3].abs().sum() == 0 and batch["person_mask"][2].sum() == 0
    assert batch["category"].tolist() == [0, 1, 1, 2]
