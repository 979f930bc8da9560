"""Dataset loaders: VITON-HD, DressCode and pseudo-triplet trees built here, read through
the same API as the synthetic sets; broken trees give clear errors and check reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import InputError
from models.data import (
    SyntheticWorld,
    check_dataset,
    detect_layout,
    open_dataset,
    split_names,
    write_synthetic,
)
from models.data.images import fit_image, fit_mask

H, W = 80, 60  # 4:3 fixture images


def _img(path: Path, seed: int, size=(H, W)) -> np.ndarray:
    """A small image with a distinct flat colour per seed (survives JPEG), written to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arr = np.empty((*size, 3), np.uint8)
    arr[:] = rng.integers(30, 225, 3)
    arr[size[0] // 4 : size[0] // 2, size[1] // 4 : size[1] // 2] = 255 - arr[0, 0]
    Image.fromarray(arr).save(path, quality=95)
    return arr


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() < 3  # JPEG round trip


def make_viton_hd(root: Path) -> dict[str, np.ndarray]:
    """train: 2 paired people; test: 3 people, unpaired pairs (cloth of the next person)."""
    imgs = {}
    for split, names in (("train", ["00001_00", "00002_00"]), ("test", ["00010_00", "00011_00", "00012_00"])):
        for k, name in enumerate(names):
            imgs[f"{split}/image/{name}"] = _img(root / split / "image" / f"{name}.jpg", 100 * k + 1 + len(split))
            imgs[f"{split}/cloth/{name}"] = _img(root / split / "cloth" / f"{name}.jpg", 100 * k + 2 + len(split))
        (root / split / "cloth-mask").mkdir()  # present in the real layout, not needed
    (root / "train_pairs.txt").write_text("00001_00.jpg 00001_00.jpg\n00002_00.jpg 00002_00.jpg\n")
    (root / "test_pairs.txt").write_text(
        "00010_00.jpg 00011_00.jpg\n00011_00.jpg 00012_00.jpg\n\n00012_00.jpg 00010_00.jpg\n"
    )
    return imgs


def make_dresscode(root: Path, root_pairs: bool = False) -> None:
    """Two people per category; per-category pair files, or root files with a category column."""
    folders = {"upper_body": 0, "lower_body": 1, "dresses": 2}
    rows = {"train_pairs.txt": [], "test_pairs_paired.txt": [], "test_pairs_unpaired.txt": []}
    for folder, idx in folders.items():
        ids = [f"0{idx}00{k}" for k in range(3)]
        for k, i in enumerate(ids):
            _img(root / folder / "images" / f"{i}_0.jpg", 10 * idx + k)
            _img(root / folder / "images" / f"{i}_1.jpg", 10 * idx + k + 5)
        (root / folder / "label_maps").mkdir()
        per = {
            "train_pairs.txt": [(f"{ids[0]}_0.jpg", f"{ids[0]}_1.jpg")],
            "test_pairs_paired.txt": [(f"{ids[1]}_0.jpg", f"{ids[1]}_1.jpg"), (f"{ids[2]}_0.jpg", f"{ids[2]}_1.jpg")],
            "test_pairs_unpaired.txt": [(f"{ids[1]}_0.jpg", f"{ids[2]}_1.jpg"), (f"{ids[2]}_0.jpg", f"{ids[1]}_1.jpg")],
        }
        for name, pairs in per.items():
            if root_pairs:
                rows[name] += [f"{p}\t{c}\t{idx}" for p, c in pairs]
            else:
                (root / folder / name).write_text("".join(f"{p} {c}\n" for p, c in pairs))
    if root_pairs:
        for name, lines in rows.items():
            (root / name).write_text("\n".join(lines) + "\n")


def make_triplets(root: Path) -> None:
    (root / "train_triplets.txt").write_text("# id category\na1 upper\nb2 dress\nc3\n")
    for k, tid in enumerate(["a1", "b2", "c3"]):
        _img(root / "train" / "person_a" / f"{tid}.jpg", k)
        _img(root / "train" / "garment_b" / f"{tid}.png", k + 10)
        _img(root / "train" / "person_b" / f"{tid}.jpg", k + 20)
    _img(root / "train" / "garment_a" / "a1.png", 99)
    mask = np.zeros((H, W), bool)
    mask[10:40, 10:40] = True
    (root / "train" / "mask_b").mkdir()
    Image.fromarray(mask.astype(np.uint8) * 255).save(root / "train" / "mask_b" / "a1.png")


# --- VITON-HD ----------------------------------------------------------------------


def test_viton_hd_unpaired_and_paired(tmp_path):
    imgs = make_viton_hd(tmp_path)
    assert detect_layout(tmp_path) == "viton-hd"
    assert split_names(tmp_path) == ["train", "test"]
    ds = open_dataset(tmp_path, split="test")
    assert len(ds) == 3 and ds.layout == "viton-hd"
    s = ds[0]
    assert s.id == "test/00010_00+00011_00" and s.category == "upper" and not s.paired
    assert _close(s.person, imgs["test/image/00010_00"])
    assert _close(s.garment, imgs["test/cloth/00011_00"])
    assert _close(s.garment_worn, imgs["test/cloth/00010_00"])  # the cloth named like the person
    assert s.target is None  # real unpaired pairs have no ground truth
    paired = open_dataset(tmp_path, split="test", mode="paired")
    p = paired[1]
    assert p.paired and p.target is p.person and _close(p.garment, imgs["test/cloth/00011_00"])
    train = open_dataset(tmp_path, split="train")
    assert len(train) == 2 and all(x.paired for x in train)


def test_loaders_resize_to_the_requested_size(tmp_path):
    make_viton_hd(tmp_path)
    _img(tmp_path / "test" / "cloth" / "00011_00.jpg", 7, size=(60, 60))  # a square garment
    for fit in ("pad", "crop"):
        s = open_dataset(tmp_path, size=(128, 96), fit=fit)[0]
        assert s.person.shape == (128, 96, 3) and s.garment.shape == (128, 96, 3)
    square = np.zeros((60, 60, 3), np.uint8)
    square[:, :30] = 255
    padded = fit_image(square, (128, 96), "pad")  # fits inside, edge-padded above and below
    assert padded.shape == (128, 96, 3) and (padded[0] == padded[16]).all()
    cropped = fit_image(square, (128, 96), "crop")  # covers, centre kept
    assert cropped.shape == (128, 96, 3) and cropped[:, 0].min() == 255 and cropped[:, -1].max() == 0
    m = np.zeros((60, 60), bool)
    m[:, :30] = True
    assert fit_mask(m, (128, 96), "pad").shape == (128, 96)
    assert not fit_mask(m, (128, 96), "pad")[0].any()  # masks are padded with False


# --- DressCode ---------------------------------------------------------------------


@pytest.mark.parametrize("root_pairs", [False, True], ids=["per-category", "root-files"])
def test_dresscode(tmp_path, root_pairs):
    make_dresscode(tmp_path, root_pairs)
    assert detect_layout(tmp_path) == "dresscode"
    assert split_names(tmp_path) == ["train", "test"]
    un = open_dataset(tmp_path, split="test", mode="unpaired")
    assert len(un) == 6
    assert sorted({s.category for s in un}) == ["dress", "lower", "upper"]
    s = [x for x in un if x.category == "lower"][0]
    assert s.id == "lower_body/01001_0+01002_1" and not s.paired and s.target is None
    assert s.garment_worn is not None and s.garment_worn.shape == (H, W, 3)
    paired = open_dataset(tmp_path, split="test", mode="paired", categories=["dress"])
    assert len(paired) == 2 and all(x.paired and x.target is x.person for x in paired)
    assert len(open_dataset(tmp_path, split="train")) == 3


# --- pseudo-triplets -----------------------------------------------------------------


def test_pseudo_triplets(tmp_path):
    make_triplets(tmp_path)
    assert detect_layout(tmp_path) == "pseudo-triplets"
    ds = open_dataset(tmp_path, split="train")
    assert [s.category for s in ds] == ["upper", "dress", "upper"]
    a1 = ds[0]
    assert not a1.paired and a1.target is not None and a1.garment_worn is not None
    assert a1.target_mask is not None and a1.target_mask.sum() == 30 * 30
    assert ds[1].garment_worn is None and ds[1].target_mask is None
    assert all(s.paired and s.target is s.person for s in open_dataset(tmp_path, "train", mode="paired"))


# --- synthetic sets through the same loader ------------------------------------------


def test_written_synthetic_set_reads_back_exactly(tmp_path):
    world = SyntheticWorld(seed=4, size=(128, 96), n=3)
    write_synthetic(tmp_path / "syn", n=3, size=(128, 96), seed=4)
    ds = open_dataset(tmp_path / "syn")
    assert ds.layout == "viton-hd" and len(ds) == 3
    for got, want in zip(ds, world, strict=True):
        assert got.category == want.category and not got.paired
        for a, b in ((got.person, want.person), (got.garment, want.garment), (got.target, want.target),
                     (got.garment_worn, want.garment_worn), (got.person_mask, want.person_mask),
                     (got.target_mask, want.target_mask)):  # fmt: skip
            assert np.array_equal(a, b)
    paired = open_dataset(tmp_path / "syn", mode="paired")[0]
    assert paired.paired and np.array_equal(paired.garment, world[0].garment_worn)
    assert np.array_equal(paired.target_mask, world[0].person_mask)


# --- broken trees --------------------------------------------------------------------


def test_not_a_dataset(tmp_path):
    (tmp_path / "photos").mkdir()
    for path in (tmp_path / "photos", tmp_path / "missing"):
        with pytest.raises(InputError) as err:
            open_dataset(path)
        assert str(path) in str(err.value)
    with pytest.raises(InputError, match="not a dataset"):
        check_dataset(tmp_path / "photos")


def test_missing_file_is_named_with_its_pair_line(tmp_path):
    make_viton_hd(tmp_path)
    (tmp_path / "test" / "image" / "00011_00.jpg").unlink()
    with pytest.raises(InputError) as err:
        open_dataset(tmp_path)
    msg = str(err.value)
    assert "test_pairs.txt" in msg and "test/image/00011_00.jpg not found" in msg and "line 2" in msg
    assert len(open_dataset(tmp_path, strict=False)) == 2  # the broken pair is left out
    report = check_dataset(tmp_path)
    assert not report.ok
    assert [p.line for p in report.problems] == [2]


def test_pair_pointing_nowhere(tmp_path):
    make_viton_hd(tmp_path)
    with open(tmp_path / "test_pairs.txt", "a") as f:
        f.write("00010_00.jpg no_such_cloth.jpg\nlonely_line\n")
    report = check_dataset(tmp_path)
    text = report.format()
    assert "test/cloth/no_such_cloth.jpg not found" in text
    assert "expected 2 names on the line, found 1" in text
    assert len(report.problems) == 2
    with pytest.raises(InputError, match=r"no_such_cloth.jpg not found \(line 5\) \(and 1 more problem;"):
        open_dataset(tmp_path)


def test_unreadable_image(tmp_path):
    make_viton_hd(tmp_path)
    bad = tmp_path / "test" / "cloth" / "00012_00.jpg"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated JPEG
    ds = open_dataset(tmp_path)  # files exist: opening works, loading that sample fails clearly
    ds[0]
    with pytest.raises(InputError) as err:
        ds[1]
    assert str(bad) in str(err.value)
    report = check_dataset(tmp_path)
    assert [p.path for p in report.problems] == [bad]


def test_dresscode_broken(tmp_path):
    make_dresscode(tmp_path)
    (tmp_path / "dresses" / "images" / "02000_1.jpg").unlink()
    (tmp_path / "lower_body" / "test_pairs_unpaired.txt").write_text("01001_0.jpg\n")
    report = check_dataset(tmp_path)
    messages = [str(p) for p in report.problems]
    assert any("dresses/images/02000_1.jpg not found" in m for m in messages)
    assert any("expected 2 names" in m for m in messages)


def test_triplets_missing_person_b(tmp_path):
    make_triplets(tmp_path)
    (tmp_path / "train" / "person_b" / "b2.jpg").unlink()
    with pytest.raises(InputError, match=r"train/person_b/b2\.\* not found"):
        open_dataset(tmp_path, split="train")
    assert [s.id for s in open_dataset(tmp_path, split="train", strict=False)] == ["train/a1", "train/c3"]


def test_check_counts_a_clean_synthetic_set(tmp_path):
    write_synthetic(tmp_path, n=4, size=(128, 96), seed=2)
    report = check_dataset(tmp_path)
    assert report.ok, report.format()
    (part,) = report.parts
    assert part.samples == 4 and part.with_target == 4
    assert dict(part.categories) == {"upper": 2, "lower": 1, "dress": 1}
    assert report.synthetic["seed"] == 2
    # a file of the wrong size is a problem, found through dataset.json
    Image.new("RGB", (50, 40)).save(tmp_path / "test" / "cloth" / "000001_b.png")
    assert any("dataset.json says 128x96" in str(p) for p in check_dataset(tmp_path).problems)
