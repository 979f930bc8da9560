"""VITON-HD layout (and the synthetic world's sets, which are written in it).

::

    ROOT/
      train_pairs.txt   "<person> <cloth>" per line (paired: the same name twice)
      test_pairs.txt    "<person> <cloth>" per line (unpaired: another person's cloth)
      {train,test}/image/<person>        portraits (jpg in VITON-HD, png in synthetic sets)
      {train,test}/cloth/<cloth>         flat garments; cloth/<person> is the one worn
      ... (cloth-mask, image-parse-v3, openpose_*, agnostic-*: present, not needed)

Extensions written by ``models.data.writer`` (optional for real data):

* an optional third column in the pair files: the category (upper/lower/dress or 0/1/2);
  VITON-HD itself is upper-body only, so a missing column means ``upper``;
* ``{split}/image_gt/<person stem>_<cloth stem>.png``: the person wearing the other cloth,
  i.e. the unpaired ground truth; ``{split}/gt_mask/`` (same names) marks that garment;
* ``{split}/image_mask/<person stem>.png``: where the worn garment is in the portrait.
"""

from __future__ import annotations

from pathlib import Path

from .datasets import Entry, FileIndex, Listing, Problem, parse_category, read_pairs

SPLITS = ("train", "test")


def detect(root: Path) -> bool:
    return any((root / s / "image").is_dir() and (root / s / "cloth").is_dir() for s in SPLITS) or (
        any((root / f"{s}_pairs.txt").is_file() for s in SPLITS) and any((root / s).is_dir() for s in SPLITS)
    )


def splits(root: Path) -> list[str]:
    return [s for s in SPLITS if (root / s).is_dir() or (root / f"{s}_pairs.txt").is_file()]


def check_modes(root: Path, split: str) -> list[str]:
    return ["unpaired"]


def listing(root: Path, split: str, mode: str, index: FileIndex) -> Listing:
    out = Listing()
    pairs = root / f"{split}_pairs.txt"
    sdir = root / split
    if not sdir.is_dir():
        out.problems.append(Problem(sdir, "split folder not found"))
        return out
    if not pairs.is_file():
        out.problems.append(Problem(pairs, "pair file not found"))
        return out
    out.sources.append(pairs)
    image, cloth = sdir / "image", sdir / "cloth"
    gt_dir, gt_mask, pmask_dir = sdir / "image_gt", sdir / "gt_mask", sdir / "image_mask"
    has_gt = gt_dir.is_dir()
    seen: set[str] = set()
    for n, fields in read_pairs(pairs, out.problems):
        p, c = fields[0], fields[1]
        category = "upper"
        if len(fields) > 2:
            parsed = parse_category(fields[2])
            if parsed is None:
                out.problems.append(Problem(pairs, f"unknown category {fields[2]!r}", n))
                continue
            category = parsed
        ps, cs = Path(p).stem, Path(c).stem
        if mode == "paired":
            c, cs = p, ps
        paired = p == c
        sid = f"{split}/{ps}" if paired else f"{split}/{ps}+{cs}"
        if sid in seen:
            continue
        seen.add(sid)
        person, garment = image / p, cloth / c
        missing = [f for f in (person, garment) if not index.exists(f)]
        target = target_mask = worn = None
        if not paired:
            gt = gt_dir / f"{ps}_{cs}.png"
            if index.exists(gt):
                target = gt
            elif has_gt:
                missing.append(gt)
            gm = gt_mask / f"{ps}_{cs}.png"
            target_mask = gm if index.exists(gm) else None
            own = cloth / p
            worn = own if index.exists(own) else None
        pm = pmask_dir / f"{ps}.png"
        for f in missing:
            out.problems.append(Problem(pairs, f"{f.relative_to(root)} not found", n))
            out.bad.add(sid)
        out.entries.append(
            Entry(
                id=sid, category=category, person=person, garment=garment, target=target, garment_worn=worn,
                target_mask=target_mask, person_mask=pm if index.exists(pm) else None, paired=paired,
                target_is_person=paired,
            )  # fmt: skip
        )
    return out
