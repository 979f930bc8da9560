"""Layout of a run's live view and the pieces the developer tabs share: a picture that
scales to its box, a job's log, the runs list, and the training monitor (curves, figures,
the latest sample grid, Pause / Resume / Stop). Behaviour lives in ``monitor.py``/``train.py``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontDatabase, QPixmap, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from .. import icons
from ..widgets import ElidedLabel, card, label, tool_button
from .charts import LossChart
from .jobs import JobRecord
from .monitor import RunMonitor
from .progress import format_seconds

STATE_COLORS = {"running": "#4f46e5", "stopping": "#b45309", "queued": "#6b7280", "paused": "#b45309",
                "finished": "#047857", "cancelled": "#6b7280", "failed": "#b91c1c", "interrupted": "#b45309",
                "detached": "#4f46e5"}


def state_chip(record: JobRecord | None) -> str:
    if record is None:
        return ""
    color = STATE_COLORS.get(record.state, "#6b7280")
    return f"<span style='color:{color}; font-weight:bold'>● {record.state_text}</span>"


class PictureLabel(QLabel):
    """Shows an image file scaled to fit (never larger than 3× its pixels), or a hint."""

    def __init__(self, hint: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._pixmap = QPixmap()
        self.path: Path | None = None
        self._hint = hint
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setProperty("role", "hint")
        self.setWordWrap(True)
        self.setText(hint)

    def show_file(self, path: Path | None, hint: str | None = None) -> bool:
        """Load ``path`` (unchanged file: nothing to do); False when there is no picture."""
        if path is not None and self.path == Path(path) and not self._pixmap.isNull():
            return True
        self.path = Path(path) if path is not None else None
        self._pixmap = QPixmap(str(path)) if path is not None else QPixmap()
        if self._pixmap.isNull():
            self.path = None
            self.setPixmap(QPixmap())
            self.setText(hint if hint is not None else self._hint)
            return False
        self._rescale()
        return True

    def reload(self) -> None:
        path, self.path = self.path, None
        self.show_file(path)

    def has_picture(self) -> bool:
        return not self._pixmap.isNull()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap.isNull():
            return
        box = self.size()
        limit = QSize(self._pixmap.width() * 3, self._pixmap.height() * 3)
        target = box.boundedTo(limit)
        mode = (Qt.TransformationMode.SmoothTransformation if target.width() < self._pixmap.width()
                else Qt.TransformationMode.FastTransformation)  # small grids: crisp pixels
        self.setPixmap(self._pixmap.scaled(target, Qt.AspectRatioMode.KeepAspectRatio, mode))


class LogView(QPlainTextEdit):
    """A job's log: the command, what it printed, how it ended (read-only, follows the end)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setObjectName("JobLog")
        self.setMaximumBlockCount(4000)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPixelSize(11)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self.setPlaceholderText("The job's log appears here.")
        self.setMinimumHeight(90)

    @Slot(str)
    def reset(self, text: str) -> None:
        self.setPlainText(text.replace("\r", "\n"))
        self.moveCursor(QTextCursor.MoveOperation.End)

    @Slot(str)
    def append_text(self, text: str) -> None:
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text.replace("\r", "\n"))
        if at_end:
            bar.setValue(bar.maximum())


class RunsList(QListWidget):
    """Jobs as two-line items (title; state and details); the job id is the item's data."""

    chosen = Signal(str)  # job id (or "" when nothing is selected)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(120)
        self.currentItemChanged.connect(self._on_current)

    def set_records(self, rows: list[tuple[JobRecord, str]]) -> None:
        """(record, detail text) rows; keeps the selection when the job is still listed."""
        current = self.current_id()
        self.blockSignals(True)
        self.clear()
        for record, detail in rows:
            item = QListWidgetItem(f"{record.title}\n{record.state_text}{' · ' + detail if detail else ''}")
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            item.setToolTip(f"{record.command}\n{record.out}")
            color = STATE_COLORS.get(record.state, icons.INK)
            item.setIcon(icons.icon("play" if record.active else "stop" if record.state != "finished" else "shield",
                                    color))
            self.addItem(item)
            if record.id == current:
                self.setCurrentItem(item)
        self.blockSignals(False)

    def current_id(self) -> str:
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""

    def select(self, job_id: str) -> None:
        for i in range(self.count()):
            if self.item(i).data(Qt.ItemDataRole.UserRole) == job_id:
                self.setCurrentRow(i)
                return

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current(self, current, _previous) -> None:
        self.chosen.emit(current.data(Qt.ItemDataRole.UserRole) if current is not None else "")


def tab_split(view: QWidget) -> QSplitter:
    """A tab's two columns: a splitter filling ``view`` with the tabs' margins."""
    root = QHBoxLayout(view)
    root.setContentsMargins(12, 12, 12, 12)
    split = QSplitter(Qt.Orientation.Horizontal, view)
    root.addWidget(split)
    return split


