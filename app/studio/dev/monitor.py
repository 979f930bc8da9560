"""Follow one training run live (the Train and Distill tabs' right-hand side).

While the run's job is active, a QTimer reads what was appended to ``metrics.jsonl``
(twice a second; nothing runs while the run is over) and ``changed`` is emitted when
something new arrived. The job's output is appended to the log as it comes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from .jobs import JobRecord, read_tail
from .progress import METRICS, MetricsReader, RunProgress

POLL_MS = 500


class RunMonitor(QObject):
    changed = Signal()  # new progress, or the job's state changed
    log_reset = Signal(str)  # the whole log (a run was chosen)
    log_appended = Signal(str)  # new output of the job followed

    def __init__(self, jobs, parent: QObject | None = None):
        super().__init__(parent)
        self.jobs = jobs
        self.job_id: str | None = None
        self.progress: RunProgress | None = None
        self._reader: MetricsReader | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        jobs.job_changed.connect(self._on_job_changed)
        jobs.job_output.connect(self._on_output)

    @property
    def record(self) -> JobRecord | None:
        return self.jobs.get(self.job_id) if self.job_id else None

    def follow(self, job_id: str | None) -> None:
        """Show ``job_id``'s run (None: nothing)."""
        self.job_id = job_id
        record = self.record
        if record is None:
            self.job_id = self.progress = self._reader = None
            self._timer.stop()
            self.log_reset.emit("")
            self.changed.emit()
            return
        self.progress = RunProgress(record.out_path)
        self._reader = MetricsReader(record.out_path / METRICS)
        self.log_reset.emit(read_tail(record.log))
        self.poll()
        self._update_timer()
        self.changed.emit()

    @Slot()
    def poll(self) -> None:
        """Read what the run appended (also called when the job ends, for its last lines)."""
        if self._reader is None or self.progress is None:
            return
        new = False
        while True:
            before = self._reader.offset
            new = self.progress.add(self._reader.read_new()) or new
            if self._reader.offset == before:
                break
        if new:
            self.changed.emit()

    def _update_timer(self) -> None:
        record = self.record
        if record is not None and record.active:
            self._timer.start()
        else:
            self._timer.stop()

    @Slot(str)
    def _on_job_changed(self, job_id: str) -> None:
        if job_id != self.job_id:
            return
        if self.record is None:  # forgotten
            self.follow(None)
            return
        self.poll()
        self._update_timer()
        self.changed.emit()

    @Slot(str, str)
    def _on_output(self, job_id: str, text: str) -> None:
        if job_id == self.job_id:
            self.log_appended.emit(text)

    def grid(self) -> Path | None:
        p = self.progress
        return p.grid if p is not None and p.grid is not None and p.grid.is_file() else None
