"""Follow a training run's ``metrics.jsonl`` (Qt-free): what the Train and Distill tabs show.

The trainer appends one JSON object per line as it goes (docs/training.md, "Progress"):
``train`` lines (step, every ``loss_*``, ``samples_per_s``, ``eta_s``, ``lr``...), ``sample``
lines (the grid's path, PSNR/SSIM on held-out samples), ``eval`` lines and ``event`` lines
(started, phase, sample grid written, checkpoint saved, fga gate, paused, stopped, finished,
failed). :class:`MetricsReader` reads only what was added since the last call and never
a half-written line; :class:`RunProgress` folds the records into what a front end shows.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

METRICS = "metrics.jsonl"
MAX_READ = 8 << 20  # read at most this much per call (a huge file is followed in pieces)


class MetricsReader:
    """Incremental reader of one JSON-lines file: each call returns the records added since."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self._rest = b""

    def reset(self) -> None:
        self.offset, self._rest = 0, b""

    def read_new(self) -> list[dict]:
        try:
            size = self.path.stat().st_size
            if size < self.offset:  # replaced or truncated: start again
                self.reset()
            if size == self.offset:
                return []
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read(min(size - self.offset, MAX_READ))
        except OSError:
            return []
        self.offset += len(chunk)
        data = self._rest + chunk
        lines = data.split(b"\n")
        self._rest = lines.pop()  # an unfinished last line waits for the next call
        records = []
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a damaged line is skipped, never fatal
            if isinstance(rec, dict) and isinstance(rec.get("kind"), str):
                records.append(rec)
        return records


def last_event(run: Path) -> dict | None:
    """The run's last event line (finished, stopped, failed...), or None."""
    events = [e for e in read_progress(run).events]
    return events[-1] if events else None


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass
class RunProgress:
    """Everything a run's monitor shows, folded from its metrics records."""

    run: Path
    stage: str = ""
    step: int = 0
    total: int | None = None  # the step limit (None: a time budget only)
    minutes: float | None = None  # the time budget
    elapsed_s: float = 0.0
    samples_per_s: float | None = None
    eta_s: float | None = None
    lr: float | None = None
    phase: str = ""
    losses: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)  # name -> (steps, values)
    grid: Path | None = None  # the latest sample grid
    grid_step: int | None = None
    sample: dict = field(default_factory=dict)  # the latest sample line's metrics (psnr, ssim...)
    eval: dict = field(default_factory=dict)  # the latest eval line
    events: list[dict] = field(default_factory=list)
    gate: dict | None = None  # the FGA gate's decision (student)
    final: Path | None = None
    checkpoint: Path | None = None  # the latest resumable checkpoint
    failed: str = ""

    def add(self, records: list[dict]) -> bool:
        """Fold new records in; True if anything changed."""
        for rec in records:
            kind = rec["kind"]
            step = rec.get("step")
            if isinstance(step, int) and not isinstance(step, bool):
                self.step = max(self.step, step) if kind != "event" or rec.get("event") != "started" else step
            if kind == "train":
                self._train(rec)
            elif kind == "sample":
                if isinstance(rec.get("grid"), str):
                    self.grid, self.grid_step = self.run / rec["grid"], rec.get("step")
                self.sample = {k: v for k, v in rec.items() if _number(v) is not None and k != "step"}
            elif kind == "eval":
                self.eval = {k: v for k, v in rec.items() if k != "kind"}
            elif kind == "event":
                self._event(rec)
        return bool(records)

    def _train(self, rec: dict) -> None:
        step = rec.get("step")
        for key, value in rec.items():
            v = _number(value)
            if key.startswith("loss") and v is not None and isinstance(step, int):
                xs, ys = self.losses.setdefault(key, ([], []))
                if xs and step <= xs[-1]:  # a resumed run repeats nothing, but a restart might
                    while xs and xs[-1] >= step:
                        xs.pop()
                        ys.pop()
                xs.append(float(step))
                ys.append(v)
        self.samples_per_s = _number(rec.get("samples_per_s"))
        self.eta_s = _number(rec.get("eta_s"))
        self.lr = _number(rec.get("lr"))
        self.elapsed_s = _number(rec.get("elapsed_s")) or self.elapsed_s
        if isinstance(rec.get("phase"), str):
            self.phase = rec["phase"]

    def _event(self, rec: dict) -> None:
        self.events.append(rec)
        name = rec.get("event")
        if name == "started":
            self.stage = str(rec.get("stage") or self.stage)
            self.total = rec.get("steps") if isinstance(rec.get("steps"), int) else None
            self.minutes = _number(rec.get("minutes"))
            self.failed = ""
        elif name == "phase" and isinstance(rec.get("phase"), str):
            self.phase = rec["phase"]
        elif name == "sample grid written" and isinstance(rec.get("path"), str):
            self.grid, self.grid_step = self.run / rec["path"], rec.get("step")
        elif name == "fga gate":
            self.gate = {k: v for k, v in rec.items() if k not in ("kind", "event", "time")}
        elif name in ("stopped", "paused") and isinstance(rec.get("checkpoint"), str):
            self.checkpoint = Path(rec["checkpoint"])
        elif name == "checkpoint saved" and isinstance(rec.get("path"), str) and rec["path"] != "final":
            self.checkpoint = self.run / rec["path"]
        elif name == "finished":
            self.final = Path(rec["final"]) if isinstance(rec.get("final"), str) else self.run / "final"
            self.eta_s = 0.0
        elif name == "failed":
            self.failed = str(rec.get("message") or "failed")

    @property
    def last_event(self) -> str:
        return str(self.events[-1].get("event", "")) if self.events else ""

    @property
    def fraction(self) -> float | None:
        """How far the run is (steps, else its time budget), for a progress bar."""
        if self.final is not None:
            return 1.0
        if self.total:
            return min(1.0, self.step / self.total)
        if self.minutes:
            return min(1.0, self.elapsed_s / (self.minutes * 60.0))
        return None

    def summary(self) -> dict:
        """The end-of-run figures for an ablation table: the last eval line, else the last sample line."""
        source = self.eval or self.sample
        return {k: source[k] for k in ("psnr", "ssim", "garment_colour_error", "garment_ssim") if k in source}


def read_progress(run: Path) -> RunProgress:
    """A run's progress from its whole metrics file (for a run that is not followed live)."""
    progress = RunProgress(Path(run))
    reader = MetricsReader(Path(run) / METRICS)
    while True:
        before = reader.offset
        progress.add(reader.read_new())
        if reader.offset == before:
            break
    try:  # a last line without its newline (a process killed mid-write) counts when it is whole JSON
        rec = json.loads(reader._rest) if reader._rest.strip() else None
    except ValueError:
        rec = None
    if isinstance(rec, dict) and isinstance(rec.get("kind"), str):
        progress.add([rec])
    return progress


def format_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"
