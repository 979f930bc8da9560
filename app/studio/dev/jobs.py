"""The developer tabs' job runner: each job is the real command, ``python -m app.cli ...``,
in a subprocess (the studio never imports torch), one at a time.

States (STYLE: a job queue with states): ``queued`` → ``running`` → ``finished`` |
``paused`` (a training run stopped with a checkpoint, to resume) | ``cancelled`` | ``failed``;
``stopping`` while a stop is on its way. A job found ``running`` when the studio starts
was left by a studio that went away: ``detached`` while its process still lives (it can
still be stopped), else ``interrupted``.

- **Stop and pause** send SIGTERM: a training run stops at the next step with a resumable
  checkpoint (a ``stopped`` event, exit status 0), any other job simply ends. A job that
  has not stopped after ``KILL_AFTER_S`` is killed.
- **Resume** runs the same command again with ``--resume RUN``.
- **The log** of every job (the command, everything it printed, how it ended) is kept
  beside what it writes (``runs/tiny/vae.log`` for ``runs/tiny/vae``), appended by resumes.
- **Failures** never reach the studio as exceptions: a bad config, a missing folder, a
  crash end as state ``failed`` with one plain line (the command's own ``vton: error``
  line when there is one) and the log.
- **The list survives a restart**: ``<data dir>/dev/jobs.json`` (:class:`JobStore`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal, Slot

from engine.images import write_atomic
from engine.paths import private_mkdir

from .progress import last_event
from .requests import command_text

PROJECT_ROOT = Path(__file__).resolve().parents[3]  # the folder holding app/, engine/, models/
KILL_AFTER_S = 120.0  # a stopped job still running after this long is killed
MAX_JOBS_BYTES = 8 << 20
MAX_LOG_TAIL = 256 << 10  # what a view reads back of a log

ACTIVE = ("queued", "running", "stopping")
DONE = ("finished", "paused", "cancelled", "failed", "interrupted")
STATE_TEXT = {
    "queued": "waiting", "running": "running", "stopping": "stopping…", "paused": "paused",
    "finished": "finished", "cancelled": "stopped", "failed": "failed", "interrupted": "interrupted",
    "detached": "running outside this window",
}


@dataclass(frozen=True)
class JobRecord:
    """One job: what it runs, where it writes, its log, and how it went. Frozen: the queue
    replaces a record when anything changes."""

    id: str
    kind: str  # synth | check | sheet | train | export | eval
    title: str
    argv: tuple[str, ...]  # after `python -m app.cli`
    out: str  # the folder it writes (run folder, data set, bundle, evaluation)
    log: str  # its log, beside `out`
    state: str = "queued"
    created: float = 0.0
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    message: str = ""  # why it failed, or what to know about how it ended
    pid: int | None = None
    group: str = ""  # jobs started together (one-click ablations)
    meta: dict = field(default_factory=dict)  # kind-specific: stage, config, overlays, request...
    starts: int = 0  # how many times it was started (resumes)

    @property
    def command(self) -> str:
        return command_text(self.argv)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE or self.state == "detached"

    @property
    def state_text(self) -> str:
        return STATE_TEXT.get(self.state, self.state)

    @property
    def out_path(self) -> Path:
        return Path(self.out)

    def resumable(self) -> bool:
        """A training run that stopped with a checkpoint it can continue from."""
        if self.kind != "train" or self.state not in ("paused", "cancelled", "interrupted", "failed"):
            return False
        return any((self.out_path / "checkpoints").glob("step_*"))

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["argv"] = list(self.argv)
        return data


def _record_from(data) -> JobRecord | None:
    """A record from jobs.json, or None for anything malformed (never raises)."""
    if not isinstance(data, dict):
        return None
    types = {f.name: f.type for f in dataclasses.fields(JobRecord)}
    try:
        values = {k: v for k, v in data.items() if k in types}
        for key in ("id", "kind", "title", "out", "log"):
            if not isinstance(values.get(key), str):
                return None
        argv = values.get("argv")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            return None
        values["argv"] = tuple(argv)
        if not isinstance(values.get("meta", {}), dict) or not isinstance(values.get("state", ""), str):
            return None
        for key in ("created", "started", "ended"):
            if values.get(key) is not None and not isinstance(values[key], (int, float)):
                values[key] = None
        for key in ("exit_code", "pid"):
            if values.get(key) is not None and (not isinstance(values[key], int) or isinstance(values[key], bool)):
                values[key] = None
        values["created"] = float(values.get("created") or 0.0)
        values["starts"] = values["starts"] if isinstance(values.get("starts"), int) else 0
        for key in ("message", "group"):
            if not isinstance(values.get(key, ""), str):
                values[key] = ""
        return JobRecord(**values)
    except (TypeError, ValueError):
        return None


class JobStore:
    """``jobs.json``: the jobs of this machine, newest last (read once, written atomically)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.problems: list[str] = []

    def load(self) -> list[JobRecord]:
        if not self.path.is_file():
            return []
        try:
            if self.path.stat().st_size > MAX_JOBS_BYTES:
                raise ValueError("the file is too large")
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
                raise ValueError("not a list of jobs")
        except (OSError, ValueError, RecursionError) as exc:
            self.problems.append(f"{self.path}: unreadable ({exc}); the developer tabs start with an empty list")
            return []
        records = [_record_from(item) for item in data["jobs"]]
        if any(r is None for r in records):
            self.problems.append(f"{self.path}: {sum(r is None for r in records)} damaged entries were left out")
        seen: set[str] = set()
        unique = []
        for r in records:
            if r is not None and r.id not in seen:
                seen.add(r.id)
                unique.append(r)
        return unique

    def save(self, records: list[JobRecord], forgotten: set[str] = frozenset()) -> None:
        """Write ``records``, keeping jobs another studio window added meanwhile (not ``forgotten``)."""
        private_mkdir(self.path.parent)
        ours = {r.id for r in records}
        problems = list(self.problems)
        others = [r for r in self.load() if r.id not in ours and r.id not in forgotten]
        self.problems = problems  # (re-reading is not a new problem to report)
        data = json.dumps({"version": 1, "jobs": [r.to_json() for r in [*others, *records]]}, indent=1) + "\n"
        write_atomic(self.path, data.encode("utf-8"), durable=False, private=True)


