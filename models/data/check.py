"""``check_dataset``: validate a dataset folder and report counts and problems, never crash.

Checks, for every split (and pair file) of the detected layout: pair files parse, every
referenced file exists, every referenced image decodes (unless ``decode=False``), masks
match their image's size, and for synthetic sets that ``dataset.json`` agrees with the
files (sizes, counts). Problems are collected, not raised; only a folder that is not a
dataset at all raises ``InputError``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from engine.errors import InputError

from .datasets import LAYOUT_HINT, FileIndex, Problem, _layouts, _root, detect_layout, problem_order
from .images import read_image
from .sample import CATEGORIES
from .writer import FORMAT


@dataclass
class PartReport:
    """One split and mode: how many samples per category, how many with ground truth."""

    split: str
    mode: str
    samples: int = 0
    categories: Counter = field(default_factory=Counter)
    with_target: int = 0
    sources: list[Path] = field(default_factory=list)


@dataclass
class DatasetReport:
    root: Path
    layout: str
    synthetic: dict | None = None
    parts: list[PartReport] = field(default_factory=list)
    files_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self, limit: int = 50) -> str:
        """A human-readable report (at most ``limit`` problems listed)."""
        kind = f"synthetic (seed {self.synthetic['seed']}, {self.synthetic['size'][0]}x{self.synthetic['size'][1]})" if self.synthetic else self.layout
        lines = [f"{self.root}: {kind} layout" if not self.synthetic else f"{self.root}: {kind}, {self.layout} layout"]
        for part in self.parts:
            cats = ", ".join(f"{c} {part.categories[c]}" for c in CATEGORIES if part.categories[c])
            gt = f"; {part.with_target} with ground truth" if part.mode == "unpaired" else ""
            lines.append(f"  {part.split} ({part.mode}): {part.samples} samples ({cats or 'none'}){gt}")
        lines.append(f"  {self.files_checked} files checked")
        if self.problems:
            lines.append(f"problems ({len(self.problems)}):")
            for p in self.problems[:limit]:
                lines.append(f"  {_rel(p, self.root)}")
            if len(self.problems) > limit:
                lines.append(f"  ... and {len(self.problems) - limit} more")
        else:
            lines.append("no problems found")
        return "\n".join(lines)


def _rel(p: Problem, root: Path) -> str:
    try:
        where = str(p.path.relative_to(root))
    except ValueError:
        where = str(p.path)
    return f"{where}:{p.line}: {p.message}" if p.line is not None else f"{where}: {p.message}"


def _image_size(path: Path, decode: bool) -> tuple[int, int]:
    """(H, W) of an image file; decodes it fully when ``decode`` (raises InputError)."""
    if decode:
        return read_image(path).shape[:2]
    try:
        with Image.open(path) as img:
            return img.size[1], img.size[0]
    except Exception as exc:  # any header problem is reported, not raised
        raise InputError(path, f"not a readable image ({exc})") from None


def check_dataset(path: str | Path, decode: bool = True) -> DatasetReport:
    """Validate the dataset at ``path``. Raises ``InputError`` only if it is not a dataset."""
    root = _root(path)
    layout = detect_layout(root)
    if layout is None:
        raise InputError(root, f"not a dataset: {LAYOUT_HINT}")
    module = _layouts()[layout]
    report = DatasetReport(root, layout)
    meta_path = root / "dataset.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if isinstance(meta, dict) and meta.get("format") == FORMAT:
                report.synthetic = meta
        except (OSError, ValueError) as exc:
            report.problems.append(Problem(meta_path, f"cannot be parsed ({exc})"))
    index = FileIndex()
    sizes: dict[Path, tuple[int, int] | None] = {}

    def size_of(p: Path) -> tuple[int, int] | None:
        if p not in sizes:
            try:
                sizes[p] = _image_size(p, decode)
            except InputError as exc:
                sizes[p] = None
                report.problems.append(Problem(p, exc.problem))
        return sizes[p]

    split_list = module.splits(root)
    if not split_list:
        report.problems.append(Problem(root, "no splits found (no pair files)"))
    for split in split_list:
        for mode in module.check_modes(root, split):
            found = module.listing(root, split, mode, index)
            part = PartReport(split, mode, sources=found.sources)
            report.parts.append(part)
            report.problems.extend(found.problems)
            for e in found.entries:
                if e.id in found.bad:
                    continue
                part.samples += 1
                part.categories[e.category] += 1
                part.with_target += e.target is not None or e.target_is_person
                person_size = size_of(e.person)
                for f in (e.garment, e.target, e.garment_worn):
                    if f is not None:
                        size_of(f)
                for m, image in ((e.person_mask, e.person), (e.target_mask, e.target)):
                    if m is None:
                        continue
                    ms, isz = size_of(m), size_of(image) if image is not None else person_size
                    if ms is not None and isz is not None and ms != isz:
                        report.problems.append(Problem(m, f"mask is {ms[0]}x{ms[1]} but its image is {isz[0]}x{isz[1]}"))
    if report.synthetic is not None:
        _check_synthetic(report, sizes)
    report.files_checked = len(sizes)
    report.problems.sort(key=problem_order)
    return report


def _check_synthetic(report: DatasetReport, sizes: dict[Path, tuple[int, int] | None]) -> None:
    meta = report.synthetic
    meta_path = report.root / "dataset.json"
    try:
        want = (int(meta["size"][0]), int(meta["size"][1]))
        declared = {k: int(v["n"]) for k, v in meta["splits"].items()}
    except (KeyError, TypeError, ValueError, IndexError):
        report.problems.append(Problem(meta_path, "missing or malformed 'size' or 'splits'"))
        report.synthetic = None
        return
    counted = {p.split: p.samples for p in report.parts}
    for split, n in declared.items():
        if counted.get(split) != n:
            report.problems.append(Problem(meta_path, f"declares {n} {split} samples, found {counted.get(split, 0)}"))
    wrong = sorted(p for p, s in sizes.items() if s is not None and s != want)
    for p in wrong[:20]:
        h, w = sizes[p]
        report.problems.append(Problem(p, f"is {h}x{w}, but dataset.json says {want[0]}x{want[1]}"))
