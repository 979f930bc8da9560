"""The Developer page: Data, Train, Distill, Export and Evaluate tabs (``--dev`` or Settings →
Developer). The tabs are built the first time the page is shown, so a studio that never
opens it never loads pyqtgraph."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTabWidget, QVBoxLayout, QWidget

from ..widgets import label
from .controller import DevController

TABS = ("Data", "Train", "Distill", "Export", "Evaluate")


class DevPage(QWidget):
    def __init__(self, dev: DevController, parent: QWidget | None = None):
        super().__init__(parent)
        self.dev = dev
        self.setObjectName("Page")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        head = QHBoxLayout()
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(label("Developer", "title"))
        names.addWidget(label("Build data, train, distill, export and evaluate models — on this machine. Every job "
                              "is the vton command in a subprocess; its log is kept beside what it writes.",
                              "subtitle", wrap=True))
        head.addLayout(names, 1)
        self.jobs_state = label("", "muted")
        head.addWidget(self.jobs_state)
        # whatever runs, from any tab: a rendering, an export or an evaluation stops here (a
        # training run stops at its next step with a checkpoint, as its own Stop button does)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop the running job (a training run keeps a checkpoint to resume from)")
        self.stop_button.clicked.connect(self.stop_running)
        head.addWidget(self.stop_button)
        layout.addLayout(head)
        self.tabs = QTabWidget(self)
        layout.addWidget(self.tabs, 1)
        self.views: dict[str, QWidget] = {}
        dev.jobs.job_changed.connect(self._on_jobs)
        dev.jobs.job_added.connect(self._on_jobs)
        self._on_jobs()

    def build(self) -> None:
        """Create the five tabs (idempotent); asks a subprocess which devices torch sees."""
        if self.views:
            return
        from .data_view import DataView
        from .distill_view import DistillView
        from .evaluate_view import EvaluateView
        from .export_view import ExportView
        from .train_view import TrainView

        dev = self.dev
        self.views = {"Data": DataView(dev.data), "Train": TrainView(dev.train), "Distill": DistillView(dev.distill),
                      "Export": ExportView(dev.export), "Evaluate": EvaluateView(dev.evaluate)}
        for name in TABS:
            self.tabs.addTab(self.views[name], name)
        dev.ask_devices()

    def showEvent(self, event) -> None:
        self.build()
        super().showEvent(event)

    def tab_titles(self) -> list[str]:
        self.build()
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]

    def show_tab(self, name: str) -> QWidget:
        self.build()
        self.tabs.setCurrentWidget(self.views[name])
        return self.views[name]

    @Slot()
    def stop_running(self) -> None:
        running = self.dev.jobs.running()
        if running is not None:
            self.dev.jobs.stop(running.id)

    @Slot()
    def _on_jobs(self, _job_id: str = "") -> None:
        running = self.dev.jobs.running()
        self.stop_button.setVisible(running is not None)
        waiting = sum(r.state == "queued" for r in self.dev.jobs.records())
        parts = []
        if running is not None:
            parts.append(f"Running: {running.title}")
        if waiting:
            parts.append(f"{waiting} waiting")
        self.jobs_state.setText(" · ".join(parts) if parts else "No job running")
