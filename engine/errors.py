"""Errors that reach the user as one clear line (exit code 2 on the CLI)."""

from __future__ import annotations

from pathlib import Path


class VtonError(Exception):
    """Base class: the message is meant for the user, not a traceback."""


class InputError(VtonError):
    """A file the user gave us cannot be used. Names the file and the problem."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class BundleError(VtonError):
    """A model bundle is missing, malformed or does not verify. Names the file."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class Cancelled(VtonError):
    """The run was cancelled between steps."""

    def __init__(self, message: str = "cancelled"):
        super().__init__(message)