def fill_split(split: QSplitter, left: QWidget, right: QWidget, stretch: tuple[int, int],
               sizes: tuple[int, int]) -> None:
    """Put a tab's two columns in its splitter, with their share of the width."""
    split.addWidget(left)
    split.addWidget(right)
    split.setStretchFactor(0, stretch[0])
    split.setStretchFactor(1, stretch[1])
    split.setSizes(list(sizes))


def left_column(split: QSplitter) -> tuple[QWidget, QVBoxLayout]:
    """The left column of a tab: the form above, the list of its jobs below."""
    left = QWidget(split)
    lv = QVBoxLayout(left)
    lv.setContentsMargins(0, 0, 0, 0)
    lv.setSpacing(12)
    return left, lv


def runs_card(parent: QWidget, title: str) -> tuple[QFrame, RunsList]:
    """A card listing this tab's jobs on this machine."""
    frame, col = card(parent, margins=12)
    col.addWidget(label(title, "section"))
    runs = RunsList(frame)
    col.addWidget(runs, 1)
    return frame, runs


def heading(text: str, parent: QWidget, elided: bool = False) -> QLabel:
    """The bold title over a tab's right column (a job's name)."""
    title = ElidedLabel(text, parent) if elided else label(text, None, parent)
    title.setStyleSheet("font-size: 15px; font-weight: bold;")
    return title


def form_scroll(parent: QWidget, content: QWidget) -> QScrollArea:
    """A vertical scroll area for a form: as wide as the form needs, so nothing is cut off."""
    scroll = QScrollArea(parent)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(content)
    scroll.setMinimumWidth(content.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)
    return scroll


def stat(parent: QWidget, title: str) -> tuple[QWidget, QLabel]:
    box = QWidget(parent)
    v = QVBoxLayout(box)
    v.setContentsMargins(0, 0, 0, 0)
    v.setSpacing(0)
    v.addWidget(label(title.upper(), "section", box))
    value = label("—", None, box)
    value.setObjectName("StatValue")
    value.setStyleSheet("font-size: 15px; font-weight: bold;")
    v.addWidget(value)
    return box, value


