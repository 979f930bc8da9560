"""Keeping the terminal to one line per problem.

Native libraries write warnings straight to file descriptor 2 (libtiff's "unknown field",
ONNX Runtime's graph warnings, torch's exporter logs), which Python cannot catch.
:class:`NativeStderr` points descriptor 2 at a temporary file for the duration of a
command while ``sys.stderr`` keeps writing to the real terminal, so only the command's
own messages are seen. A crash in native code still reports to the terminal
(``faulthandler`` writes to the saved descriptor).
"""

from __future__ import annotations

import faulthandler
import io
import os
import sys
import tempfile

_CONTROL = {i: f"\\x{i:02x}" for i in (*range(0, 32), 127)}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): " "})


def one_line(text: str) -> str:
    """``text`` made safe for one terminal line: control characters (a newline in a file
    name, an escape sequence) are shown escaped, never obeyed."""
    text = text.strip().translate(_CONTROL)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")  # undecodable file names, shown escaped


class NativeStderr:
    _unexpected: list[str] = []

    def __init__(self):
        self._fault = False
        self._saved: int | None = None
        self._log = None
        self._old_stderr = None

    @classmethod
    def note_unexpected(cls, text: str) -> None:
        cls._unexpected.append(text)

    def __enter__(self) -> NativeStderr:
        NativeStderr._unexpected = []
        try:
            sys.stderr.flush()
            self._log = tempfile.TemporaryFile()
            self._saved = os.dup(2)
            os.dup2(self._log.fileno(), 2)
        except OSError:  # no descriptor 2 (a GUI launcher): nothing to capture
            self._saved = None
            return self
        if _is_fd2(sys.stderr):
            self._old_stderr = sys.stderr
            sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(self._saved), "wb", buffering=0),
                                          encoding=getattr(self._old_stderr, "encoding", None) or "utf-8",
                                          errors="backslashreplace", line_buffering=True)
        if not faulthandler.is_enabled():  # (pytest enables its own, on a copy of the real stderr)
            try:
                faulthandler.enable(file=self._saved)
                self._fault = True
            except (OSError, ValueError, RuntimeError):
                pass
        return self

    @property
    def unexpected(self) -> bool:
        """Whether the command hit a bug (not a refused input) while this was active."""
        return bool(NativeStderr._unexpected)

    def replay(self) -> None:
        """Show what native code printed (after a bug, not after a refused input)."""
        if self._log is None:
            return
        try:
            self._log.seek(0)
            text = self._log.read()[-8000:].decode("utf-8", "replace")
        except OSError:
            return
        if text.strip():
            print("--- native library output ---\n" + text.rstrip(), file=sys.stderr)

    def __exit__(self, *exc) -> None:
        if self._saved is None:
            return
        try:
            if self._old_stderr is not None:
                sys.stderr.flush()
                sys.stderr.close()
                sys.stderr = self._old_stderr
            os.dup2(self._saved, 2)
            if self._fault:
                faulthandler.disable()
        finally:
            os.close(self._saved)
            self._saved = None
            if self._log is not None:
                self._log.close()


def _is_fd2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
