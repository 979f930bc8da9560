"""Write the synthetic world to disk in the VITON-HD layout, plus its unpaired ground truth.

::

    OUT/
      dataset.json                      format, generator, seed, size, categories, splits
      {split}_pairs.txt                 "<id>.png <id>_b.png <category>" (person A, garment B)
      {split}/image/<id>.png            person wearing garment A
      {split}/cloth/<id>.png            flat garment A (VITON-HD: cloth named like the person)
      {split}/cloth/<id>_b.png          flat garment B
      {split}/image_gt/<id>_<id>_b.png  the same person wearing B (unpaired ground truth)
      {split}/image_mask/<id>.png       where A is visible in image/<id>.png
      {split}/gt_mask/<id>_<id>_b.png   where B is visible in the ground truth

Everything is PNG written without timestamps, so the same seed, size and categories give
byte-identical files. ``<id>`` is the sample index (six digits), so ``--start`` lets
several runs (or machines) write disjoint parts of one world.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from engine.errors import InputError

from .images import png_bytes
from .sample import CATEGORIES
from .synthetic.world import SyntheticWorld

FORMAT = "vton-synthetic"
VERSION = 1


def _render(args: tuple[int, tuple[int, int], tuple[str, ...], int]) -> tuple[int, str, dict[str, bytes]]:
    seed, size, categories, index = args
    s = SyntheticWorld(seed, size, index + 1, categories).sample(index)
    files = {
        "image": png_bytes(s.person),
        "cloth": png_bytes(s.garment_worn),
        "cloth_b": png_bytes(s.garment),
        "image_gt": png_bytes(s.target),
        "image_mask": png_bytes(s.person_mask),
        "gt_mask": png_bytes(s.target_mask),
    }
    return index, s.category, files


def _read_meta(out: Path) -> dict | None:
    try:
        meta = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == FORMAT else None


def write_synthetic(
    out: str | Path,
    n: int,
    size: tuple[int, int] = (512, 384),
    seed: int = 0,
    split: str = "test",
    categories: Sequence[str] = CATEGORIES,
    start: int = 0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Render samples ``start .. start + n - 1`` of the world (``seed``, ``size``) into ``out``.

    ``out`` must be new or empty, or a synthetic set with the same seed, size and
    categories that lacks ``split`` (so train and test can share a folder). ``workers``
    renders in parallel processes; the files do not depend on it.
    """
    out = Path(out)
    size = (int(size[0]), int(size[1]))
    categories = tuple(categories)
    if n < 1:
        raise ValueError("n must be at least 1")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    SyntheticWorld(seed, size, n, categories)  # validates size and categories
    meta = {
        "format": FORMAT, "version": VERSION, "generator": "models.data.synthetic", "layout": "viton-hd",
        "seed": int(seed), "size": list(size), "categories": list(categories), "splits": {},
    }  # fmt: skip
    if out.exists() and not out.is_dir():
        raise InputError(out, "is a file; give a folder to write the dataset into")
    if out.is_dir() and any(out.iterdir()):
        old = _read_meta(out)
        if old is None:
            raise InputError(out, "folder is not empty and is not a synthetic dataset; choose a new folder")
        same = (old.get("seed"), old.get("size"), old.get("categories")) == (meta["seed"], meta["size"], meta["categories"])
        if not same:
            raise InputError(out, "holds a synthetic set with another seed, size or categories; choose a new folder")
        if split in old.get("splits", {}):
            raise InputError(out, f"already holds a {split!r} split; choose a new folder")
        meta["splits"] = dict(old["splits"])
    sdir = out / split
    folders = {k: sdir / k for k in ("image", "cloth", "image_gt", "image_mask", "gt_mask")}
    try:
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out, f"cannot create folders ({exc.strerror or exc})") from None

    lines: dict[int, str] = {}

    def save(index: int, category: str, files: dict[str, bytes]) -> None:
        sid = f"{index:06d}"
        pair = f"{sid}_{sid}_b.png"
        targets = {
            "image": folders["image"] / f"{sid}.png",
            "cloth": folders["cloth"] / f"{sid}.png",
            "cloth_b": folders["cloth"] / f"{sid}_b.png",
            "image_gt": folders["image_gt"] / pair,
            "image_mask": folders["image_mask"] / f"{sid}.png",
            "gt_mask": folders["gt_mask"] / pair,
        }
        for key, path in targets.items():
            try:
                path.write_bytes(files[key])
            except OSError as exc:
                raise InputError(path, f"cannot be written ({exc.strerror or exc})") from None
        lines[index] = f"{sid}.png {sid}_b.png {category}"
        if progress is not None:
            progress(len(lines), n)

    jobs = [(int(seed), size, categories, i) for i in range(start, start + n)]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(_render, jobs, chunksize=4):
                save(*result)
    else:
        for job in jobs:
            save(*_render(job))
    pairs = "".join(lines[i] + "\n" for i in sorted(lines))
    (out / f"{split}_pairs.txt").write_text(pairs, encoding="utf-8")
    meta["splits"][split] = {"n": n, "start": start}
    meta["splits"] = dict(sorted(meta["splits"].items()))
    (out / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out
