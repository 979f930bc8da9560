"""Layout of the Data tab: render a synthetic set, check a dataset folder, and see the
report and contact sheet of either. Behaviour lives in ``data.py``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..widgets import card, label, tool_button
from .data import DataController
from .monitor_view import (
    LogView,
    PictureLabel,
    fill_split,
    form_scroll,
    heading,
    left_column,
    runs_card,
    state_chip,
    tab_split,
)
from .requests import CATEGORIES

SIZES = ("64x64", "128x96", "256x192", "512x384", "1024x768")


class DataView(QWidget):
    def __init__(self, controller: DataController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.jobs = controller.jobs
        self.shown: str = ""  # the job whose report / sheet is shown
        split = tab_split(self)
        left, lv = left_column(split)
        host = QWidget()
        hv = QVBoxLayout(host)
        hv.setContentsMargins(0, 0, 0, 0)
        hv.setSpacing(12)
        render, rcol = card(host, margins=14)
        rcol.addWidget(label("Render a synthetic set", "title"))
        rcol.addWidget(label("People wearing A, product photos of B and the ground truth wearing B, with masks "
                             "(VITON-HD layout). The same seed gives the same files.", "subtitle", wrap=True))
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        self.count = QSpinBox(render)
        self.count.setRange(1, 1_000_000)
        self.count.setValue(64)
        form.addRow("Samples", self.count)
        self.size = QComboBox(render)
        self.size.setEditable(True)
        self.size.addItems(SIZES)
        self.size.setCurrentText("256x192")
        self.size.setToolTip("Height x width (a 4:3 portrait; the tiny configs train at 64x64)")
        form.addRow("Size", self.size)
        self.seed = QSpinBox(render)
        self.seed.setRange(0, 2**31 - 1)
        form.addRow("World seed", self.seed)
        cats = QHBoxLayout()
        self.categories: dict[str, QCheckBox] = {}
        for c in CATEGORIES:
            box = QCheckBox(c, render)
            box.setChecked(True)
            self.categories[c] = box
            cats.addWidget(box)
        cats.addStretch(1)
        form.addRow("Categories", cats)
        self.split = QComboBox(render)
        self.split.addItem("train (to train on)", "train")
        self.split.addItem("test", "test")
        form.addRow("Split", self.split)
        self.name = QLineEdit(render)
        self.name.setPlaceholderText("synth-s<seed>-n<samples>-<size>")
        form.addRow("Folder name", self.name)
        rcol.addLayout(form)
        self.render_button = QPushButton("Render", render)
        self.render_button.setProperty("role", "primary")
        rcol.addWidget(self.render_button)
        self.render_bar = QProgressBar(render)
        self.render_bar.setRange(0, 1)
        rcol.addWidget(self.render_bar)
        self.render_state = label("", "hint", render, wrap=True)
        rcol.addWidget(self.render_state)
        hv.addWidget(render)

        check, ccol = card(host, margins=14)
        ccol.addWidget(label("Check a dataset folder", "title"))
        ccol.addWidget(label("Synthetic, VITON-HD, DressCode or pseudo-triplet layouts: counts per split and "
                             "category, every problem found, and a contact sheet.", "subtitle", wrap=True))
        row = QHBoxLayout()
        self.folder = QLineEdit(check)
        self.folder.setPlaceholderText("a dataset folder")
        row.addWidget(self.folder, 1)
        self.browse = tool_button("open", "Choose a dataset folder", check)
        row.addWidget(self.browse)
        ccol.addLayout(row)
        self.check_button = QPushButton("Check", check)
        ccol.addWidget(self.check_button)
        hv.addWidget(check)
        hv.addStretch(1)
        scroll = form_scroll(left, host)
        lv.addWidget(scroll, 5)
        sets, self.list = runs_card(left, "Sets and checks")
        lv.addWidget(sets, 2)

        right, col = card(split, margins=14)
        head = QHBoxLayout()
        self.title = heading("Render a set or check a folder.", right)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        head.addWidget(self.title, 1)
        self.state = label("", None, right)
        head.addWidget(self.state)
        col.addLayout(head)
        self.report = QPlainTextEdit(right)
        self.report.setReadOnly(True)
        self.report.setPlaceholderText("The check's report appears here.")
        self.report.setMaximumHeight(110)
        col.addWidget(self.report)
        col.addWidget(label("Contact sheet: person wearing A | product photo of B | ground truth wearing B",
                            "section", right))
        self.sheet = PictureLabel("The contact sheet appears here.", right)
        col.addWidget(self.sheet, 1)
        self.log = LogView(right)
        self.log.setMaximumHeight(120)
        col.addWidget(self.log)
        fill_split(split, left, right, stretch=(2, 3), sizes=(420, 680))

        self.render_button.clicked.connect(self.render)
        self.check_button.clicked.connect(self.check)
        self.browse.clicked.connect(self._on_browse)
        self.list.chosen.connect(self.show_job)
        controller.sets_changed.connect(self.refresh)
        controller.render_progress.connect(self._on_render_progress)
        controller.check_finished.connect(self._on_check_finished)
        self.jobs.job_output.connect(self._on_output)
        self.refresh()

    # -- actions -------------------------------------------------------------------------------
    @Slot()
    def render(self) -> str | None:
        record = self.controller.render(self.count.value(), self.size.currentText(), self.seed.value(),
                                        [c for c, b in self.categories.items() if b.isChecked()],
                                        self.split.currentData(), self.name.text())
        if record is None:
            return None
        self.render_bar.setRange(0, record.meta["n"])
        self.render_bar.setValue(0)
        self.refresh()
        self.list.select(record.id)
        return record.id

    @Slot()
    def check(self) -> str | None:
        record = self.controller.check(self.folder.text())
        if record is None:
            return None
        self.refresh()
        self.list.select(record.id)
        return record.id

    @Slot()
    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a dataset folder", self.folder.text() or str(Path.home()))
        if folder:
            self.folder.setText(folder)

    # -- showing -------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        records = sorted(self.controller.sets() + self.controller.checks(), key=lambda r: r.created, reverse=True)
        rows = []
        for r in records:
            detail = (f"{r.meta.get('n')} × {r.meta.get('size')}, seed {r.meta.get('seed')}, {r.meta.get('split')}"
                      if r.kind == "synth" else r.meta.get("folder", ""))
            rows.append((r, detail))
        self.list.set_records(rows)
        if self.shown:
            self.show_job(self.shown, keep_log=True)

    @Slot(str)
    def show_job(self, job_id: str, keep_log: bool = False) -> None:
        record = self.jobs.get(job_id) if job_id else None
        self.shown = job_id if record is not None else ""
        if record is None:
            return
        self.title.setText(record.title)
        self.state.setText(state_chip(record))
        if not keep_log:
            from .jobs import read_tail

            self.log.reset(read_tail(record.log))
        if record.kind == "synth":
            self.report.setPlainText(record.message if record.state == "failed" else
                                     f"{record.out}\n{record.meta.get('n')} samples at {record.meta.get('size')}, "
                                     f"seed {record.meta.get('seed')}, split {record.meta.get('split')}, "
                                     f"categories {', '.join(record.meta.get('categories', []))}")
            sheet = Path(record.meta.get("sheet", "")) if record.state == "finished" else None
            self.sheet.show_file(sheet if sheet and sheet.is_file() else None)
            if record.state == "running":
                written = self.controller.written(record)
                self.render_bar.setRange(0, int(record.meta.get("n", 1)))
                self.render_bar.setValue(written)
        else:
            self.report.setPlainText(self.controller.report(record.id))
            self.sheet.show_file(self.controller.sheet(record.id))
        self._render_state()

    def _render_state(self) -> None:
        running = next((r for r in self.controller.sets() if r.state in ("running", "queued", "stopping")), None)
        if running is not None:
            self.render_state.setText(f"{running.title}: {running.state_text}")
        else:
            self.render_state.setText("")

    @Slot(str, int, int)
    def _on_render_progress(self, job_id: str, done: int, total: int) -> None:
        self.render_bar.setRange(0, max(1, total))
        self.render_bar.setValue(done)
        self.render_state.setText(f"{done} of {total} samples written")

    @Slot(str)
    def _on_check_finished(self, job_id: str) -> None:
        if job_id:
            self.list.select(job_id)
            self.show_job(job_id)

    @Slot(str, str)
    def _on_output(self, job_id: str, text: str) -> None:
        if job_id == self.shown:
            self.log.append_text(text)
