"""Short questions answered by a subprocess, so the studio never imports torch:

- :class:`Probe` runs ``python -m app.cli ... --json``-like commands and hands back the
  parsed JSON (a newer question replaces one in flight);
- ``info --devices --json``: the CPU and the CUDA GPUs torch sees (the Train tab's device);
- ``train STAGE --config F ... --print-config``: the run config a command would train (the
  knobs' current values), or the one-line error naming the file and the key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Signal, Slot

from .jobs import PROJECT_ROOT, cli_process, error_line

DEVICES_ARGV = ("info", "--devices", "--json")


class Probe(QObject):
    answered = Signal(object)  # the JSON the command printed
    failed = Signal(str)  # one line: why not

    def __init__(self, python: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.python = python or sys.executable
        self._proc: QProcess | None = None
        self.pending = False

    def ask(self, argv) -> None:
        self.cancel()
        proc = cli_process(self, self.python, list(argv), PROJECT_ROOT)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._proc = proc
        self.pending = True
        proc.start()

    def cancel(self) -> None:
        proc, self._proc = self._proc, None
        self.pending = False
        if proc is not None:
            proc.finished.disconnect(self._on_finished)
            proc.errorOccurred.disconnect(self._on_error)
            if proc.state() != QProcess.ProcessState.NotRunning:
                proc.kill()
                proc.waitForFinished(2000)
            proc.deleteLater()

    @Slot(int, QProcess.ExitStatus)
    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        proc = self.sender()
        if proc is not self._proc:
            return
        self._proc, self.pending = None, False
        out = bytes(proc.readAllStandardOutput()).decode("utf-8", "replace")
        err = bytes(proc.readAllStandardError()).decode("utf-8", "replace")
        proc.deleteLater()
        if status == QProcess.ExitStatus.NormalExit and code == 0:
            try:
                self.answered.emit(json.loads(out))
                return
            except ValueError:
                self.failed.emit("the answer was not JSON: " + (out.strip().splitlines() or ["(nothing)"])[-1])
                return
        self.failed.emit(error_line(err, None, code))

    @Slot(QProcess.ProcessError)
    def _on_error(self, error: QProcess.ProcessError) -> None:
        proc = self.sender()
        if proc is self._proc and error == QProcess.ProcessError.FailedToStart:
            self._proc, self.pending = None, False
            proc.deleteLater()
            self.failed.emit(f"Python could not be started ({self.python})")


def devices_text(devices: dict) -> list[tuple[str, str]]:
    """(value, label) for the device choice, from ``info --devices``."""
    options = [("auto", "Automatic (a CUDA GPU when there is one)"),
               ("cpu", f"CPU ({devices.get('cpu_threads', '?')} threads)")]
    for gpu in devices.get("cuda", []):
        options.append(("cuda", f"CUDA: {gpu.get('name', 'GPU')} ({gpu.get('memory_gib', '?')} GiB)"))
        break  # --device cuda uses the first; torchrun spreads over several (docs/training.md)
    return options


def config_value(config: dict, key: str):
    """A dotted key of a printed run config (``student.ratio``), or None."""
    node = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def bundled_configs() -> list[Path]:
    """The run configs that ship with the project (``models/train/configs/*.yaml``)."""
    folder = PROJECT_ROOT / "models" / "train" / "configs"
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []
