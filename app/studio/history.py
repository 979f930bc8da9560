"""Every result, kept in the user data dir: SQLite rows + image files (Qt-free).

Layout under ``<data dir>/history``::

    history.sqlite3        one row per result (request JSON, file names, time, timings)
    results/<id>.png       the result image
    thumbs/<id>.jpg        a small thumbnail for browsing
    inputs/<sha>.<ext>     the portrait and garment as given (content-addressed, so a
                           portrait used 50 times is stored once, and "redo" works even
                           after the originals were moved or deleted)

Files are written atomically (a unique temp file, fsync'd, then renamed) *before* the
row is committed, so a crash can leave at worst an orphan file, never a row pointing at a
missing image; :meth:`HistoryStore.housekeeping` removes such orphans (and unfinished temp
files) at start. Everything here is private to the user: folders 0700, files 0600.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from engine.images import copy_by_content, preview, save_image
from engine.paths import make_private, private_mkdir
from engine.request import TryOnRequest, TryOnResult

SCHEMA_VERSION = 1
THUMB_SIZE = (480, 640)  # (W, H) box: the list's icons and the preview pane (never the full result)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id          TEXT PRIMARY KEY,
    created     REAL NOT NULL,
    source      TEXT NOT NULL DEFAULT 'workspace',
    request     TEXT NOT NULL,
    image       TEXT NOT NULL,
    thumb       TEXT NOT NULL,
    person      TEXT NOT NULL,
    garment     TEXT NOT NULL,
    bundle_name TEXT NOT NULL DEFAULT '',
    size        TEXT NOT NULL DEFAULT '',
    timings     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS results_created ON results(created);
"""


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    created: float  # seconds since the epoch
    source: str  # "workspace" | "board"
    request: TryOnRequest  # as it ran (its person/garment are the user's original paths)
    image: Path  # result image
    thumb: Path
    person: Path  # stored copy of the portrait
    garment: Path  # stored copy of the garment
    bundle_name: str
    size: tuple[int, int] | None
    timings: dict = field(default_factory=dict)

    def redo_request(self, **changes) -> TryOnRequest:
        """The stored request, pointing at the stored input copies."""
        d = self.request.to_json()
        d.update(person=str(self.person), garment=str(self.garment))
        d.update(changes)
        return TryOnRequest.from_json(d)


STALE_SECONDS = 3600  # orphans younger than this may belong to a write in progress (another window)


class HistoryStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._conn: sqlite3.Connection | None = None

    # -- setup ------------------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.root / "history.sqlite3"

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            for sub in ("results", "thumbs", "inputs"):
                private_mkdir(self.root / sub)
            if not self.db_path.exists():  # SQLite gives its -wal/-shm files the database's mode
                os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT, 0o600))
            make_private(self.db_path)
            conn = sqlite3.connect(self.db_path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            with conn:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- writing ----------------------------------------------------------------------------
    def _store_input(self, path: Path) -> Path:
        """A private copy of an input, named by its content (streamed: never read whole)."""
        suffix = path.suffix.lower() if path.suffix.lower() in _INPUT_SUFFIXES else ".img"
        return copy_by_content(path, self.root / "inputs", suffix)

    def add(self, result: TryOnResult, source: str = "workspace",
            person_copy: Path | None = None, garment_copy: Path | None = None) -> HistoryEntry:
        """Store ``result``: files first (atomically), then the row in one transaction."""
        db = self._db()
        entry_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        image = self.root / "results" / f"{entry_id}.png"
        thumb = self.root / "thumbs" / f"{entry_id}.jpg"
        req = result.request
        person = person_copy or self._store_input(req.person)
        garment = garment_copy or self._store_input(req.garment)
        save_image(result.image, image, durable=True, private=True)
        save_image(make_thumbnail(result.image), thumb, durable=True, private=True)
        timings = {k: float(v) for k, v in result.timings.items()}
        created = time.time()
        size = f"{result.size[0]}x{result.size[1]}" if result.size else ""
        with db:
            db.execute(
                "INSERT INTO results (id, created, source, request, image, thumb, person, garment, bundle_name,"
                " size, timings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry_id, created, source, json.dumps(req.to_json()), self._rel(image), self._rel(thumb),
                 self._rel(person), self._rel(garment), result.bundle_name, size, json.dumps(timings)),
            )
        return self.get(entry_id)

    def delete(self, entry_id: str) -> None:
        """Remove the row first (so nothing shows a half-deleted entry), then its files.

        Input copies are kept while another entry still uses them.
        """
        entry = self.get(entry_id)
        if entry is None:
            return
        db = self._db()
        with db:
            db.execute("DELETE FROM results WHERE id = ?", (entry_id,))
        entry.image.unlink(missing_ok=True)
        entry.thumb.unlink(missing_ok=True)
        for path in {entry.person, entry.garment}:
            rel = self._rel(path)
            used = db.execute("SELECT 1 FROM results WHERE person = ? OR garment = ? LIMIT 1", (rel, rel)).fetchone()
            if not used and path.is_relative_to(self.root / "inputs"):
                path.unlink(missing_ok=True)

    def clear(self) -> None:
        for entry in self.entries():
            self.delete(entry.id)

    # -- reading ----------------------------------------------------------------------------
    def _rel(self, path: Path) -> str:
        path = Path(path)
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _entry(self, row) -> HistoryEntry:
        (entry_id, created, source, request, image, thumb, person, garment, bundle_name, size, timings) = row
        return HistoryEntry(
            id=entry_id,
            created=created,
            source=source,
            request=TryOnRequest.from_json(json.loads(request)),
            image=self.root / image,
            thumb=self.root / thumb,
            person=self.root / person,
            garment=self.root / garment,
            bundle_name=bundle_name,
            size=tuple(int(v) for v in size.split("x")) if size else None,
            timings=json.loads(timings),
        )

    _COLUMNS = "id, created, source, request, image, thumb, person, garment, bundle_name, size, timings"

    def entries(self, limit: int | None = None) -> list[HistoryEntry]:
        """Newest first."""
        sql = f"SELECT {self._COLUMNS} FROM results ORDER BY created DESC"
        rows = self._db().execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        return [self._entry(r) for r in rows]

    def get(self, entry_id: str) -> HistoryEntry | None:
        row = self._db().execute(f"SELECT {self._COLUMNS} FROM results WHERE id = ?", (entry_id,)).fetchone()
        return self._entry(row) if row else None

    def __len__(self) -> int:
        return self._db().execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def housekeeping(self, older_than: float = STALE_SECONDS) -> dict[str, int]:
        """Remove what a crash can leave behind: unfinished temp files, and result, thumbnail
        and input files that no row refers to (older than ``older_than`` seconds, so a write
        in progress in another window is never touched). Returns counts per kind."""
        db = self._db()
        used = set()
        for image, thumb, person, garment in db.execute("SELECT image, thumb, person, garment FROM results"):
            used.update((image, thumb, person, garment))
        now = time.time()
        removed = {"temp": 0, "orphans": 0}
        for sub in ("results", "thumbs", "inputs"):
            try:
                files = list((self.root / sub).iterdir())
            except OSError:
                continue
            for f in files:
                try:
                    st = f.lstat()
                except OSError:
                    continue
                if now - st.st_mtime < older_than:
                    continue
                temp = f.name.startswith(".") and f.name.endswith(".part")
                if temp or self._rel(f) not in used:
                    try:
                        f.unlink()
                        removed["temp" if temp else "orphans"] += 1
                    except OSError:
                        pass
        return removed

    def disk_usage(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def remove_all_files(self) -> None:
        """For tests and 'forget everything': drop the whole store."""
        self.close()
        shutil.rmtree(self.root, ignore_errors=True)


_INPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def make_thumbnail(image: np.ndarray, box: tuple[int, int] = THUMB_SIZE) -> np.ndarray:
    img = Image.fromarray(preview(image, 4 * max(box)))  # never a full-size copy of a large result
    img.thumbnail(box, Image.Resampling.LANCZOS)
    return np.asarray(img)
