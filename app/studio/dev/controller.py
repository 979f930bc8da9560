"""The developer area's services, built once per window (cheap: no process starts here).

:class:`DevController` owns the job queue, the folders and the device probe, and the five
tab controllers; the main window asks it whether a job runs before it closes.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from .data import DataController
from .distill import DistillController
from .evaluate import EvaluateController
from .export import ExportController
from .folders import DevFolders
from .jobs import JobQueue, JobStore
from .probes import DEVICES_ARGV, Probe
from .train import TrainController


class DevController(QObject):
    message = Signal(str, str, str)  # level, text, action: to the window's banner
    devices_changed = Signal()

    def __init__(self, session, python: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.folders = DevFolders(session.root / "dev")
        self.jobs = JobQueue(JobStore(self.folders.jobs_file), python=python, parent=self)
        self.devices: dict | None = None  # what torch sees, once asked (ask_devices)
        self.devices_problem = ""
        self._device_probe = Probe(python, self)
        self._device_probe.answered.connect(self._on_devices)
        self._device_probe.failed.connect(self._on_devices_failed)
        self.data = DataController(self)
        self.train = TrainController(self)
        self.distill = DistillController(self)
        self.export = ExportController(self)
        self.evaluate = EvaluateController(self)
        for tab in (self.data, self.train, self.distill, self.export, self.evaluate):
            tab.message.connect(self.message)

    @property
    def problems(self) -> list[str]:
        return self.jobs.store.problems

    def ask_devices(self) -> None:
        """Ask a subprocess what torch sees (once; the answer fills the device choices)."""
        if self.devices is None and not self._device_probe.pending:
            self._device_probe.ask(DEVICES_ARGV)

    @Slot(object)
    def _on_devices(self, info) -> None:
        devices = info.get("devices") if isinstance(info, dict) else None
        self.devices = devices if isinstance(devices, dict) else {"cuda": []}
        self.devices_changed.emit()

    @Slot(str)
    def _on_devices_failed(self, why: str) -> None:
        self.devices = {"cuda": []}
        self.devices_problem = why
        self.devices_changed.emit()

    def running_jobs(self):
        return self.jobs.active()

    def shutdown(self, wait_s: float = 30.0) -> None:
        self._device_probe.cancel()
        for tab in (self.train, self.distill):
            tab.probe.cancel()
        self.jobs.shutdown(wait_s)
