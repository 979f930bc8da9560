"""The comparison board's behaviour (no pixels): one portrait × many garments, plus pinned
looks from the workspace. Garments run as a queue on the engine thread and fill the grid
as they finish; items can be reordered, removed, labelled, and the board exported as one
image (composed with PIL, so it is testable and identical on every platform).

The board persists across restarts (``board_store.BoardStore``): the portrait and garments
are kept as private copies, finished looks as board-size images; looks that had not
finished run again when the studio starts. The board holds board-size pictures only
(``BOARD_MAX_SIDE``): the full-size results are in history.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PySide6.QtCore import QObject, Signal, Slot

from engine.errors import InputError, VtonError
from engine.images import load_preview, preview, save_image
from engine.paths import ASSETS
from engine.request import CATEGORIES, Progress, TryOnRequest, TryOnResult

from .board_store import BoardStore, StoredBoard, StoredItem
from .category import garment_key
from .history import make_thumbnail
from .inputs import MimeSources, guess_category
from .session import StudioSession
from .workspace import progress_text

BOARD_MAX_SIDE = 1536  # looks and the portrait are kept at this size (the export uses 512-px cells)

TAG = "board"
QUEUED, RUNNING, DONE, FAILED, WAITING = "queued", "running", "done", "failed", "waiting"


_NOISE_WORDS = {"garment", "garments", "cloth", "clothes", "product", "upper", "lower", "dress", "img", "image"}


def label_from_path(path: Path) -> str:
    """A short caption from a file name: "garment_upper_longsleeve.png" -> "Longsleeve"."""
    words = path.stem.replace("_", " ").replace("-", " ").split()
    while len(words) > 1 and words[0].lower() in _NOISE_WORDS:
        words = words[1:]
    return " ".join(words).capitalize()[:40] or "Garment"


@dataclass
class BoardItem:
    id: int
    kind: str  # "garment" (runs on the board's portrait) | "pinned" (a finished look)
    garment: Path
    garment_thumb: np.ndarray
    category: str
    label: str
    state: str = WAITING
    progress: float = 0.0
    status: str = ""
    result: np.ndarray | None = None
    request: TryOnRequest | None = None
    error: str = ""
    job_id: int | None = None
    person_thumb: np.ndarray | None = None
    timings: dict = field(default_factory=dict)
    look_file: Path | None = None  # the stored look (board_store), once done

    @property
    def done(self) -> bool:
        return self.state == DONE


class BoardController(QObject):
    items_changed = Signal()  # items were added, removed or reordered
    item_changed = Signal(int)  # one item's state, progress or label changed
    portrait_changed = Signal()
    message = Signal(str, str, str)

    def __init__(self, session: StudioSession, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.items: list[BoardItem] = []
        self.portrait: Path | None = None  # the stored copy the board runs on
        self.portrait_name: str = ""  # the file name the user gave
        self.portrait_image: np.ndarray | None = None  # at board size
        self._ids = itertools.count(1)
        self.store = BoardStore(session.board_dir())
        self._restoring = False
        engine = session.engine
        engine.job_started.connect(self._on_started)
        engine.job_progress.connect(self._on_progress)
        engine.job_finished.connect(self._on_finished)
        engine.job_cancelled.connect(self._on_cancelled)
        engine.job_failed.connect(self._on_failed)

    # -- persistence -----------------------------------------------------------------------------
    def restore(self) -> None:
        """Bring back the board of the last session; unfinished looks run again."""
        stored = self.store.load()
        if self.store.problem:
            self._say("warning", self.store.problem)
        self._restoring = True
        try:
            if stored.portrait is not None:
                try:
                    self.portrait_image, _ = load_preview(stored.portrait, BOARD_MAX_SIDE)
                    self.portrait, self.portrait_name = stored.portrait, stored.portrait_name or stored.portrait.name
                except InputError:
                    self.portrait = None
            for s in stored.items:
                try:
                    thumb = make_thumbnail(load_preview(s.garment, 640)[0], (160, 160))
                except InputError:
                    continue
                item = BoardItem(next(self._ids), s.kind, s.garment, thumb, s.category,
                                 s.label or label_from_path(Path(s.garment_name)))
                if s.done:
                    item.result = self.store.load_look(s.look)
                if item.result is not None:
                    item.state, item.progress, item.request, item.timings = DONE, 1.0, s.request, dict(s.timings)
                    item.look_file = s.look
                elif s.kind == "pinned":
                    continue
                self.items.append(item)
        finally:
            self._restoring = False
        if self.portrait is not None or self.items:
            self.portrait_changed.emit()
            self.items_changed.emit()
            for item in self.items:
                if item.kind == "garment" and not item.done:
                    self._submit(item)

    def _persist(self) -> None:
        if self._restoring:
            return
        board = StoredBoard(self.portrait, self.portrait_name)
        for i in self.items:
            board.items.append(StoredItem(i.kind, i.garment, i.garment.name, i.category, i.label,
                                          i.done and i.look_file is not None, i.look_file, i.request, i.timings))
        try:
            self.store.save(board)
        except (OSError, InputError) as exc:
            self._say("warning", f"The board could not be saved: {exc}")

    def _keep_look(self, item: BoardItem, image: np.ndarray) -> None:
        item.result = preview(image, BOARD_MAX_SIDE)
        try:
            item.look_file = self.store.store_look(item.result)
        except (OSError, InputError):
            item.look_file = None

    # -- inputs ---------------------------------------------------------------------------------
    def set_portrait(self, paths: list[Path | str]) -> bool:
        """The board's portrait (first of ``paths``); every garment on the board re-runs on it."""
        if not paths:
            return False
        path = Path(paths[0])
        try:
            image, _ = load_preview(path, BOARD_MAX_SIDE)
            stored = self.store.store_input(path)
        except InputError as exc:
            self._say("error", f"Cannot use {exc.path.name} as the portrait: {exc.problem}.")
            return False
        except OSError as exc:
            self._say("error", f"Cannot keep {path.name} for the board: {exc.strerror or exc}.")
            return False
        self.portrait, self.portrait_name, self.portrait_image = stored, path.name, image
        self.portrait_changed.emit()
        self._run_all()
        self._persist()
        return True

    def clear_portrait(self) -> None:
        self.session.engine.cancel_tag(TAG)
        self.portrait, self.portrait_image, self.portrait_name = None, None, ""
        self.portrait_changed.emit()
        for item in self.items:
            if item.kind == "garment":
                self._submit(item)  # back to "waiting for a portrait"
        self._persist()

    def open_portrait_sources(self, sources: MimeSources) -> bool:
        if sources.problem:
            self._say("warning", sources.problem)
            return False
        return self.set_portrait(sources.paths)

    def add_garments(self, paths: list[Path | str], category: str | None = None) -> list[int]:
        """Add garments (several at once is the point); each runs as soon as a portrait is set.

        Unreadable files are skipped with one message naming each of them.
        """
        added, problems = [], []
        for p in paths:
            path = Path(p)
            try:
                image, _ = load_preview(path, 640)
                stored = self.store.store_input(path)
            except InputError as exc:
                problems.append(f"{exc.path.name} ({exc.problem})")
                continue
            except OSError as exc:
                problems.append(f"{path.name} ({exc.strerror or exc})")
                continue
            cat = category if category in CATEGORIES else (
                self.session.categories.get(garment_key(path)) or guess_category(path, image))
            item = BoardItem(next(self._ids), "garment", stored, make_thumbnail(image, (160, 160)), cat,
                             label_from_path(path))
            self.items.append(item)
            added.append(item.id)
        if problems:
            n = len(problems)
            self._say("error", f"{'This file was' if n == 1 else f'{n} files were'} not added: " + "; ".join(problems))
        if added:
            self.items_changed.emit()
            if self.portrait is None:
                self._say("info", "Garments added. Drop a portrait on the board to try them all on.")
            for item_id in added:
                self._submit(self.item(item_id))
            self._persist()
        return added

    def open_garment_sources(self, sources: MimeSources) -> list[int]:
        if sources.problem:
            self._say("warning", sources.problem)
            return []
        return self.add_garments(sources.paths)

    def pin(self, result: TryOnResult, person: np.ndarray | None = None, label: str | None = None) -> int:
        """Put a finished look (from the workspace or history) on the board."""
        garment = Path(result.request.garment)
        try:
            thumb = make_thumbnail(load_preview(garment, 640)[0], (160, 160))
            stored = self.store.store_input(garment)
        except (InputError, OSError):
            thumb, stored = np.full((160, 120, 3), 240, np.uint8), None
        item = BoardItem(next(self._ids), "pinned", stored or garment, thumb, result.request.category,
                         label or label_from_path(garment), state=DONE, progress=1.0,
                         request=result.request, timings=dict(result.timings),
                         person_thumb=None if person is None else make_thumbnail(person, (160, 160)))
        self._keep_look(item, result.image)
        self.items.append(item)
        self.items_changed.emit()
        if stored is not None:
            self._persist()
        return item.id

    # -- editing ---------------------------------------------------------------------------------
    def item(self, item_id: int) -> BoardItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def index_of(self, item_id: int) -> int:
        return next(n for n, i in enumerate(self.items) if i.id == item_id)

    def move(self, item_id: int, delta: int) -> None:
        n = self.index_of(item_id)
        m = min(max(n + delta, 0), len(self.items) - 1)
        if m != n:
            self.items.insert(m, self.items.pop(n))
            self.items_changed.emit()
            self._persist()

    def remove(self, item_id: int) -> None:
        item = self.item(item_id)
        if item is None:
            return
        if item.job_id is not None:
            self.session.engine.cancel(item.job_id)
        self.items.remove(item)
        self.items_changed.emit()
        self._persist()

    def clear(self) -> None:
        self.session.engine.cancel_tag(TAG)
        self.items.clear()
        self.items_changed.emit()
        self._persist()

    def set_label(self, item_id: int, label: str) -> None:
        item = self.item(item_id)
        if item is not None and item.label != label.strip():
            item.label = label.strip()
            self.item_changed.emit(item_id)
            self._persist()

    def set_category(self, item_id: int, category: str) -> None:
        item = self.item(item_id)
        if item is not None and category in CATEGORIES and category != item.category:
            item.category = category
            self.session.categories.remember(garment_key(item.garment), category)  # the user's choice sticks
            if item.kind == "garment":
                self._submit(item)
            self.item_changed.emit(item_id)
            self._persist()

    def retry(self, item_id: int) -> None:
        item = self.item(item_id)
        if item is not None and item.kind == "garment":
            self._submit(item)

    @property
    def pending(self) -> int:
        return sum(1 for i in self.items if i.state in (QUEUED, RUNNING))

    @property
    def finished(self) -> list[BoardItem]:
        return [i for i in self.items if i.done]

    # -- running ---------------------------------------------------------------------------------
    def _run_all(self) -> None:
        self.session.engine.cancel_tag(TAG)
        for item in self.items:
            if item.kind == "garment":
                self._submit(item)

    def _submit(self, item: BoardItem) -> None:
        engine = self.session.engine
        if item.job_id is not None:
            engine.cancel(item.job_id)
            item.job_id = None
        if self.portrait is None:
            item.state, item.status, item.result, item.progress = WAITING, "Waiting for a portrait", None, 0.0
            item.look_file = None
            self.item_changed.emit(item.id)
            return
        problem = self.session.bundle_problem()
        if problem:
            item.state, item.status, item.error = FAILED, "No model", problem
            self.item_changed.emit(item.id)
            self._say("error", problem, "settings")
            return
        s = self.session.settings
        bundle = self.session.bundle_path()
        request = TryOnRequest(self.portrait, item.garment, item.category, s.steps, s.seed,
                               self.session.request_size(), str(bundle) if bundle else None, restore=s.restore)
        try:
            item.job_id = engine.submit(request, tag=TAG, supersede=False)  # a queue, not a replacement
        except VtonError as exc:
            item.state, item.error = FAILED, str(exc)
        else:
            item.state, item.status, item.progress, item.error = QUEUED, "Queued", 0.0, ""
            item.result, item.request, item.look_file = None, request, None
        self.item_changed.emit(item.id)

    def _item_for_job(self, job_id: int) -> BoardItem | None:
        return next((i for i in self.items if i.job_id == job_id), None)

    @Slot(int, str)
    def _on_started(self, job_id: int, tag: str) -> None:
        item = self._item_for_job(job_id) if tag == TAG else None
        if item is not None:
            item.state, item.status = RUNNING, "Starting…"
            self.item_changed.emit(item.id)

    @Slot(int, str, object)
    def _on_progress(self, job_id: int, tag: str, progress: Progress) -> None:
        item = self._item_for_job(job_id) if tag == TAG else None
        if item is not None:
            item.state, item.progress, item.status = RUNNING, progress.fraction, progress_text(progress)
            self.item_changed.emit(item.id)

    @Slot(int, str, object)
    def _on_finished(self, job_id: int, tag: str, result: TryOnResult) -> None:
        item = self._item_for_job(job_id) if tag == TAG else None
        if item is None:
            return
        item.job_id = None
        item.state, item.progress, item.status = DONE, 1.0, ""
        item.request, item.timings = result.request, dict(result.timings)
        self._keep_look(item, result.image)
        self._persist()
        try:
            self.session.history.add(result, source=TAG)
            self.session.history_changed.emit()
        except (OSError, VtonError) as exc:
            self._say("warning", f"A board result could not be saved to history: {exc}")
        self.item_changed.emit(item.id)

    @Slot(int, str, str)
    def _on_cancelled(self, job_id: int, tag: str, reason: str) -> None:
        item = self._item_for_job(job_id) if tag == TAG else None
        if item is not None:
            item.job_id = None
            item.state, item.status = FAILED, "Cancelled"
            item.error = reason
            self.item_changed.emit(item.id)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, tag: str, error: str) -> None:
        item = self._item_for_job(job_id) if tag == TAG else None
        if item is not None:
            item.job_id = None
            item.state, item.status, item.error = FAILED, "Failed", error
            self.item_changed.emit(item.id)
            self._say("error", f"{item.label}: {error}")

    # -- export -----------------------------------------------------------------------------------
    def export(self, path: str | Path, columns: int | None = None) -> bool:
        """Write the finished looks (with the portrait first) as one PNG/JPEG."""
        done = self.finished
        if not done:
            self._say("warning", "Nothing to export yet: the board has no finished looks.")
            return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".png")
        image = compose_board(self.portrait_image if any(i.kind == "garment" for i in done) else None,
                              [(i.result, i.label, i.garment_thumb) for i in done], columns,
                              note=self.session.training_note())
        protected = [self.portrait] + [i.garment for i in self.items]
        protected += [p for i in done if i.request for p in (i.request.person, i.request.garment)]
        try:
            save_image(image, path, inputs=[p for p in protected if p is not None])
        except InputError as exc:
            self._say("error", f"Cannot export the board to {exc.path.name}: {exc.problem}.")
            return False
        self._say("success", f"Board exported to {path.name} ({len(done)} looks).")
        return True

    def _say(self, level: str, text: str, action: str = "") -> None:
        self.message.emit(level, text, action)


