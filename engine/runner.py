"""A Qt-free background runner: one long-lived worker thread that owns the ONNX sessions.

Immutable requests go in; jobs move queued -> running -> finished | cancelled | failed.
A new request may supersede the queued ones; cancel is checked between denoising steps.
Callbacks run in the worker thread: the studio forwards them as Qt signals to slots of
GUI-thread objects (STYLE: napari's layer slicer, krita's job queue).
"""

from __future__ import annotations

import enum
import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .bundle import open_bundle
from .errors import Cancelled, VtonError
from .pipeline import TryOnPipeline
from .request import CancelToken, Progress, TryOnRequest, TryOnResult


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (JobState.FINISHED, JobState.CANCELLED, JobState.FAILED)


@dataclass(eq=False)
class Job:
    id: int
    request: TryOnRequest
    tag: str = ""  # who asked: e.g. "workspace" or "board"; supersede only touches the same tag
    state: JobState = JobState.QUEUED
    result: TryOnResult | None = None
    error: str | None = None
    token: CancelToken = field(default_factory=CancelToken)


class TryOnRunner:
    def __init__(
        self,
        default_bundle: str | Path | None = None,
        threads: int | None = None,
        on_progress: Callable[[Job, Progress], None] | None = None,
        on_state: Callable[[Job], None] | None = None,
    ):
        self.default_bundle = default_bundle
        self.threads = threads
        self.on_progress = on_progress
        self.on_state = on_state
        self._queue: deque[Job] = deque()
        self._lock = threading.Condition()
        self._current: Job | None = None
        self._ids = itertools.count(1)
        self._stop = False
        self._pipeline: TryOnPipeline | None = None
        self._pipeline_key: tuple | None = None
        self._thread = threading.Thread(target=self._work, name="vton-engine", daemon=True)
        self._thread.start()

    # -- public API (any thread) -----------------------------------------------------------
    def submit(self, request: TryOnRequest, tag: str = "", supersede: bool = True) -> Job:
        """Queue ``request``. With ``supersede``, queued jobs of the same tag are cancelled."""
        job = Job(next(self._ids), request, tag)
        dropped = []
        with self._lock:
            if self._stop:
                raise VtonError("the engine has shut down")
            if supersede:
                keep = deque()
                for old in self._queue:
                    (dropped if old.tag == tag else keep).append(old)
                self._queue = keep
            self._queue.append(job)
            self._lock.notify_all()
        for old in dropped:
            self._finish(old, JobState.CANCELLED, error="superseded by a newer request")
        self._emit_state(job)
        return job

    def cancel(self, job: Job) -> None:
        with self._lock:
            queued = job in self._queue
            if queued:
                self._queue.remove(job)
        job.token.cancel()
        if queued:
            self._finish(job, JobState.CANCELLED, error="cancelled")

    def cancel_all(self, tag: str | None = None) -> None:
        with self._lock:
            jobs = [j for j in self._queue if tag is None or j.tag == tag]
            current = self._current
        for job in jobs:
            self.cancel(job)
        if current is not None and (tag is None or current.tag == tag):
            current.token.cancel()

    def configure(self, default_bundle: str | Path | None = None, threads: int | None = None) -> None:
        """Change the bundle/threads used by later jobs (sessions reload lazily in the worker)."""
        with self._lock:
            self.default_bundle = default_bundle
            self.threads = threads

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._queue)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + (self._current is not None)

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (for tests and shutdown)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._current is None and not self._queue, timeout)

    def shutdown(self, wait: bool = True, timeout: float | None = 30.0) -> None:
        with self._lock:
            self._stop = True
            jobs = list(self._queue)
            self._queue.clear()
            if self._current is not None:
                self._current.token.cancel()
            self._lock.notify_all()
        for job in jobs:
            self._finish(job, JobState.CANCELLED, error="the engine shut down")
        if wait:
            self._thread.join(timeout)

    # -- worker thread -----------------------------------------------------------------------
    def _pipeline_for(self, request: TryOnRequest) -> TryOnPipeline:
        bundle = request.bundle or self.default_bundle
        if bundle is None:
            raise VtonError("no model bundle is selected")
        key = (str(bundle), self.threads)
        if self._pipeline is None or self._pipeline_key != key:
            self._pipeline = None  # free the old sessions before creating new ones
            self._pipeline = TryOnPipeline(open_bundle(bundle), threads=self.threads)
            self._pipeline_key = key
        return self._pipeline

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._stop or bool(self._queue))
                if self._stop:
                    self._current = None
                    self._lock.notify_all()
                    return
                job = self._queue.popleft()
                self._current = job
                job.state = JobState.RUNNING
            self._emit_state(job)
            state, result, error = JobState.FINISHED, None, None
            try:
                job.token.check()
                pipeline = self._pipeline_for(job.request)
                result = pipeline.run(job.request, progress=lambda p, j=job: self._emit_progress(j, p),
                                      cancel=job.token)
                job.token.check()  # cancelled after the last check: the result is dropped, not delivered
            except Cancelled:
                state, error, result = JobState.CANCELLED, "cancelled", None
            except VtonError as exc:
                state, error = JobState.FAILED, str(exc)
            except Exception as exc:  # never let the worker die: the user gets a message instead
                state, error = JobState.FAILED, f"engine error: {type(exc).__name__}: {exc}"
            with self._lock:  # the job is done before anyone waiting for idle wakes up
                job.state, job.result, job.error = state, result, error
                self._current = None
                self._lock.notify_all()
            self._emit_state(job)

    def _finish(self, job: Job, state: JobState, result: TryOnResult | None = None, error: str | None = None):
        job.state, job.result, job.error = state, result, error
        self._emit_state(job)

    def _emit_state(self, job: Job) -> None:
        if self.on_state is not None:
            self.on_state(job)

    def _emit_progress(self, job: Job, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(job, progress)
