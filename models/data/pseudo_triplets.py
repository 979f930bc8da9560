"""Pseudo-triplet layout: unpaired training on real photos, without masks.

Real datasets only give paired data (a person and the garment they wear). Mask-free
try-on training needs (person wearing A, garment B → the same person wearing B). A
pseudo-triplet folder holds such triplets made elsewhere (for example by re-dressing
each real portrait with another garment using a mask-based try-on model, so that
``person_a`` is synthetic and ``person_b`` — the target — is the real photo)::

    ROOT/
      {split}_triplets.txt         "<id> [category]" per line (upper/lower/dress or 0/1/2;
                                   default upper); "#" starts a comment
      {split}/person_a/<id>.<ext>  the person wearing garment A   (model input)
      {split}/garment_b/<id>.<ext> flat garment B                 (model input)
      {split}/person_b/<id>.<ext>  the same person wearing B      (target)
      {split}/garment_a/<id>.<ext> flat garment A                 (optional)
      {split}/mask_a/<id>.png      where A is in person_a         (optional)
      {split}/mask_b/<id>.png      where B is in person_b         (optional)

``<ext>`` is any of png, jpg, jpeg, webp, bmp. ``mode="paired"`` yields
(person_b, garment_b → person_b).
"""

from __future__ import annotations

from pathlib import Path

from .datasets import Entry, FileIndex, Listing, Problem, parse_category, read_pairs
from .images import IMAGE_SUFFIXES

REQUIRED = ("person_a", "garment_b", "person_b")
OPTIONAL = ("garment_a", "mask_a", "mask_b")


def detect(root: Path) -> bool:
    return any(root.glob("*_triplets.txt")) or any((d / "person_a").is_dir() for d in root.iterdir() if d.is_dir())


def splits(root: Path) -> list[str]:
    names = {p.name[: -len("_triplets.txt")] for p in root.glob("*_triplets.txt")}
    names |= {d.name for d in root.iterdir() if d.is_dir() and (d / "person_a").is_dir()}
    return sorted(names)


def check_modes(root: Path, split: str) -> list[str]:
    return ["unpaired"]


def _by_stem(index: FileIndex, folder: Path) -> dict[str, Path]:
    out = {}
    for name in sorted(index.names(folder)):
        p = folder / name
        if p.suffix.lower() in IMAGE_SUFFIXES:
            out.setdefault(p.stem, p)
    return out


def listing(root: Path, split: str, mode: str, index: FileIndex) -> Listing:
    out = Listing()
    path = root / f"{split}_triplets.txt"
    sdir = root / split
    if not path.is_file():
        out.problems.append(Problem(path, "triplet list not found"))
        return out
    out.sources.append(path)
    files = {name: _by_stem(index, sdir / name) for name in REQUIRED + OPTIONAL}
    for name in REQUIRED:
        if not (sdir / name).is_dir():
            out.problems.append(Problem(sdir / name, "folder not found"))
    seen: set[str] = set()
    for n, fields in read_pairs(path, out.problems, columns=1):
        tid = fields[0]
        category = "upper"
        if len(fields) > 1:
            parsed = parse_category(fields[1])
            if parsed is None:
                out.problems.append(Problem(path, f"unknown category {fields[1]!r}", n))
                continue
            category = parsed
        if tid in seen:
            out.problems.append(Problem(path, f"id {tid!r} listed twice", n))
            continue
        seen.add(tid)
        sid = f"{split}/{tid}"
        found = {name: files[name].get(tid) for name in REQUIRED + OPTIONAL}
        for name in REQUIRED:
            if found[name] is None:
                out.problems.append(Problem(path, f"{split}/{name}/{tid}.* not found", n))
                out.bad.add(sid)
        if sid in out.bad:
            continue
        if mode == "paired":
            entry = Entry(
                id=sid, category=category, person=found["person_b"], garment=found["garment_b"],
                person_mask=found["mask_b"], target_mask=found["mask_b"], paired=True, target_is_person=True,
            )  # fmt: skip
        else:
            entry = Entry(
                id=sid, category=category, person=found["person_a"], garment=found["garment_b"],
                target=found["person_b"], garment_worn=found["garment_a"], target_mask=found["mask_b"],
                person_mask=found["mask_a"], paired=False,
            )  # fmt: skip
        out.entries.append(entry)
    return out
