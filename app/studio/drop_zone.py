"""A drop target that also opens a file dialog on click and shows a thumbnail once filled.

It only turns gestures into data: a drop becomes ``MimeSources`` (local paths, or a pasted
image stored as a file) emitted by :attr:`DropZone.sources_dropped`; a click emits
:attr:`DropZone.browse_requested`. The controller's one open routine does the rest.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent, QImage, QMouseEvent
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QStackedLayout, QToolButton, QVBoxLayout, QWidget

from . import icons
from .inputs import MimeSources, mime_has_candidates, sources_from_mime
from .qt_images import scaled_pixmap
from .theme import repolish


class DropZone(QFrame):
    sources_dropped = Signal(object)  # MimeSources
    browse_requested = Signal()
    clear_requested = Signal()

    def __init__(self, title: str, hint: str, icon_name: str, pasted_dir: Path | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setProperty("dropzone", True)
        self.setProperty("filled", False)
        self.setAcceptDrops(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(150, 150)
        self.pasted_dir = pasted_dir or Path.home()
        self._image: QImage | None = None
        self.title = title

        self._stack = QStackedLayout(self)
        # empty state
        empty = QWidget(self)
        ev = QVBoxLayout(empty)
        ev.setContentsMargins(14, 14, 14, 14)
        ev.addStretch(1)
        glyph = QLabel(empty)
        glyph.setPixmap(icons.pixmap(icon_name, 34, "#9aa1ad"))
        glyph.setAlignment(Qt.AlignmentFlag.AlignCenter)
        ev.addWidget(glyph)
        self._empty_title = QLabel(hint, empty)
        self._empty_title.setProperty("role", "zonetitle")
        self._empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_title.setWordWrap(True)
        ev.addWidget(self._empty_title)
        sub = QLabel("or click to browse · Ctrl+V to paste", empty)
        sub.setProperty("role", "hint")
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub.setWordWrap(True)
        ev.addWidget(sub)
        ev.addStretch(1)
        self._stack.addWidget(empty)
        # filled state
        filled = QWidget(self)
        fv = QVBoxLayout(filled)
        fv.setContentsMargins(8, 8, 8, 8)
        fv.setSpacing(6)
        self._thumb = QLabel(filled)
        self._thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._thumb.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        fv.addWidget(self._thumb, 1)
        self._caption = QLabel(filled)
        self._caption.setProperty("role", "hint")
        self._caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        fv.addWidget(self._caption)
        self._stack.addWidget(filled)

        self._clear = QToolButton(self)
        self._clear.setIcon(icons.icon("close"))
        self._clear.setIconSize(QSize(14, 14))
        self._clear.setProperty("role", "flat")
        self._clear.setToolTip(f"Remove the {title.lower()}")
        self._clear.setCursor(Qt.CursorShape.ArrowCursor)
        self._clear.clicked.connect(self.clear_requested)
        self._clear.hide()

    # -- state --------------------------------------------------------------------------------
    def set_image(self, image: QImage | None, caption: str = "") -> None:
        self._image = image if image is not None and not image.isNull() else None
        filled = self._image is not None
        self._stack.setCurrentIndex(1 if filled else 0)
        self._caption.setText(caption)
        self._caption.setToolTip(caption)
        self._clear.setVisible(filled)
        self.setProperty("filled", filled)
        repolish(self)
        self._update_thumb()

    def is_filled(self) -> bool:
        return self._image is not None

    def _update_thumb(self) -> None:
        if self._image is None:
            self._thumb.clear()
            return
        box = self._thumb.size()
        if box.width() < 8 or box.height() < 8:
            box = QSize(200, 200)
        self._thumb.setPixmap(scaled_pixmap(self._image, box, self.devicePixelRatioF()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._clear.move(self.width() - self._clear.sizeHint().width() - 6, 6)
        self._clear.raise_()
        self._update_thumb()

    # -- gestures ------------------------------------------------------------------------------
    def _set_hover(self, on: bool) -> None:
        self.setProperty("hover", on)
        repolish(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if mime_has_candidates(event.mimeData()):
            event.acceptProposedAction()
            self._set_hover(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if mime_has_candidates(event.mimeData()):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_hover(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_hover(False)
        sources: MimeSources = sources_from_mime(event.mimeData(), self.pasted_dir)
        event.acceptProposedAction()
        self.sources_dropped.emit(sources)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.browse_requested.emit()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and not event.modifiers():
            self.browse_requested.emit()
            return
        super().keyPressEvent(event)
