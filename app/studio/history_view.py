"""Browsing the history: a thumbnail grid and the selected entry's details and actions."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.errors import InputError
from engine.images import load_image, load_preview, save_image

from . import icons
from .history import HistoryEntry
from .qt_images import scaled_pixmap
from .session import StudioSession
from .widgets import card, label, tool_button
from .workspace import format_seconds

LIMIT = 1000  # newest entries shown
PREVIEW_MAX_SIDE = 1600  # the selected result is shown from a copy at most this large


def when(ts: float) -> str:
    t = _dt.datetime.fromtimestamp(ts)
    today = _dt.date.today()
    if t.date() == today:
        return f"Today {t:%H:%M}"
    if t.date() == today - _dt.timedelta(days=1):
        return f"Yesterday {t:%H:%M}"
    return f"{t:%d %b %Y %H:%M}"


class HistoryView(QWidget):
    reopen_requested = Signal(str)  # entry id
    redo_requested = Signal(str)
    pin_requested = Signal(str)

    def __init__(self, session: StudioSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Page")
        self.session = session
        root = QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(16)

        browse, col = card(self, margins=14, spacing=10)
        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(label("History", "title"))
        self.summary = label("", "subtitle")
        titles.addWidget(self.summary)
        head.addLayout(titles, 1)
        col.addLayout(head)
        self.list = QListWidget(browse)
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(120, 160))
        self.list.setGridSize(QSize(146, 204))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(True)
        self.list.setSpacing(4)
        self.list.setStyleSheet("QListWidget { border: none; padding: 0px; }")
        col.addWidget(self.list, 1)
        self.empty = label("No results yet.\nEvery try-on you run is kept here, on this computer only.", "hint", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(self.empty, 1)
        root.addWidget(browse, 1)

        detail, dcol = card(self, margins=16, spacing=10)
        detail.setFixedWidth(330)
        self.preview = QLabel(detail)
        self.preview.setFixedSize(298, 300)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #f4f5f8; border-radius: 8px;")
        dcol.addWidget(self.preview)
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(4)
        self.fields: dict[str, QLabel] = {}
        for key in ("Created", "Portrait", "Garment", "Category", "Steps · seed", "Model", "Resolution", "Took"):
            value = label("—", None)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = value
            form.addRow(label(key, "muted"), value)
        dcol.addLayout(form)
        inputs = QHBoxLayout()
        inputs.setSpacing(8)
        self.person_thumb = QLabel(detail)
        self.garment_thumb = QLabel(detail)
        for thumb, tip in ((self.person_thumb, "The portrait"), (self.garment_thumb, "The garment")):
            thumb.setFixedSize(88, 110)
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            thumb.setStyleSheet("background: #f4f5f8; border-radius: 6px;")
            thumb.setToolTip(tip)
            inputs.addWidget(thumb)
        inputs.addStretch(1)
        dcol.addLayout(inputs)
        dcol.addStretch(1)
        self.open_button = QPushButton("Open in workspace", detail)
        self.open_button.setProperty("role", "primary")
        self.open_button.setToolTip("Show this result with its portrait and garment (Enter)")
        dcol.addWidget(self.open_button)
        row = QGridLayout()
        row.setSpacing(8)
        self.redo_button = tool_button("redo", "Run the same request again (same steps, seed and model)", detail,
                                       text="Redo")
        self.pin_button = tool_button("pin", "Pin this look to the board", detail, text="Pin to board")
        self.save_button = tool_button("save", "Save this result as PNG or JPEG", detail, text="Save…")
        self.delete_button = tool_button("delete", "Delete this result from history (Del)", detail, text="Delete")
        for n, b in enumerate((self.redo_button, self.pin_button, self.save_button, self.delete_button)):
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            row.addWidget(b, n // 2, n % 2)
        dcol.addLayout(row)
        root.addWidget(detail)

        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.itemActivated.connect(self._on_activated)
        self.open_button.clicked.connect(self._on_open)
        self.redo_button.clicked.connect(self._on_redo)
        self.pin_button.clicked.connect(self._on_pin)
        self.save_button.clicked.connect(self._on_save)
        self.delete_button.clicked.connect(self.delete_selected)
        session.history_changed.connect(self.refresh)
        self.confirm_delete = True  # tests switch the dialog off
        self.refresh()

    # -- data -----------------------------------------------------------------------------------
    def selected(self) -> HistoryEntry | None:
        item = self.list.currentItem()
        return self.session.history.get(item.data(Qt.ItemDataRole.UserRole)) if item else None

    @Slot()
    def refresh(self) -> None:
        current = self.list.currentItem()
        keep = current.data(Qt.ItemDataRole.UserRole) if current else None
        self.list.clear()
        try:
            entries = self.session.history.entries(limit=LIMIT)
        except Exception as exc:  # a damaged database must not take the window down
            entries = []
            self.summary.setText(f"History cannot be read: {exc}")
        for e in entries:
            thumb = QImage(str(e.thumb))
            if thumb.isNull():
                icon = icons.icon("tryon")
            else:
                icon = QIcon()
                for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected, QIcon.Mode.Active):
                    icon.addPixmap(QPixmap.fromImage(thumb), mode)  # no blue tint on the selected photo
            item = QListWidgetItem(icon, f"{when(e.created)}\n{e.request.category}")
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            item.setToolTip(f"{Path(e.request.person).name} + {Path(e.request.garment).name}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.list.addItem(item)
            if e.id == keep:
                self.list.setCurrentItem(item)
        if entries and self.list.currentItem() is None:
            self.list.setCurrentRow(0)
        n = len(entries)
        if entries:
            mib = self.session.history.disk_usage() / 2**20
            self.summary.setText(f"{n} result{'s' if n != 1 else ''} · {mib:.1f} MiB, kept on this computer")
        else:
            self.summary.setText("Every result, kept on this computer")
        self.list.setVisible(bool(entries))
        self.empty.setVisible(not entries)
        self._show(self.selected())

    def _show(self, e: HistoryEntry | None) -> None:
        for b in (self.open_button, self.redo_button, self.pin_button, self.save_button, self.delete_button):
            b.setEnabled(e is not None)
        if e is None:
            self.preview.setPixmap(icons.pixmap("history", 48, "#aab0bc"))
            self.person_thumb.clear()
            self.garment_thumb.clear()
            for v in self.fields.values():
                v.setText("—")
            return
        dpr = self.devicePixelRatioF()
        try:  # the stored preview (480x640 box), not the full result: a large photo costs nothing here
            img, _ = load_preview(e.thumb if e.thumb.is_file() else e.image, PREVIEW_MAX_SIDE)
            self.preview.setPixmap(scaled_pixmap(img, self.preview.size() - QSize(12, 12), dpr))
        except InputError as exc:
            self.preview.setText(f"The image cannot be shown: {exc.problem}")
        for thumb, path in ((self.person_thumb, e.person), (self.garment_thumb, e.garment)):
            try:
                thumb.setPixmap(scaled_pixmap(load_preview(path, 512)[0], thumb.size() - QSize(8, 8), dpr))
            except InputError:
                thumb.setText("missing")
        r = e.request
        self.fields["Created"].setText(_dt.datetime.fromtimestamp(e.created).strftime("%Y-%m-%d %H:%M:%S"))
        self.fields["Portrait"].setText(_elide(Path(r.person).name))
        self.fields["Garment"].setText(_elide(Path(r.garment).name))
        self.fields["Category"].setText(r.category)
        self.fields["Steps · seed"].setText(f"{r.steps} · {r.seed}")
        self.fields["Model"].setText(_elide(e.bundle_name))
        self.fields["Resolution"].setText(f"{e.size[0]}×{e.size[1]}" if e.size else "—")
        total = e.timings.get("total")
        self.fields["Took"].setText(format_seconds(total) if total else "—")

    # -- slots ----------------------------------------------------------------------------------
    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current_changed(self, current, previous) -> None:
        self._show(self.selected())

    @Slot(QListWidgetItem)
    def _on_activated(self, item) -> None:
        self._on_open()

    @Slot()
    def _on_open(self) -> None:
        e = self.selected()
        if e is not None:
            self.reopen_requested.emit(e.id)

    @Slot()
    def _on_redo(self) -> None:
        e = self.selected()
        if e is not None:
            self.redo_requested.emit(e.id)

    @Slot()
    def _on_pin(self) -> None:
        e = self.selected()
        if e is not None:
            self.pin_requested.emit(e.id)

    @Slot()
    def _on_save(self) -> None:
        e = self.selected()
        if e is None:
            return
        start = str(Path(self.session.settings.last_dir or Path.home()) / f"tryon-{e.id}.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save the result", start,
                                              "PNG image (*.png);;JPEG image (*.jpg *.jpeg)")
        if path:
            try:
                protected = (e.request.person, e.request.garment, e.person, e.garment, e.image)
                save_image(load_image(e.image), Path(path), inputs=protected)
                self.session.message.emit("success", f"Saved {Path(path).name}", "")
            except InputError as exc:
                self.session.message.emit("error", f"Cannot save: {exc}", "")

    @Slot()
    def delete_selected(self) -> None:
        e = self.selected()
        if e is None:
            return
        if self.confirm_delete:
            answer = QMessageBox.question(self, "Delete result", "Delete this result from history? "
                                          "This cannot be undone.")
            if answer != QMessageBox.StandardButton.Yes:
                return
        row = self.list.currentRow()
        try:
            self.session.history.delete(e.id)
        except Exception as exc:
            self.session.message.emit("error", f"Cannot delete: {exc}", "")
            return
        self.session.history_changed.emit()
        if self.list.count():
            self.list.setCurrentRow(min(row, self.list.count() - 1))


def _elide(text: str, n: int = 34) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
