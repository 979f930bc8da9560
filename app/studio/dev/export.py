"""The Export tab's behaviour: a student checkpoint → a bundle (``vton bundle export``), the
parity figures its manifest records, and "use in the studio" (install it in the model
manager as this machine's own model; the studio then asks whether to switch, as for any
import).

Parity (DESIGN §5): ``torch_vs_onnx_fp32`` per graph (max |torch − ONNX| relative to max
|torch|) and, for INT8, ``int8_vs_fp32_end_to_end`` per size (PSNR of the INT8 pipeline's
results against fp32's on held-out samples: what INT8 loses).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from engine.bundle import read_manifest
from engine.errors import VtonError

from .jobs import JobRecord
from .requests import ExportRequest, parse_sizes


@dataclass(frozen=True)
class ParityReport:
    name: str
    precision: str
    target: str
    mib: float
    files: int
    graphs: list[tuple[str, float, float]]  # graph, relative diff, max abs diff (torch vs ONNX fp32)
    int8: list[tuple[str, float, float, int]]  # size, mean PSNR dB, min PSNR dB, samples (INT8 vs fp32)
    trained: bool
    note: str

    def worst_relative(self) -> float | None:
        return max((g[1] for g in self.graphs), default=None)


def parity_report(bundle: Path) -> ParityReport:
    """Read a bundle's manifest (raises ``VtonError`` naming the file for a bad one)."""
    m = read_manifest(Path(bundle))
    parity = m.parity if isinstance(m.parity, dict) else {}
    graphs = []
    for name, row in sorted((parity.get("torch_vs_onnx_fp32") or {}).items()):
        if isinstance(row, dict):
            graphs.append((name, float(row.get("relative", float("nan"))), float(row.get("max_abs_diff", float("nan")))))
    int8 = []
    for size, row in sorted((parity.get("int8_vs_fp32_end_to_end") or {}).items()):
        if isinstance(row, dict):
            int8.append((size, float(row.get("psnr_db_mean", float("nan"))), float(row.get("psnr_db_min", float("nan"))),
                         int(row.get("samples", 0))))
    precision = "/".join(sorted({g.precision for per in m.graphs.values() for g in per.values()})).upper()
    return ParityReport(m.name, precision, m.target, sum(f.bytes for f in m.files.values()) / 2**20, len(m.files),
                        graphs, int8, m.trained, m.training_note)


class ExportController(QObject):
    message = Signal(str, str, str)
    exports_changed = Signal()
    installed = Signal(str)  # the installed folder (the view asks whether to use it now)

    def __init__(self, dev):
        super().__init__(dev)
        self.dev = dev
        self.jobs = dev.jobs
        self.folders = dev.folders
        self.jobs.job_changed.connect(self._on_job_changed)
        self.jobs.job_finished.connect(self._on_job_finished)

    def checkpoints(self) -> list[tuple[str, Path]]:
        """Finished student runs (their ``final`` checkpoints), newest first."""
        return self.dev.train.finished("student")

    def export(self, checkpoint: str | Path | None, int8: bool = True, sizes: str = "", target: str = "desktop",
               name: str = "", calibration_samples: int = 16, parity_samples: int = 4) -> JobRecord | None:
        if checkpoint is None or not str(checkpoint).strip():
            self.message.emit("error", "Choose a student checkpoint to export (train one in Distill).", "")
            return None
        checkpoint = Path(checkpoint)
        if not (checkpoint / "student.safetensors").is_file():
            what = "not found" if not checkpoint.exists() else "not a student checkpoint (no student.safetensors)"
            self.message.emit("error", f"{checkpoint}: {what}", "")
            return None
        try:
            size_list = parse_sizes(sizes)
        except ValueError as exc:
            self.message.emit("error", f"Sizes: {exc}", "")
            return None
        run = checkpoint.parent.name if checkpoint.name in ("final",) else checkpoint.name
        stem = name.strip() or f"{checkpoint.parent.parent.name}-{run}-{'int8' if int8 else 'fp32'}" + (
            "-android" if target == "android" else "")
        taken = {r.out for r in self.jobs.records("export")}
        out = self.folders.unused(self.folders.bundles, stem, taken)
        try:
            self.folders.make(self.folders.bundles)
        except OSError as exc:
            self.message.emit("error", f"{self.folders.bundles}: cannot be created ({exc.strerror or exc})", "")
            return None
        request = ExportRequest(checkpoint, out, int8=int8, sizes=size_list, target=target, name=name.strip(),
                                calibration_samples=max(1, calibration_samples), parity_samples=max(1, parity_samples))
        meta = {"checkpoint": str(checkpoint), "int8": int8, "target": target}
        return self.jobs.submit("export", f"export {out.name}", request.argv(), out, meta=meta)

    def exports(self) -> list[JobRecord]:
        return sorted(self.jobs.records("export"), key=lambda r: r.created, reverse=True)

    def report(self, job_id: str) -> ParityReport | None:
        record = self.jobs.get(job_id)
        if record is None or record.state != "finished":
            return None
        try:
            return parity_report(record.out_path)
        except VtonError as exc:
            self.message.emit("error", f"The exported bundle cannot be read: {exc}", "")
            return None

    def install(self, job_id: str) -> Path | None:
        """Install a finished export in the model manager, marked as this machine's own."""
        record = self.jobs.get(job_id)
        if record is None or record.state != "finished":
            self.message.emit("warning", "Only a finished export can be used in the studio.", "")
            return None
        own = {"run": record.meta.get("checkpoint", ""), "export": record.out}
        target = self.dev.session.import_bundle(record.out_path, own=own)
        if target is not None:
            self.installed.emit(str(target))
        return target

    @Slot(str)
    def _on_job_changed(self, job_id: str) -> None:
        record = self.jobs.get(job_id)
        if record is None or record.kind == "export":
            self.exports_changed.emit()

    @Slot(str)
    def _on_job_finished(self, job_id: str) -> None:
        record = self.jobs.get(job_id)
        if record is None or record.kind != "export":
            return
        if record.state in ("cancelled", "failed"):  # a stopped exporter leaves its work folder behind
            for leftover in record.out_path.parent.glob("vton-export-*"):
                shutil.rmtree(leftover, ignore_errors=True)
        if record.state == "finished":
            self.message.emit("success", f"Exported {record.out_path.name}: parity figures below.", "")
        elif record.state == "failed":
            self.message.emit("error", f"The export failed: {record.message}", "")
