"""numpy <-> Qt image helpers (HiDPI aware)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap


def to_qimage(image: np.ndarray) -> QImage:
    """RGB uint8 (H, W, 3) -> a QImage that owns its pixels."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = image.shape[:2]
    if image.ndim == 2:
        return QImage(image.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def from_qimage(image: QImage) -> np.ndarray:
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(h, img.bytesPerLine())
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def scaled_pixmap(image: QImage | np.ndarray, box: QSize, dpr: float = 1.0, crop: bool = False) -> QPixmap:
    """A pixmap that fits (or, with ``crop``, fills) ``box`` logical pixels, sharp on HiDPI."""
    if isinstance(image, np.ndarray):
        image = to_qimage(image)
    target = QSize(max(1, round(box.width() * dpr)), max(1, round(box.height() * dpr)))
    mode = Qt.AspectRatioMode.KeepAspectRatioByExpanding if crop else Qt.AspectRatioMode.KeepAspectRatio
    scaled = image.scaled(target, mode, Qt.TransformationMode.SmoothTransformation)
    if crop:
        x = (scaled.width() - target.width()) // 2
        y = (scaled.height() - target.height()) // 2
        scaled = scaled.copy(x, y, target.width(), target.height())
    pix = QPixmap.fromImage(scaled)
    pix.setDevicePixelRatio(dpr)
    return pix


def load_qimage(path: str | Path) -> QImage:
    """Read through the engine's loader (EXIF rotation, odd modes); null QImage on failure."""
    from engine.errors import InputError
    from engine.images import load_image

    try:
        return to_qimage(load_image(path))
    except InputError:
        return QImage()


def read_thumbnail(path: str | Path, box: QSize, dpr: float = 1.0) -> QPixmap:
    """A quick, EXIF-upright thumbnail (decoded at reduced size where the format allows)."""
    from PySide6.QtGui import QImageReader

    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and size.width() > 0 and size.height() > 0:
        target = size.scaled(QSize(round(box.width() * dpr * 2), round(box.height() * dpr * 2)),
                             Qt.AspectRatioMode.KeepAspectRatio)
        if target.width() < size.width():
            reader.setScaledSize(target)
    image = reader.read()
    if image.isNull():
        return QPixmap()
    return scaled_pixmap(image, box, dpr)
