"""The main window: a sidebar of pages (Try on, Board, History, Settings, Developer), an
inline message banner, and a status bar with the model in use and the offline badge."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QStatusBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import InputError
from engine.images import load_image, load_preview
from engine.request import TryOnResult

from . import icons
from .board import BoardController
from .board_view import BoardView
from .dev.controller import DevController
from .dev.page_view import DevPage
from .history_view import HistoryView
from .inputs import sources_from_mime
from .session import StudioSession
from .settings_view import SettingsView
from .widgets import Banner
from .workspace import WorkspaceController
from .workspace_view import WorkspaceView

PAGES = (
    ("tryon", "Try on", "tryon", "Ctrl+1"),
    ("board", "Board", "board", "Ctrl+2"),
    ("history", "History", "history", "Ctrl+3"),
    ("settings", "Settings", "settings", "Ctrl+4"),
    ("dev", "Developer", "dev", "Ctrl+5"),
)


class MainWindow(QMainWindow):
    def __init__(self, session: StudioSession | None = None, dev: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session or StudioSession(parent=self)
        if self.session.parent() is None:
            self.session.setParent(self)
        self._dev_flag = dev
        self._closed = False
        self._model_notices: set[str] = set()  # "no usable model" texts, cleared once one is chosen
        self._noted_models: set[str] = set()  # models whose training note was shown
        self.setWindowTitle("Mobile-VTON Studio")
        self.setWindowIcon(icons.app_icon())
        self.setMinimumSize(1000, 660)
        self.resize(1320, 860)

        self.workspace = WorkspaceController(self.session, self)
        self.board = BoardController(self.session, self)
        self.dev = DevController(self.session, parent=self)
        self.close_dialog: QMessageBox | None = None  # "stop the running job?" when closing
        self._quitting = False

        central = QWidget(self)
        central.setObjectName("Content")
        outer = QHBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._build_sidebar())
        content = QWidget(central)
        content.setObjectName("Content")
        cv = QVBoxLayout(content)
        cv.setContentsMargins(20, 16, 20, 16)
        cv.setSpacing(12)
        self.banner = Banner(content)
        cv.addWidget(self.banner)
        self.stack = QStackedWidget(content)
        self.stack.setObjectName("Pages")
        self.workspace_view = WorkspaceView(self.workspace)
        self.board_view = BoardView(self.board)
        self.history_view = HistoryView(self.session)
        self.settings_view = SettingsView(self.session)
        self.dev_page = DevPage(self.dev)
        self.pages = {"tryon": self.workspace_view, "board": self.board_view, "history": self.history_view,
                      "settings": self.settings_view, "dev": self.dev_page}
        for key, *_ in PAGES:
            self.stack.addWidget(self.pages[key])
        cv.addWidget(self.stack, 1)
        outer.addWidget(content, 1)
        self.setCentralWidget(central)
        self._build_status_bar()
        self._build_actions()

        for source in (self.workspace, self.board, self.session, self.dev):
            source.message.connect(self.show_message)
        self.dev.export.installed.connect(self._on_bundle_installed)
        self.banner.action_triggered.connect(self._on_banner_action)
        self.workspace_view.pin_requested.connect(self.pin_result)
        self.history_view.reopen_requested.connect(self.reopen_entry)
        self.history_view.redo_requested.connect(self.redo_entry)
        self.history_view.pin_requested.connect(self.pin_entry)
        self.session.settings_changed.connect(self._on_settings_changed)
        self.session.engine.busy_changed.connect(self._on_busy_changed)
        self._on_settings_changed()
        self.show_page("tryon")
        self._startup_messages()
        self.board.restore()  # the board of the last session (after the views are connected)

    # -- construction -----------------------------------------------------------------------------
    def _build_sidebar(self) -> QFrame:
        bar = QFrame(self)
        bar.setObjectName("Sidebar")
        bar.setFixedWidth(208)
        v = QVBoxLayout(bar)
        v.setContentsMargins(14, 18, 14, 14)
        v.setSpacing(4)
        brand = QHBoxLayout()
        logo = QLabel(bar)
        logo.setPixmap(icons.app_icon().pixmap(QSize(32, 32)))
        brand.addWidget(logo)
        names = QVBoxLayout()
        names.setSpacing(0)
        app_name = QLabel("Mobile-VTON", bar)
        app_name.setObjectName("AppName")
        names.addWidget(app_name)
        tagline = QLabel("Studio · virtual try-on", bar)
        tagline.setObjectName("AppTagline")
        names.addWidget(tagline)
        brand.addLayout(names, 1)
        v.addLayout(brand)
        v.addSpacing(18)
        self.nav_group = QButtonGroup(self)
        self.nav_group.setExclusive(True)
        self.nav: dict[str, QToolButton] = {}
        for key, text, icon_name, shortcut in PAGES:
            b = QToolButton(bar)
            b.setText(f"  {text}")
            b.setIcon(icons.icon(icon_name, active=icons.ACCENT))
            b.setIconSize(QSize(20, 20))
            b.setCheckable(True)
            b.setProperty("nav", True)
            b.setProperty("page", key)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setMinimumHeight(40)
            b.setToolTip(f"{text} ({shortcut})")
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.clicked.connect(self._on_nav_clicked)
            self.nav_group.addButton(b)
            self.nav[key] = b
            if key == "dev":
                v.addStretch(1)
            v.addWidget(b)
        v.addSpacing(10)
        self.offline_badge = QLabel("●  Offline · private", bar)
        self.offline_badge.setObjectName("OfflineBadge")
        self.offline_badge.setToolTip("Nothing leaves this computer: no uploads, no downloads, no telemetry.")
        self.offline_badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        v.addWidget(self.offline_badge)
        self.model_badge = QLabel("", bar)
        self.model_badge.setObjectName("ModelBadge")
        self.model_badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model_badge.setWordWrap(True)
        v.addWidget(self.model_badge)
        return bar

    def _build_status_bar(self) -> None:
        status = QStatusBar(self)
        status.setSizeGripEnabled(False)
        self.status_text = QLabel("Ready", status)
        status.addWidget(self.status_text, 1)
        self.engine_state = QLabel("Engine idle", status)
        status.addPermanentWidget(self.engine_state)
        self.status_model = QLabel("", status)
        status.addPermanentWidget(self.status_model)
        self.status_offline = QWidget(status)
        row = QHBoxLayout(self.status_offline)
        row.setContentsMargins(0, 0, 4, 0)
        row.setSpacing(0)
        shield = QLabel(self.status_offline)
        shield.setPixmap(icons.pixmap("shield", 14, "#047857"))
        row.addWidget(shield)
        row.addWidget(QLabel("Offline", self.status_offline))
        self.status_offline.setToolTip("Offline: nothing leaves this computer")
        status.addPermanentWidget(self.status_offline)
        self.setStatusBar(status)

    def _action(self, text: str, keys, slot, tip: str = "") -> QAction:
        act = QAction(text, self)
        seqs = [QKeySequence(k) for k in (keys if isinstance(keys, (list, tuple)) else [keys])]
        act.setShortcuts(seqs)
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setToolTip(tip or text)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        self.actions_by_name = {
            "try_on": self._action("Try on", ["Ctrl+Return", "Ctrl+Enter"], self.try_on),
            "cancel": self._action("Cancel", "Esc", self.cancel_or_dismiss),
            "open_person": self._action("Open portrait", "Ctrl+O", self.open_person),
            "open_garment": self._action("Open garment", "Ctrl+Shift+O", self.open_garment),
            "paste": self._action("Paste image", QKeySequence.StandardKey.Paste, self.paste),
            "save": self._action("Save result", "Ctrl+S", self.save_result),
            "copy": self._action("Copy result", "Ctrl+Shift+C", self.copy_result),
            "pin": self._action("Pin to board", "Ctrl+B", self.pin_result),
            "example": self._action("Try an example", "Ctrl+E", self.load_example),
            "export": self._action("Export board", "Ctrl+Shift+E", self.export_board),
            "fit": self._action("Fit", "Ctrl+0", self.fit),
            "zoom_in": self._action("Zoom in", ["Ctrl+=", "Ctrl++"], self.zoom_in),
            "zoom_out": self._action("Zoom out", "Ctrl+-", self.zoom_out),
            "settings": self._action("Settings", "Ctrl+,", self.show_settings),
            "quit": self._action("Quit", QKeySequence.StandardKey.Quit, self.close),
        }
        for key, _text, _icon, shortcut in PAGES:
            act = self._action(f"Show {key}", shortcut, self._on_page_shortcut)
            act.setData(key)

    def _startup_messages(self) -> None:
        for problem in self.session.startup_problems + self.session.store.problems + self.dev.problems:
            self.show_message("warning", problem, "")
        problem = self.session.bundle_problem()
        if problem:
            self._model_notices.add(problem)
            self.show_message("warning", problem, "settings")
        else:
            self._say_training_note()

    def _say_training_note(self) -> None:
        """Once per model: what it was trained on, when the user should know (synthetic people only)."""
        info = self.session.bundle_info()
        note = self.session.training_note()
        if note and info is not None and info.name not in self._noted_models:
            self._noted_models.add(info.name)
            self.show_message("info", f"The model in use, “{info.name}”, is {note}.", "")

    # -- pages ----------------------------------------------------------------------------------
    def dev_visible(self) -> bool:
        return self._dev_flag or self.session.settings.dev_mode

    def show_page(self, key: str) -> None:
        if key == "dev" and not self.dev_visible():
            return
        self.stack.setCurrentWidget(self.pages[key])
        self.nav[key].setChecked(True)

    def current_page(self) -> str:
        return next(k for k, w in self.pages.items() if w is self.stack.currentWidget())

    @Slot()
    def _on_nav_clicked(self) -> None:
        self.show_page(self.sender().property("page"))

    @Slot()
    def _on_page_shortcut(self) -> None:
        self.show_page(self.sender().data())

    @Slot()
    def show_settings(self) -> None:
        self.show_page("settings")

    # -- messages ----------------------------------------------------------------------------------
    @Slot(str, str, str)
    def show_message(self, level: str, text: str, action: str = "") -> None:
        """Every error, warning and notice ends here: the banner and the status bar."""
        if action == "settings" and text == self.session.bundle_problem():
            self._model_notices.add(text)
        self.banner.show_message(level, text, action)
        self.status_text.setText(text.splitlines()[0] if text else "")

    @Slot(str)
    def _on_banner_action(self, action: str) -> None:
        if action in self.pages:
            self.show_page(action)

    @Slot()
    def _on_settings_changed(self) -> None:
        dev = self.dev_visible()
        self.nav["dev"].setVisible(dev)
        if not dev and self.current_page() == "dev":
            self.show_page("settings")
        info = self.session.bundle_info()
        if info is not None and info.manifest is not None:
            note = info.manifest.training_note
            short = " · synthetic data only" if info.manifest.synthetic_only and info.manifest.trained else (
                " · untrained" if not info.manifest.trained else "")
            self.model_badge.setText(f"Model: {info.name}{short}")
            self.model_badge.setToolTip(f"{info.name}: {note}" if note else info.name)
            self.status_model.setText(f"Model: {info.name}{short}")
        else:
            self.model_badge.setText("No model installed")
            self.status_model.setText("No model")
        if self.banner.isVisible() and not self.session.bundle_problem() and any(
                self.banner.text.text() == notice for notice in self._model_notices):
            self.banner.dismiss()  # the "no model" notice is resolved
        if hasattr(self, "board") and not self.session.bundle_problem():
            self._say_training_note()

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        self.engine_state.setText("Engine working…" if busy else "Engine idle")

    # -- actions -----------------------------------------------------------------------------------
    @Slot()
    def try_on(self) -> None:
        self.show_page("tryon")
        self.workspace.try_on()

    @Slot()
    def cancel_or_dismiss(self) -> None:
        if self.workspace.running and self.current_page() == "tryon":
            self.workspace.cancel()
        else:
            self.banner.dismiss()

    @Slot()
    def open_person(self) -> None:
        if self.current_page() == "board":
            self.board_view.browse_portrait()
        else:
            self.show_page("tryon")
            self.workspace_view.browse_person()

    @Slot()
    def open_garment(self) -> None:
        if self.current_page() == "board":
            self.board_view.browse_garments()
        else:
            self.show_page("tryon")
            self.workspace_view.browse_garment()

    @Slot()
    def paste(self) -> None:
        if self.current_page() == "board":
            sources = sources_from_mime(QGuiApplication.clipboard().mimeData(), self.session.pasted_dir())
            if self.board.portrait is None:
                self.board.open_portrait_sources(sources)
            else:
                self.board.open_garment_sources(sources)
        else:
            self.show_page("tryon")
            self.workspace_view.paste()

    @Slot()
    def save_result(self) -> None:
        self.workspace_view.save_as()

    @Slot()
    def copy_result(self) -> None:
        self.workspace.copy_result()

    @Slot()
    def pin_result(self) -> None:
        w = self.workspace
        if w.result is None:
            self.show_message("warning", "There is no result to pin yet: run a try-on first.", "")
            return
        self.board.pin(w.result, w.result_person)
        self.show_message("success", "Pinned to the comparison board.", "board")

    @Slot()
    def load_example(self) -> None:
        self.show_page("tryon")
        self.workspace.load_example()

    @Slot()
    def export_board(self) -> None:
        self.show_page("board")
        self.board_view.export()

    @Slot()
    def fit(self) -> None:
        self.workspace_view.compare.fit()

    @Slot()
    def zoom_in(self) -> None:
        self.workspace_view.zoom_in()

    @Slot()
    def zoom_out(self) -> None:
        self.workspace_view.zoom_out()

    @Slot(str)
    def reopen_entry(self, entry_id: str) -> None:
        entry = self.session.history.get(entry_id)
        if entry is not None and self.workspace.reopen(entry):
            self.show_page("tryon")

    @Slot(str)
    def redo_entry(self, entry_id: str) -> None:
        entry = self.session.history.get(entry_id)
        if entry is not None:
            self.show_page("tryon")
            self.workspace.redo(entry)

    @Slot(str)
    def pin_entry(self, entry_id: str) -> None:
        entry = self.session.history.get(entry_id)
        if entry is None:
            return
        try:
            image = load_image(entry.image)
            person, _ = load_preview(entry.person, 1024)
        except InputError as exc:
            self.show_message("error", f"This history entry is damaged: {exc}", "")
            return
        result = TryOnResult(image, entry.redo_request(), entry.size or image.shape[:2], entry.bundle_name,
                             entry.timings)
        self.board.pin(result, person)
        self.show_message("success", "Pinned to the comparison board.", "board")

    @Slot(str)
    def _on_bundle_installed(self, target: str) -> None:
        """A bundle exported in the developer tabs was installed: ask before switching to it."""
        self.settings_view.ask_to_use(Path(target))

    # -- lifetime ----------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop developer jobs, the engine thread and the history database (idempotent)."""
        if not self._closed:
            self._closed = True
            self.dev.shutdown()
            self.session.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed and self.dev.running_jobs():
            event.ignore()  # a developer job runs: ask first, then stop it cleanly (a checkpoint to resume)
            if not self._quitting:
                self.ask_to_close()
            return
        self.shutdown()
        super().closeEvent(event)

    def ask_to_close(self) -> QMessageBox:
        """A window-modal question (non-blocking): stop the running job and quit, or keep working."""
        jobs = self.dev.running_jobs()
        running = next((r for r in jobs if r.state != "queued"), jobs[0])
        waiting = sum(r.state == "queued" for r in jobs)
        box = QMessageBox(self)
        box.setWindowTitle("Stop the running job?")
        box.setIcon(QMessageBox.Icon.Question)
        box.setText(f"“{running.title}” is still running" + (f", and {waiting} more wait" if waiting else "") + ".")
        box.setInformativeText("Quitting stops it cleanly: a training run first saves a checkpoint, so it can be "
                               "resumed from the Developer tabs. Jobs that wait are dropped.")
        stop = box.addButton("Stop and quit", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep working", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        self.close_dialog, self._close_stop_button = box, stop
        box.finished.connect(self._on_close_answer)
        box.open()
        return box

    @Slot(int)
    def _on_close_answer(self, _result: int) -> None:
        box = self.sender()
        if box is None:
            return
        stop = box.clickedButton() is self._close_stop_button
        box.deleteLater()
        self.close_dialog = None
        if not stop:
            return
        self._quitting = True
        self.show_message("info", "Stopping the running job (it saves a checkpoint first), then quitting…", "")
        self.dev.jobs.idle.connect(self._close_when_idle)
        self.dev.jobs.stop_all()
        self._close_when_idle()

    @Slot()
    def _close_when_idle(self) -> None:
        if not self.dev.running_jobs():
            self.close()
