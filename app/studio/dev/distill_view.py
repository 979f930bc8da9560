"""Layout of the Distill tab: the student form with the teacher run and the FGA switches and
weights, one-click ablations, the ablation table and the live monitor. Behaviour lives in
``distill.py``."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..widgets import card, label
from .distill import ABLATION_TEXT, FGA_KNOBS, SWITCHES, DistillController, FGASettings
from .monitor import RunMonitor
from .monitor_view import MonitorView, fill_split, form_scroll, left_column, tab_split
from .probes import config_value
from .requests import ABLATIONS
from .train import TrainForm
from .train_view import RunsPanel, TrainFormView

WEIGHT_TIPS = {
    "region_weight": "L_diff counts 1 + this inside the old and the new garment",
    "ratio": "The generator updates every N steps; the fake score every step (DMD2 uses 5-10)",
    "lambda_feature": "λ1: the DMD feature loss of TryonNet and GarmentNet",
    "lambda_cons": "λ2: GarmentNet's TCG consistency loss",
    "lambda_gan": "λ3: TryonNet's GAN loss",
    "lambda_corr": ("The correspondence loss: the top-level garment attention learns where each pixel's fabric "
                    "is in the garment (above 0 also renders the synthetic world's garment flows)"),
}


class DistillFormView(TrainFormView):
    """The student form plus the FGA switches and weights."""

    def __init__(self, controller: DistillController, parent: QWidget | None = None):
        self.switches: dict[str, QCheckBox] = {}
        self.weights: dict[str, QLineEdit] = {}
        super().__init__(controller, stages=("student",), parent=parent)
        form: QFormLayout = self.layout()
        form.addRow(label("FGA", "section"))
        for key, (text, _cfg, overlay) in SWITCHES.items():
            box = QCheckBox(text, self)
            box.setChecked(True)
            box.setToolTip(f"Off: the '{overlay}' overlay (models/train/configs/overlays/{overlay}.yaml)")
            box.toggled.connect(self._on_edit)
            self.switches[key] = box
            form.addRow(box)
        for key, (text, cfg_key, _kind) in FGA_KNOBS.items():
            edit = QLineEdit(self)
            edit.setClearButtonEnabled(True)
            edit.setToolTip(WEIGHT_TIPS[key] + f" ({cfg_key}); blank: the config's value")
            edit.textChanged.connect(self._on_edit)
            self.weights[key] = edit
            form.addRow(text, edit)
        self._on_edit()
        self._on_teacher_changed_default()

    def fga(self) -> FGASettings:
        return FGASettings(switches={k: b.isChecked() for k, b in self.switches.items()},
                           knobs={k: e.text() for k, e in self.weights.items()})

    def preview_form(self) -> TrainForm:
        base = self.form()
        if not self.switches:  # (still being built)
            return base
        try:
            return self.controller.form(base, self.fga())
        except ValueError:
            return base

    def teacher_changed(self) -> None:
        teacher = self.form().teacher
        if teacher is not None:
            vae = self.controller.vae_of_teacher(teacher)
            if vae is not None:
                self.use_vae(vae)

    def _on_teacher_changed_default(self) -> None:
        self.teacher_changed()

    @Slot(object)
    def _on_config_read(self, config) -> None:
        super()._on_config_read(config)
        if not isinstance(config, dict):
            return
        for key, edit in self.weights.items():
            value = config_value(config, FGA_KNOBS[key][1])
            edit.setPlaceholderText(f"{value}  (the config's)" if value is not None else "")
        for key, box in self.switches.items():
            value = config_value(config, SWITCHES[key][1])
            if isinstance(value, bool):
                box.blockSignals(True)
                box.setChecked(value)
                box.blockSignals(False)
        self._update_preview()


class DistillView(QWidget):
    def __init__(self, controller: DistillController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.monitor = RunMonitor(controller.jobs, self)
        split = tab_split(self)
        left, lv = left_column(split)
        form_card, fcol = card(None, margins=14)
        fcol.addWidget(label("Student by FGA distillation", "title"))
        fcol.addWidget(label("The student learns from a teacher run: DMD2 score matching + GAN, with TCG and LC.",
                             "subtitle", wrap=True))
        self.form_view = DistillFormView(controller, form_card)
        fcol.addWidget(self.form_view)
        self.start_button = QPushButton("Distill the student", form_card)
        self.start_button.setProperty("role", "primary")
        fcol.addWidget(self.start_button)
        fcol.addWidget(label("Ablations at equal budget", "section"))
        abl = QHBoxLayout()
        self.ablations: dict[str, QCheckBox] = {}
        for name in ABLATIONS:
            box = QCheckBox(ABLATION_TEXT[name], form_card)
            box.setChecked(True)
            box.setToolTip(f"A run with the '{name}' overlay, same config, knobs and budget")
            self.ablations[name] = box
            abl.addWidget(box)
        abl.addStretch(1)
        fcol.addLayout(abl)
        self.ablate_button = QPushButton("Run the student and its ablations", form_card)
        self.ablate_button.setToolTip("Queues the student as set and one run per ticked ablation, same budget")
        fcol.addWidget(self.ablate_button)
        scroll = form_scroll(left, form_card)
        lv.addWidget(scroll, 5)
        runs_card, rcol = card(left, margins=12)
        rcol.addWidget(label("Student runs on this machine", "section"))
        self.runs = RunsPanel(controller, self.monitor, stage="student", parent=runs_card)
        rcol.addWidget(self.runs, 1)
        lv.addWidget(runs_card, 2)

        right = QWidget(split)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.setSpacing(12)
        self.monitor_view = MonitorView(self.monitor, controller, right)
        rv.addWidget(self.monitor_view, 3)
        table_card, tcol = card(right, margins=12)
        head = QHBoxLayout()
        head.addWidget(label("Ablations", "section"))
        self.group = QComboBox(table_card)
        self.group.setToolTip("A group of runs started together at the same budget")
        head.addWidget(self.group, 1)
        tcol.addLayout(head)
        self.table = QTableWidget(0, 6, table_card)
        self.table.setHorizontalHeaderLabels(["run", "ablation", "state", "step", "PSNR dB", "SSIM"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for column in (0, 1):  # run folder and ablation in full; the figures share the rest
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(110)
        tcol.addWidget(self.table)
        tcol.addWidget(label("Held-out scores of each run's latest sample grid (for a finished run: at its end). "
                             "Double-click a row to follow that run.", "hint", wrap=True))
        rv.addWidget(table_card, 1)
        fill_split(split, left, right, stretch=(2, 3), sizes=(420, 680))

        self.start_button.clicked.connect(self.start)
        self.ablate_button.clicked.connect(self.start_ablations)
        self.group.activated.connect(self._on_group)
        self.table.cellDoubleClicked.connect(self._on_row)
        controller.runs_changed.connect(self.refresh_ablations)
        self.refresh_ablations()

    @Slot()
    def start(self) -> str | None:
        record = self.controller.start_student(self.form_view.form(), self.form_view.fga())
        if record is None:
            return None
        self.runs.select(record.id)
        return record.id

    @Slot()
    def start_ablations(self) -> list[str]:
        names = [n for n, b in self.ablations.items() if b.isChecked()]
        records = self.controller.start_ablations(self.form_view.form(), self.form_view.fga(), names)
        if records:
            self.refresh_ablations()
            self.group.setCurrentIndex(0)
            self.refresh_table()
            self.runs.select(records[0].id)
        return [r.id for r in records]

    @Slot()
    def refresh_ablations(self) -> None:
        current = self.group.currentData()
        self.group.blockSignals(True)
        self.group.clear()
        for group in self.controller.groups():
            first = min((r for r in self.controller.jobs.records("train") if r.group == group),
                        key=lambda r: r.created)
            runs = sum(r.group == group for r in self.controller.jobs.records("train"))
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(first.created))
            self.group.addItem(f"{first.out_path.parent.name}/{first.out_path.name} and {runs - 1} ablations · {when}",
                               group)
        self.group.setCurrentIndex(max(0, self.group.findData(current)))
        self.group.blockSignals(False)
        self.refresh_table()

    @Slot(int)
    def _on_group(self, _index: int) -> None:
        self.refresh_table()

    def refresh_table(self) -> None:
        group = self.group.currentData()
        rows = self.controller.ablation_table(group) if group else []
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            values = [row["run"], row["ablation"], row["state"], str(row["step"] or ""),
                      f"{row['psnr']:.2f}" if "psnr" in row else "", f"{row['ssim']:.4f}" if "ssim" in row else ""]
            for j, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row["id"])
                if j >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)

    @Slot(int, int)
    def _on_row(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.runs.select(item.data(Qt.ItemDataRole.UserRole))
