"""Layout of the try-on workspace. Behaviour lives in :class:`WorkspaceController`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from . import icons
from .compare_view import CompareView
from .drop_zone import DropZone
from .inputs import IMAGE_FILTER, sources_from_mime
from .qt_images import to_qimage
from .widgets import ElidedLabel, Segmented, card, label, tool_button
from .workspace import GARMENT, PERSON, WorkspaceController, format_seconds

CATEGORY_OPTIONS = [
    ("upper", "Upper", "Tops, shirts, jackets"),
    ("lower", "Lower", "Trousers, skirts, shorts"),
    ("dress", "Dress", "Dresses and full-body garments"),
]


class WorkspaceView(QWidget):
    pin_requested = Signal()

    def __init__(self, controller: WorkspaceController, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Page")
        self.controller = c = controller
        pasted = c.session.pasted_dir()

        root = QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(16)

        # ---- inputs column -------------------------------------------------------------------
        inputs, col = card(self, margins=16, spacing=8)
        inputs.setFixedWidth(316)
        col.addWidget(label("PORTRAIT", "section"))
        self.person_zone = DropZone("Portrait", "Drop a portrait here", "portrait", pasted, inputs)
        self.person_zone.setToolTip("A photo of a person, facing the camera (Ctrl+O)")
        col.addWidget(self.person_zone, 1)
        col.addSpacing(4)
        col.addWidget(label("GARMENT", "section"))
        self.garment_zone = DropZone("Garment", "Drop a garment here", "garment", pasted, inputs)
        self.garment_zone.setToolTip("A product photo of the garment (Ctrl+Shift+O)")
        col.addWidget(self.garment_zone, 1)
        col.addSpacing(4)
        cat_row = QHBoxLayout()
        cat_row.addWidget(label("CATEGORY", "section"))
        cat_row.addStretch(1)
        self.category_hint = label("", "hint")
        cat_row.addWidget(self.category_hint)
        col.addLayout(cat_row)
        self.category = Segmented(CATEGORY_OPTIONS, inputs)
        col.addWidget(self.category)
        col.addSpacing(6)

        self.try_button = QPushButton("Try on", inputs)
        self.try_button.setProperty("role", "primary")
        self.try_button.setIcon(icons.icon("play", "#ffffff", disabled="#ffffff"))
        self.try_button.setToolTip("Dress the portrait in the garment (Ctrl+Enter)")
        self.try_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.try_button.setMinimumHeight(40)
        self.cancel_button = QPushButton("Cancel", inputs)
        self.cancel_button.setToolTip("Stop the running try-on (Esc)")
        self.cancel_button.setIcon(icons.icon("stop"))
        self.cancel_button.setMinimumHeight(40)
        self.cancel_button.hide()
        run_row = QHBoxLayout()
        run_row.setSpacing(8)
        run_row.addWidget(self.try_button, 1)
        run_row.addWidget(self.cancel_button)
        col.addLayout(run_row)
        self.progress = QProgressBar(inputs)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        col.addWidget(self.progress)
        prog_row = QHBoxLayout()
        self.progress_label = label("Ready", "progress")
        prog_row.addWidget(self.progress_label, 1)
        self.example_button = QPushButton("Try an example", inputs)
        self.example_button.setProperty("role", "link")
        self.example_button.setIcon(icons.icon("example", icons.ACCENT))
        self.example_button.setToolTip("Load a bundled portrait and garment (Ctrl+E)")
        self.example_button.setCursor(Qt.CursorShape.PointingHandCursor)
        prog_row.addWidget(self.example_button)
        col.addLayout(prog_row)
        root.addWidget(inputs)

        # ---- result column -------------------------------------------------------------------
        result, rcol = card(self, margins=12, spacing=10)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        title_box = QVBoxLayout()
        title_box.setSpacing(0)
        title_box.addWidget(label("Result", "title"))
        self.result_info = ElidedLabel("", result)
        self.result_info.setProperty("role", "subtitle")
        title_box.addWidget(self.result_info)
        bar.addLayout(title_box, 1)
        self.fit_button = tool_button("fit", "Fit to window (Ctrl+0) — or double-click the image", result, flat=True)
        self.zoom_out_button = tool_button("zoom_out", "Zoom out (Ctrl+-) — or use the mouse wheel", result, flat=True)
        self.zoom_label = QLabel("Fit", result)
        self.zoom_label.setProperty("role", "muted")
        self.zoom_label.setMinimumWidth(44)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zoom_in_button = tool_button("zoom_in", "Zoom in (Ctrl+=) — right-drag to pan", result, flat=True)
        for w in (self.fit_button, self.zoom_out_button, self.zoom_label, self.zoom_in_button):
            bar.addWidget(w)
        rcol.addLayout(bar)
        self.compare = CompareView(result)
        rcol.addWidget(self.compare, 1)
        foot = QHBoxLayout()
        foot.setSpacing(8)
        foot.addWidget(label("Drag to compare · scroll to zoom", "hint"), 1)
        self.save_button = tool_button("save", "Save the result as PNG or JPEG (Ctrl+S)", result, text="Save…")
        self.copy_button = tool_button("copy", "Copy the result to the clipboard (Ctrl+Shift+C)", result, text="Copy")
        self.pin_button = tool_button("pin", "Pin this look to the comparison board (Ctrl+B)", result, text="Pin to board")
        for w in (self.save_button, self.copy_button, self.pin_button):
            foot.addWidget(w)
        rcol.addLayout(foot)
        result.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        root.addWidget(result, 1)

        # ---- wiring --------------------------------------------------------------------------
        self.person_zone.sources_dropped.connect(self._on_person_dropped)
        self.garment_zone.sources_dropped.connect(self._on_garment_dropped)
        self.person_zone.browse_requested.connect(self.browse_person)
        self.garment_zone.browse_requested.connect(self.browse_garment)
        self.person_zone.clear_requested.connect(self._on_clear_person)
        self.garment_zone.clear_requested.connect(self._on_clear_garment)
        self.category.changed.connect(c.set_category)
        self.try_button.clicked.connect(self.try_on)
        self.cancel_button.clicked.connect(c.cancel)
        self.example_button.clicked.connect(self._on_example)
        self.fit_button.clicked.connect(self.compare.fit)
        self.zoom_in_button.clicked.connect(self.zoom_in)
        self.zoom_out_button.clicked.connect(self.zoom_out)
        self.compare.zoom_changed.connect(self.zoom_label.setText)
        self.save_button.clicked.connect(self.save_as)
        self.copy_button.clicked.connect(c.copy_result)
        self.pin_button.clicked.connect(self.pin_requested)
        c.inputs_changed.connect(self._on_inputs_changed)
        c.running_changed.connect(self._on_running_changed)
        c.progress_changed.connect(self._on_progress)
        c.result_changed.connect(self._on_result_changed)
        self._on_inputs_changed()
        self._on_result_changed()

    # -- actions (also used by shortcuts) ---------------------------------------------------------
    @Slot()
    def try_on(self) -> None:
        self.controller.try_on()

    @Slot()
    def zoom_in(self) -> None:
        self.compare.zoom_by(1.25)

    @Slot()
    def zoom_out(self) -> None:
        self.compare.zoom_by(1 / 1.25)

    def _browse(self, slot: str, title: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, self.controller.session.settings.last_dir, IMAGE_FILTER)
        if path:
            self.controller.open_paths(slot, [path])

    @Slot()
    def browse_person(self) -> None:
        self._browse(PERSON, "Choose a portrait")

    @Slot()
    def browse_garment(self) -> None:
        self._browse(GARMENT, "Choose a garment")

    @Slot()
    def paste(self) -> None:
        """Ctrl+V: into the focused box, else the first empty one, else the garment."""
        c = self.controller
        if self.person_zone.hasFocus():
            slot = PERSON
        elif self.garment_zone.hasFocus():
            slot = GARMENT
        else:
            slot = PERSON if c.person is None else GARMENT
        mime = QGuiApplication.clipboard().mimeData()
        c.open_sources(slot, sources_from_mime(mime, c.session.pasted_dir()))

    @Slot()
    def save_as(self) -> None:
        c = self.controller
        if c.result is None:
            c.save_result(Path("tryon.png"))  # says there is nothing to save yet
            return
        start = str(Path(c.session.settings.last_dir or Path.home()) / c.suggested_name())
        path, _ = QFileDialog.getSaveFileName(self, "Save the result", start, "PNG image (*.png);;JPEG image (*.jpg *.jpeg)")
        if path:
            c.save_result(path)

    # -- slots ---------------------------------------------------------------------------------------
    @Slot(object)
    def _on_person_dropped(self, sources) -> None:
        self.controller.open_sources(PERSON, sources)

    @Slot(object)
    def _on_garment_dropped(self, sources) -> None:
        self.controller.open_sources(GARMENT, sources)

    @Slot()
    def _on_clear_person(self) -> None:
        self.controller.clear(PERSON)

    @Slot()
    def _on_clear_garment(self) -> None:
        self.controller.clear(GARMENT)

    @Slot()
    def _on_example(self) -> None:
        self.controller.load_example()

    @Slot()
    def _on_inputs_changed(self) -> None:
        c = self.controller
        self.person_zone.set_image(to_qimage(c.person.image) if c.person else None, c.person.caption if c.person else "")
        self.garment_zone.set_image(to_qimage(c.garment.image) if c.garment else None,
                                    c.garment.caption if c.garment else "")
        self.category.set_value(c.category)
        self.category_hint.setText("guessed — change if needed" if c.garment and c.category_guessed else
                                   ("your choice" if c.garment else ""))
        self.try_button.setEnabled(c.can_run())
        if not c.running and c.result is None:
            before = to_qimage(c.person.image) if c.person else None
            self.compare.set_images(before, None)

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        self.cancel_button.setVisible(running)
        self.try_button.setText("Try again" if running else "Try on")
        if not running:
            self.compare.set_overlay(None)

    @Slot(float, str)
    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(round(fraction * 1000))
        self.progress_label.setText(text)
        if self.controller.running:
            self.compare.set_overlay(text)

    @Slot()
    def _on_result_changed(self) -> None:
        c = self.controller
        has = c.result is not None
        for b in (self.save_button, self.copy_button, self.pin_button):
            b.setEnabled(has)
        if not has:
            self.result_info.setText("Before and after, side by side")
            return
        before = c.result_person if c.result_person is not None else (c.person.image if c.person else None)
        self.compare.set_images(to_qimage(before) if before is not None else None, to_qimage(c.display_result()))
        r = c.result
        h, w = r.size
        total = r.timings.get("total")
        parts = [r.bundle_name, f"{h}×{w}", f"{r.request.steps} steps", f"seed {r.request.seed}"]
        if total:
            parts.append(format_seconds(total))
        self.result_info.setText(" · ".join(parts))
