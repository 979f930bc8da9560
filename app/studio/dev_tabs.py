"""The developer area: shown in dev mode (Settings → Developer, or ``--dev``).

The Data, Train, Distill, Export and Evaluate tabs arrive in their own issue; this is the
container they plug into with :meth:`DevTabs.add_tab`. Dev tools must start training as a
subprocess: nothing under ``app/`` imports torch at module level.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from . import icons
from .widgets import label

PLANNED_TABS = ("Data", "Train", "Distill", "Export", "Evaluate")


class DevTabs(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Page")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        head = QVBoxLayout()
        head.setSpacing(0)
        head.addWidget(label("Developer", "title"))
        head.addWidget(label("Build data, train, distill, export and evaluate models — on this machine.", "subtitle"))
        layout.addLayout(head)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(False)
        layout.addWidget(self.tabs, 1)
        self._placeholder = QWidget()
        pl = QVBoxLayout(self._placeholder)
        pl.addStretch(1)
        glyph = QLabel(self._placeholder)
        glyph.setPixmap(icons.pixmap("dev", 48, "#aab0bc"))
        glyph.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pl.addWidget(glyph)
        msg = label("The developer tools (" + ", ".join(PLANNED_TABS) + ") are not part of this build yet.",
                    "hint", wrap=True)
        msg.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pl.addWidget(msg)
        pl.addStretch(1)
        self.tabs.addTab(self._placeholder, "Overview")

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a developer tab (the placeholder goes away with the first real tab)."""
        if self._placeholder is not None:
            self.tabs.removeTab(self.tabs.indexOf(self._placeholder))
            self._placeholder.deleteLater()
            self._placeholder = None
        return self.tabs.addTab(widget, title)

    def tab_titles(self) -> list[str]:
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]
