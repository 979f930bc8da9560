"""One API over every dataset layout: ``open_dataset(path) -> Sequence[TryOnSample]``.

A layout module (``viton_hd``, ``dresscode``, ``pseudo_triplets``) turns a folder into a
list of ``Entry`` (the files of one sample) plus a list of ``Problem`` (what is missing
or malformed). ``FileDataset`` loads entries lazily into ``TryOnSample``s, resized to one
size. The synthetic world's writer produces the VITON-HD layout, so it is read the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InputError

from .images import FITS, fit_image, fit_mask, read_image, read_mask
from .sample import CATEGORIES, TryOnSample

MODES = ("paired", "unpaired")

# category spellings found in pair files: ours, DressCode folder names, DressCode indices
CATEGORY_ALIASES = {
    "upper": "upper", "lower": "lower", "dress": "dress",
    "upper_body": "upper", "lower_body": "lower", "dresses": "dress",
    "0": "upper", "1": "lower", "2": "dress",
}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """Something wrong with a dataset: the file it concerns and what is wrong."""

    path: Path
    message: str
    line: int | None = None  # line of a pair file

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Entry:
    """The files of one sample (see ``TryOnSample`` for what each one is)."""

    id: str
    category: str
    person: Path
    garment: Path
    target: Path | None = None
    garment_worn: Path | None = None
    target_mask: Path | None = None
    person_mask: Path | None = None
    paired: bool = False
    target_is_person: bool = False  # paired data: the ground truth is the person image itself

    def files(self) -> list[Path]:
        return [
            p
            for p in (self.person, self.garment, self.target, self.garment_worn, self.target_mask, self.person_mask)
            if p is not None
        ]


@dataclass
class Listing:
    """What a layout module found for one split and mode."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    bad: set[str] = field(default_factory=set)  # ids of entries that have a problem
    sources: list[Path] = field(default_factory=list)  # the pair files that were read


class FileIndex:
    """Directory listings cached per folder, so checking 10k references costs 10 listdirs."""

    def __init__(self):
        self._dirs: dict[Path, set[str]] = {}

    def names(self, folder: Path) -> set[str]:
        if folder not in self._dirs:
            try:
                self._dirs[folder] = set(os.listdir(folder))
            except OSError:
                self._dirs[folder] = set()
        return self._dirs[folder]

    def exists(self, path: Path) -> bool:
        return path.name in self.names(path.parent)


def parse_category(text: str) -> str | None:
    return CATEGORY_ALIASES.get(text.strip().lower())