def pid_is_ours(pid: int | None) -> bool:
    """Whether ``pid`` still runs one of our commands (``-m app.cli``)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (OSError, OverflowError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            return b"app.cli" in cmdline.read_bytes()
        except OSError:
            return False
    return True


def read_tail(path: str | Path, limit: int = MAX_LOG_TAIL) -> str:
    """The end of a log file (``""`` if it cannot be read)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return text if size <= limit else "…\n" + text.split("\n", 1)[-1]


def error_line(log_text: str, run: Path | None = None, exit_code: int | None = None) -> str:
    """The one line that says why a job failed: the command's own ``vton: error`` line, the
    run's ``failed`` event, the last line of a traceback, or the exit status."""
    lines = [ln.strip() for ln in log_text.splitlines() if ln.strip() and not ln.startswith("# ")]
    for ln in reversed(lines):
        if ln.startswith("vton: error:"):
            return ln.removeprefix("vton: error:").strip()
        if ln.startswith(("vton: internal error:", "vton: ")) and "interrupted" not in ln:
            return ln.removeprefix("vton: ")
        if ln.startswith(("vton train", "vton data", "vton bundle", "vton eval")) and ": error:" in ln:
            return ln  # argparse's usage error
    if run is not None:
        event = last_event(run)
        if event is not None and event.get("event") == "failed":
            return str(event.get("message") or "the run failed")
    for ln in reversed(lines):
        if not ln.startswith(("File ", "Traceback", "^", "~")):
            return ln
    return f"it ended with exit status {exit_code}" if exit_code is not None else "it ended unexpectedly"


def cli_process(parent: QObject, python: str, argv, workdir: Path) -> QProcess:
    """A QProcess for ``python -m app.cli ARGV`` (not started): unbuffered output, this
    project importable even when it is not installed."""
    proc = QProcess(parent)
    proc.setProgram(python)
    proc.setArguments(["-m", "app.cli", *map(str, argv)])
    env = QProcessEnvironment.systemEnvironment()
    env.insert("PYTHONUNBUFFERED", "1")  # the log follows the job line by line
    path = env.value("PYTHONPATH", "")
    env.insert("PYTHONPATH", str(PROJECT_ROOT) + (os.pathsep + path if path else ""))
    proc.setProcessEnvironment(env)
    proc.setWorkingDirectory(str(workdir))
    return proc


