"""DressCode layout.

::

    ROOT/
      upper_body/ lower_body/ dresses/
        images/<id>_0.jpg          the person
        images/<id>_1.jpg          the flat garment they wear
        train_pairs.txt            "<id>_0.jpg <id>_1.jpg" per line (paired)
        test_pairs_paired.txt      "<id>_0.jpg <id>_1.jpg"
        test_pairs_unpaired.txt    "<id>_0.jpg <other>_1.jpg"
        (label_maps, keypoints, dense, skeletons, masks: present, not needed)
      train_pairs.txt, test_pairs_paired.txt, test_pairs_unpaired.txt
                                   the same for all categories, with a third column:
                                   0 = upper_body, 1 = lower_body, 2 = dresses

The per-category pair files are used when present; otherwise the root files. Unpaired
test pairs have no ground truth (``target`` is None); ``garment_worn`` is ``<id>_1.jpg``.
"""

from __future__ import annotations

from pathlib import Path

from .datasets import Entry, FileIndex, Listing, Problem, parse_category, read_pairs

FOLDERS = {"upper_body": "upper", "lower_body": "lower", "dresses": "dress"}
FOLDER_OF = {v: k for k, v in FOLDERS.items()}


def detect(root: Path) -> bool:
    return any((root / d / "images").is_dir() for d in FOLDERS)


def _pair_file(split: str, mode: str) -> str:
    return "train_pairs.txt" if split == "train" else f"{split}_pairs_{mode}.txt"


def splits(root: Path) -> list[str]:
    found = []
    for split in ("train", "test"):
        names = [_pair_file(split, m) for m in ("paired", "unpaired")]
        if any((root / n).is_file() or any((root / d / n).is_file() for d in FOLDERS) for n in names):
            found.append(split)
    return found


def check_modes(root: Path, split: str) -> list[str]:
    return ["unpaired"] if split == "train" else ["paired", "unpaired"]


def _stem_id(name: str) -> str:
    stem = Path(name).stem
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def listing(root: Path, split: str, mode: str, index: FileIndex) -> Listing:
    out = Listing()
    name = _pair_file(split, mode)
    rows: list[tuple[Path, int, str, str, str]] = []  # (pair file, line, person, cloth, category)
    per_category = [(root / d / name, c) for d, c in FOLDERS.items() if (root / d / name).is_file()]
    if per_category:
        for path, category in per_category:
            out.sources.append(path)
            for n, fields in read_pairs(path, out.problems):
                rows.append((path, n, fields[0], fields[1], category))
    elif (root / name).is_file():
        path = root / name
        out.sources.append(path)
        for n, fields in read_pairs(path, out.problems, columns=3):
            category = parse_category(fields[2])
            if category is None:
                out.problems.append(Problem(path, f"unknown category {fields[2]!r} (expected 0, 1 or 2)", n))
                continue
            rows.append((path, n, fields[0], fields[1], category))
    else:
        out.problems.append(Problem(root / name, "pair file not found (neither per category nor at the root)"))
        return out
    seen: set[str] = set()
    for path, n, p, c, category in rows:
        images = root / FOLDER_OF[category] / "images"
        paired = _stem_id(p) == _stem_id(c)
        ps, cs = Path(p).stem, Path(c).stem
        sid = f"{FOLDER_OF[category]}/{ps}" if paired else f"{FOLDER_OF[category]}/{ps}+{cs}"
        if sid in seen:
            continue
        seen.add(sid)
        person, garment = images / p, images / c
        for f in (person, garment):
            if not index.exists(f):
                out.problems.append(Problem(path, f"{f.relative_to(root)} not found", n))
                out.bad.add(sid)
        worn = None
        if not paired:
            own = images / f"{_stem_id(p)}_1{Path(p).suffix}"
            worn = own if index.exists(own) else None
        out.entries.append(
            Entry(
                id=sid, category=category, person=person, garment=garment, garment_worn=worn, paired=paired,
                target_is_person=paired,
            )  # fmt: skip
        )
    return out
