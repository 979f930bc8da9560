"""Turning what the user gives us (dropped files, pasted data, examples) into image files.

Every way in — drag & drop, paste, the file dialog, "Try an example" — ends as a list of
local paths handed to one open routine (``WorkspaceController.open_paths`` /
``BoardController.add_garments``). Pasted pixels are written to a PNG in the cache first,
so a pasted image is a file like any other (and can be redone from history).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QUrl
from PySide6.QtGui import QImage

from engine.errors import InputError
from engine.images import decode_image, save_image
from engine.paths import EXAMPLES, private_mkdir
from engine.request import CATEGORIES

from .category import guess_from_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;All files (*)"

_LOWER = ("pant", "trouser", "jean", "skirt", "short", "legging", "chino", "jogger", "bottom", "lower")
_DRESS = ("dress", "gown", "jumpsuit", "romper", "robe", "frock", "sundress")
_UPPER = ("shirt", "tee", "top", "blouse", "sweater", "hoodie", "jacket", "coat", "cardigan", "vest", "upper")


def guess_category(path: str | Path, image: np.ndarray | tuple[int, int] | None = None) -> str:
    """A sensible default for the garment category; the user can always change it.

    Order: the bundled examples' own labels, words in the file name, then the garment's
    silhouette in the photo (``category.guess_from_image``), then the photo's shape.
    """
    path = Path(path)
    known = example_categories().get(path.resolve().as_posix()) if path.exists() else None
    if known:
        return known
    words = re.split(r"[^a-z]+", path.stem.lower())
    for word in words:
        if not word:
            continue
        if word.startswith(_DRESS):
            return "dress"
        if word.startswith(_LOWER):
            return "lower"
        if word.startswith(_UPPER) or word == "t":
            return "upper"
    image_hw = image if isinstance(image, tuple) else None
    if isinstance(image, np.ndarray):
        guessed = guess_from_image(image)
        if guessed:
            return guessed
        image_hw = image.shape[:2]
    if image_hw is not None and image_hw[0] > 1.9 * image_hw[1]:
        return "dress"
    return "upper"


# -- bundled examples -----------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    person: Path
    garment: Path
    category: str
    label: str = ""


def _entries(data, key: str) -> list[dict]:
    items = data.get(key, []) if isinstance(data, dict) else []
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            out.append({"file": item})
        elif isinstance(item, dict):
            out.append(item)
    return out


def _file_of(item: dict, root: Path) -> Path | None:
    for key in ("file", "path", "image", "name"):
        if isinstance(item.get(key), str):
            return (root / item[key]).resolve()
    return None


def load_examples(root: Path = EXAMPLES) -> list[Example]:
    """Pairs from ``examples.json`` (portraits × garments, or explicit pairs); [] if none ship.

    Accepts ``{"pairs": [{"person", "garment", "category"}]}`` and/or
    ``{"portraits"|"people"|"persons": [...], "garments": [{"file", "category"}]}``;
    without a json, the folder's images are paired by name (``person*`` / ``garment*``).
    """
    index = root / "examples.json"
    data: dict = {}
    if index.is_file():
        try:
            data = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
    if isinstance(data, list):
        data = {"pairs": data}
    pairs: list[Example] = []
    for item in _entries(data, "pairs") + _entries(data, "examples"):
        person, garment = item.get("person"), item.get("garment")
        if isinstance(person, dict):
            person = person.get("file") or person.get("path")
        if isinstance(garment, dict):
            garment = garment.get("file") or garment.get("path")
        if isinstance(person, str) and isinstance(garment, str):
            cat = item.get("category", "upper")
            pairs.append(Example((root / person).resolve(), (root / garment).resolve(),
                                 cat if cat in CATEGORIES else "upper", str(item.get("label", ""))))
    portraits = [p for k in ("portraits", "people", "persons", "person") for p in
                 (_file_of(i, root) for i in _entries(data, k)) if p]
    garments = []
    for item in _entries(data, "garments"):
        f = _file_of(item, root)
        if f:
            cat = item.get("category", "upper")
            garments.append((f, cat if cat in CATEGORIES else "upper", str(item.get("label", ""))))
    if not data and root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        portraits = [p for p in files if p.stem.lower().startswith(("person", "portrait", "model"))]
        garments = [(p, guess_category(p), "") for p in files if p.stem.lower().startswith(("garment", "cloth"))]
    if portraits and garments:
        for i in range(max(len(portraits), len(garments))):
            g, cat, label = garments[i % len(garments)]
            pairs.append(Example(portraits[i % len(portraits)], g, cat, label))
    return [p for p in pairs if p.person.is_file() and p.garment.is_file()]


def example_garments(root: Path = EXAMPLES) -> list[tuple[Path, str]]:
    seen, out = set(), []
    for ex in load_examples(root):
        if ex.garment not in seen:
            seen.add(ex.garment)
            out.append((ex.garment, ex.category))
    return out


_example_categories: dict[str, str] | None = None


def example_categories() -> dict[str, str]:
    global _example_categories  # a cache of a read-only shipped file, filled on first use
    if _example_categories is None:
        _example_categories = {g.as_posix(): c for g, c in example_garments()}
    return _example_categories


# -- mime data (drop and paste) -------------------------------------------------------------
@dataclass
class MimeSources:
    paths: list[Path]
    problem: str | None = None  # set when nothing usable was found


def _local_path(url: QUrl) -> Path | None:
    if url.isLocalFile():
        return Path(url.toLocalFile())
    return None


def store_pasted(data: bytes, folder: Path, name: str = "pasted image") -> Path:
    """Decode pasted bytes (so bad data fails here, with a message) and keep them as a PNG."""
    image = decode_image(data, name)
    private_mkdir(folder)
    target = folder / f"pasted-{hashlib.sha256(data).hexdigest()[:16]}.png"
    if not target.exists():
        save_image(image, target, private=True)
    return target


def qimage_to_png_bytes(image: QImage) -> bytes:
    buf = QByteArray()
    dev = QBuffer(buf)
    dev.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(dev, "PNG")
    dev.close()
    return bytes(buf.data())


def sources_from_mime(mime: QMimeData | None, pasted_dir: Path) -> MimeSources:
    """Paths from dropped/pasted data: file URLs, raw image bytes, an image, or a path as text."""
    if mime is None:
        return MimeSources([], "There is nothing to open.")
    if mime.hasUrls():
        urls = mime.urls()
        paths = [p for p in (_local_path(u) for u in urls) if p is not None]
        if paths:
            return MimeSources(paths)
        if urls:
            return MimeSources([], "Only files on this computer can be opened — this app works offline "
                                   "and never downloads anything.")
    try:
        for fmt in ("image/png", "image/jpeg", "image/webp", "image/bmp"):
            if mime.hasFormat(fmt):
                data = bytes(mime.data(fmt).data())
                if data:
                    return MimeSources([store_pasted(data, pasted_dir)])
        if mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                return MimeSources([store_pasted(qimage_to_png_bytes(image), pasted_dir)])
    except InputError as exc:
        return MimeSources([], f"The pasted image cannot be used: {exc.problem}.")
    if mime.hasText():
        text = mime.text().strip()
        if text.startswith("file://"):
            p = _local_path(QUrl(text.splitlines()[0]))
            if p is not None:
                return MimeSources([p])
        if text and len(text) < 4096 and "\n" not in text and os.path.isabs(text) and Path(text).exists():
            return MimeSources([Path(text)])
        return MimeSources([], "The clipboard holds text, not an image. Copy an image or an image file.")
    return MimeSources([], "The clipboard holds no image.")


def mime_has_candidates(mime: QMimeData | None) -> bool:
    """Whether a drag might carry something we can open (checked on drag enter)."""
    return mime is not None and (mime.hasUrls() or mime.hasImage() or mime.hasFormat("image/png"))