class MonitorView(QWidget):
    """A training run, live: state, step / samples per second / ETA, loss curves, the latest
    sample grid, the log; Pause (a checkpoint to resume), Resume and Stop."""

    def __init__(self, monitor: RunMonitor, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.monitor = monitor
        self.controller = controller
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(10)
        frame, col = card(self, margins=14)
        outer.addWidget(frame, 1)
        head = QHBoxLayout()
        self.title = heading("Choose a run, or start one.", frame, elided=True)
        head.addWidget(self.title, 1)
        self.state = label("", None, frame)
        head.addWidget(self.state)
        col.addLayout(head)
        self.command = ElidedLabel("", frame)
        self.command.setProperty("role", "hint")
        col.addWidget(self.command)
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        self.stats: dict[str, QLabel] = {}
        for i, (key, title) in enumerate((("step", "Step"), ("sps", "Samples/s"), ("eta", "ETA"),
                                          ("phase", "Phase"), ("lr", "LR"), ("held_out", "Held-out"))):
            box, value = stat(frame, title)
            self.stats[key] = value
            grid.addWidget(box, 0, i)
        col.addLayout(grid)
        self.bar = QProgressBar(frame)
        self.bar.setRange(0, 1000)
        col.addWidget(self.bar)
        self.note = label("", "hint", frame, wrap=True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for plain in (self.title, self.command, self.note):  # file names and messages, never markup
            plain.setTextFormat(Qt.TextFormat.PlainText)
        col.addWidget(self.note)
        buttons = QHBoxLayout()
        self.pause_button = tool_button("stop", "Stop at the next step with a checkpoint; Resume continues it",
                                        frame, text="Pause")
        self.resume_button = tool_button("play", "Continue from the newest checkpoint (--resume)", frame,
                                         text="Resume")
        self.stop_button = tool_button("close", "End the run (it keeps a checkpoint); press again to kill it",
                                       frame, text="Stop")
        self.log_button = QPushButton("Show log", frame)
        self.log_button.setCheckable(True)
        for b in (self.pause_button, self.resume_button, self.stop_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.log_button)
        col.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal, frame)
        self.chart = LossChart(split)
        grid_box = QWidget(split)
        gv = QVBoxLayout(grid_box)
        gv.setContentsMargins(0, 0, 0, 0)
        self.grid_caption = label("Latest sample grid", "section", grid_box)
        gv.addWidget(self.grid_caption)
        self.picture = PictureLabel("The sample grid appears when the run writes one.", grid_box)
        gv.addWidget(self.picture, 1)
        split.addWidget(self.chart)
        split.addWidget(grid_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        col.addWidget(split, 1)
        self.log = LogView(frame)
        self.log.setVisible(False)
        col.addWidget(self.log, 1)

        self.pause_button.clicked.connect(self._on_pause)
        self.resume_button.clicked.connect(self._on_resume)
        self.stop_button.clicked.connect(self._on_stop)
        self.log_button.toggled.connect(self.log.setVisible)
        monitor.changed.connect(self.refresh)
        monitor.log_reset.connect(self.log.reset)
        monitor.log_appended.connect(self.log.append_text)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        record, p = self.monitor.record, self.monitor.progress
        active = record is not None and record.state in ("running", "queued", "detached")
        self.pause_button.setEnabled(active and record.state != "queued")
        self.stop_button.setEnabled(record is not None and record.active)
        self.resume_button.setEnabled(record is not None and record.resumable())
        if record is None or p is None:
            self.title.setText("Choose a run, or start one.")
            self.state.setText("")
            self.command.setText("")
            for v in self.stats.values():
                v.setText("—")
            self.bar.setValue(0)
            self.note.setText("")
            self.chart.set_series({})
            self.picture.show_file(None)
            return
        self.title.setText(record.title)
        self.state.setText(state_chip(record))
        self.command.setText(record.command)
        self.stats["step"].setText(f"{p.step:,}" + (f" / {p.total:,}" if p.total else ""))
        self.stats["sps"].setText(f"{p.samples_per_s:.1f}" if p.samples_per_s is not None else "—")
        self.stats["eta"].setText(format_seconds(p.eta_s) if record.state == "running" and p.eta_s is not None
                                  else "—")
        self.stats["phase"].setText(p.phase or "—")
        self.stats["lr"].setText(f"{p.lr:.2g}" if p.lr is not None else "—")
        held = p.summary()
        self.stats["held_out"].setText(
            " · ".join(part for part in (f"{held['psnr']:.1f} dB" if "psnr" in held else "",
                                         f"SSIM {held['ssim']:.3f}" if "ssim" in held else "") if part) or "—")
        fraction = p.fraction
        self.bar.setRange(0, 1000 if fraction is not None or not active else 0)  # busy bar: no step limit known
        self.bar.setValue(int((fraction or 0.0) * 1000))
        self.note.setText(self._note(record, p))
        self.note.setStyleSheet("color: #b91c1c;" if record.state == "failed" else "")
        if record.state == "failed" and not self.log_button.isChecked():
            self.log_button.setChecked(True)  # a failure shows its log
        self.chart.set_series(p.losses)
        grid = self.monitor.grid()
        if grid is not None and (self.picture.path != grid or not self.picture.has_picture()):
            self.picture.show_file(grid)
        elif grid is None:
            self.picture.show_file(None)
        self.grid_caption.setText(f"Sample grid at step {p.grid_step}" if grid is not None and p.grid_step
                                  else "Latest sample grid")

    @staticmethod
    def _note(record: JobRecord, p) -> str:
        if record.state == "failed":
            return f"Failed: {record.message or p.failed}. The log is below ({record.log})."
        parts = []
        if record.state == "paused" and p.checkpoint is not None:
            parts.append(f"Paused at step {p.step} with a checkpoint: Resume continues it.")
        elif record.state == "cancelled":
            parts.append("Stopped" + (f" at step {p.step}; its checkpoint can still be resumed."
                                      if record.resumable() else "."))
        elif record.state == "interrupted":
            parts.append("The studio went away while this run trained" +
                         ("; Resume continues from its checkpoint." if record.resumable() else "."))
        elif record.state == "queued":
            parts.append("Waiting for the job before it to finish (one job runs at a time).")
        elif record.state == "finished" and p.final is not None:
            parts.append(f"Finished: {p.final}")
        if p.gate and p.gate.get("metric") not in (None, "off"):
            metric = p.gate["metric"]
            teacher, student = (p.gate.get(k, {}).get(metric) for k in ("teacher", "student"))
            scores = f"teacher {teacher:.3f} vs student {student:.3f}: " if teacher is not None and student is not None else ""
            parts.append(f"FGA gate ({metric}) at step {p.gate.get('step')}: {scores}"
                         + ("distillation starts." if p.gate.get("fga") else "the student stays on regression."))
        if record.message and record.state != "failed":
            parts.append(record.message)
        return " ".join(parts)

    @Slot()
    def _on_pause(self) -> None:
        if self.monitor.job_id:
            self.controller.pause(self.monitor.job_id)

    @Slot()
    def _on_resume(self) -> None:
        if self.monitor.job_id:
            self.controller.resume(self.monitor.job_id)

    @Slot()
    def _on_stop(self) -> None:
        if self.monitor.job_id:
            self.controller.stop(self.monitor.job_id)
