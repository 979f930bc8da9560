"""The engine's worker thread, seen from Qt.

``TryOnRunner`` (Qt-free) owns one long-lived worker thread and the ONNX Runtime sessions.
Its callbacks run in that worker thread, so they only *emit* private signals carrying
immutable data (job id, tag, state, a copy of the result). Those signals are connected,
queued, to ``@Slot`` methods of this object, which lives in the GUI thread; the slots
re-emit the public signals. Everything connected to the public signals therefore runs in
the GUI thread, even a lambda or a pytest-qt blocker (with PySide6 6.12 a lambda connected
directly to a signal emitted from a Python thread would run in that thread).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.request import Progress, TryOnRequest, TryOnResult
from engine.runner import Job, JobState, TryOnRunner


class EngineBridge(QObject):
    # public: emitted in the GUI thread
    job_queued = Signal(int, str)  # job id, tag
    job_started = Signal(int, str)
    job_progress = Signal(int, str, object)  # job id, tag, Progress
    job_finished = Signal(int, str, object)  # job id, tag, TryOnResult (a private copy)
    job_cancelled = Signal(int, str, str)  # job id, tag, reason
    job_failed = Signal(int, str, str)  # job id, tag, message for the user
    busy_changed = Signal(bool)

    # private: emitted in the worker thread (or in submit's caller), always delivered queued
    _state_from_worker = Signal(int, str, str, object, str)  # id, tag, state, result, error
    _progress_from_worker = Signal(int, str, object)

    def __init__(self, default_bundle: str | Path | None = None, threads: int | None = None, parent=None):
        super().__init__(parent)
        self._closed = False
        self._jobs: dict[int, Job] = {}
        self._busy = False
        # Queued even when emitted from the GUI thread (submit() reports "queued" and
        # "superseded" synchronously): listeners never run re-entrantly inside submit().
        self._state_from_worker.connect(self._relay_state, Qt.ConnectionType.QueuedConnection)
        self._progress_from_worker.connect(self._relay_progress, Qt.ConnectionType.QueuedConnection)
        self.runner = TryOnRunner(default_bundle, threads, on_progress=self._on_progress, on_state=self._on_state)

    # -- GUI-thread API --------------------------------------------------------------------
    def submit(self, request: TryOnRequest, tag: str, supersede: bool = True) -> int:
        job = self.runner.submit(request, tag=tag, supersede=supersede)
        self._jobs[job.id] = job
        self._set_busy(True)
        return job.id

    def cancel(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None and not job.state.done:
            self.runner.cancel(job)

    def cancel_tag(self, tag: str) -> None:
        self.runner.cancel_all(tag)

    def configure(self, bundle: str | Path | None, threads: int | None) -> None:
        self.runner.configure(bundle, threads or None)

    def is_pending(self, job_id: int) -> bool:
        job = self._jobs.get(job_id)
        return job is not None and not job.state.done

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel everything and stop the worker (called when the window closes)."""
        if self._closed:
            return
        self._closed = True
        self.runner.shutdown(wait=True, timeout=timeout)

    # -- worker thread: emit immutable data only -----------------------------------------------
    def _on_state(self, job: Job) -> None:
        if self._closed:
            return
        result = job.result
        if result is not None:  # the pixels are shared read-only (a copy of a large photo is 240 MB)
            result.image.setflags(write=False)
            result = dataclasses.replace(result, timings=dict(result.timings))
        try:
            self._state_from_worker.emit(job.id, job.tag, job.state.value, result, job.error or "")
        except RuntimeError:  # the QObject is gone (app quitting): nothing left to tell
            pass

    def _on_progress(self, job: Job, progress: Progress) -> None:
        if self._closed:
            return
        try:
            self._progress_from_worker.emit(job.id, job.tag, progress)
        except RuntimeError:
            pass

    # -- GUI thread: re-emit -------------------------------------------------------------------
    @Slot(int, str, str, object, str)
    def _relay_state(self, job_id: int, tag: str, state: str, result: TryOnResult | None, error: str) -> None:
        if self._closed:
            return
        st = JobState(state)
        if st is JobState.QUEUED:
            if job_id in self._jobs:  # the worker may have finished it before this arrived
                self.job_queued.emit(job_id, tag)
        elif st is JobState.RUNNING:
            self.job_started.emit(job_id, tag)
        elif st is JobState.FINISHED:
            self.job_finished.emit(job_id, tag, result)
        elif st is JobState.CANCELLED:
            self.job_cancelled.emit(job_id, tag, error or "cancelled")
        elif st is JobState.FAILED:
            self.job_failed.emit(job_id, tag, error or "the engine failed")
        if st.done:
            self._jobs.pop(job_id, None)
            self._set_busy(bool(self._jobs))

    @Slot(int, str, object)
    def _relay_progress(self, job_id: int, tag: str, progress: Progress) -> None:
        if not self._closed and job_id in self._jobs:
            self.job_progress.emit(job_id, tag, progress)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