def _font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(str(ASSETS / "fonts" / name), size)
    except OSError:
        return ImageFont.load_default()


def _fit_into(image: np.ndarray, w: int, h: int) -> Image.Image:
    img = Image.fromarray(image)
    scale = min(w / img.width, h / img.height)
    return img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.LANCZOS)


def compose_board(portrait: np.ndarray | None, looks: list[tuple[np.ndarray, str, np.ndarray | None]],
                  columns: int | None = None, cell_h: int = 512, note: str = "") -> np.ndarray:
    """One image: a title, then a grid of cells (portrait first), each with its label and garment.

    ``note`` (what the model was trained on, e.g. synthetic people only) is printed under the
    title, so a shared picture says it too.
    """
    first = looks[0][0]
    aspect = first.shape[1] / first.shape[0]
    cell_w = max(160, round(cell_h * aspect))
    cells = ([(portrait, "Portrait", None)] if portrait is not None else []) + list(looks)
    rows_needed = -(-len(cells) // 4)  # at most 4 per row, rows as even as possible
    cols = columns or -(-len(cells) // rows_needed)
    rows = -(-len(cells) // cols)
    pad, label_h, head = 24, 44, 72 + (26 if note else 0)
    W = pad + cols * (cell_w + pad)
    H = head + rows * (cell_h + label_h + pad) + pad // 2
    board = Image.new("RGB", (W, H), (244, 245, 248))
    draw = ImageDraw.Draw(board)
    draw.text((pad, 22), "Mobile-VTON board", fill=(31, 36, 48), font=_font(26, True))
    stamp = time.strftime("%Y-%m-%d %H:%M")
    draw.text((W - pad, 30), f"{len(looks)} looks · {stamp}", fill=(107, 114, 128), font=_font(16), anchor="ra")
    if note:
        draw.text((pad, 60), f"Model {note}.", fill=(146, 64, 14), font=_font(15))
    label_font = _font(18, True)
    for n, (image, label, garment) in enumerate(cells):
        r, c = divmod(n, cols)
        x, y = pad + c * (cell_w + pad), head + r * (cell_h + label_h + pad)
        draw.rounded_rectangle((x - 1, y - 1, x + cell_w, y + cell_h + label_h), 12, fill=(255, 255, 255),
                               outline=(226, 229, 235))
        fitted = _fit_into(image, cell_w - 16, cell_h - 16)
        board.paste(fitted, (x + (cell_w - fitted.width) // 2, y + 8 + (cell_h - 16 - fitted.height) // 2))
        if garment is not None:
            g = _fit_into(garment, cell_w // 4, cell_h // 4)
            gx, gy = x + cell_w - g.width - 16, y + cell_h - g.height - 16
            draw.rounded_rectangle((gx - 4, gy - 4, gx + g.width + 4, gy + g.height + 4), 6, fill=(255, 255, 255),
                                   outline=(210, 214, 222))
            board.paste(g, (gx, gy))
        text = label if len(label) <= 34 else label[:33] + "…"
        draw.text((x + 12, y + cell_h + 10), text, fill=(31, 36, 48), font=label_font)
    return np.asarray(board)
