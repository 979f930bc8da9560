"""Before/after comparison: the portrait and the result on top of each other, split by a
draggable slider; zoom (wheel, buttons) and pan (right/middle drag) for a closer look."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from . import icons

MIN_ZOOM, MAX_ZOOM = 0.05, 16.0


class CompareView(QWidget):
    zoom_changed = Signal(str)  # "Fit" or "150%"
    split_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 320)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._before: QPixmap | None = None
        self._after: QPixmap | None = None
        self._split = 0.5
        self._zoom: float | None = None  # None = fit; else image pixels -> device pixels
        self._center = QPointF(0.5, 0.5)  # the image point (fractions) shown at the widget centre
        self._drag: str | None = None
        self._drag_origin = QPointF()
        self._drag_center = QPointF()
        self._overlay: str | None = None
        self.empty_title = "Your try-on appears here"
        self.empty_hint = "Add a portrait and a garment, then press Try on (Ctrl+Enter)"

    # -- state ------------------------------------------------------------------------------------
    def set_images(self, before: QImage | None, after: QImage | None) -> None:
        self._before = QPixmap.fromImage(before) if before is not None and not before.isNull() else None
        self._after = QPixmap.fromImage(after) if after is not None and not after.isNull() else None
        self.update()

    def has_result(self) -> bool:
        return self._after is not None

    def set_overlay(self, text: str | None) -> None:
        self._overlay = text
        self.update()

    @property
    def split(self) -> float:
        return self._split

    def set_split(self, value: float) -> None:
        value = min(max(float(value), 0.0), 1.0)
        if value != self._split:
            self._split = value
            self.split_changed.emit(value)
            self.update()

    def zoom_label(self) -> str:
        return "Fit" if self._zoom is None else f"{round(self._zoom * 100)}%"

    def fit(self) -> None:
        self._zoom = None
        self._center = QPointF(0.5, 0.5)
        self._emit_zoom()

    def actual_size(self) -> None:
        self._zoom = 1.0
        self._emit_zoom()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        img = self._image_size()
        if img is None:
            return
        current = self._scale() * self.devicePixelRatioF()
        new = min(max(current * factor, MIN_ZOOM), MAX_ZOOM)
        if anchor is not None:  # keep the image point under the cursor where it is
            rect = self._image_rect()
            fx = (anchor.x() - rect.x()) / rect.width()
            fy = (anchor.y() - rect.y()) / rect.height()
            ratio = current / new
            cx = fx + (self._center.x() - fx) * ratio
            cy = fy + (self._center.y() - fy) * ratio
            self._center = QPointF(cx, cy)
        self._zoom = new
        self._clamp_center()
        self._emit_zoom()

    def _emit_zoom(self) -> None:
        self.zoom_changed.emit(self.zoom_label())
        self.update()

    # -- geometry ---------------------------------------------------------------------------------
    def _image_size(self):
        pix = self._before or self._after
        return None if pix is None else pix.size()

    def _view_rect(self) -> QRectF:
        return QRectF(self.rect()).adjusted(12, 12, -12, -12)

    def _scale(self) -> float:
        """Logical pixels per image pixel."""
        size = self._image_size()
        if size is None:
            return 1.0
        if self._zoom is None:
            view = self._view_rect()
            return min(view.width() / size.width(), view.height() / size.height())
        return self._zoom / self.devicePixelRatioF()

    def _image_rect(self) -> QRectF:
        size = self._image_size()
        if size is None:
            return QRectF()
        s = self._scale()
        w, h = size.width() * s, size.height() * s
        view = self._view_rect()
        if self._zoom is None:
            return QRectF(view.center().x() - w / 2, view.center().y() - h / 2, w, h)
        cx, cy = view.center().x(), view.center().y()
        return QRectF(cx - self._center.x() * w, cy - self._center.y() * h, w, h)

    def _clamp_center(self) -> None:
        self._center = QPointF(min(max(self._center.x(), 0.0), 1.0), min(max(self._center.y(), 0.0), 1.0))

    def _split_x(self, rect: QRectF) -> float:
        view = self._view_rect()
        left, right = max(rect.left(), view.left()), min(rect.right(), view.right())
        return left + (right - left) * self._split

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._scale() < 2.0)
        view = self._view_rect()
        bg = QPainterPath()
        bg.addRoundedRect(QRectF(self.rect()), 12, 12)
        p.fillPath(bg, QColor("#eceef3"))
        if self._before is None and self._after is None:
            self._paint_empty(p)
            return
        p.setClipRect(view)
        rect = self._image_rect()
        if self._before is not None and self._after is not None:
            sx = self._split_x(rect)
            p.save()
            p.setClipRect(QRectF(view.left(), view.top(), sx - view.left(), view.height()), Qt.ClipOperation.IntersectClip)
            p.drawPixmap(rect, self._before, QRectF(self._before.rect()))
            p.restore()
            p.save()
            p.setClipRect(QRectF(sx, view.top(), view.right() - sx, view.height()), Qt.ClipOperation.IntersectClip)
            p.drawPixmap(rect, self._after, QRectF(self._after.rect()))
            p.restore()
            self._paint_handle(p, sx, rect.intersected(view))
            self._chip(p, "BEFORE", QPointF(max(rect.left(), view.left()) + 10, max(rect.top(), view.top()) + 10), False)
            self._chip(p, "AFTER", QPointF(min(rect.right(), view.right()) - 10, max(rect.top(), view.top()) + 10), True)
        else:
            pix = self._before or self._after
            p.drawPixmap(rect, pix, QRectF(pix.rect()))
            label = "BEFORE" if self._after is None else "RESULT"
            self._chip(p, label, QPointF(max(rect.left(), view.left()) + 10, max(rect.top(), view.top()) + 10), False)
        if self._overlay:
            p.setClipping(False)
            self._paint_overlay(p, rect.intersected(view))

    def _paint_empty(self, p: QPainter) -> None:
        r = QRectF(self.rect())
        p.drawPixmap(QPointF(r.center().x() - 24, r.center().y() - 62), icons.pixmap("tryon", 48, "#aab0bc"))
        f = QFont(self.font())
        f.setPixelSize(16)
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor("#4b5261"))
        p.drawText(QRectF(r.left(), r.center().y() - 4, r.width(), 24), Qt.AlignmentFlag.AlignCenter, self.empty_title)
        f.setPixelSize(13)
        f.setBold(False)
        p.setFont(f)
        p.setPen(QColor("#8a91a0"))
        p.drawText(QRectF(r.left() + 20, r.center().y() + 22, r.width() - 40, 40),
                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap, self.empty_hint)

    def _paint_handle(self, p: QPainter, x: float, rect: QRectF) -> None:
        p.setPen(QPen(QColor(255, 255, 255, 235), 2))
        p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        cy = rect.center().y()
        p.setPen(QPen(QColor(0, 0, 0, 40), 1))
        p.setBrush(QColor("white"))
        p.drawEllipse(QPointF(x, cy), 15, 15)
        p.setPen(QPen(QColor("#4f46e5"), 2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPolyline([QPointF(x - 4, cy - 5), QPointF(x - 9, cy), QPointF(x - 4, cy + 5)])
        p.drawPolyline([QPointF(x + 4, cy - 5), QPointF(x + 9, cy), QPointF(x + 4, cy + 5)])

    def _chip(self, p: QPainter, text: str, at: QPointF, right: bool) -> None:
        f = QFont(self.font())
        f.setPixelSize(10)
        f.setBold(True)
        p.setFont(f)
        w = p.fontMetrics().horizontalAdvance(text) + 16
        r = QRectF(at.x() - (w if right else 0), at.y(), w, 20)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(17, 24, 39, 150))
        p.drawRoundedRect(r, 10, 10)
        p.setPen(QColor("white"))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_overlay(self, p: QPainter, rect: QRectF) -> None:
        p.fillRect(rect, QColor(255, 255, 255, 150))
        f = QFont(self.font())
        f.setPixelSize(14)
        f.setBold(True)
        p.setFont(f)
        w = p.fontMetrics().horizontalAdvance(self._overlay) + 32
        box = QRectF(rect.center().x() - w / 2, rect.center().y() - 20, w, 40)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(255, 255, 255, 240))
        p.drawRoundedRect(box, 20, 20)
        p.setPen(QColor("#4338ca"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, self._overlay)

    # -- interaction ------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        pos = event.position()
        if event.button() == Qt.MouseButton.LeftButton and self._before is not None and self._after is not None:
            self._drag = "split"
            self._move_split(pos.x())
        elif event.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton) and self._zoom is not None:
            self._drag = "pan"
            self._drag_origin = pos
            self._drag_center = QPointF(self._center)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        if self._drag == "split":
            self._move_split(pos.x())
        elif self._drag == "pan":
            rect = self._image_rect()
            d = pos - self._drag_origin
            self._center = QPointF(self._drag_center.x() - d.x() / rect.width(), self._drag_center.y() - d.y() / rect.height())
            self._clamp_center()
            self.update()
        elif self._before is not None and self._after is not None:
            self.setCursor(Qt.CursorShape.SplitHCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self._zoom is None:
            self.actual_size()
        else:
            self.fit()

    def _move_split(self, x: float) -> None:
        rect = self._image_rect().intersected(self._view_rect())
        if rect.width() > 0:
            self.set_split((x - rect.left()) / rect.width())

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta and self._image_size() is not None:
            self.zoom_by(1.15 if delta > 0 else 1 / 1.15, event.position())
            event.accept()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Left:
            self.set_split(self._split - 0.05)
        elif key == Qt.Key.Key_Right:
            self.set_split(self._split + 0.05)
        else:
            super().keyPressEvent(event)
