"""Every result, kept in the user data dir: SQLite rows + image files (Qt-free).

Layout under ``<data dir>/history``::

    history.sqlite3        one row per result (request JSON, file names, time, timings)
    results/<id>.png       the result image
    thumbs/<id>.jpg        a small thumbnail for browsing
    inputs/<sha>.<ext>     the portrait and garment as given (content-addressed, so a
                           portrait used 50 times is stored once, and "redo" works even
                           after the originals were moved or deleted)

Files are written atomically (temp file + rename) *before* the row is committed, so a
crash can leave at worst an orphan file, never a row pointing at a missing image.
"""

from __future__ import annotations

import hashlib
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

from engine.images import save_image
from engine.request import TryOnRequest, TryOnResult

SCHEMA_VERSION = 1
THUMB_SIZE = (240, 320)  # (W, H) box

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


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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
                (self.root / sub).mkdir(parents=True, exist_ok=True)
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
        data = path.read_bytes()
        suffix = path.suffix.lower() if path.suffix else ".img"
        target = self.root / "inputs" / f"{hashlib.sha256(data).hexdigest()[:24]}{suffix}"
        if not target.exists():
            _write_atomic(target, data)
        return target

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
        save_image(result.image, image)
        save_image(make_thumbnail(result.image), thumb)
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

    def disk_usage(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def remove_all_files(self) -> None:
        """For tests and 'forget everything': drop the whole store."""
        self.close()
        shutil.rmtree(self.root, ignore_errors=True)


def make_thumbnail(image: np.ndarray, box: tuple[int, int] = THUMB_SIZE) -> np.ndarray:
    img = Image.fromarray(image)
    img.thumbnail(box, Image.Resampling.LANCZOS)
    return np.asarray(img)
