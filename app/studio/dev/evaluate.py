"""The Evaluate tab's behaviour: bundles × a held-out test seed → ``vton eval`` → the score
table (with the identity and paste baselines and paired win rates) and the result grid,
kept in ``<data dir>/dev/evals/<id>/`` so earlier evaluations can be put side by side.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from .jobs import JobRecord
from .requests import EvalRequest, parse_size

# (key in scores.json, column title, higher is better)
COLUMNS = (
    ("ssim", "SSIM", True),
    ("psnr", "PSNR dB", True),
    ("garment_colour_error", "colour err", False),
    ("garment_ssim", "garment SSIM", True),
    ("garment_edges", "garment edges", True),
    ("leak_error", "leak err", False),
    ("face_error", "face err", False),
)
MAX_SCORES_BYTES = 4 << 20


@dataclass(frozen=True)
class EvalResult:
    job_id: str
    title: str
    when: float
    seed: int | None
    samples: int
    size: str
    steps: int | None
    rows: list[tuple[str, dict]]  # method -> scores (+ "beats": {baseline: {metric: rate}})
    grid: Path | None

    def caption(self) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.when))
        return f"{stamp} · seed {self.seed} · {self.samples} samples at {self.size} · {self.steps} steps"


def read_scores(path: Path) -> dict:
    """``scores.json`` of ``vton eval --json`` (ValueError with a plain reason)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SCORES_BYTES:
            raise ValueError("too large")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: not a scores file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ValueError(f"{path}: not a scores file (no results)")
    return data


class EvaluateController(QObject):
    message = Signal(str, str, str)
    evaluations_changed = Signal()

    def __init__(self, dev):
        super().__init__(dev)
        self.dev = dev
        self.jobs = dev.jobs
        self.folders = dev.folders
        self.extra_bundles: list[Path] = []
        self.jobs.job_changed.connect(self._on_job_changed)
        self.jobs.job_finished.connect(self._on_job_finished)

    def bundle_choices(self) -> list[tuple[str, Path]]:
        """Bundles exported here, the installed models and folders added by hand."""
        found: list[tuple[str, Path]] = []
        for r in self.dev.export.exports():
            if r.state == "finished" and r.out_path.is_dir():
                found.append((f"{r.out_path.name} (exported here)", r.out_path))
        for info in self.dev.session.list_bundles():
            if info.manifest is not None:
                where = "trained here, installed" if info.own else {"embedded": "built in"}.get(info.where, "installed")
                found.append((f"{info.name} ({where})", Path(info.path)))
        for p in self.extra_bundles:
            found.append((f"{p.name} (added)", p))
        seen, unique = set(), []
        for label, path in found:
            key = str(Path(path).resolve())
            if key not in seen:
                seen.add(key)
                unique.append((label, Path(path)))
        return unique

    def add_bundle(self, path: Path) -> None:
        if Path(path) not in self.extra_bundles:
            self.extra_bundles.append(Path(path))

    def evaluate(self, bundles: list[Path], n: int = 64, seed: int | None = None, baselines: bool = True,
                 steps: int = 4, size: str = "") -> JobRecord | None:
        if not bundles and not baselines:
            self.message.emit("error", "Choose at least one bundle to evaluate (or the baselines).", "")
            return None
        missing = [str(b) for b in bundles if not Path(b).exists()]
        if missing:
            self.message.emit("error", f"{missing[0]}: bundle not found", "")
            return None
        try:
            size_hw = parse_size(size) if size.strip() else None
        except ValueError as exc:
            self.message.emit("error", f"Size: {exc}", "")
            return None
        if n < 1:
            self.message.emit("error", "Samples: at least 1.", "")
            return None
        out = self.folders.unused(self.folders.evals, time.strftime("eval-%Y%m%d-%H%M%S"),
                                  {r.out for r in self.jobs.records("eval")})
        try:
            self.folders.make(out)
        except OSError as exc:
            self.message.emit("error", f"{out}: cannot be created ({exc.strerror or exc})", "")
            return None
        request = EvalRequest(tuple(Path(b) for b in bundles), out, n=n, seed=seed, baselines=baselines, steps=steps,
                              size=size_hw)
        names = ", ".join(Path(b).name for b in bundles) or "baselines"
        meta = {"bundles": [str(b) for b in bundles], "n": n, "seed": seed, "steps": steps}
        return self.jobs.submit("eval", f"evaluate {names}", request.argv(), out, meta=meta)

    def evaluations(self) -> list[JobRecord]:
        """Finished evaluations, newest first."""
        return sorted((r for r in self.jobs.records("eval") if r.state == "finished"),
                      key=lambda r: r.created, reverse=True)

    def result(self, job_id: str) -> EvalResult | None:
        record = self.jobs.get(job_id)
        if record is None:
            return None
        try:
            data = read_scores(record.out_path / "scores.json")
        except ValueError as exc:
            self.message.emit("error", str(exc), "")
            return None
        rows = [(label, row) for label, row in data["results"].items() if isinstance(row, dict)]
        size = data.get("size")
        grid = record.out_path / "grid.png"
        return EvalResult(record.id, record.title, record.created, data.get("test_seed"), int(data.get("samples", 0)),
                          f"{size[0]}x{size[1]}" if isinstance(size, list) and len(size) == 2 else "?",
                          data.get("steps"), rows, grid if grid.is_file() else None)

    @Slot(str)
    def _on_job_changed(self, job_id: str) -> None:
        record = self.jobs.get(job_id)
        if record is None or record.kind in ("eval", "export"):
            self.evaluations_changed.emit()

    @Slot(str)
    def _on_job_finished(self, job_id: str) -> None:
        record = self.jobs.get(job_id)
        if record is not None and record.kind == "eval" and record.state == "failed":
            self.message.emit("error", f"The evaluation failed: {record.message}", "")