def read_pairs(path: Path, problems: list[Problem], columns: int = 2) -> list[tuple[int, list[str]]]:
    """Lines of a pair file as (line number, fields); blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.append(Problem(path, "is not a UTF-8 text file"))
        return []
    except OSError as exc:
        problems.append(Problem(path, f"cannot be read ({exc.strerror or exc})"))
        return []
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < columns:
            problems.append(Problem(path, f"expected {columns} names on the line, found {len(fields)}", n))
            continue
        out.append((n, fields))
    return out


def problem_order(p: Problem) -> tuple[str, int]:
    """Sort key: by file, then by line."""
    return str(p.path), p.line or 0


class FileDataset(Sequence[TryOnSample]):
    """Samples loaded lazily from files, resized to ``size`` (None: as stored) by ``fit``."""

    def __init__(
        self,
        root: Path,
        layout: str,
        split: str,
        mode: str,
        entries: list[Entry],
        size: tuple[int, int] | None = None,
        fit: str = "pad",
    ):
        if fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
        self.root = root
        self.layout = layout
        self.split = split
        self.mode = mode
        self.entries = entries
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.fit = fit

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.load(self.entries[index])

    def __repr__(self) -> str:
        return f"FileDataset({str(self.root)!r}, layout={self.layout!r}, split={self.split!r}, mode={self.mode!r}, n={len(self)})"

    def load(self, e: Entry) -> TryOnSample:
        """Read one entry; an unreadable file raises ``InputError`` naming it."""
        size, fit = self.size, self.fit
        person = fit_image(read_image(e.person), size, fit)
        garment = fit_image(read_image(e.garment), size, fit)
        target = None
        if e.target_is_person:
            target = person
        elif e.target is not None:
            target = fit_image(read_image(e.target), size, fit)
        worn = fit_image(read_image(e.garment_worn), size, fit) if e.garment_worn is not None else None
        pmask = fit_mask(read_mask(e.person_mask), size, fit) if e.person_mask is not None else None
        tmask = fit_mask(read_mask(e.target_mask), size, fit) if e.target_mask is not None else None
        if e.target_is_person and tmask is None:
            tmask = pmask
        return TryOnSample(
            id=e.id, category=e.category, person=person, garment=garment, target=target, garment_worn=worn,
            target_mask=tmask, person_mask=pmask, paired=e.paired,
        )  # fmt: skip


def _layouts():
    from . import dresscode, pseudo_triplets, viton_hd

    return {"pseudo-triplets": pseudo_triplets, "dresscode": dresscode, "viton-hd": viton_hd}


LAYOUT_HINT = (
    "expected a VITON-HD layout ({train,test}/image, {train,test}/cloth, *_pairs.txt), "
    "a DressCode layout (upper_body|lower_body|dresses/images/*_0.jpg, *_1.jpg) "
    "or a pseudo-triplet layout ({split}_triplets.txt, {split}/person_a|garment_b|person_b)"
)


def detect_layout(path: str | Path) -> str | None:
    """The layout name of the dataset folder at ``path``, or None if it is none of them."""
    root = Path(path)
    if not root.is_dir():
        return None
    for name, module in _layouts().items():
        if module.detect(root):
            return name
    return None


def _root(path: str | Path) -> Path:
    root = Path(path)
    if not root.exists():
        raise InputError(root, "dataset folder not found")
    if not root.is_dir():
        raise InputError(root, "is a file, not a dataset folder")
    return root


def list_dataset(path: str | Path, split: str = "test", mode: str = "unpaired") -> tuple[str, Listing]:
    """(layout, Listing) for one split and mode; raises ``InputError`` if not a dataset."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    root = _root(path)
    layout = detect_layout(root)
    if layout is None:
        raise InputError(root, f"not a dataset: {LAYOUT_HINT}")
    return layout, _layouts()[layout].listing(root, split, mode, FileIndex())


def open_dataset(
    path: str | Path,
    split: str = "test",
    mode: str = "unpaired",
    size: tuple[int, int] | None = None,
    fit: str = "pad",
    categories: Sequence[str] | None = None,
    strict: bool = True,
) -> FileDataset:
    """Open a VITON-HD, DressCode or pseudo-triplet folder (the layout is detected).

    ``mode="unpaired"`` pairs each person with another garment as the pair files say
    (the target is known only where the layout stores it: synthetic sets, triplets);
    ``"paired"`` pairs each person with the garment they wear (target = the person).
    With ``strict`` a missing or malformed reference raises ``InputError`` naming the
    first one; otherwise samples with problems are left out. Images are read lazily: an
    unreadable file raises ``InputError`` when its sample is loaded.
    """
    layout, found = list_dataset(path, split, mode)
    root = Path(path)
    if strict and found.problems:
        first = sorted(found.problems, key=problem_order)[0]
        more = len(found.problems) - 1
        tail = f" (and {more} more problem{'s' * (more != 1)}; run `vton data check {root}`)" if more else ""
        raise InputError(first.path, f"{first.message}" + (f" (line {first.line})" if first.line else "") + tail)
    entries = [e for e in found.entries if e.id not in found.bad]
    if categories is not None:
        wanted = {parse_category(c) or c for c in categories}
        unknown = wanted - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}; use {CATEGORIES}")
        entries = [e for e in entries if e.category in wanted]
    if not entries:
        raise InputError(root, f"no {mode} samples in split {split!r} ({layout} layout)")
    return FileDataset(root, layout, split, mode, entries, size, fit)


def split_names(path: str | Path) -> list[str]:
    """The splits a dataset folder has (e.g. ['test', 'train'])."""
    root = _root(path)
    layout = detect_layout(root)
    if layout is None:
        raise InputError(root, f"not a dataset: {LAYOUT_HINT}")
    return _layouts()[layout].splits(root)
