"""Small helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.bundle import Bundle, open_bundle, parse_size
from engine.errors import BundleError, VtonError
from engine.paths import DEFAULT_BUNDLE
from engine.request import Progress


def size_arg(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def resolve_bundle(path: str | Path | None) -> Bundle:
    """The bundle the user named, else the embedded default; verified either way."""
    if path is not None:
        return open_bundle(path)
    if (DEFAULT_BUNDLE / "manifest.json").is_file():
        return open_bundle(DEFAULT_BUNDLE)
    raise BundleError(
        DEFAULT_BUNDLE,
        "no embedded default model is installed. Export one with "
        "'vton bundle export --config tiny --int8 --out my-bundle' and pass '--bundle my-bundle'",
    )


class ProgressBar:
    """A one-line progress bar on stderr (stays quiet when stderr is not a terminal)."""

    def __init__(self, stream=None, width: int = 28):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()

    def __call__(self, p: Progress) -> None:
        filled = int(self.width * p.fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        eta = f" eta {p.eta:4.1f}s" if p.eta is not None and p.stage == "denoise" else ""
        text = f"[{bar}] {p.stage:<7} step {p.step}/{p.steps} {p.elapsed:5.1f}s{eta}"
        if self.tty:
            self.stream.write("\r" + text.ljust(72))
            if p.stage == "done":
                self.stream.write("\n")
        elif p.stage in ("denoise", "done") and (p.step > 0 or p.stage == "done"):
            self.stream.write(text + "\n")
        self.stream.flush()


def fail(message: str) -> VtonError:
    return VtonError(message)
