"""The Train tab's behaviour: a VAE, teacher or student run from a config, its main knobs,
start / pause / resume / stop, and the runs on this machine.

A run is ``vton train STAGE --config FILE [--overlay ...] [--set key=value ...]`` into a
folder of ``<data dir>/dev/runs/<name>/``, where a preset's stages sit side by side
(``vae/``, ``teacher/``, ``student/``) as the bundled configs expect. Knobs left blank keep
the config's value (shown as a placeholder, asked of ``--print-config``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from .jobs import JobRecord
from .probes import Probe, bundled_configs
from .requests import STAGES, TrainRequest

# the main knobs: label, the config key it overrides (None: a command-line option), the type
KNOBS = {
    "steps": ("Steps", "train.max_steps", int),
    "minutes": ("Minutes", "train.max_minutes", float),
    "batch": ("Batch size", "train.batch_size", int),
    "lr": ("Learning rate", "train.lr", float),
    "seed": ("Seed", "seed", int),
}
STAGE_TEXT = {"vae": "LightVAE", "teacher": "dit teacher", "student": "student"}
DATA_CONFIG = ""  # the data source choice "the config's own (the synthetic world)"


@dataclass(frozen=True)
class DataChoice:
    """Where a run's samples come from, when not the config's own synthetic world."""

    folder: Path
    split: str = "train"
    mode: str = "unpaired"  # a rendered synthetic set has ground truth; real sets are paired

    def sets(self) -> tuple[tuple[str, str], ...]:
        return (("data.source", str(self.folder)), ("data.split", self.split), ("data.mode", self.mode))


@dataclass(frozen=True)
class TrainForm:
    """What the form says (text as typed; blank = the config's value)."""

    stage: str
    config: Path
    project: str = ""  # the folder under dev/runs holding the preset's stages
    name: str = ""  # the run's folder name (default: the stage)
    knobs: dict = field(default_factory=dict)  # knob -> text
    device: str = "auto"
    data: DataChoice | None = None
    vae: Path | None = None
    teacher: Path | None = None
    overlays: tuple[str, ...] = ()
    sets: tuple[tuple[str, str], ...] = ()  # more overrides (the Distill tab's FGA knobs)
    extra: str = ""  # "key=value key=value": any other config key, as typed (vton train --set)

    def knob_values(self) -> dict:
        """Parsed knobs; ValueError naming the knob for text that is not a number."""
        values = {}
        for key, text in self.knobs.items():
            text = str(text).strip()
            if not text or key not in KNOBS:
                continue
            label, _, kind = KNOBS[key]
            try:
                value = kind(text)
            except ValueError:
                what = "a whole number" if kind is int else "a number"
                raise ValueError(f"{label}: {text!r} is not {what}") from None
            if value < 0 or (key in ("steps", "batch", "lr", "minutes") and value == 0):
                raise ValueError(f"{label}: must be more than 0")
            values[key] = value
        return values

    def extra_sets(self) -> tuple[tuple[str, str], ...]:
        """The "other settings" as (key, value); ValueError for a word that is not key=value."""
        try:
            words = shlex.split(self.extra)
        except ValueError as exc:
            raise ValueError(f"Other settings: {exc}") from None
        pairs = []
        for word in words:
            key, eq, value = word.partition("=")
            if not eq or not key.strip() or not value.strip():
                raise ValueError(f"Other settings: {word!r} is not key=value (e.g. train.log_every=1)")
            pairs.append((key.strip(), value.strip()))
        return tuple(pairs)

    def request(self, out: Path) -> TrainRequest:
        values = self.knob_values()
        sets = [(KNOBS[k][1], str(values[k])) for k in ("batch", "lr") if k in values]
        sets += list(self.data.sets() if self.data is not None else ())
        sets += list(self.sets) + list(self.extra_sets())
        return TrainRequest(stage=self.stage, config=Path(self.config), out=Path(out), overlays=tuple(self.overlays),
                            sets=tuple(sets), max_steps=values.get("steps"), max_minutes=values.get("minutes"),
                            device=self.device, seed=values.get("seed"), vae=self.vae,
                            teacher=self.teacher if self.stage == "student" else None)

    def default_project(self) -> str:
        """``tiny_student.yaml`` -> ``tiny``: a preset's stages share one folder."""
        stem = Path(self.config).stem
        return re.sub(r"[_-](vae|teacher|student)$", "", stem) or stem


class TrainController(QObject):
    """Behaviour shared by the Train and Distill tabs: forms to runs, the runs list."""

    message = Signal(str, str, str)
    runs_changed = Signal()
    config_read = Signal(object)  # the printed run config (dict)
    config_problem = Signal(str)  # the one line a bad config gets ("" once it reads)

    kind_title = "Train"

    def __init__(self, dev):
        super().__init__(dev)
        self.dev = dev
        self.jobs = dev.jobs
        self.folders = dev.folders
        self.extra_configs: list[Path] = []  # files chosen with "Choose…"
        self.probe = Probe(dev.jobs.python, self)
        self.probe.answered.connect(self._on_config)
        self.probe.failed.connect(self._on_config_failed)
        self._probe_timer = QTimer(self)  # a burst of edits asks once
        self._probe_timer.setSingleShot(True)
        self._probe_timer.setInterval(400)
        self._probe_timer.timeout.connect(self._probe_now)
        self._probe_form: TrainForm | None = None
        self.config: dict | None = None
        self.jobs.job_added.connect(self._on_jobs_changed)
        self.jobs.job_changed.connect(self._on_jobs_changed)

    # -- choices ------------------------------------------------------------------------------
    def configs(self, stage: str) -> list[Path]:
        """The bundled configs of ``stage`` (tiny first), then files chosen here."""
        bundled = [p for p in bundled_configs() if p.stem.endswith(f"_{stage}")]
        bundled.sort(key=lambda p: (not p.stem.startswith("tiny"), p.name))
        return bundled + [p for p in self.extra_configs if p not in bundled]

    def add_config(self, path: Path) -> None:
        path = Path(path)
        if path not in self.extra_configs:
            self.extra_configs.append(path)

    def runs(self, stage: str | None = None) -> list[JobRecord]:
        """Training runs on this machine, newest first."""
        found = [r for r in self.jobs.records("train") if stage is None or r.meta.get("stage") == stage]
        return sorted(found, key=lambda r: r.created, reverse=True)

    def finished(self, stage: str) -> list[tuple[str, Path]]:
        """(label, final checkpoint) of the finished runs of ``stage``, newest first."""
        return [(self.run_label(r), r.out_path / "final") for r in self.runs(stage)
                if r.state == "finished" and (r.out_path / "final").is_dir()]

    def data_sets(self) -> list[tuple[str, DataChoice]]:
        """Synthetic sets rendered in the Data tab (usable as training data)."""
        out = []
        for r in sorted(self.jobs.records("synth"), key=lambda r: r.created, reverse=True):
            if r.state == "finished":
                split = r.meta.get("split", "train")
                out.append((f"{r.out_path.name} ({r.meta.get('n', '?')} {split} samples, {r.meta.get('size', '')})",
                            DataChoice(r.out_path, split, "unpaired")))
        return out

    @staticmethod
    def run_label(r: JobRecord) -> str:
        overlays = r.meta.get("overlays") or []
        extra = f" [{', '.join(overlays)}]" if overlays else ""
        return f"{Path(r.out).parent.name}/{Path(r.out).name}{extra}"

    # -- starting -----------------------------------------------------------------------------
    def out_for(self, form: TrainForm) -> Path:
        project = form.project.strip() or form.default_project()
        parent = self.folders.runs / project
        taken = {r.out for r in self.jobs.records("train")}
        return self.folders.unused(parent, form.name.strip() or form.stage, taken)

    def problem(self, form: TrainForm) -> str | None:
        """What stops ``form`` from starting, in one line (None: it can start)."""
        if form.stage not in STAGES:
            return f"unknown stage {form.stage!r}"
        if not Path(form.config).is_file():
            return f"{form.config}: config file not found"
        try:
            form.knob_values()
            form.extra_sets()
        except ValueError as exc:
            return str(exc)
        for what, path in (("VAE", form.vae), ("teacher", form.teacher if form.stage == "student" else None)):
            if path is not None and not Path(path).exists():
                return f"{path}: the {what} checkpoint is not there (was its run removed?)"
        if form.data is not None and not Path(form.data.folder).is_dir():
            return f"{form.data.folder}: data folder not found"
        return None

    def start(self, form: TrainForm, group: str = "", title: str = "") -> JobRecord | None:
        """Queue the run ``form`` describes; a problem becomes a message, never an exception."""
        problem = self.problem(form)
        if problem:
            self.message.emit("error", f"The run cannot start: {problem}", "")
            return None
        out = self.out_for(form)
        request = form.request(out)
        try:
            self.folders.make(out.parent)
        except OSError as exc:
            self.message.emit("error", f"{out.parent}: cannot be created ({exc.strerror or exc})", "")
            return None
        meta = {"stage": form.stage, "config": str(form.config), "overlays": list(form.overlays),
                "device": form.device, "vae": str(form.vae or ""), "teacher": str(form.teacher or ""),
                "tab": self.kind_title}
        title = title or f"{STAGE_TEXT[form.stage]} · {out.parent.name}/{out.name}"
        return self.jobs.submit("train", title, request.argv(), out, group=group, meta=meta)

    def pause(self, job_id: str) -> None:
        self.jobs.stop(job_id, pause=True)

    def stop(self, job_id: str) -> None:
        self.jobs.stop(job_id, pause=False)

    def resume(self, job_id: str) -> bool:
        ok = self.jobs.resume(job_id)
        if not ok:
            self.message.emit("warning", "This run has no checkpoint to resume from.", "")
        return ok

    def forget(self, job_id: str) -> None:
        self.jobs.forget(job_id)

    # -- the config's own values ----------------------------------------------------------------
    def read_config(self, form: TrainForm) -> None:
        """Ask (soon, in a subprocess) what ``form``'s config resolves to."""
        self._probe_form = form
        self._probe_timer.start()

    @Slot()
    def _probe_now(self) -> None:
        form = self._probe_form
        if form is None:
            return
        if not Path(form.config).is_file():
            self.config = None
            self.config_problem.emit(f"{form.config}: config file not found")
            return
        base = TrainForm(stage=form.stage, config=form.config, overlays=form.overlays, vae=form.vae,
                         teacher=form.teacher)
        self.probe.ask(base.request(self.folders.runs / "probe" / form.stage).print_config_argv())

    @Slot(object)
    def _on_config(self, config) -> None:
        self.config = config if isinstance(config, dict) else None
        self.config_problem.emit("")
        self.config_read.emit(self.config)

    @Slot(str)
    def _on_config_failed(self, why: str) -> None:
        self.config = None
        self.config_problem.emit(why)

    @Slot(str)
    def _on_jobs_changed(self, job_id: str) -> None:
        record = self.jobs.get(job_id)
        if record is None or record.kind in ("train", "synth"):
            self.runs_changed.emit()
