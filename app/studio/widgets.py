"""Small shared widgets: cards, section labels, the message banner, a segmented control."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from . import icons
from .theme import repolish


def card(parent: QWidget | None = None, margins: int = 16, spacing: int = 10) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame(parent)
    frame.setProperty("card", True)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(margins, margins, margins, margins)
    layout.setSpacing(spacing)
    return frame, layout


def label(text: str, role: str | None = None, parent: QWidget | None = None, wrap: bool = False) -> QLabel:
    lab = QLabel(text, parent)
    if role:
        lab.setProperty("role", role)
    lab.setWordWrap(wrap)
    return lab


def tool_button(icon_name: str, tip: str, parent: QWidget | None = None, text: str = "",
                flat: bool = False) -> QToolButton:
    b = QToolButton(parent)
    b.setIcon(icons.icon(icon_name, active=icons.ACCENT))
    b.setIconSize(QSize(18, 18))
    b.setToolTip(tip)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    if text:
        b.setText(text)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    if flat:
        b.setProperty("role", "flat")
    return b


class Segmented(QWidget):
    """Exclusive choice among a few options, drawn as joined buttons."""

    changed = Signal(str)

    def __init__(self, options: list[tuple[str, str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QPushButton] = {}
        for n, (key, text, tip) in enumerate(options):
            b = QPushButton(text, self)
            b.setCheckable(True)
            b.setToolTip(tip)
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setProperty("segment", "first" if n == 0 else "last" if n == len(options) - 1 else "middle")
            self._group.addButton(b)
            layout.addWidget(b)
            self.buttons[key] = b
            b.clicked.connect(self._on_clicked)

    @Slot()
    def _on_clicked(self) -> None:
        for key, b in self.buttons.items():
            if b is self.sender():
                self.changed.emit(key)

    def set_value(self, key: str) -> None:
        if key in self.buttons:
            self.buttons[key].setChecked(True)

    def value(self) -> str | None:
        return next((k for k, b in self.buttons.items() if b.isChecked()), None)


class Banner(QFrame):
    """An inline message at the top of the window: info, success, warning or error.

    Info and success fade out by themselves; warnings and errors stay until dismissed or
    replaced. An optional action button (e.g. "Open Settings") goes with the message.
    """

    action_triggered = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 8, 8, 8)
        layout.setSpacing(10)
        self._icon = QLabel(self)
        layout.addWidget(self._icon)
        self.text = QLabel(self)
        self.text.setObjectName("BannerText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text, 1)
        self._action = QPushButton(self)
        self._action.setCursor(Qt.CursorShape.PointingHandCursor)
        self._action.clicked.connect(self._on_action)
        layout.addWidget(self._action)
        close = tool_button("close", "Dismiss (Esc)", self, flat=True)
        close.setIconSize(QSize(14, 14))
        close.clicked.connect(self.dismiss)
        layout.addWidget(close)
        self._action_key = ""
        self.level = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    ACTIONS = {"settings": "Open Settings", "board": "Show board", "history": "Show history"}
    COLORS = {"info": "#4f46e5", "success": "#047857", "warning": "#b45309", "error": "#b91c1c"}
    GLYPH = {"info": "shield", "success": "shield", "warning": "shield", "error": "close"}

    def show_message(self, level: str, text: str, action: str = "") -> None:
        self.level = level
        self.setProperty("level", level)
        repolish(self)
        self._icon.setPixmap(icons.pixmap(self.GLYPH.get(level, "shield"), 18, self.COLORS.get(level, "#4f46e5")))
        self.text.setText(text)
        self._action_key = action
        self._action.setVisible(bool(action))
        self._action.setText(self.ACTIONS.get(action, action))
        self.show()
        if level in ("info", "success"):
            self._timer.start(6000)
        else:
            self._timer.stop()

    @Slot()
    def dismiss(self) -> None:
        self._timer.stop()
        self.hide()

    @Slot()
    def _on_action(self) -> None:
        self.action_triggered.emit(self._action_key)
        self.dismiss()


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" instead of pushing the layout wider."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 20))
        super().setText(shown)


def hline(parent: QWidget | None = None) -> QFrame:
    line = QFrame(parent)
    line.setFixedHeight(1)
    line.setStyleSheet("background: #eceef3; border: none;")
    return line


def vbox(*widgets, spacing: int = 8, margins: int = 0) -> QVBoxLayout:
    layout = QVBoxLayout()
    layout.setSpacing(spacing)
    layout.setContentsMargins(margins, margins, margins, margins)
    for w in widgets:
        layout.addWidget(w)
    return layout
