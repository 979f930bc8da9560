"""The Data tab's behaviour: render a synthetic set, check a dataset folder, contact sheets.

- **Render**: ``vton data synth`` into ``<data dir>/dev/data/<set>/`` (the VITON-HD layout
  with the unpaired ground truth and masks; the Train tab can train on it), with its
  contact sheet beside it. Progress is the count of portraits written so far.
- **Check**: ``vton data check DIR`` (synthetic, VITON-HD, DressCode or pseudo-triplet
  layouts; exit 1 means problems were found, which is still a report), then
  ``vton data sheet`` for its contact sheet.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from .folders import slug
from .jobs import JobRecord, read_tail
from .requests import CATEGORIES, CheckRequest, SheetRequest, SynthRequest, parse_size, size_text

MAX_RENDER = 1_000_000


def sheet_split(folder: Path) -> str:
    """The split a contact sheet shows: ``test`` when the folder has one, else ``train``."""
    folder = Path(folder)
    for name in ("test", "test_pairs.txt", "test_pairs_paired.txt", "test_pairs_unpaired.txt", "test_triplets.txt"):
        if (folder / name).exists():
            return "test"
    for sub in ("upper_body", "lower_body", "dresses"):  # DressCode: pair files per category
        if any((folder / sub).glob("test_pairs*.txt")):
            return "test"
    return "train"


def report_text(log_text: str, command: str = "$ vton data check") -> str:
    """What the last ``command`` in a log printed, without the log's own status lines."""
    lines = log_text.splitlines()
    start = max((i for i, ln in enumerate(lines) if ln.startswith(command)), default=-1) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("$ ")), len(lines))
    return "\n".join(ln for ln in lines[start:end] if not ln.startswith("# ")).strip()


