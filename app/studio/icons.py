"""Line icons drawn with QPainter (no image files to ship, sharp at any scale).

Each icon is drawn on a 24×24 grid with a 1.7 px stroke, like common line-icon sets.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

INK = "#3f4654"
ACCENT = "#4f46e5"


def _hanger(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(10, 6.5)
    path.cubicTo(10, 4.2, 14, 4.2, 14, 6.5)
    path.cubicTo(14, 8.2, 12, 8.4, 12, 10)
    path.lineTo(3.5, 16)
    path.cubicTo(2.6, 16.7, 3, 18, 4.2, 18)
    path.lineTo(19.8, 18)
    path.cubicTo(21, 18, 21.4, 16.7, 20.5, 16)
    path.lineTo(12, 10)
    p.drawPath(path)


def _grid(p: QPainter) -> None:
    for x, y in ((4, 4), (13, 4), (4, 13), (13, 13)):
        p.drawRoundedRect(QRectF(x, y, 7, 7), 1.6, 1.6)


def _clock(p: QPainter) -> None:
    p.drawEllipse(QPointF(12, 12), 8.5, 8.5)
    p.drawPolyline([QPointF(12, 7), QPointF(12, 12), QPointF(15.5, 14)])


def _gear(p: QPainter) -> None:
    p.drawEllipse(QPointF(12, 12), 3, 3)
    path = QPainterPath()
    teeth = 8
    for i in range(teeth * 2):
        a0 = (i / (teeth * 2)) * 2 * math.pi
        a1 = ((i + 1) / (teeth * 2)) * 2 * math.pi
        r = 8.6 if i % 2 == 0 else 6.6
        pts = [QPointF(12 + r * math.cos(a0), 12 + r * math.sin(a0)), QPointF(12 + r * math.cos(a1), 12 + r * math.sin(a1))]
        if i == 0:
            path.moveTo(pts[0])
        else:
            path.lineTo(pts[0])
        path.lineTo(pts[1])
    path.closeSubpath()
    p.drawPath(path)


def _code(p: QPainter) -> None:
    p.drawPolyline([QPointF(8, 7), QPointF(3, 12), QPointF(8, 17)])
    p.drawPolyline([QPointF(16, 7), QPointF(21, 12), QPointF(16, 17)])
    p.drawLine(QPointF(13.5, 5), QPointF(10.5, 19))


def _plus(p: QPainter) -> None:
    p.drawLine(QPointF(12, 5), QPointF(12, 19))
    p.drawLine(QPointF(5, 12), QPointF(19, 12))


def _close(p: QPainter) -> None:
    p.drawLine(QPointF(6.5, 6.5), QPointF(17.5, 17.5))
    p.drawLine(QPointF(17.5, 6.5), QPointF(6.5, 17.5))


def _left(p: QPainter) -> None:
    p.drawPolyline([QPointF(14.5, 6), QPointF(8.5, 12), QPointF(14.5, 18)])


def _right(p: QPainter) -> None:
    p.drawPolyline([QPointF(9.5, 6), QPointF(15.5, 12), QPointF(9.5, 18)])


def _save(p: QPainter) -> None:
    p.drawLine(QPointF(12, 4), QPointF(12, 14.5))
    p.drawPolyline([QPointF(7.5, 10.5), QPointF(12, 15), QPointF(16.5, 10.5)])
    p.drawPolyline([QPointF(4.5, 15), QPointF(4.5, 19.5), QPointF(19.5, 19.5), QPointF(19.5, 15)])


def _export(p: QPainter) -> None:
    p.drawLine(QPointF(12, 15), QPointF(12, 4.5))
    p.drawPolyline([QPointF(7.5, 9), QPointF(12, 4.5), QPointF(16.5, 9)])
    p.drawPolyline([QPointF(4.5, 15), QPointF(4.5, 19.5), QPointF(19.5, 19.5), QPointF(19.5, 15)])


def _copy(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(8.5, 8.5, 11, 11), 2, 2)
    p.drawPolyline([QPointF(15.5, 8.5), QPointF(15.5, 4.5), QPointF(4.5, 4.5), QPointF(4.5, 15.5), QPointF(8.5, 15.5)])


def _pin(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(9, 4)
    path.lineTo(15, 4)
    path.lineTo(14, 10)
    path.lineTo(17.5, 14)
    path.lineTo(6.5, 14)
    path.lineTo(10, 10)
    path.closeSubpath()
    p.drawPath(path)
    p.drawLine(QPointF(12, 14), QPointF(12, 20.5))


def _fit(p: QPainter) -> None:
    for x, y, dy in ((4, 9, -5), (20, 9, -5), (4, 15, 5), (20, 15, 5)):
        sx = 1 if x == 4 else -1
        p.drawPolyline([QPointF(x, y), QPointF(x, y + dy), QPointF(x + sx * 5, y + dy)])


def _zoom(p: QPainter, plus: bool) -> None:
    p.drawEllipse(QPointF(10.5, 10.5), 6, 6)
    p.drawLine(QPointF(15, 15), QPointF(20, 20))
    p.drawLine(QPointF(7.8, 10.5), QPointF(13.2, 10.5))
    if plus:
        p.drawLine(QPointF(10.5, 7.8), QPointF(10.5, 13.2))


def _sparkle(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(11, 3.5)
    path.quadTo(12, 10, 18.5, 11)
    path.quadTo(12, 12, 11, 18.5)
    path.quadTo(10, 12, 3.5, 11)
    path.quadTo(10, 10, 11, 3.5)
    p.drawPath(path)
    p.drawLine(QPointF(18.5, 16), QPointF(18.5, 21))
    p.drawLine(QPointF(16, 18.5), QPointF(21, 18.5))


def _redo(p: QPainter) -> None:
    path = QPainterPath()
    path.arcMoveTo(QRectF(4.5, 4.5, 15, 15), 60)
    path.arcTo(QRectF(4.5, 4.5, 15, 15), 60, 300)
    p.drawPath(path)
    p.drawPolyline([QPointF(15, 3.5), QPointF(16.3, 6.2), QPointF(13.3, 7.5)])


def _trash(p: QPainter) -> None:
    p.drawLine(QPointF(4.5, 7), QPointF(19.5, 7))
    p.drawPolyline([QPointF(9.5, 7), QPointF(9.5, 4.5), QPointF(14.5, 4.5), QPointF(14.5, 7)])
    p.drawPolyline([QPointF(6.5, 7), QPointF(7.5, 19.5), QPointF(16.5, 19.5), QPointF(17.5, 7)])


def _folder(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(3.5, 18.5)
    path.lineTo(3.5, 5.5)
    path.lineTo(9.5, 5.5)
    path.lineTo(11.5, 8)
    path.lineTo(20.5, 8)
    path.lineTo(20.5, 18.5)
    path.closeSubpath()
    p.drawPath(path)


def _portrait(p: QPainter) -> None:
    p.drawEllipse(QPointF(12, 8.5), 3.6, 3.6)
    path = QPainterPath()
    path.moveTo(4.5, 20)
    path.cubicTo(5, 14.5, 19, 14.5, 19.5, 20)
    p.drawPath(path)


def _shirt(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(9, 4)
    path.quadTo(12, 7, 15, 4)
    path.lineTo(20.5, 7)
    path.lineTo(18.5, 11)
    path.lineTo(16.5, 10)
    path.lineTo(16.5, 20)
    path.lineTo(7.5, 20)
    path.lineTo(7.5, 10)
    path.lineTo(5.5, 11)
    path.lineTo(3.5, 7)
    path.closeSubpath()
    p.drawPath(path)


def _play(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(8, 5)
    path.lineTo(19, 12)
    path.lineTo(8, 19)
    path.closeSubpath()
    p.drawPath(path)


def _stop(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(6, 6, 12, 12), 2, 2)


def _shield(p: QPainter) -> None:
    path = QPainterPath()
    path.moveTo(12, 3.5)
    path.lineTo(19, 6.5)
    path.cubicTo(19, 13, 16.5, 17.5, 12, 20.5)
    path.cubicTo(7.5, 17.5, 5, 13, 5, 6.5)
    path.closeSubpath()
    p.drawPath(path)
    p.drawPolyline([QPointF(9, 12), QPointF(11.2, 14.2), QPointF(15.2, 9.8)])


_DRAW = {
    "tryon": _hanger, "board": _grid, "history": _clock, "settings": _gear, "dev": _code,
    "add": _plus, "close": _close, "left": _left, "right": _right, "save": _save, "export": _export,
    "copy": _copy, "pin": _pin, "fit": _fit, "zoom_in": lambda p: _zoom(p, True),
    "zoom_out": lambda p: _zoom(p, False), "example": _sparkle, "redo": _redo, "delete": _trash,
    "open": _folder, "portrait": _portrait, "garment": _shirt, "play": _play, "stop": _stop,
    "shield": _shield,
}


def pixmap(name: str, size: int = 20, color: str = INK, dpr: float = 2.0, width: float = 1.7) -> QPixmap:
    pix = QPixmap(round(size * dpr), round(size * dpr))
    pix.setDevicePixelRatio(dpr)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(size / 24.0, size / 24.0)
    pen = QPen(QColor(color), width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    _DRAW[name](p)
    p.end()
    return pix


def icon(name: str, color: str = INK, active: str | None = None, disabled: str = "#b4bac4") -> QIcon:
    """An icon with normal / checked (``active``) / disabled colours."""
    ic = QIcon()
    for size in (16, 20, 24, 32):
        ic.addPixmap(pixmap(name, size, color), QIcon.Mode.Normal, QIcon.State.Off)
        ic.addPixmap(pixmap(name, size, active or color), QIcon.Mode.Normal, QIcon.State.On)
        ic.addPixmap(pixmap(name, size, disabled), QIcon.Mode.Disabled, QIcon.State.Off)
    return ic


def app_icon() -> QIcon:
    """The window icon: a white hanger on an indigo rounded square."""
    ic = QIcon()
    for size in (16, 32, 64, 128, 256):
        pix = QPixmap(size, size)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(ACCENT))
        p.drawRoundedRect(QRectF(0, 0, size, size), size * 0.22, size * 0.22)
        p.scale(size / 24.0, size / 24.0)
        pen = QPen(QColor("white"), 1.9)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.translate(12, 12.5)
        p.scale(0.72, 0.72)
        p.translate(-12, -12)
        _hanger(p)
        p.end()
        ic.addPixmap(pix)
    return ic
