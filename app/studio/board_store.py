"""The comparison board on disk, so it survives a restart (Qt-free).

Layout under ``<data dir>/board`` (private, like all of the data folder)::

    board.json          the portrait and the items in order: kind, garment, category, label,
                        state, the request of a finished look, its timings
    inputs/<sha>.<ext>  copies of the portrait and the garments (by content): a look can be
                        re-run after the originals were moved
    looks/<id>.png      each finished look, at board size (the full-size results are in history)

``board.json`` is written atomically (temp file, fsync, rename) after every change that
matters (not on progress ticks); a damaged file gives an empty board and a message, never
a crash.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import InputError
from engine.images import copy_by_content, load_image, save_image, write_atomic
from engine.paths import private_mkdir
from engine.request import CATEGORIES, TryOnRequest

VERSION = 1
MAX_BOARD_BYTES = 4 << 20
MAX_ITEMS = 500
STALE_SECONDS = 3600


@dataclass
class StoredItem:
    kind: str  # "garment" | "pinned"
    garment: Path  # the stored copy
    garment_name: str  # the file name the user gave (for labels)
    category: str
    label: str
    done: bool = False
    look: Path | None = None  # the stored look image, when done
    request: TryOnRequest | None = None
    timings: dict = field(default_factory=dict)


@dataclass
class StoredBoard:
    portrait: Path | None = None
    portrait_name: str = ""
    items: list[StoredItem] = field(default_factory=list)


class BoardStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.problem: str | None = None  # what was wrong with board.json, for a message

    @property
    def path(self) -> Path:
        return self.root / "board.json"

    def _dirs(self) -> None:
        for sub in ("inputs", "looks"):
            private_mkdir(self.root / sub)

    # -- files ------------------------------------------------------------------------------------
    def store_input(self, path: Path) -> Path:
        """A private copy of ``path`` named by its content (streamed, never read whole)."""
        path = Path(path)
        if path.parent == self.root / "inputs":
            return path
        self._dirs()
        suffix = path.suffix.lower() if len(path.suffix) <= 6 and path.suffix.isascii() else ".img"
        return copy_by_content(path, self.root / "inputs", suffix or ".img")

    def store_look(self, image: np.ndarray) -> Path:
        self._dirs()
        return save_image(image, self.root / "looks" / f"{uuid.uuid4().hex}.png", durable=True, private=True)

    def load_look(self, path: Path) -> np.ndarray | None:
        try:
            return load_image(path)
        except InputError:
            return None

    # -- the board --------------------------------------------------------------------------------
    def save(self, board: StoredBoard) -> None:
        private_mkdir(self.root)

        def rel(p: Path | None) -> str | None:
            if p is None:
                return None
            try:
                return Path(p).relative_to(self.root).as_posix()
            except ValueError:
                return None

        data = {
            "version": VERSION,
            "saved": time.time(),
            "portrait": rel(board.portrait),
            "portrait_name": board.portrait_name,
            "items": [{
                "kind": i.kind, "garment": rel(i.garment), "garment_name": i.garment_name, "category": i.category,
                "label": i.label, "done": i.done, "look": rel(i.look),
                "request": i.request.to_json() if i.request is not None else None, "timings": i.timings,
            } for i in board.items if rel(i.garment) is not None],
        }
        write_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode("utf-8"), durable=True, private=True)
        self.sweep(board)

    def load(self) -> StoredBoard:
        board = StoredBoard()
        try:
            if not self.path.is_file():
                return board
            if self.path.stat().st_size > MAX_BOARD_BYTES:
                raise ValueError("the file is too large")
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
                raise ValueError("not a board")
        except (OSError, ValueError, RecursionError) as exc:
            self.problem = f"The saved board ({self.path}) cannot be read ({exc}); starting with an empty board."
            return board

        def inside(value) -> Path | None:
            if not isinstance(value, str) or not value or value.startswith("/") or ".." in value.split("/"):
                return None
            p = self.root / value
            return p if p.is_file() and not p.is_symlink() else None

        board.portrait = inside(data.get("portrait"))
        board.portrait_name = str(data.get("portrait_name") or "")[:200]
        for raw in data["items"][:MAX_ITEMS]:
            if not isinstance(raw, dict):
                continue
            garment = inside(raw.get("garment"))
            if garment is None or raw.get("kind") not in ("garment", "pinned"):
                continue
            category = raw.get("category") if raw.get("category") in CATEGORIES else "upper"
            request = None
            if isinstance(raw.get("request"), dict):
                try:
                    request = TryOnRequest.from_json(raw["request"])
                except (TypeError, ValueError):
                    request = None
            look = inside(raw.get("look"))
            done = bool(raw.get("done")) and look is not None
            if raw["kind"] == "pinned" and not done:
                continue  # a pinned look without its picture is nothing to show
            timings = raw.get("timings") if isinstance(raw.get("timings"), dict) else {}
            board.items.append(StoredItem(raw["kind"], garment, str(raw.get("garment_name") or garment.name)[:200],
                                          category, str(raw.get("label") or "")[:200], done, look, request,
                                          {k: v for k, v in timings.items() if isinstance(v, int | float)}))
        return board

    def sweep(self, board: StoredBoard, older_than: float = STALE_SECONDS) -> None:
        """Remove stored inputs and looks the board no longer uses (not brand-new ones)."""
        used = {board.portrait} | {i.garment for i in board.items} | {i.look for i in board.items}
        now = time.time()
        for sub in ("inputs", "looks"):
            try:
                files = list((self.root / sub).iterdir())
            except OSError:
                continue
            for f in files:
                try:
                    if f not in used and now - f.lstat().st_mtime > older_than:
                        f.unlink()
                except OSError:
                    pass
