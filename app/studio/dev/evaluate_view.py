"""Layout of the Evaluate tab: bundles and a test seed in, two evaluations side by side out
(score tables with baselines and win rates, result grids). Behaviour: ``evaluate.py``."""

from __future__ import annotations

import html
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
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..widgets import card, label, tool_button
from .evaluate import COLUMNS, EvalResult, EvaluateController
from .jobs import read_tail
from .monitor_view import LogView, PictureLabel, fill_split, state_chip, tab_split


def method_title(method: str) -> str:
    """A narrow column title on two lines: ``baseline: identity`` -> ``identity`` / ``(baseline)``,
    ``tiny-int8 raw`` -> ``tiny-int8`` / ``raw`` (the full name is the header's tooltip)."""
    if method.startswith("baseline: "):
        return method.removeprefix("baseline: ") + "\n(baseline)"
    return method[: -len(" raw")] + "\nraw" if method.endswith(" raw") else method


class ResultPane(QWidget):
    """One evaluation: its caption, the score table (best value per metric in bold), the grid."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(6)
        head = QHBoxLayout()
        head.addWidget(label(title, "section", self))
        self.choice = QComboBox(self)
        head.addWidget(self.choice, 1)
        v.addLayout(head)
        self.caption = label("", "hint", self, wrap=True)
        v.addWidget(self.caption)
        # metrics down, methods across: four methods fit a narrow pane, seven metric columns do not
        self.table = QTableWidget(len(COLUMNS), 0, self)
        self.table.setVerticalHeaderLabels([f"{title} {'↑' if higher else '↓'}" for _, title, higher in COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._fit_table()
        v.addWidget(self.table)
        self.wins = label("", "hint", self, wrap=True)
        self.wins.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for plain in (self.caption, self.wins):
            plain.setTextFormat(Qt.TextFormat.PlainText)
        v.addWidget(self.wins)
        self.grid = PictureLabel("person | garment | result | ground truth", self)
        v.addWidget(self.grid, 3)
        self.result: EvalResult | None = None

    def show_result(self, result: EvalResult | None) -> None:
        self.result = result
        self.table.setColumnCount(0)
        if result is None:
            self.caption.setText("")
            self.wins.setText("")
            self.grid.show_file(None)
            return
        self.caption.setText(result.caption() + " · bold: the best of each row (↑ higher is better, ↓ lower)")
        self.table.setColumnCount(len(result.rows))
        self.table.setHorizontalHeaderLabels([method_title(m) for m, _ in result.rows])
        for j, (method, row) in enumerate(result.rows):
            raw = " (the model's output alone, the photo's own pixels not kept)" if row.get("restore") is False else ""
            self.table.horizontalHeaderItem(j).setToolTip(f"{method}{raw}: {row.get('bundle', 'a baseline')}")
        for i, (key, _title, higher) in enumerate(COLUMNS):
            values = [row.get(key) for _, row in result.rows if isinstance(row.get(key), (int, float))]
            best = (max(values) if higher else min(values)) if values else None
            for j, (_method, row) in enumerate(result.rows):
                value = row.get(key)
                number = isinstance(value, (int, float))
                cell = QTableWidgetItem("" if not number else f"{value:.2f}" if abs(value) >= 10 else f"{value:.4f}")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if number and value == best:
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                self.table.setItem(i, j, cell)
        self._fit_table()
        lines = []
        for method, row in result.rows:
            for baseline, rates in (row.get("beats") or {}).items():
                if isinstance(rates, dict) and not method.endswith(" raw"):
                    lines.append(f"{method} beats {baseline} on " + ", ".join(
                        f"{rates[k]:.0%} ({t})" for k, t, _ in COLUMNS if isinstance(rates.get(k), (int, float))))
        self.wins.setText("\n".join(lines))
        self.grid.show_file(result.grid, "no grid was written")


    def _fit_table(self) -> None:
        """As tall as its rows and the (two-line) header: every metric shows, no scrolling."""
        rows = sum(self.table.rowHeight(i) for i in range(self.table.rowCount()))
        header = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(rows + header + 2 * self.table.frameWidth() + 4)


class EvaluateView(QWidget):
    def __init__(self, controller: EvaluateController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.jobs = controller.jobs
        self.shown = ""  # the evaluation job whose log is shown
        split = tab_split(self)

        left, lcol = card(split, margins=14)
        lcol.addWidget(label("Evaluate", "title"))
        lcol.addWidget(label("vton eval: each bundle on held-out synthetic samples (a seed never trained on), "
                             "scored against the ground truth.", "subtitle", wrap=True))
        head = QHBoxLayout()
        head.addWidget(label("Bundles", "section"), 1)
        self.add_button = tool_button("add", "Add a bundle folder", left, text="Add…")
        head.addWidget(self.add_button)
        lcol.addLayout(head)
        self.bundles = QListWidget(left)
        self.bundles.setMinimumHeight(110)
        lcol.addWidget(self.bundles, 1)
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        self.n = QSpinBox(left)
        self.n.setRange(1, 100_000)
        self.n.setValue(64)
        form.addRow("Samples", self.n)
        self.seed = QSpinBox(left)
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setValue(-1)
        self.seed.setSpecialValueText("the report's test seed")
        form.addRow("Test seed", self.seed)
        self.steps = QSpinBox(left)
        self.steps.setRange(1, 16)
        self.steps.setValue(4)
        form.addRow("Steps", self.steps)
        self.size = QLineEdit(left)
        self.size.setPlaceholderText("the first bundle's own")
        form.addRow("Size", self.size)
        self.baselines = QCheckBox("Identity and paste baselines, paired win rates", left)
        self.baselines.setChecked(True)
        form.addRow(self.baselines)
        lcol.addLayout(form)
        self.run_button = QPushButton("Evaluate", left)
        self.run_button.setProperty("role", "primary")
        lcol.addWidget(self.run_button)
        self.state = label("", None, left, wrap=True)
        lcol.addWidget(self.state)
        self.busy = QProgressBar(left)
        self.busy.setRange(0, 1)
        lcol.addWidget(self.busy)
        self.log = LogView(left)
        self.log.setMaximumHeight(140)
        lcol.addWidget(self.log)

        right, rcol = card(split, margins=14)
        rcol.addWidget(label("Results side by side", "title"))
        panes = QHBoxLayout()
        self.pane_a = ResultPane("A", right)
        self.pane_b = ResultPane("B", right)
        panes.addWidget(self.pane_a, 1)
        panes.addWidget(self.pane_b, 1)
        rcol.addLayout(panes, 1)
        fill_split(split, left, right, stretch=(1, 3), sizes=(340, 900))

        self.add_button.clicked.connect(self._on_add)
        self.run_button.clicked.connect(self.evaluate)
        self.pane_a.choice.activated.connect(self._on_choice)
        self.pane_b.choice.activated.connect(self._on_choice)
        controller.evaluations_changed.connect(self.refresh)
        controller.dev.session.bundles_changed.connect(self.refresh_bundles)
        self.jobs.job_output.connect(self._on_output)
        self.jobs.job_finished.connect(self._on_finished)
        self.refresh_bundles()
        self.refresh()

    # -- bundles -------------------------------------------------------------------------------
    @Slot()
    def refresh_bundles(self) -> None:
        checked = set(self.checked_bundles())
        self.bundles.clear()
        for text, path in self.controller.bundle_choices():
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(str(path))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if Path(path) in checked else Qt.CheckState.Unchecked)
            self.bundles.addItem(item)

    def checked_bundles(self) -> list[Path]:
        return [Path(self.bundles.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.bundles.count())
                if self.bundles.item(i).checkState() == Qt.CheckState.Checked]

    def check_bundle(self, path: Path, on: bool = True) -> None:
        for i in range(self.bundles.count()):
            item = self.bundles.item(i)
            if Path(item.data(Qt.ItemDataRole.UserRole)) == Path(path):
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                return
        self.controller.add_bundle(Path(path))
        self.refresh_bundles()
        self.check_bundle(path, on)

    @Slot()
    def _on_add(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a bundle folder", str(Path.home()))
        if folder:
            self.check_bundle(Path(folder))

    # -- actions -------------------------------------------------------------------------------
    @Slot()
    def evaluate(self) -> str | None:
        seed = self.seed.value()
        record = self.controller.evaluate(self.checked_bundles(), self.n.value(), None if seed < 0 else seed,
                                          self.baselines.isChecked(), self.steps.value(), self.size.text())
        if record is None:
            return None
        self.shown = record.id
        self.log.reset(read_tail(record.log))
        self._show_state()
        return record.id

    # -- showing -------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        self.refresh_bundles()
        evaluations = self.controller.evaluations()
        for pane, default in ((self.pane_a, 0), (self.pane_b, 1)):
            current = pane.choice.currentData()
            pane.choice.blockSignals(True)
            pane.choice.clear()
            pane.choice.addItem("—", "")
            for r in evaluations:
                pane.choice.addItem(f"{r.title} · {r.out_path.name}", r.id)
            index = pane.choice.findData(current) if current else -1
            if index <= 0:
                index = default + 1 if default < len(evaluations) else 0
            pane.choice.setCurrentIndex(index)
            pane.choice.blockSignals(False)
        self._on_choice()
        self._show_state()

    def compare(self, a: str, b: str) -> None:
        """Put evaluations ``a`` and ``b`` side by side."""
        self.pane_a.choice.setCurrentIndex(max(0, self.pane_a.choice.findData(a)))
        self.pane_b.choice.setCurrentIndex(max(0, self.pane_b.choice.findData(b)))
        self._on_choice()

    @Slot()
    def _on_choice(self, _index: int = 0) -> None:
        for pane in (self.pane_a, self.pane_b):
            job_id = pane.choice.currentData()
            if not job_id:
                pane.show_result(None)
            elif pane.result is None or pane.result.job_id != job_id:
                pane.show_result(self.controller.result(job_id))

    def _show_state(self) -> None:
        record = self.jobs.get(self.shown) if self.shown else None
        if record is None:
            self.state.setText("")
            self.busy.setRange(0, 1)
            return
        text = state_chip(record) + f"&nbsp; {html.escape(record.title)}"
        if record.state == "failed":
            text += f"<br><span style='color:#b91c1c'>{html.escape(record.message)}</span>"
        self.state.setText(text)
        self.busy.setRange(0, 0 if record.state in ("running", "stopping") else 1)
        self.busy.setValue(1 if record.state == "finished" else 0)

    @Slot(str, str)
    def _on_output(self, job_id: str, text: str) -> None:
        if job_id == self.shown:
            self.log.append_text(text)

    @Slot(str)
    def _on_finished(self, job_id: str) -> None:
        if job_id != self.shown:
            return
        self._show_state()
        record = self.jobs.get(job_id)
        if record is not None and record.state == "finished":  # the new one on the left, the one before on the right
            evaluations = [r.id for r in self.controller.evaluations()]
            self.compare(evaluations[0], evaluations[1] if len(evaluations) > 1 else "")
