"""numpy <-> Qt image helpers (HiDPI aware).

User files are never read with Qt's own image readers: everything goes through the engine's
loader (photo formats only, size limits, EXIF rotation) and arrives here as numpy arrays.
"""

from __future__ import annotations

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
