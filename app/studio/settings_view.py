"""Settings and the model manager. Behaviour lives in :class:`StudioSession` / ``bundles.py``."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.request import MAX_STEPS

from . import icons
from .bundles import describe_bundle
from .session import StudioSession
from .widgets import card, label, tool_button


class SettingsView(QWidget):
    def __init__(self, session: StudioSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Page")
        self.session = session
        self.import_dialog: QMessageBox | None = None  # the "use it now?" question after an import
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        host = QWidget()
        host.setObjectName("Page")
        scroll.setWidget(host)
        root = QHBoxLayout(host)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(16)
        left = QVBoxLayout()
        left.setSpacing(16)
        right = QVBoxLayout()
        right.setSpacing(16)
        root.addLayout(left, 3)
        root.addLayout(right, 2)

        # ---- models ---------------------------------------------------------------------------
        models, mcol = card(host)
        mcol.addWidget(label("Models", "title"))
        mcol.addWidget(label("Everything runs on this computer. Bundles are verified before they are used: every "
                             "file's SHA-256, and the manifest's own digest recorded when it was imported.",
                             "subtitle", wrap=True))
        self.bundle_list = QListWidget(models)
        self.bundle_list.setMinimumHeight(120)
        self.bundle_list.setMaximumHeight(230)
        self.bundle_list.setToolTip("Double-click a model to use it")
        mcol.addWidget(self.bundle_list, 1)
        self.no_model = label("", "hint", wrap=True)
        mcol.addWidget(self.no_model)
        row = QHBoxLayout()
        self.use_button = tool_button("play", "Use the selected model for new try-ons", models, text="Use selected")
        self.import_folder_button = tool_button("open", "Import a bundle folder (verified, then copied into "
                                                "your data folder)", models, text="Import folder…")
        self.import_zip_button = tool_button("add", "Import a bundle .zip (verified, then copied)", models,
                                             text="Import .zip…")
        self.remove_button = tool_button("delete", "Remove the selected imported model", models, text="Remove")
        row.addWidget(self.use_button)
        row.addStretch(1)
        for b in (self.import_folder_button, self.import_zip_button, self.remove_button):
            row.addWidget(b)
        mcol.addLayout(row)
        left.addWidget(models)

        # ---- quality & speed ------------------------------------------------------------------
        quality, qcol = card(host)
        qcol.addWidget(label("Quality and speed", "title"))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        self.resolution = QComboBox(quality)
        self.resolution.setToolTip("The model's resolution presets (from its manifest)")
        form.addRow("Resolution", self.resolution)
        self.steps = QSpinBox(quality)
        self.steps.setRange(1, MAX_STEPS)
        self.steps.setToolTip("Denoising steps: the distilled model is made for 4; more is slower")
        form.addRow("Steps", self.steps)
        self.seed = QSpinBox(quality)
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("The same seed, inputs and settings give the same result")
        form.addRow("Seed", self.seed)
        self.threads = QSpinBox(quality)
        self.threads.setRange(0, os.cpu_count() or 64)
        self.threads.setSpecialValueText("Automatic")
        self.threads.setToolTip(f"CPU threads for the engine (this computer has {os.cpu_count()})")
        form.addRow("CPU threads", self.threads)
        self.restore = QCheckBox("Keep my photo's own pixels where nothing changed", quality)
        self.restore.setToolTip("Face, hair and background stay exactly as in your photo, at its full resolution; "
                                "off shows the model's whole redrawn picture")
        form.addRow("Details", self.restore)
        qcol.addLayout(form)
        left.addWidget(quality)
        left.addStretch(1)

        # ---- privacy ---------------------------------------------------------------------------
        privacy, pcol = card(host)
        title_row = QHBoxLayout()
        shield = label("")
        shield.setPixmap(icons.pixmap("shield", 22, "#047857"))
        title_row.addWidget(shield)
        title_row.addWidget(label("Private and offline", "title"), 1)
        pcol.addLayout(title_row)
        pcol.addWidget(label("Nothing leaves this computer: no account, no upload, no telemetry, no downloads. "
                             "Models load only from local files.", "subtitle", wrap=True))
        self.data_dir = label("", "hint", wrap=True)
        self.data_dir.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pcol.addWidget(self.data_dir)
        right.addWidget(privacy)

        # ---- developer -------------------------------------------------------------------------
        dev, dcol = card(host)
        dcol.addWidget(label("Developer", "title"))
        self.dev_mode = QCheckBox("Show the developer tabs", dev)
        self.dev_mode.setToolTip("Also available as the --dev command-line switch")
        dcol.addWidget(self.dev_mode)
        dcol.addWidget(label("Data, Train, Distill, Export and Evaluate: for building models on this machine.",
                             "hint", wrap=True))
        right.addWidget(dev)
        right.addStretch(1)

        self.use_button.clicked.connect(self._on_use)
        self.bundle_list.itemDoubleClicked.connect(self._on_double_clicked)
        self.bundle_list.currentRowChanged.connect(self._on_row_changed)
        self.import_folder_button.clicked.connect(self._on_import_folder)
        self.import_zip_button.clicked.connect(self._on_import_zip)
        self.remove_button.clicked.connect(self._on_remove)
        self.resolution.activated.connect(self._on_resolution)
        self.steps.valueChanged.connect(self._on_steps)
        self.seed.valueChanged.connect(self._on_seed)
        self.threads.valueChanged.connect(self._on_threads)
        self.restore.toggled.connect(self._on_restore)
        self.dev_mode.toggled.connect(self._on_dev_mode)
        session.settings_changed.connect(self.refresh)
        session.bundles_changed.connect(self.refresh)
        self.refresh()

    # -- view <- session -----------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        s = self.session.settings
        current = self.session.bundle_path()
        self.bundle_list.blockSignals(True)
        self.bundle_list.clear()
        for info in self.session.list_bundles():
            selected = current is not None and Path(info.path).resolve() == Path(current).resolve()
            where = {"embedded": "built in", "user": "imported", "external": "from --bundle"}.get(info.where, "")
            if info.own is not None:
                where = "trained on this machine"
            title = f"{info.name}   ({where})" + ("   ✓ in use" if selected else "")
            item = QListWidgetItem(f"{title}\n{info.describe()}")
            item.setData(Qt.ItemDataRole.UserRole, str(info.path))
            item.setData(Qt.ItemDataRole.UserRole + 1, info.where)
            item.setIcon(icons.icon("shield" if info.manifest else "close", "#047857" if selected else icons.INK))
            item.setToolTip(str(info.path))
            self.bundle_list.addItem(item)
            if selected:
                self.bundle_list.setCurrentItem(item)
        self.bundle_list.blockSignals(False)
        problem = self.session.bundle_problem()
        self.no_model.setText(problem or "")
        self.no_model.setVisible(bool(problem))
        info = self.session.bundle_info()
        self.resolution.clear()
        self.resolution.addItem("Model default" + (f" ({info.resolutions[0]})" if info and info.resolutions else ""), "")
        for r in info.resolutions if info else []:
            self.resolution.addItem(r, r)
        self.resolution.setCurrentIndex(max(0, self.resolution.findData(s.resolution or "")))
        for box in (self.steps, self.seed, self.threads, self.resolution):
            box.setMaximumWidth(260)
        for box, value in ((self.steps, s.steps), (self.seed, s.seed), (self.threads, s.threads)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        for check, value in ((self.dev_mode, s.dev_mode), (self.restore, s.restore)):
            check.blockSignals(True)
            check.setChecked(value)
            check.blockSignals(False)
        self.data_dir.setText(f"Your data folder (history, imported models, settings), readable by you only:\n"
                              f"{self.session.root}")
        self._on_row_changed(self.bundle_list.currentRow())

    # -- view -> session -----------------------------------------------------------------------
    def _selected_path(self) -> tuple[str | None, str]:
        item = self.bundle_list.currentItem()
        if item is None:
            return None, ""
        return item.data(Qt.ItemDataRole.UserRole), item.data(Qt.ItemDataRole.UserRole + 1)

    @Slot(int)
    def _on_row_changed(self, row: int) -> None:
        path, where = self._selected_path()
        self.use_button.setEnabled(path is not None)
        self.remove_button.setEnabled(where == "user")

    @Slot()
    def _on_use(self) -> None:
        path, where = self._selected_path()
        if path is not None:
            self.session.select_bundle(None if where == "embedded" else path)

    @Slot(QListWidgetItem)
    def _on_double_clicked(self, item) -> None:
        self._on_use()

    @Slot()
    def _on_import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a bundle folder", str(Path.home()))
        if path:
            self.import_bundle(path)

    @Slot()
    def _on_import_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a bundle .zip", str(Path.home()), "Bundle (*.zip)")
        if path:
            self.import_bundle(path)

    # -- import: verify, install, then ask before switching -------------------------------------
    def import_bundle(self, source: str | Path) -> Path | None:
        """Import through the session; if it verifies, ask whether to use it now."""
        target = self.session.import_bundle(source)
        if target is not None:
            self.ask_to_use(target)
        return target

    def ask_to_use(self, target: Path) -> QMessageBox:
        """A window-modal question (non-blocking: ``open``), warning when the model is untrained."""
        info = describe_bundle(Path(target), "user")
        m = info.manifest
        box = QMessageBox(self)
        box.setWindowTitle("Use the imported model?")
        box.setText(f"“{info.name}” was verified and installed.")
        lines = [info.describe()]
        untrained = m is not None and not m.trained
        if m is not None and m.training_note:
            lines.append(("Warning: this model is " if untrained else "Note: this model is ") + m.training_note + ".")
        lines.append("Use it for new try-ons now? You can switch models at any time in Settings → Models.")
        box.setInformativeText("\n\n".join(lines))
        box.setIcon(QMessageBox.Icon.Warning if untrained else QMessageBox.Icon.Question)
        use = box.addButton("Use it now", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep the current model", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep if untrained else use)
        box.setEscapeButton(keep)
        box.setProperty("bundle_path", str(target))
        self.import_dialog = box
        self._use_button, self._keep_button = use, keep
        box.finished.connect(self._on_import_answer)
        box.open()
        return box

    @Slot(int)
    def _on_import_answer(self, _result: int) -> None:
        box = self.sender()
        if box is None:
            return
        if box.clickedButton() is self._use_button:
            self.session.select_bundle(box.property("bundle_path"))
        box.deleteLater()
        self.import_dialog = None

    @Slot()
    def _on_remove(self) -> None:
        path, where = self._selected_path()
        if path is not None and where == "user":
            self.session.remove_bundle(path)

    @Slot(int)
    def _on_resolution(self, index: int) -> None:
        self.session.update_settings(resolution=self.resolution.itemData(index) or None)

    @Slot(int)
    def _on_steps(self, value: int) -> None:
        self.session.update_settings(steps=value)

    @Slot(bool)
    def _on_restore(self, checked: bool) -> None:
        self.session.update_settings(restore=checked)

    @Slot(int)
    def _on_seed(self, value: int) -> None:
        self.session.update_settings(seed=value)

    @Slot(int)
    def _on_threads(self, value: int) -> None:
        self.session.update_settings(threads=value)

    @Slot(bool)
    def _on_dev_mode(self, on: bool) -> None:
        self.session.update_settings(dev_mode=on)

