"""The try-on workspace's behaviour, testable without pixels.

State: a portrait, a garment, a category (guessed, or chosen by the user), the running job
and the last result. Every way of giving an image — drop, paste, file dialog, example,
history — goes through :meth:`WorkspaceController.open_paths`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QGuiApplication

from engine.errors import InputError, VtonError
from engine.images import load_image, load_preview, preview, save_image
from engine.paths import EXAMPLES
from engine.request import CATEGORIES, Progress, TryOnRequest, TryOnResult

from .category import garment_key
from .history import HistoryEntry
from .inputs import Example, MimeSources, guess_category, load_examples
from .qt_images import to_qimage
from .session import StudioSession

# The studio shows pictures at most this large (the engine reads the full files itself), so a
# large photo costs the window a few tens of MB, not a full-size copy per view.
DISPLAY_MAX_SIDE = 2560

PERSON, GARMENT = "person", "garment"
TAG = "workspace"

STAGE_TEXT = {
    "load": "Loading the model…",
    "encode": "Reading the images…",
    "garment": "Studying the garment…",
    "decode": "Finishing…",
    "done": "Done",
}


@dataclass(frozen=True)
class InputImage:
    path: Path
    image: np.ndarray  # RGB uint8, upright, at most DISPLAY_MAX_SIDE (for the screen)
    size: tuple[int, int] | None = None  # (H, W) of the full picture; None = the image's own

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def full_size(self) -> tuple[int, int]:
        return self.size or self.image.shape[:2]

    @property
    def caption(self) -> str:
        h, w = self.full_size
        return f"{self.path.name} · {w}×{h}"


def open_input(path: Path) -> InputImage:
    """Read ``path`` for the screen (raises ``InputError`` for anything the engine would refuse)."""
    image, size = load_preview(path, DISPLAY_MAX_SIDE)
    return InputImage(path, image, size)


def progress_text(p: Progress) -> str:
    if p.stage == "denoise":
        text = f"Step {p.step} of {p.steps}"
        if p.eta is not None and p.step > 0:
            text += f" · about {format_seconds(p.eta)} left"
        return text
    return STAGE_TEXT.get(p.stage, p.stage)


def format_seconds(s: float) -> str:
    if s < 1:
        return "<1 s"
    if s < 60:
        return f"{s:.0f} s"
    return f"{int(s // 60)} min {int(s % 60):02d} s"


class WorkspaceController(QObject):
    inputs_changed = Signal()  # portrait, garment or category changed
    running_changed = Signal(bool)
    progress_changed = Signal(float, str)  # fraction 0..1, text
    result_changed = Signal()
    run_cancelled = Signal()
    run_failed = Signal(str)
    message = Signal(str, str, str)  # level, text, action

    def __init__(self, session: StudioSession, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.person: InputImage | None = None
        self.garment: InputImage | None = None
        self.category = "upper"
        self.category_guessed = True  # False once the user chose (remembered per garment)
        self._garment_key: str | None = None
        self.result: TryOnResult | None = None
        self.result_person: np.ndarray | None = None  # the portrait the result was made from
        self.entry: HistoryEntry | None = None  # the history entry of the shown result
        self.job_id: int | None = None
        self._request_person: np.ndarray | None = None  # the portrait of the job in flight
        self.examples_root = EXAMPLES  # where "Try an example" looks (tests point it elsewhere)
        self._examples: list[Example] | None = None
        self._example_index = 0
        engine = session.engine
        engine.job_started.connect(self._on_started)
        engine.job_progress.connect(self._on_progress)
        engine.job_finished.connect(self._on_finished)
        engine.job_cancelled.connect(self._on_cancelled)
        engine.job_failed.connect(self._on_failed)

    # -- the one open routine ------------------------------------------------------------------
    def open_paths(self, slot: str, paths: list[Path | str]) -> bool:
        """Load the first of ``paths`` into ``slot`` ("person" or "garment").

        Used by drop, paste, the file dialog and examples. A bad file leaves the current
        image in place and says what is wrong.
        """
        paths = [Path(p) for p in paths]
        if not paths:
            return False
        what = "portrait" if slot == PERSON else "garment"
        path = paths[0]
        try:
            item = open_input(path)
        except InputError as exc:
            self._say("error", f"Cannot use {exc.path.name} as the {what}: {exc.problem}.")
            return False
        if slot == PERSON:
            self.person = item
        else:
            self.garment = item
            self._garment_key = garment_key(path)
            chosen = self.session.categories.get(self._garment_key)
            if chosen:  # the user's own choice for this garment wins over any guess
                self.category, self.category_guessed = chosen, False
            else:
                self.category, self.category_guessed = guess_category(path, item.image), True
        self.session.update_settings(last_dir=str(path.parent))
        self.inputs_changed.emit()
        if len(paths) > 1:
            self._say("info", f"Used {path.name} as the {what}. To compare several garments at once, "
                              "drop them on the Board.")
        return True

    def open_sources(self, slot: str, sources: MimeSources) -> bool:
        """A drop or paste: the paths it carried, or the reason it carried none."""
        if sources.problem:
            self._say("warning", sources.problem)
            return False
        return self.open_paths(slot, sources.paths)

    def clear(self, slot: str) -> None:
        if slot == PERSON:
            self.person = None
        else:
            self.garment = None
            self.category_guessed = True
        self.inputs_changed.emit()

    def set_category(self, category: str) -> None:
        """The user's choice: kept for this garment, now and whenever it is opened again."""
        if category not in CATEGORIES:
            raise ValueError(category)
        self.category = category
        self.category_guessed = False
        if self.garment is not None:
            self.session.categories.remember(self._garment_key, category)
        self.inputs_changed.emit()

    def examples(self) -> list[Example]:
        if self._examples is None:
            self._examples = load_examples(self.examples_root)
        return self._examples

    def load_example(self) -> bool:
        """Load the next bundled example pair (cycles through them)."""
        examples = self.examples()
        if not examples:
            self._say("warning", "No examples are installed with this build (assets/examples is empty).")
            return False
        ex = examples[self._example_index % len(examples)]
        self._example_index += 1
        ok = self.open_paths(PERSON, [ex.person]) and self.open_paths(GARMENT, [ex.garment])
        if ok and self.category_guessed:
            self.category = ex.category
            self.inputs_changed.emit()
        return ok

    # -- running ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job_id is not None

    def can_run(self) -> bool:
        return self.person is not None and self.garment is not None

    def build_request(self) -> TryOnRequest:
        s = self.session.settings
        bundle = self.session.bundle_path()
        return TryOnRequest(
            person=self.person.path, garment=self.garment.path, category=self.category, steps=s.steps,
            seed=s.seed, size=self.session.request_size(), bundle=str(bundle) if bundle else None,
            restore=s.restore,
        )

    def try_on(self) -> int | None:
        """Start a try-on with the current inputs and settings; returns the job id."""
        if self.person is None:
            self._say("warning", "Add a portrait first: drop a photo of a person on the Portrait box.")
            return None
        if self.garment is None:
            self._say("warning", "Add a garment: drop a product photo on the Garment box.")
            return None
        problem = self.session.bundle_problem()
        if problem:
            self._say("error", problem, "settings")
            return None
        return self._submit(self.build_request())

    def redo(self, entry: HistoryEntry) -> int | None:
        """Show a history entry's inputs and run its request again (same steps, seed, bundle)."""
        self.reopen(entry)
        bundle = entry.request.bundle
        if not bundle or not Path(bundle).exists():  # that model was removed: use the current one
            problem = self.session.bundle_problem()
            if problem:
                self._say("error", problem, "settings")
                return None
            bundle = str(self.session.bundle_path())
        return self._submit(entry.redo_request(bundle=bundle))

    def _submit(self, request: TryOnRequest) -> int | None:
        engine = self.session.engine
        if self.job_id is not None:  # a new request replaces the one in flight
            engine.cancel(self.job_id)
        try:
            self.job_id = engine.submit(request, tag=TAG)
        except (VtonError, ValueError) as exc:
            self.job_id = None
            self._say("error", f"Cannot start: {exc}")
            return None
        self._request_person = self.person.image if self.person else None
        self.running_changed.emit(True)
        self.progress_changed.emit(0.0, "Waiting for the engine…")
        return self.job_id

    def cancel(self) -> None:
        if self.job_id is not None:
            self.session.engine.cancel(self.job_id)
            self.progress_changed.emit(0.0, "Cancelling…")

    @Slot(int, str)
    def _on_started(self, job_id: int, tag: str) -> None:
        if job_id == self.job_id:
            self.progress_changed.emit(0.0, "Starting…")

    @Slot(int, str, object)
    def _on_progress(self, job_id: int, tag: str, progress: Progress) -> None:
        if job_id == self.job_id:
            self.progress_changed.emit(progress.fraction, progress_text(progress))

    @Slot(int, str, object)
    def _on_finished(self, job_id: int, tag: str, result: TryOnResult) -> None:
        if job_id != self.job_id:
            return
        self.job_id = None
        result.image.setflags(write=False)  # shared with history and the views, never changed
        self.result = result
        self.result_person = self._request_person
        self.entry = None
        try:
            self.entry = self.session.history.add(result, source=TAG)
            self.session.history_changed.emit()
        except (OSError, VtonError) as exc:  # the result is still shown; say why it was not kept
            self._say("warning", f"The result could not be saved to history: {exc}")
        self.running_changed.emit(False)
        secs = result.timings.get("total", 0.0)
        self.progress_changed.emit(1.0, f"Done in {secs:.1f} s")
        self.result_changed.emit()

    @Slot(int, str, str)
    def _on_cancelled(self, job_id: int, tag: str, reason: str) -> None:
        if job_id != self.job_id:
            return
        self.job_id = None
        self.running_changed.emit(False)
        self.progress_changed.emit(0.0, "Cancelled")
        self.run_cancelled.emit()
        self._say("info", "Try-on cancelled.")

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, tag: str, error: str) -> None:
        if job_id != self.job_id:
            return
        self.job_id = None
        self.running_changed.emit(False)
        self.progress_changed.emit(0.0, "Failed")
        self.run_failed.emit(error)
        action = "settings" if "bundle" in error.lower() or "manifest" in error.lower() else ""
        self._say("error", f"The try-on failed: {error}", action)

    # -- results ---------------------------------------------------------------------------------
    def reopen(self, entry: HistoryEntry) -> bool:
        """Show a stored result with its inputs (the stored copies, so it works after moves)."""
        try:
            person = open_input(entry.person)
            garment = open_input(entry.garment)
            image = load_image(entry.image)
        except InputError as exc:
            self._say("error", f"This history entry is damaged: {exc}")
            return False
        self.person = person
        self.garment = garment
        self._garment_key = garment_key(entry.garment)
        self.category = entry.request.category
        self.category_guessed = False
        self.result = TryOnResult(image, entry.request, entry.size or image.shape[:2], entry.bundle_name, entry.timings)
        self.result_person = person.image
        self.entry = entry
        self.inputs_changed.emit()
        self.result_changed.emit()
        return True

    def suggested_name(self, suffix: str = ".png") -> str:
        if self.result is None:
            return f"tryon{suffix}"
        r = self.result.request
        return f"tryon-{Path(r.person).stem}-{Path(r.garment).stem}{suffix}"

    def save_result(self, path: str | Path) -> bool:
        if self.result is None:
            self._say("warning", "There is no result to save yet.")
            return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".png")
        try:
            save_image(self.result.image, path, inputs=self.protected_paths())
        except InputError as exc:
            self._say("error", f"Cannot save {exc.path.name}: {exc.problem}.")
            return False
        self.session.update_settings(last_dir=str(path.parent))
        self._say("success", f"Saved {path.name}")
        return True

    def protected_paths(self) -> list[Path]:
        """Files a save must never write over: the inputs as given and as shown."""
        paths = [p.path for p in (self.person, self.garment) if p is not None]
        if self.result is not None:
            paths += [Path(self.result.request.person), Path(self.result.request.garment)]
        return paths

    def display_result(self) -> np.ndarray | None:
        """The result at screen size (the full-size image stays for saving and copying)."""
        return None if self.result is None else preview(self.result.image, DISPLAY_MAX_SIDE)

    def copy_result(self) -> bool:
        if self.result is None:
            self._say("warning", "There is no result to copy yet.")
            return False
        QGuiApplication.clipboard().setImage(to_qimage(self.result.image))
        self._say("success", "Result copied to the clipboard.")
        return True

    def _say(self, level: str, text: str, action: str = "") -> None:
        self.message.emit(level, text, action)