def start_private(proc: QProcess) -> None:
    """Start ``proc`` with umask 077: what a job writes (runs, checkpoints, synthetic people)
    is as private as the rest of the data folder. The child inherits the umask at start."""
    old = os.umask(0o077)
    try:
        proc.start()
    finally:
        os.umask(old)


class JobQueue(QObject):
    """Runs the jobs one at a time. Signals carry job ids; :meth:`get` gives the record."""

    job_added = Signal(str)
    job_changed = Signal(str)  # state, pid, message...
    job_output = Signal(str, str)  # id, new text from the process
    job_finished = Signal(str)  # reached finished, paused, cancelled, failed or interrupted
    idle = Signal()  # nothing runs or waits any more

    def __init__(self, store: JobStore, python: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.store = store
        self.python = python or sys.executable
        self._records: dict[str, JobRecord] = {}
        self._procs: dict[str, QProcess] = {}
        self._logs: dict[str, object] = {}
        self._intent: dict[str, str] = {}  # id -> "pause" | "cancel"
        self._stop_asked: dict[str, float] = {}
        self._closed = False
        self._forgotten: set[str] = set()
        for record in store.load():
            self._records[record.id] = self._recovered(record)
        self._watch = QTimer(self)  # kill stuck stops; notice detached jobs ending
        self._watch.setInterval(1000)
        self._watch.timeout.connect(self._on_watch)
        if any(r.state == "detached" for r in self._records.values()):
            self._watch.start()
        self._save()

    # -- reading -------------------------------------------------------------------------------
    def records(self, kind: str | None = None) -> list[JobRecord]:
        return [r for r in self._records.values() if kind is None or r.kind == kind]

    def get(self, job_id: str) -> JobRecord | None:
        return self._records.get(job_id)

    def active(self) -> list[JobRecord]:
        return [r for r in self._records.values() if r.active]

    def running(self) -> JobRecord | None:
        return next((r for r in self._records.values() if r.state in ("running", "stopping")), None)

    def pid(self, job_id: str) -> int | None:
        proc = self._procs.get(job_id)
        return int(proc.processId()) if proc is not None and proc.processId() else None

    # -- changing ------------------------------------------------------------------------------
    def submit(self, kind: str, title: str, argv: list[str], out: Path, log: Path | None = None, *,
               group: str = "", meta: dict | None = None) -> JobRecord:
        """Queue a job; it starts when nothing else runs."""
        from .folders import log_beside

        if self._closed:
            raise RuntimeError("the job queue was shut down")
        record = JobRecord(id=uuid.uuid4().hex[:12], kind=kind, title=title, argv=tuple(str(a) for a in argv),
                           out=str(out), log=str(log or log_beside(out)), created=time.time(), group=group,
                           meta=dict(meta or {}))
        self._records[record.id] = record
        self._save()
        self.job_added.emit(record.id)
        self._start_next()
        return self._records[record.id]

    def stop(self, job_id: str, pause: bool = False) -> None:
        """Stop a job: a training run keeps a checkpoint (``pause`` makes it ``paused``,
        otherwise ``cancelled``); a queued job is dropped. A second stop kills."""
        record = self._records.get(job_id)
        if record is None:
            return
        if record.state == "queued":
            self._set(job_id, state="cancelled", ended=time.time(), message="stopped before it started")
            self._finished(job_id)
            return
        if record.state == "detached":
            if record.pid:
                try:
                    os.kill(record.pid, signal.SIGTERM)
                except OSError:
                    pass
            return
        proc = self._procs.get(job_id)
        if proc is None:
            return
        if record.state == "stopping":
            proc.kill()  # asked twice: do not wait for the step
            return
        self._intent[job_id] = "pause" if pause else "cancel"
        self._stop_asked[job_id] = time.monotonic()
        self._set(job_id, state="stopping")
        self._watch.start()
        proc.terminate()  # SIGTERM: the trainer saves a checkpoint at the next step

    def resume(self, job_id: str, changes: dict | None = None) -> bool:
        """Continue a paused or stopped training run from its newest checkpoint (queued)."""
        record = self._records.get(job_id)
        if record is None or not record.resumable():
            return False
        argv = list(record.argv)
        if "--resume" not in argv:
            at = argv.index("-q") if "-q" in argv else len(argv)
            argv[at:at] = ["--resume", record.out]
        self._set(job_id, argv=tuple(argv), state="queued", message="", exit_code=None, ended=None,
                  **(changes or {}))
        self._start_next()
        return True

    def forget(self, job_id: str) -> bool:
        """Take a job that is over off the list (its files stay)."""
        record = self._records.get(job_id)
        if record is None or record.active:
            return False
        del self._records[job_id]
        self._forgotten.add(job_id)
        self._save()
        self.job_changed.emit(job_id)
        return True

    def stop_all(self) -> None:
        """Stop everything (closing the studio): queued jobs are dropped, running ones stopped."""
        for record in list(self._records.values()):
            if record.state == "queued":
                self.stop(record.id)
        for record in list(self._records.values()):
            if record.state in ("running", "detached"):
                self.stop(record.id, pause=True)

    def shutdown(self, wait_s: float = 30.0) -> None:
        """Stop running jobs and wait for them (then kill); no new job starts (idempotent)."""
        if self._closed:
            return
        self.stop_all()
        self._closed = True
        deadline = time.monotonic() + wait_s
        for job_id, proc in list(self._procs.items()):
            left = max(0, int((deadline - time.monotonic()) * 1000))
            if not proc.waitForFinished(left):
                proc.kill()
                proc.waitForFinished(5000)
            if job_id in self._procs:  # finished() was not delivered: record it now
                self._on_process_finished(job_id, proc.exitCode(), proc.exitStatus())
        self._watch.stop()

    # -- internals -----------------------------------------------------------------------------
    def _recovered(self, record: JobRecord) -> JobRecord:
        """A record read at start: nothing of this window runs yet."""
        if record.state == "queued":
            return dataclasses.replace(record, state="cancelled", message="not started: the studio was closed")
        if record.state in ("running", "stopping", "detached"):
            if pid_is_ours(record.pid):
                return dataclasses.replace(record, state="detached")
            return self._ended_elsewhere(record)
        return record

    def _ended_elsewhere(self, record: JobRecord) -> JobRecord:
        event = last_event(record.out_path) if record.kind == "train" else None
        name = event.get("event") if event else None
        state = {"finished": "finished", "stopped": "paused", "paused": "paused", "failed": "failed"}.get(
            name, "interrupted")
        message = "" if state != "interrupted" else "the studio went away while it ran"
        if name == "failed":
            message = str(event.get("message") or "failed")
        return dataclasses.replace(record, state=state, message=message, ended=record.ended or time.time())

    def _set(self, job_id: str, **changes) -> JobRecord:
        record = dataclasses.replace(self._records[job_id], **changes)
        self._records[job_id] = record
        self._save()
        self.job_changed.emit(job_id)
        return record

    def _save(self) -> None:
        try:
            self.store.save(list(self._records.values()), self._forgotten)
        except OSError as exc:  # a full disk must not stop the studio: the jobs still run
            self.store.problems.append(f"{self.store.path}: cannot be written ({exc.strerror or exc})")

    def _finished(self, job_id: str) -> None:
        self.job_finished.emit(job_id)
        self._start_next()
        if not self.active():
            self.idle.emit()

    def _start_next(self) -> None:
        if self._closed or self.running() is not None:
            return
        record = next((r for r in self._records.values() if r.state == "queued"), None)
        if record is not None:
            self._launch(record)

    def _launch(self, record: JobRecord) -> None:
        if getattr(sys, "frozen", False):  # the packaged app is inference only (packaging/desktop)
            self._set(record.id, state="failed", ended=time.time(),
                      message="this build of the studio is inference only: the developer tabs run the vton "
                              "commands of a Python install of the project (./test.sh, or pip install -e '.[train]')")
            self._finished(record.id)
            return
        out = record.out_path
        log_path = Path(record.log)
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            # private like the rest of the data folder (a log names people's files)
            log = os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        except OSError as exc:
            self._set(record.id, state="failed", ended=time.time(),
                      message=f"{log_path}: the log cannot be written ({exc.strerror or exc})")
            self._finished(record.id)
            return
        log.write(f"\n$ {record.command}\n# started {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        log.flush()
        self._logs[record.id] = log
        proc = cli_process(self, self.python, record.argv, out.parent if out.parent.is_dir() else PROJECT_ROOT)
        proc.setProperty("job_id", record.id)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.readyReadStandardOutput.connect(self._on_output)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._procs[record.id] = proc
        self._set(record.id, state="running", started=time.time(), ended=None, exit_code=None, message="",
                  starts=record.starts + 1)
        start_private(proc)
        if proc.processId():
            self._set(record.id, pid=int(proc.processId()))

    def _job_of(self, proc) -> str | None:
        job_id = proc.property("job_id") if proc is not None else None
        return job_id if job_id in self._procs else None

    @Slot()
    def _on_output(self) -> None:
        job_id = self._job_of(self.sender())
        if job_id is not None:
            self._drain(job_id)

    def _drain(self, job_id: str) -> None:
        proc = self._procs.get(job_id)
        if proc is None:
            return
        data = bytes(proc.readAllStandardOutput())
        if not data:
            return
        log = self._logs.get(job_id)
        if log is not None:
            try:
                log.write(data)
                log.flush()
            except OSError:
                pass
        self.job_output.emit(job_id, data.decode("utf-8", "replace"))

    @Slot(int, QProcess.ExitStatus)
    def _on_finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        job_id = self._job_of(self.sender())
        if job_id is not None:
            self._on_process_finished(job_id, exit_code, status)

    @Slot(QProcess.ProcessError)
    def _on_error(self, error: QProcess.ProcessError) -> None:
        job_id = self._job_of(self.sender())
        if job_id is None or error != QProcess.ProcessError.FailedToStart:
            return  # crashes arrive through finished()
        proc = self._procs.pop(job_id)
        proc.deleteLater()
        self._close_log(job_id, f"# could not start {self.python}: {proc.errorString()}\n")
        self._set(job_id, state="failed", ended=time.time(),
                  message=f"Python could not be started ({self.python}): {proc.errorString()}")
        self._finished(job_id)

    def _on_process_finished(self, job_id: str, exit_code: int, status) -> None:
        self._drain(job_id)
        proc = self._procs.pop(job_id)
        proc.deleteLater()
        record = self._records[job_id]
        intent = self._intent.pop(job_id, None)
        self._stop_asked.pop(job_id, None)
        crashed = status == QProcess.ExitStatus.CrashExit
        ok_codes = record.meta.get("ok_codes", [0])
        message = ""
        if crashed and intent:
            state = "cancelled"
            started = any((record.out_path / "checkpoints").glob("step_*"))
            message = "stopped" + ("; it had no checkpoint yet" if record.kind == "train" and not started else "")
        elif crashed:
            state = "failed"
            message = "the job crashed (killed by a signal); see the log"
        elif exit_code in ok_codes:
            state = "finished"
            if record.kind == "train":
                event = last_event(record.out_path)
                if event is not None and event.get("event") in ("stopped", "paused"):
                    state = "cancelled" if intent == "cancel" else "paused"
        elif intent == "cancel" and record.kind != "train":
            state = "cancelled"
        else:
            state = "failed"
            message = error_line(read_tail(record.log, 64 << 10), record.out_path if record.kind == "train" else None,
                                 exit_code)
        self._close_log(job_id, f"# {STATE_TEXT.get(state, state)} (exit status {exit_code}"
                                f"{', crashed' if crashed else ''}) {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        self._set(job_id, state=state, exit_code=None if crashed else exit_code, ended=time.time(), message=message)
        self._finished(job_id)

    def _close_log(self, job_id: str, footer: str) -> None:
        log = self._logs.pop(job_id, None)
        if log is None:
            return
        try:
            log.write(footer.encode())
            log.close()
        except OSError:
            pass

    @Slot()
    def _on_watch(self) -> None:
        now = time.monotonic()
        for job_id, asked in list(self._stop_asked.items()):
            proc = self._procs.get(job_id)
            if proc is not None and now - asked > KILL_AFTER_S:
                proc.kill()
        for record in list(self._records.values()):
            if record.state == "detached" and not pid_is_ours(record.pid):
                self._records[record.id] = self._ended_elsewhere(record)
                self._save()
                self.job_changed.emit(record.id)
                self.job_finished.emit(record.id)
        if not self._stop_asked and not any(r.state == "detached" for r in self._records.values()):
            self._watch.stop()
            if not self.active():
                self.idle.emit()
