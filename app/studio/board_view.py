"""Layout of the comparison board. Behaviour lives in :class:`BoardController`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from . import icons
from .board import DONE, FAILED, BoardController, BoardItem
from .drop_zone import DropZone
from .inputs import IMAGE_FILTER, mime_has_candidates, sources_from_mime
from .qt_images import scaled_pixmap, to_qimage
from .theme import repolish
from .widgets import ElidedLabel, card, label, tool_button

MIN_CARD_W = 180  # cards grow to fill the row


class BoardCard(QFrame):
    """One look: the result (or its state), the garment inset, an editable label, tools."""

    def __init__(self, controller: BoardController, item_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.item_id = item_id
        self.setProperty("boardcard", True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        self.image = QLabel(self)
        self.image.setProperty("role", "cardimage")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setWordWrap(True)
        lay.addWidget(self.image)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        lay.addWidget(self.progress)
        self.caption = QLineEdit(self)
        self.caption.setProperty("role", "caption")
        self.caption.setToolTip("Click to rename this look (used in the exported board)")
        self.caption.editingFinished.connect(self._on_label_edited)
        lay.addWidget(self.caption)
        row = QHBoxLayout()
        row.setSpacing(2)
        self.chip = label("", "chip")
        self.chip.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        row.addWidget(self.chip)
        self.status = ElidedLabel("", self)
        self.status.setProperty("role", "hint")
        row.addWidget(self.status, 1)
        self.left = tool_button("left", "Move left", self, flat=True)
        self.right = tool_button("right", "Move right", self, flat=True)
        self.remove = tool_button("delete", "Remove from the board", self, flat=True)
        for b in (self.left, self.right, self.remove):
            b.setIconSize(QSize(16, 16))
            row.addWidget(b)
        lay.addLayout(row)
        self.set_card_width(MIN_CARD_W)
        self.left.clicked.connect(self._on_left)
        self.right.clicked.connect(self._on_right)
        self.remove.clicked.connect(self._on_remove)
        self.refresh()

    def set_card_width(self, width: int) -> None:
        if width != self.width() or self.image.width() != width - 16:
            self.setFixedWidth(width)
            self.image.setFixedSize(width - 16, round((width - 16) * 4 / 3))
            item = self.controller.item(self.item_id)
            if item is not None:
                self.image.setPixmap(self._render(item))

    def refresh(self) -> None:
        item = self.controller.item(self.item_id)
        if item is None:
            return
        if not self.caption.hasFocus():
            self.caption.setText(item.label)
            self.caption.setCursorPosition(0)  # show the start of a long label
        self.chip.setText(item.category if item.kind == "garment" else f"{item.category} · pinned")
        self.status.setText(item.status)
        total = item.timings.get("total")
        self.status.setToolTip(item.error or item.status or (f"Took {total:.1f} s" if total else ""))
        self.progress.setVisible(item.state not in (DONE, FAILED) and item.state != "waiting")
        self.progress.setValue(round(item.progress * 1000))
        self.setProperty("state", item.state)
        repolish(self)
        self.image.setPixmap(self._render(item))
        idx = self.controller.index_of(self.item_id)
        self.left.setEnabled(idx > 0)
        self.right.setEnabled(idx < len(self.controller.items) - 1)

    def _render(self, item: BoardItem) -> QPixmap:
        dpr = self.devicePixelRatioF()
        box = self.image.size()
        pix = QPixmap(round(box.width() * dpr), round(box.height() * dpr))
        pix.setDevicePixelRatio(dpr)
        pix.fill(QColor("#f4f5f8"))
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if item.result is not None:
            img = scaled_pixmap(item.result, box, dpr)
            w, h = img.width() / dpr, img.height() / dpr
            p.drawPixmap(QRectF((box.width() - w) / 2, (box.height() - h) / 2, w, h), img, QRectF(img.rect()))
        else:
            p.drawPixmap(QRectF(box.width() / 2 - 18, box.height() / 2 - 40, 36, 36),
                         icons.pixmap("garment" if item.state != FAILED else "close", 36,
                                      "#aab0bc" if item.state != FAILED else "#dc2626"),
                         QRectF(0, 0, 72, 72))
            p.setPen(QColor("#6b7280" if item.state != FAILED else "#b91c1c"))
            text = {"waiting": "Waiting for a portrait", "queued": "Queued", "running": "Trying on…"}.get(
                item.state, item.status or "Failed")
            p.drawText(QRectF(8, box.height() / 2 + 4, box.width() - 16, 60),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap, text)
        # garment inset
        g = scaled_pixmap(item.garment_thumb, QSize(52, 52), dpr)
        gw, gh = g.width() / dpr, g.height() / dpr
        r = QRectF(box.width() - gw - 12, box.height() - gh - 12, gw, gh)
        p.setPen(QColor("#d5d9e1"))
        p.setBrush(QColor("white"))
        p.drawRoundedRect(r.adjusted(-4, -4, 4, 4), 6, 6)
        p.drawPixmap(r, g, QRectF(g.rect()))
        p.end()
        return pix

    @Slot()
    def _on_label_edited(self) -> None:
        self.controller.set_label(self.item_id, self.caption.text())

    @Slot()
    def _on_left(self) -> None:
        self.controller.move(self.item_id, -1)

    @Slot()
    def _on_right(self) -> None:
        self.controller.move(self.item_id, +1)

    @Slot()
    def _on_remove(self) -> None:
        self.controller.remove(self.item_id)


class _GridArea(QScrollArea):
    """The scrolling grid; also a drop target for more garments."""

    garments_dropped = Signal(object)
    resized = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.NoFrame)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def dragEnterEvent(self, event) -> None:
        if mime_has_candidates(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if mime_has_candidates(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.garments_dropped.emit(sources_from_mime(event.mimeData(), self.pasted_dir))
        event.acceptProposedAction()


class BoardView(QWidget):
    def __init__(self, controller: BoardController, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Page")
        self.controller = c = controller
        pasted = c.session.pasted_dir()
        root = QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(16)

        # ---- inputs column -------------------------------------------------------------------
        inputs, col = card(self, margins=16, spacing=8)
        inputs.setFixedWidth(250)
        col.addWidget(label("PORTRAIT", "section"))
        self.portrait_zone = DropZone("Portrait", "Drop the portrait", "portrait", pasted, inputs)
        self.portrait_zone.setToolTip("Every garment on the board is tried on this person")
        col.addWidget(self.portrait_zone, 3)
        col.addSpacing(4)
        col.addWidget(label("GARMENTS", "section"))
        self.garment_zone = DropZone("Garments", "Drop several garments", "garment", pasted, inputs)
        self.garment_zone.setToolTip("Drop many garments at once: they run as a queue and fill the grid")
        col.addWidget(self.garment_zone, 2)
        col.addWidget(label("New garments are", "hint"))
        self.category = QComboBox(inputs)
        self.category.addItem("Guessed per garment", "")
        for key, text in (("upper", "Upper body"), ("lower", "Lower body"), ("dress", "Dress")):
            self.category.addItem(text, key)
        self.category.setToolTip("The category used for garments added from now on")
        col.addWidget(self.category)
        root.addWidget(inputs)

        # ---- grid ------------------------------------------------------------------------------
        grid_card, gcol = card(self, margins=14, spacing=10)
        bar = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(label("Comparison board", "title"))
        self.summary = label("", "subtitle")
        titles.addWidget(self.summary)
        bar.addLayout(titles, 1)
        self.add_button = tool_button("add", "Add garments from files", grid_card, text="Add garments")
        self.export_button = tool_button("export", "Export the board as one image (Ctrl+Shift+E)", grid_card,
                                         text="Export board")
        self.clear_button = tool_button("delete", "Remove every look from the board", grid_card, text="Clear")
        for b in (self.add_button, self.export_button, self.clear_button):
            bar.addWidget(b)
        gcol.addLayout(bar)
        self.area = _GridArea(grid_card)
        self.area.pasted_dir = pasted
        self.grid_host = QWidget()
        self.grid_host.setObjectName("GridHost")
        self.grid_host.setStyleSheet("QWidget#GridHost { background: transparent; }")
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(2, 2, 2, 2)
        self.grid.setSpacing(14)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.area.setWidget(self.grid_host)
        gcol.addWidget(self.area, 1)
        self.empty = QWidget(grid_card)
        ev = QVBoxLayout(self.empty)
        ev.addStretch(1)
        glyph = QLabel(self.empty)
        glyph.setPixmap(icons.pixmap("board", 48, "#aab0bc"))
        glyph.setAlignment(Qt.AlignmentFlag.AlignCenter)
        ev.addWidget(glyph)
        t = label("Compare outfits side by side", "title")
        t.setAlignment(Qt.AlignmentFlag.AlignCenter)
        t.setStyleSheet("font-size: 16px;")
        ev.addWidget(t)
        h = label("Drop a portrait and several garments at once — they run one after another and fill this grid.\n"
                  "Or pin looks from the Try on page.", "hint", wrap=True)
        h.setAlignment(Qt.AlignmentFlag.AlignCenter)
        ev.addWidget(h)
        ev.addStretch(1)
        gcol.addWidget(self.empty, 1)
        grid_card.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        root.addWidget(grid_card, 1)

        self.cards: dict[int, BoardCard] = {}
        self._columns = 0

        self.portrait_zone.sources_dropped.connect(c.open_portrait_sources)
        self.portrait_zone.browse_requested.connect(self.browse_portrait)
        self.portrait_zone.clear_requested.connect(c.clear_portrait)
        self.garment_zone.sources_dropped.connect(self._on_garments_dropped)
        self.area.garments_dropped.connect(self._on_garments_dropped)
        self.garment_zone.browse_requested.connect(self.browse_garments)
        self.add_button.clicked.connect(self.browse_garments)
        self.export_button.clicked.connect(self.export)
        self.clear_button.clicked.connect(c.clear)
        self.area.resized.connect(self._on_area_resized)
        c.items_changed.connect(self._rebuild)
        c.item_changed.connect(self._on_item_changed)
        c.portrait_changed.connect(self._on_portrait_changed)
        self._rebuild()

    # -- actions -------------------------------------------------------------------------------
    def new_category(self) -> str | None:
        return self.category.currentData() or None

    @Slot(object)
    def _on_garments_dropped(self, sources) -> None:
        if sources.problem:
            self.controller.open_garment_sources(sources)
        else:
            self.controller.add_garments(sources.paths, self.new_category())

    @Slot()
    def browse_portrait(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the portrait", self.controller.session.settings.last_dir,
                                              IMAGE_FILTER)
        if path:
            self.controller.set_portrait([path])

    @Slot()
    def browse_garments(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Choose garments", self.controller.session.settings.last_dir,
                                                IMAGE_FILTER)
        if paths:
            self.controller.add_garments(paths, self.new_category())

    @Slot()
    def export(self) -> None:
        c = self.controller
        if not c.finished:
            c.export(Path("board.png"))  # explains that there is nothing to export
            return
        start = str(Path(c.session.settings.last_dir or Path.home()) / "board.png")
        path, _ = QFileDialog.getSaveFileName(self, "Export the board", start,
                                              "PNG image (*.png);;JPEG image (*.jpg *.jpeg)")
        if path:
            c.export(path)

    # -- grid ------------------------------------------------------------------------------------
    def _column_count(self) -> int:
        width = self.area.viewport().width() - 4
        return max(1, (width + self.grid.spacing()) // (MIN_CARD_W + self.grid.spacing()))

    def _card_width(self, cols: int) -> int:
        width = self.area.viewport().width() - 4
        return max(MIN_CARD_W, (width - (cols - 1) * self.grid.spacing()) // cols)

    @Slot()
    def _rebuild(self) -> None:
        items = self.controller.items
        ids = {i.id for i in items}
        for item_id in list(self.cards):
            if item_id not in ids:
                card_widget = self.cards.pop(item_id)
                self.grid.removeWidget(card_widget)
                card_widget.deleteLater()
        for w in self.cards.values():  # re-place every card in the new order
            self.grid.removeWidget(w)
        cols = self._column_count()
        self._columns = cols
        card_w = self._card_width(cols)
        for n, item in enumerate(items):
            w = self.cards.get(item.id)
            if w is None:
                w = self.cards[item.id] = BoardCard(self.controller, item.id, self.grid_host)
            w.set_card_width(card_w)
            self.grid.addWidget(w, n // cols, n % cols)
            w.refresh()
        self.area.setVisible(bool(items))
        self.empty.setVisible(not items)
        self._update_summary()

    @Slot(int)
    def _on_item_changed(self, item_id: int) -> None:
        w = self.cards.get(item_id)
        if w is not None:
            w.refresh()
        self._update_summary()

    @Slot()
    def _on_portrait_changed(self) -> None:
        c = self.controller
        self.portrait_zone.set_image(to_qimage(c.portrait_image) if c.portrait_image is not None else None,
                                     c.portrait_name if c.portrait else "")

    def _update_summary(self) -> None:
        c = self.controller
        n, done, pending = len(c.items), len(c.finished), c.pending
        if not n:
            self.summary.setText("One portrait × many garments, side by side")
        elif pending:
            self.summary.setText(f"{done} of {n} looks ready · {pending} in the queue")
        else:
            self.summary.setText(f"{done} of {n} looks ready")
        self.export_button.setEnabled(done > 0)
        self.clear_button.setEnabled(n > 0)

    @Slot()
    def _on_area_resized(self) -> None:
        cols = self._column_count()
        if cols != self._columns or (self.cards and self._card_width(cols) != next(iter(self.cards.values())).width()):
            self._rebuild()