class DataController(QObject):
    message = Signal(str, str, str)
    sets_changed = Signal()  # rendered sets or checks changed
    render_progress = Signal(str, int, int)  # job id, portraits written, total
    check_finished = Signal(str)  # the check's job id (its report and sheet are ready)

    def __init__(self, dev):
        super().__init__(dev)
        self.dev = dev
        self.jobs = dev.jobs
        self.folders = dev.folders
        self._timer = QTimer(self)  # counts what a render has written
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._poll_render)
        self.jobs.job_changed.connect(self._on_job_changed)
        self.jobs.job_finished.connect(self._on_job_finished)

    # -- render --------------------------------------------------------------------------------
    def render(self, n: int, size_text_: str, seed: int, categories: list[str], split: str = "train",
               name: str = "") -> JobRecord | None:
        try:
            size = parse_size(size_text_)
        except ValueError as exc:
            self.message.emit("error", f"Size: {exc}", "")
            return None
        cats = tuple(c for c in CATEGORIES if c in categories)
        if not cats:
            self.message.emit("error", "Choose at least one category to render.", "")
            return None
        if not 1 <= n <= MAX_RENDER:
            self.message.emit("error", f"Samples: between 1 and {MAX_RENDER:,}.", "")
            return None
        taken = {r.out for r in self.jobs.records("synth")}
        out = self.folders.unused(self.folders.data, name.strip() or f"synth-s{seed}-n{n}-{size_text(size)}", taken)
        try:
            self.folders.make(out.parent)
        except OSError as exc:
            self.message.emit("error", f"{out.parent}: cannot be created ({exc.strerror or exc})", "")
            return None
        request = SynthRequest(out=out, n=n, size=size, seed=seed, categories=cats, split=split,
                               sheet=out.with_name(out.name + ".sheet.png"))
        meta = {"n": n, "size": size_text(size), "seed": seed, "split": split, "categories": list(cats),
                "sheet": str(request.sheet)}
        record = self.jobs.submit("synth", f"render {n} samples · {out.name}", request.argv(), out, meta=meta)
        self._timer.start()
        return record

    def sets(self) -> list[JobRecord]:
        return sorted(self.jobs.records("synth"), key=lambda r: r.created, reverse=True)

    @staticmethod
    def written(record: JobRecord) -> int:
        folder = record.out_path / record.meta.get("split", "train") / "image"
        try:
            return sum(1 for p in folder.iterdir() if p.suffix == ".png")
        except OSError:
            return 0

    @Slot()
    def _poll_render(self) -> None:
        running = [r for r in self.jobs.records("synth") if r.state in ("running", "stopping")]
        for r in running:
            self.render_progress.emit(r.id, self.written(r), int(r.meta.get("n", 0)))
        if not running and not any(r.state == "queued" for r in self.jobs.records("synth")):
            self._timer.stop()

    # -- check ---------------------------------------------------------------------------------
    def check(self, folder: str | Path) -> JobRecord | None:
        text = str(folder).strip()
        if not text:
            self.message.emit("error", "Choose a dataset folder to check.", "")
            return None
        folder = Path(text).expanduser()
        if not folder.exists():
            self.message.emit("error", f"{folder}: folder not found", "")
            return None
        if not folder.is_dir():
            self.message.emit("error", f"{folder}: not a folder (a dataset is a folder)", "")
            return None
        key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]
        base = self.folders.unused(self.folders.checks, f"{slug(folder.name, 'dataset')}-{key}")
        try:
            self.folders.make(self.folders.checks)
        except OSError as exc:
            self.message.emit("error", f"{self.folders.checks}: cannot be created ({exc.strerror or exc})", "")
            return None
        split = sheet_split(folder)
        meta = {"folder": str(folder), "ok_codes": [0, 1], "split": split,
                "sheet": str(base.with_name(base.name + ".sheet.png"))}
        return self.jobs.submit("check", f"check {folder.name}", CheckRequest(folder).argv(), base,
                                log=base.with_name(base.name + ".log"), meta=meta)

    def checks(self) -> list[JobRecord]:
        return sorted(self.jobs.records("check"), key=lambda r: r.created, reverse=True)

    def report(self, job_id: str) -> str:
        record = self.jobs.get(job_id)
        if record is None:
            return ""
        if record.state == "failed":
            return record.message
        return report_text(read_tail(record.log))

    def sheet(self, job_id: str) -> Path | None:
        record = self.jobs.get(job_id)
        if record is None or not record.meta.get("sheet"):
            return None
        path = Path(record.meta["sheet"])
        return path if path.is_file() else None

    # -- follow-ups ------------------------------------------------------------------------------
    @Slot(str)
    def _on_job_changed(self, job_id: str) -> None:
        record = self.jobs.get(job_id)
        if record is None or record.kind in ("synth", "check", "sheet"):
            self.sets_changed.emit()

    @Slot(str)
    def _on_job_finished(self, job_id: str) -> None:
        record = self.jobs.get(job_id)
        if record is None:
            return
        if record.kind == "synth":
            self._poll_render()
            if record.state == "finished":
                self.message.emit("success", f"Rendered {record.meta.get('n')} samples into {record.out}.", "")
            elif record.state == "failed":
                self.message.emit("error", f"Rendering failed: {record.message}", "")
        elif record.kind == "check":
            if record.state == "finished":  # a report (clean or with problems): now its contact sheet
                sheet = SheetRequest(Path(record.meta["folder"]), Path(record.meta["sheet"]), record.meta["split"])
                self.jobs.submit("sheet", f"contact sheet of {Path(record.meta['folder']).name}", sheet.argv(),
                                 Path(record.out), log=Path(record.log), meta={"check": record.id})
            else:
                if record.state == "failed":
                    self.message.emit("error", f"Check failed: {record.message}", "")
                self.check_finished.emit(record.id)
        elif record.kind == "sheet":
            check = record.meta.get("check", "")
            if record.state == "failed":
                self.message.emit("warning", f"The check is done, but its contact sheet failed: {record.message}", "")
            self.check_finished.emit(check)
