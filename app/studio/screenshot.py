"""Screenshot mode: wait for the preloaded work to finish, then grab the window to a PNG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication


class Screenshotter(QObject):
    def __init__(self, window, path: Path, wait_result: bool, wait_board: bool, pin: bool, timeout: float):
        super().__init__(window)
        self.window = window
        self.path = Path(path)
        self.wait_result = wait_result
        self.wait_board = wait_board
        self.pin = pin
        self.exit_code = 0
        self._done = False
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.setInterval(int(timeout * 1000))
        self._timeout.timeout.connect(self._on_timeout)
        ws, board = window.workspace, window.board
        ws.result_changed.connect(self._check)
        ws.running_changed.connect(self._check)
        board.item_changed.connect(self._check)
        board.items_changed.connect(self._check)

    def start(self) -> None:
        if self.wait_result:
            self.window.workspace.try_on()
        self._timeout.start()
        QTimer.singleShot(0, self._check)

    def _ready(self) -> bool:
        ws, board = self.window.workspace, self.window.board
        if self.wait_result:
            if ws.running:
                return False
            if ws.result is None:  # it failed or could not start: capture the message it left
                self.exit_code = 1
        return not (self.wait_board and board.pending)

    @Slot()
    def _check(self) -> None:
        if self._done or not self._ready():
            return
        self._done = True
        if self.pin and self.window.workspace.result is not None:
            self.window.pin_result()
        QTimer.singleShot(300, self._capture)  # let layouts and pixmaps settle

    @Slot()
    def _on_timeout(self) -> None:
        if not self._done:
            self._done = True
            self.exit_code = 1
            self.window.show_message("error", "Timed out waiting for the engine.", "")
            QTimer.singleShot(100, self._capture)

    @Slot()
    def _capture(self) -> None:
        QApplication.processEvents()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        image = self.window.grab().toImage()
        if not image.save(str(self.path), "PNG"):
            self.exit_code = 2
        QApplication.instance().quit()
