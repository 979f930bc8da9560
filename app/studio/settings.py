"""Typed user settings, stored as JSON in the user data dir and loaded lazily.

No Qt here: :class:`SettingsStore` is a plain object the session owns (never a global built
at import time), so tests get fresh settings by pointing ``MOBILE_VTON_HOME`` at a temp dir.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path

from engine.images import write_atomic
from engine.paths import private_mkdir
from engine.request import MAX_STEPS

SETTINGS_FILE = "settings.json"
MAX_SETTINGS_BYTES = 1 << 20


@dataclass(frozen=True)
class Settings:
    """Everything the user can change in Settings. Frozen: change it with :meth:`SettingsStore.update`."""

    bundle: str | None = None  # path of the selected bundle; None = the embedded default
    resolution: str | None = None  # "HxW" from the bundle's manifest; None = the bundle's default
    steps: int = 4  # denoising steps (1..16); the distilled student is made for 4
    seed: int = 0
    threads: int = 0  # CPU threads for ONNX Runtime; 0 = automatic
    restore: bool = True  # keep the portrait's own pixels wherever the try-on left it unchanged
    dev_mode: bool = False  # show the developer tabs
    last_dir: str = ""  # where file dialogs open

    def validated(self) -> Settings:
        """A copy with out-of-range values clamped to something usable."""
        return dataclasses.replace(
            self,
            steps=min(max(int(self.steps), 1), MAX_STEPS),
            seed=min(max(int(self.seed), 0), 2**31 - 1),
            threads=min(max(int(self.threads), 0), os.cpu_count() or 64),
        )


def _field_ok(value, default) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if default is None:
        return value is None or isinstance(value, str)
    return isinstance(value, type(default))


class SettingsStore:
    """Settings at ``<data dir>/settings.json``: read on first use, written atomically on change."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._settings: Settings | None = None
        self.problems: list[str] = []  # what was wrong with the file, for a message in the window

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = self._load()
        return self._settings

    def _load(self) -> Settings:
        if not self.path.is_file():
            return Settings()
        try:
            if self.path.stat().st_size > MAX_SETTINGS_BYTES:
                raise ValueError("the file is too large")
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except RecursionError:
            self.problems.append(f"{self.path}: unreadable (nested too deeply); using default settings")
            return Settings()
        except (OSError, ValueError) as exc:
            self.problems.append(f"{self.path}: unreadable ({exc}); using default settings")
            return Settings()
        defaults = Settings()
        values = {}
        for f in fields(Settings):
            if f.name not in data:
                continue
            value = data[f.name]
            if _field_ok(value, getattr(defaults, f.name)):
                values[f.name] = value
            else:
                self.problems.append(f"{self.path}: ignored a bad value for '{f.name}'")
        return Settings(**values).validated()

    def update(self, **changes) -> Settings:
        """Change some fields, save, and return the new settings."""
        new = dataclasses.replace(self.settings, **changes).validated()
        if new != self._settings:
            self._settings = new
            self.save()
        return new

    def save(self) -> None:
        private_mkdir(self.path.parent)
        data = json.dumps(dataclasses.asdict(self.settings), indent=2) + "\n"
        write_atomic(self.path, data.encode("utf-8"), durable=True, private=True)
