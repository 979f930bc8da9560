"""Layout of the Export tab: checkpoint → bundle options, the exports made here, the parity
and INT8-loss figures of the chosen one, and "Use in the studio". Behaviour: ``export.py``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ..widgets import card, label, tool_button
from .export import ExportController
from .jobs import read_tail
from .monitor_view import (
    LogView,
    fill_split,
    form_scroll,
    heading,
    left_column,
    runs_card,
    state_chip,
    tab_split,
)

CHOOSE = "__choose__"


class ExportView(QWidget):
    def __init__(self, controller: ExportController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.jobs = controller.jobs
        self.shown = ""
        self._chosen: list[Path] = []
        split = tab_split(self)
        left, lv = left_column(split)
        form_card, fcol = card(None, margins=14)
        fcol.addWidget(label("Export a bundle", "title"))
        fcol.addWidget(label("vton bundle export: ONNX graphs, optionally INT8 (calibrated), checked against "
                             "PyTorch; the figures go into the manifest.", "subtitle", wrap=True))
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        row = QHBoxLayout()
        self.checkpoint = QComboBox(form_card)
        self.checkpoint.setToolTip("A student checkpoint: a finished student run's final folder")
        row.addWidget(self.checkpoint, 1)
        self.checkpoint_button = tool_button("open", "Choose a student checkpoint folder", form_card)
        row.addWidget(self.checkpoint_button)
        form.addRow("Checkpoint", row)
        self.int8 = QCheckBox("INT8 (calibrated)", form_card)
        self.int8.setToolTip("Static QDQ quantisation, calibrated on synthetic samples; off: fp32")
        self.int8.setChecked(True)
        form.addRow("Precision", self.int8)
        self.sizes = QLineEdit(form_card)
        self.sizes.setPlaceholderText("the model's own (e.g. 128x96 for tiny)")
        self.sizes.setToolTip("Resolutions HxW, comma-separated (multiples of the model's factor)")
        form.addRow("Sizes", self.sizes)
        self.target = QComboBox(form_card)
        self.target.addItem("Desktop (ONNX)", "desktop")
        self.target.addItem("Android (ORT format, from the same graphs)", "android")
        form.addRow("Target", self.target)
        self.name = QLineEdit(form_card)
        self.name.setPlaceholderText("<config>-<precision>")
        form.addRow("Bundle name", self.name)
        self.calibration = QSpinBox(form_card)
        self.calibration.setRange(1, 4096)
        self.calibration.setValue(16)
        self.calibration.setToolTip("Synthetic samples the INT8 ranges are calibrated on")
        form.addRow("Calibration samples", self.calibration)
        self.parity = QSpinBox(form_card)
        self.parity.setRange(1, 1024)
        self.parity.setValue(4)
        self.parity.setToolTip("Held-out samples for the INT8-vs-fp32 PSNR")
        form.addRow("Parity samples", self.parity)
        fcol.addLayout(form)
        self.export_button = QPushButton("Export", form_card)
        self.export_button.setProperty("role", "primary")
        fcol.addWidget(self.export_button)
        scroll = form_scroll(left, form_card)
        lv.addWidget(scroll, 3)
        list_card, self.list = runs_card(left, "Exports on this machine")
        lv.addWidget(list_card, 2)

        right, col = card(split, margins=14)
        head = QHBoxLayout()
        self.title = heading("Export a checkpoint, or choose an export.", right)
        head.addWidget(self.title, 1)
        self.state = label("", None, right)
        head.addWidget(self.state)
        col.addLayout(head)
        self.busy = QProgressBar(right)
        self.busy.setRange(0, 1)
        col.addWidget(self.busy)
        self.summary = label("", "muted", right, wrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for plain in (self.title, self.summary):  # file names and messages, never markup
            plain.setTextFormat(Qt.TextFormat.PlainText)
        col.addWidget(self.summary)
        col.addWidget(label("Parity: PyTorch vs ONNX Runtime (fp32), per graph", "section", right))
        self.graphs = QTableWidget(0, 3, right)
        self.graphs.setHorizontalHeaderLabels(["graph", "max |diff| / max |torch|", "max |diff|"])
        self.int8_table = QTableWidget(0, 4, right)
        self.int8_table.setHorizontalHeaderLabels(["size", "PSNR dB (mean)", "PSNR dB (min)", "samples"])
        for table in (self.graphs, self.int8_table):
            table.verticalHeader().setVisible(False)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.graphs.setMinimumHeight(150)
        self.int8_table.setMaximumHeight(110)
        col.addWidget(self.graphs, 1)
        col.addWidget(label("INT8 loss: the INT8 bundle's results against fp32's, end to end", "section", right))
        col.addWidget(self.int8_table)
        row = QHBoxLayout()
        self.use_button = QPushButton("Use in the studio", right)
        self.use_button.setToolTip("Install it in Settings → Models as this machine's own model (verified, "
                                   "then you choose whether to switch)")
        row.addStretch(1)
        row.addWidget(self.use_button)
        col.addLayout(row)
        self.log = LogView(right)
        col.addWidget(self.log, 1)
        fill_split(split, left, right, stretch=(2, 3), sizes=(400, 700))

        self.export_button.clicked.connect(self.export)
        self.checkpoint.activated.connect(self._on_checkpoint)
        self.checkpoint_button.clicked.connect(self._on_choose)
        self.use_button.clicked.connect(self.use_in_studio)
        self.list.chosen.connect(self.show_job)
        controller.exports_changed.connect(self.refresh)
        controller.dev.train.runs_changed.connect(self.refresh_checkpoints)
        self.jobs.job_output.connect(self._on_output)
        self.refresh_checkpoints()
        self.refresh()

    # -- choices -------------------------------------------------------------------------------
    @Slot()
    def refresh_checkpoints(self) -> None:
        current = self.checkpoint.currentData()
        self.checkpoint.blockSignals(True)
        self.checkpoint.clear()
        for text, path in self.controller.checkpoints():
            self.checkpoint.addItem(text, str(path))
        for path in self._chosen:
            self.checkpoint.addItem(str(path), str(path))
        self.checkpoint.addItem("Choose a folder…", CHOOSE)
        index = self.checkpoint.findData(current) if current not in (None, CHOOSE) else -1
        self.checkpoint.setCurrentIndex(max(0, index))
        self.checkpoint.blockSignals(False)

    def use_checkpoint(self, path: Path) -> None:
        if self.checkpoint.findData(str(path)) < 0:
            self._chosen.append(Path(path))
            self.refresh_checkpoints()
        self.checkpoint.setCurrentIndex(self.checkpoint.findData(str(path)))

    @Slot(int)
    def _on_checkpoint(self, index: int) -> None:
        if self.checkpoint.itemData(index) == CHOOSE:
            self._on_choose()

    @Slot()
    def _on_choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a student checkpoint folder", str(Path.home()))
        if folder:
            self.use_checkpoint(Path(folder))
        elif self.checkpoint.currentData() == CHOOSE:
            self.checkpoint.setCurrentIndex(0)

    # -- actions -------------------------------------------------------------------------------
    @Slot()
    def export(self) -> str | None:
        data = self.checkpoint.currentData()
        record = self.controller.export(None if data in (None, CHOOSE) else data, self.int8.isChecked(),
                                        self.sizes.text(), self.target.currentData(), self.name.text(),
                                        self.calibration.value(), self.parity.value())
        if record is None:
            return None
        self.refresh()
        self.list.select(record.id)
        return record.id

    @Slot()
    def use_in_studio(self) -> None:
        if self.shown:
            self.controller.install(self.shown)

    # -- showing -------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        rows = []
        for r in self.controller.exports():
            detail = "INT8" if r.meta.get("int8") else "fp32"
            detail += f", {r.meta.get('target', 'desktop')}"
            if r.state == "failed":
                detail += f" · {r.message[:80]}"
            rows.append((r, detail))
        self.list.set_records(rows)
        if self.shown:
            self.show_job(self.shown, keep_log=True)
        else:
            self.use_button.setEnabled(False)

    @Slot(str)
    def show_job(self, job_id: str, keep_log: bool = False) -> None:
        record = self.jobs.get(job_id) if job_id else None
        self.shown = job_id if record is not None else ""
        if record is None:
            return
        self.title.setText(record.title)
        self.state.setText(state_chip(record))
        if not keep_log:
            self.log.reset(read_tail(record.log))
        self.busy.setRange(0, 0 if record.state in ("running", "stopping") else 1)
        self.busy.setValue(1 if record.state == "finished" else 0)
        report = self.controller.report(record.id) if record.state == "finished" else None
        self.use_button.setEnabled(report is not None)
        self.graphs.setRowCount(0)
        self.int8_table.setRowCount(0)
        if report is None:
            self.summary.setText(record.message if record.state == "failed" else
                                 f"{record.state_text}: {record.command}")
            self.summary.setStyleSheet("color: #b91c1c;" if record.state == "failed" else "")
            return
        self.summary.setStyleSheet("")
        worst = report.worst_relative()
        loss = ", ".join(f"{size}: {mean:.2f} dB" for size, mean, _low, _n in report.int8)
        self.summary.setText(
            f"{report.name} · {report.precision} · {report.target} · {report.files} files, {report.mib:.1f} MiB"
            + (f" · worst torch-vs-ONNX difference {worst:.1e} of the output range" if worst is not None else "")
            + (f" · INT8 vs fp32 {loss}" if loss else "") + f"\n{record.out}")
        self.graphs.setRowCount(len(report.graphs))
        for i, (graph, relative, diff) in enumerate(report.graphs):
            for j, text in enumerate((graph, f"{relative:.2e}", f"{diff:.2e}")):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.graphs.setItem(i, j, item)
        self.int8_table.setRowCount(len(report.int8))
        for i, (size, mean, low, n) in enumerate(report.int8):
            for j, text in enumerate((size, f"{mean:.2f}", f"{low:.2f}", str(n))):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.int8_table.setItem(i, j, item)

    @Slot(str, str)
    def _on_output(self, job_id: str, text: str) -> None:
        if job_id == self.shown:
            self.log.append_text(text)
