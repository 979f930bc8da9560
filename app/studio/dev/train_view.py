"""Layout of the Train tab: the run form (stage, config, data, knobs, device), the runs on
this machine, and the live monitor. Behaviour lives in ``train.py`` and ``monitor.py``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..widgets import Segmented, card, label, tool_button
from .monitor import RunMonitor
from .monitor_view import MonitorView, RunsList, fill_split, form_scroll, left_column, tab_split
from .probes import config_value, devices_text
from .progress import read_progress
from .requests import command_text
from .train import DATA_CONFIG, KNOBS, STAGE_TEXT, DataChoice, TrainController, TrainForm

CHOOSE = "__choose__"
STAGE_OPTIONS = [("vae", "VAE", "The LightVAE: the latent space teacher and student share"),
                 ("teacher", "Teacher", "The dit teacher, trained by flow matching on the VAE's latents"),
                 ("student", "Student", "The student by FGA distillation from a teacher (more switches in Distill)")]


def _combo_choose(combo: QComboBox, text: str) -> None:
    combo.addItem(text, CHOOSE)


class TrainFormView(QWidget):
    """The form of a training run; :meth:`form` reads it into a :class:`TrainForm`."""

    changed = Signal()

    def __init__(self, controller: TrainController, stages=("vae", "teacher", "student"),
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.dev = controller.dev
        self.stages = stages
        self._stage = stages[0]
        self._data_choices: list[DataChoice] = []
        self._chosen_data: DataChoice | None = None
        self._chosen_teacher: Path | None = None
        self._picked: set = set()  # combos the user chose in by hand
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.stage = Segmented([o for o in STAGE_OPTIONS if o[0] in stages], self)
        self.stage.set_value(self._stage)
        if len(stages) > 1:
            form.addRow("Stage", self.stage)
        else:
            self.stage.hide()
        row = QHBoxLayout()
        self.config = QComboBox(self)
        self.config.setToolTip("A run config: the bundled presets (models/train/configs) or a YAML file")
        row.addWidget(self.config, 1)
        self.config_button = tool_button("open", "Choose a config YAML file", self)
        row.addWidget(self.config_button)
        form.addRow("Config", row)
        self.project = QLineEdit(self)
        self.project.setToolTip("The folder under <data dir>/dev/runs where this preset's stages sit side by side")
        form.addRow("Run folder", self.project)
        self.data = QComboBox(self)
        self.data.setToolTip("Training samples: the config's synthetic world, or a set rendered in the Data tab")
        form.addRow("Data", self.data)
        self.vae = QComboBox(self)
        self.vae.setToolTip("The VAE checkpoint (a finished VAE run)")
        self.vae_label = label("VAE")
        form.addRow(self.vae_label, self.vae)
        self.teacher = QComboBox(self)
        self.teacher.setToolTip("The teacher checkpoint (a finished teacher run, or a folder)")
        self.teacher_label = label("Teacher")
        form.addRow(self.teacher_label, self.teacher)
        self.knobs: dict[str, QLineEdit] = {}
        for key, (text, _cfg, _kind) in KNOBS.items():
            edit = QLineEdit(self)
            edit.setClearButtonEnabled(True)
            edit.setToolTip(f"{text}: leave blank for the config's value (shown in grey)")
            self.knobs[key] = edit
            form.addRow(text, edit)
        self.extra = QLineEdit(self)
        self.extra.setClearButtonEnabled(True)
        self.extra.setPlaceholderText("key=value …  e.g. train.log_every=1")
        self.extra.setToolTip("Any other config key (vton train --set key=value); see models/train/config.py")
        form.addRow("Other settings", self.extra)
        self.device = QComboBox(self)
        self.device.setToolTip("Where the subprocess trains: asked of torch in a subprocess (the studio never loads it)")
        form.addRow("Device", self.device)
        self.problem = label("", None, self, wrap=True)
        self.problem.setStyleSheet("color: #b91c1c;")
        self.problem.setVisible(False)
        form.addRow(self.problem)
        self.preview = label("", "hint", self, wrap=True)
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for plain in (self.problem, self.preview):  # file names and messages, never markup
            plain.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow(self.preview)

        self.stage.changed.connect(self._on_stage)
        self.config.activated.connect(self._on_config_activated)
        self.config_button.clicked.connect(self._on_choose_config)
        self.data.activated.connect(self._on_data_activated)
        self.teacher.activated.connect(self._on_teacher_activated)
        self.vae.activated.connect(self._on_vae_activated)
        self.device.activated.connect(self._on_edit)
        self.project.textEdited.connect(self._on_edit)
        self.extra.textChanged.connect(self._on_edit)
        for edit in self.knobs.values():
            edit.textChanged.connect(self._on_edit)
        controller.config_read.connect(self._on_config_read)
        controller.config_problem.connect(self._on_config_problem)
        controller.runs_changed.connect(self.refresh_choices)
        self.dev.devices_changed.connect(self._fill_devices)
        self._fill_configs()
        self.refresh_choices()
        self._fill_devices()
        self._on_edit()

    # -- filling -------------------------------------------------------------------------------
    def _fill_configs(self, select: Path | None = None) -> None:
        current = select or self.config_path()
        self.config.blockSignals(True)
        self.config.clear()
        for path in self.controller.configs(self._stage):
            self.config.addItem(path.name, str(path))
        _combo_choose(self.config, "Choose a file…")
        index = self.config.findData(str(current)) if current is not None else -1
        self.config.setCurrentIndex(max(0, index))
        self.config.blockSignals(False)
        self.project.setPlaceholderText(self.form().default_project() if self.config_path() else "")
        self._read_config()

    @Slot()
    def refresh_choices(self) -> None:
        """Data sets and checkpoints from the runs on this machine."""
        data = self.data.currentData() if self.data.count() else DATA_CONFIG
        self.data.blockSignals(True)
        self.data.clear()
        self.data.addItem("The config's own (the synthetic world)", DATA_CONFIG)
        self._data_choices = []
        for text, choice in self.controller.data_sets():
            self.data.addItem(text, str(len(self._data_choices)))
            self._data_choices.append(choice)
        if self._chosen_data is not None:
            self.data.addItem(f"{self._chosen_data.folder} (paired)", str(len(self._data_choices)))
            self._data_choices.append(self._chosen_data)
        _combo_choose(self.data, "Choose a dataset folder…")
        self.data.setCurrentIndex(max(0, self.data.findData(data)))
        self.data.blockSignals(False)
        for combo, stage, default in ((self.vae, "vae", "The config's (init.vae)"),
                                      (self.teacher, "teacher", "The config's (init.teacher)")):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for text, path in self.controller.finished(stage):
                combo.addItem(text, str(path))
            if stage == "teacher" and self._chosen_teacher is not None:
                combo.addItem(str(self._chosen_teacher), str(self._chosen_teacher))
            combo.addItem(default, "")
            if stage == "teacher":
                _combo_choose(combo, "Choose a teacher checkpoint or SD3.5 folder…")
            # the newest finished run, unless the user picked one (or the config's own) by hand
            index = combo.findData(current) if current not in (None, CHOOSE) and combo in self._picked else -1
            combo.setCurrentIndex(index if index >= 0 else 0)
            combo.blockSignals(False)
        self._show_stage_rows()
        self._update_preview()

    @Slot()
    def _fill_devices(self) -> None:
        current = self.device.currentData() or "auto"
        self.device.clear()
        if self.dev.devices is None:
            self.device.addItem("Automatic (asking torch what it sees…)", "auto")
            self.device.addItem("CPU", "cpu")
        else:
            for value, text in devices_text(self.dev.devices):
                self.device.addItem(text, value)
            if not self.dev.devices.get("cuda"):
                self.device.addItem("CUDA: no GPU that torch can use" + (
                    f" ({self.dev.devices_problem})" if self.dev.devices_problem else ""), "cuda")
                self.device.model().item(self.device.count() - 1).setEnabled(False)
        self.device.setCurrentIndex(max(0, self.device.findData(current)))

    def _show_stage_rows(self) -> None:
        for widget, stages in ((self.vae, ("teacher", "student")), (self.vae_label, ("teacher", "student")),
                               (self.teacher, ("student",)), (self.teacher_label, ("student",))):
            widget.setVisible(self._stage in stages)

    # -- reading -------------------------------------------------------------------------------
    def config_path(self) -> Path | None:
        data = self.config.currentData()
        return Path(data) if data and data != CHOOSE else None

    def form(self) -> TrainForm:
        data_key = self.data.currentData()
        data = None
        if data_key not in (None, DATA_CONFIG, CHOOSE):
            data = self._data_choices[int(data_key)]
        vae = self.vae.currentData() if self._stage != "vae" else ""
        teacher = self.teacher.currentData() if self._stage == "student" else ""
        return TrainForm(stage=self._stage, config=self.config_path() or Path(""), project=self.project.text(),
                         knobs={k: e.text() for k, e in self.knobs.items()}, device=self.device.currentData() or "auto",
                         extra=self.extra.text(),
                         data=data, vae=Path(vae) if vae and vae != CHOOSE else None,
                         teacher=Path(teacher) if teacher and teacher != CHOOSE else None)

    def preview_form(self) -> TrainForm:
        """The form as the run would start (the Distill tab adds its switches)."""
        return self.form()

    # -- actions (the file dialogs end in these; tests call them directly) -----------------------
    def set_stage(self, stage: str) -> None:
        if stage in self.stages:
            self.stage.set_value(stage)
            self._on_stage(stage)

    def use_config(self, path: Path) -> None:
        self.controller.add_config(Path(path))
        self._fill_configs(select=Path(path))
        self._on_edit()

    def use_data(self, folder: Path | None, split: str = "train", mode: str = "paired") -> None:
        """Train on ``folder`` (None: the config's own data)."""
        if folder is None:
            self.data.setCurrentIndex(0)
        else:
            match = next((i for i, c in enumerate(self._data_choices) if Path(c.folder) == Path(folder)), None)
            if match is None:
                self._chosen_data = DataChoice(Path(folder), split, mode)
                self.refresh_choices()
                match = len(self._data_choices) - 1
            self.data.setCurrentIndex(self.data.findData(str(match)))
        self._on_edit()

    def use_teacher(self, path: Path) -> None:
        self._picked.add(self.teacher)
        index = self.teacher.findData(str(path))
        if index < 0:
            self._chosen_teacher = Path(path)
            self.refresh_choices()
            index = self.teacher.findData(str(path))
        self.teacher.setCurrentIndex(index)
        self._on_teacher_activated(index)

    def use_vae(self, path: Path | None) -> None:
        self._picked.add(self.vae)
        index = self.vae.findData(str(path) if path is not None else "")
        if index < 0 and path is not None:
            self.vae.insertItem(0, str(path), str(path))
            index = 0
        self.vae.setCurrentIndex(max(0, index))
        self._on_edit()

    # -- slots ---------------------------------------------------------------------------------
    @Slot(str)
    def _on_stage(self, stage: str) -> None:
        self._stage = stage
        self._fill_configs()
        self._show_stage_rows()
        self._on_edit()

    @Slot(int)
    def _on_config_activated(self, index: int) -> None:
        if self.config.itemData(index) == CHOOSE:
            self._on_choose_config()
        else:
            self.project.setPlaceholderText(self.form().default_project())
            self._read_config()
            self._on_edit()

    @Slot()
    def _on_choose_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a run config", str(Path.home()), "Run config (*.yaml *.yml)")
        if path:
            self.use_config(Path(path))
        else:
            self._fill_configs()

    @Slot(int)
    def _on_data_activated(self, index: int) -> None:
        if self.data.itemData(index) == CHOOSE:
            folder = QFileDialog.getExistingDirectory(self, "Choose a dataset folder", str(Path.home()))
            self.use_data(Path(folder) if folder else None)
        else:
            self._on_edit()

    @Slot(int)
    def _on_vae_activated(self, _index: int) -> None:
        self._picked.add(self.vae)
        self._on_edit()

    @Slot(int)
    def _on_teacher_activated(self, index: int) -> None:
        self._picked.add(self.teacher)
        if self.teacher.itemData(index) == CHOOSE:
            folder = QFileDialog.getExistingDirectory(self, "Choose a teacher checkpoint or SD3.5 folder",
                                                      str(Path.home()))
            if folder:
                self.use_teacher(Path(folder))
            else:
                self.teacher.setCurrentIndex(0)
            return
        self.teacher_changed()
        self._on_edit()

    def teacher_changed(self) -> None:
        """The Distill tab follows the teacher's VAE (the student must share its latent space)."""

    @Slot()
    def _on_edit(self) -> None:
        self._update_preview()
        self.changed.emit()

    def _read_config(self) -> None:
        if self.config_path() is not None:
            self.controller.read_config(self.preview_form())

    def _update_preview(self) -> None:
        form = self.preview_form()
        if not form.config or not str(form.config) or form.config == Path(""):
            self.preview.setText("")
            return
        try:
            argv = form.request(self.controller.out_for(form)).argv()
        except ValueError as exc:
            self.preview.setText(f"⚠ {exc}")
            return
        self.preview.setText(command_text(argv))

    @Slot(object)
    def _on_config_read(self, config) -> None:
        if not isinstance(config, dict):
            return
        for key, edit in self.knobs.items():
            value = config_value(config, KNOBS[key][1])
            if key == "steps" and not value:
                phases = config.get("phases") or []
                steps = sum(p.get("steps", 0) for p in phases if isinstance(p, dict))
                value = steps or "by the time budget"
            if key == "minutes" and not value:
                value = "no time limit"
            edit.setPlaceholderText(f"{value}  (the config's)" if value is not None else "")

    @Slot(str)
    def _on_config_problem(self, why: str) -> None:
        self.problem.setText(f"This config cannot be trained: {why}" if why else "")
        self.problem.setVisible(bool(why))


def runs_detail(record) -> str:
    """The runs list's second line: where the run is (step, end-of-run score)."""
    p = read_progress(record.out_path)
    parts = []
    if p.step:
        parts.append(f"step {p.step}" + (f"/{p.total}" if p.total else ""))
    held = p.summary()
    if "psnr" in held and record.state == "finished":
        parts.append(f"{held['psnr']:.1f} dB")
    if record.state == "failed" and record.message:
        parts.append(record.message[:90])
    return " · ".join(parts)


class RunsPanel(QWidget):
    """The runs on this machine (a list that survives a restart) with their buttons."""

    def __init__(self, controller: TrainController, monitor: RunMonitor, stage: str | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.monitor = monitor
        self.stage = stage
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.list = RunsList(self)
        v.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.forget_button = tool_button("delete", "Take this run off the list (its folder stays)", self,
                                         text="Forget")
        row.addStretch(1)
        row.addWidget(self.forget_button)
        v.addLayout(row)
        self.list.chosen.connect(self._on_chosen)
        self.forget_button.clicked.connect(self._on_forget)
        controller.runs_changed.connect(self.refresh)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        records = self.controller.runs(self.stage)
        self.list.set_records([(r, runs_detail(r)) for r in records])
        self.forget_button.setEnabled(bool(self.list.current_id()))

    def select(self, job_id: str) -> None:
        self.refresh()
        self.list.select(job_id)
        if self.monitor.job_id != job_id:
            self.monitor.follow(job_id)

    @Slot(str)
    def _on_chosen(self, job_id: str) -> None:
        self.monitor.follow(job_id or None)
        self.forget_button.setEnabled(bool(job_id))

    @Slot()
    def _on_forget(self) -> None:
        job_id = self.list.current_id()
        if job_id:
            self.controller.forget(job_id)


class TrainView(QWidget):
    def __init__(self, controller: TrainController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.monitor = RunMonitor(controller.jobs, self)
        split = tab_split(self)
        left, lv = left_column(split)
        form_card, fcol = card(None, margins=14)
        fcol.addWidget(label("New run", "title"))
        fcol.addWidget(label("vton train in a subprocess: the same command, the same checkpoint.", "subtitle",
                             wrap=True))
        self.form_view = TrainFormView(controller, parent=form_card)
        fcol.addWidget(self.form_view)
        self.start_button = QPushButton("Start training", form_card)
        self.start_button.setProperty("role", "primary")
        self.start_button.setToolTip("Queue the run (one job runs at a time)")
        fcol.addWidget(self.start_button)
        scroll = form_scroll(left, form_card)
        lv.addWidget(scroll, 5)
        runs_card, rcol = card(left, margins=12)
        rcol.addWidget(label("Runs on this machine", "section"))
        self.runs = RunsPanel(controller, self.monitor, parent=runs_card)
        rcol.addWidget(self.runs, 1)
        lv.addWidget(runs_card, 2)
        self.monitor_view = MonitorView(self.monitor, controller, split)
        fill_split(split, left, self.monitor_view, stretch=(2, 3), sizes=(400, 700))
        self.start_button.clicked.connect(self.start)

    @Slot()
    def start(self) -> str | None:
        record = self.controller.start(self.form_view.form())
        if record is None:
            return None
        self.runs.select(record.id)
        return record.id

    def stage_text(self) -> str:
        return STAGE_TEXT.get(self.form_view.form().stage, "")
