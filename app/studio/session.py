"""The studio's shared services, built once per window: settings, history, engine, bundles.

Controllers take a :class:`StudioSession` instead of a dozen arguments; tests build one
on a temp data dir. Nothing here is a module-level singleton.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.bundle import parse_size
from engine.errors import BundleError, VtonError
from engine.paths import DEFAULT_BUNDLE, bundles_dir, cache_dir, data_dir, make_tree_private, private_mkdir
from engine.trust import sweep_stale

from . import bundles as bundle_store
from .bundles import BundleInfo
from .category import CategoryMemory
from .engine_bridge import EngineBridge
from .history import HistoryStore
from .settings import SETTINGS_FILE, Settings, SettingsStore

PASTED_KEEP_SECONDS = 7 * 24 * 3600  # pasted images are kept in the cache this long

NO_MODEL_MESSAGE = (
    "No model is installed yet. The embedded default model is not part of this build: "
    "open Settings → Models and import a bundle folder or .zip."
)


class StudioSession(QObject):
    settings_changed = Signal()
    bundles_changed = Signal()
    history_changed = Signal()
    message = Signal(str, str, str)  # level ("info" | "warning" | "error"), text, action ("" | "settings")

    def __init__(self, bundle_override: str | Path | None = None, parent=None):
        super().__init__(parent)
        self.root = data_dir()  # honours MOBILE_VTON_HOME (tests, --data-dir)
        self.startup_problems: list[str] = []
        self._make_private()
        self.store = SettingsStore(self.root / SETTINGS_FILE)
        self.history = HistoryStore(self.root / "history")
        self.categories = CategoryMemory(self.root / "categories.json")
        self._bundle_override = Path(bundle_override) if bundle_override else None
        self._manifest_cache: dict[str, BundleInfo] = {}
        self.housekeeping()
        self.engine = EngineBridge(self.bundle_path(), self.settings.threads or None, parent=self)

    # -- the private data folder ----------------------------------------------------------------
    def _make_private(self) -> None:
        """People's portraits and results live here: folders 0700, files 0600 (docs/studio.md)."""
        try:
            private_mkdir(self.root)
            make_tree_private(self.root)
            private_mkdir(cache_dir())
        except OSError as exc:
            self.startup_problems.append(f"The data folder {self.root} cannot be made private: "
                                         f"{exc.strerror or exc}")

    def housekeeping(self) -> dict[str, int]:
        """Remove what an interrupted run can leave behind (orphaned results, temp files,
        unfinished imports and unpacks, old pasted images). Never raises."""
        removed = {"history": 0, "bundles": 0, "cache": 0, "pasted": 0}
        try:
            removed["history"] = sum(self.history.housekeeping().values())
        except Exception as exc:  # noqa: BLE001 - a damaged history must not stop the studio
            self.startup_problems.append(f"History cannot be read: {exc}")
        removed["bundles"] = sweep_stale(bundles_dir())
        removed["cache"] = sweep_stale(cache_dir() / "bundles")
        now = time.time()
        try:
            for f in self.pasted_dir().glob("pasted-*.png"):
                if now - f.stat().st_mtime > PASTED_KEEP_SECONDS:
                    f.unlink(missing_ok=True)
                    removed["pasted"] += 1
        except OSError:
            pass
        return removed

    # -- settings ----------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.store.settings

    def update_settings(self, **changes) -> None:
        if "bundle" in changes:
            self.select_bundle(changes.pop("bundle"))
        before = self.settings
        after = self.store.update(**changes)
        if after != before:
            if after.threads != before.threads:
                self.engine.configure(self.bundle_path(), after.threads or None)
            if dataclasses.replace(after, last_dir=before.last_dir) != before:  # not for a remembered folder
                self.settings_changed.emit()

    def pasted_dir(self) -> Path:
        return cache_dir() / "pasted"

    def board_dir(self) -> Path:
        return self.root / "board"

    # -- bundles -----------------------------------------------------------------------------
    def bundle_path(self) -> Path | None:
        """The bundle new requests use: --bundle, else the chosen one, else the embedded default."""
        if self._bundle_override is not None:
            return self._bundle_override
        if self.settings.bundle:
            return Path(self.settings.bundle)
        return DEFAULT_BUNDLE if bundle_store.default_bundle_installed() else None

    def bundle_info(self) -> BundleInfo | None:
        path = self.bundle_path()
        if path is None or not path.exists():
            return None
        key = str(path)
        if key not in self._manifest_cache:
            self._manifest_cache[key] = bundle_store.describe_bundle(path, "selected")
        return self._manifest_cache[key]

    def bundle_problem(self) -> str | None:
        """Why a try-on cannot start with the current bundle, or None."""
        path = self.bundle_path()
        if path is None:
            return NO_MODEL_MESSAGE
        if not path.exists():
            return f"The selected model {path} is missing. Choose another one in Settings → Models."
        info = self.bundle_info()
        if info is None or info.manifest is None:
            return f"The selected model cannot be used: {info.error if info else path}"
        return None

    def list_bundles(self) -> list[BundleInfo]:
        return bundle_store.list_bundles(self.bundle_path())

    def import_bundle(self, source: str | Path, own: dict | None = None) -> Path | None:
        """Verify and install a bundle. It does *not* become the model in use: the settings
        page asks first (:meth:`select_bundle`), warning when it is untrained. ``own`` marks
        it as made on this machine (the developer tabs' Export)."""
        try:
            target = bundle_store.import_bundle(source, own=own)
        except VtonError as exc:  # BundleError names the file and the problem
            self.message.emit("error", f"Bundle refused — {exc}", "")
            return None
        except Exception as exc:  # noqa: BLE001 - whatever the file, the studio keeps running
            self.message.emit("error", f"Bundle refused — {source}: {type(exc).__name__}: {exc}", "")
            return None
        self._manifest_cache.pop(str(target), None)
        self.bundles_changed.emit()
        info = bundle_store.describe_bundle(target, "user")
        mine = " as this machine's own model" if info.own is not None else ""
        self.message.emit("info", f"Model “{info.name}” verified and installed{mine}.", "")
        return target

    def training_note(self) -> str:
        """What the model in use was trained on, when the user should know ('' otherwise)."""
        info = self.bundle_info()
        return info.manifest.training_note if info is not None and info.manifest is not None else ""

    def select_bundle(self, path: str | Path | None) -> None:
        """Use ``path`` for new requests (None = the embedded default)."""
        if path is not None and Path(path).resolve() == DEFAULT_BUNDLE.resolve():
            path = None
        self._bundle_override = None
        resolution = self.settings.resolution
        self.store.update(bundle=str(path) if path else None)
        info = self.bundle_info()
        if info is None or info.manifest is None or resolution not in info.resolutions:
            resolution = None
        self.store.update(resolution=resolution)
        self.engine.configure(self.bundle_path(), self.settings.threads or None)
        self.settings_changed.emit()

    def remove_bundle(self, path: str | Path) -> None:
        try:
            bundle_store.remove_bundle(path)
        except (BundleError, OSError) as exc:
            self.message.emit("error", f"Cannot remove the bundle: {exc}", "")
            return
        self._manifest_cache.pop(str(path), None)
        if self.settings.bundle and Path(self.settings.bundle) == Path(path):
            self.select_bundle(None)
        self.bundles_changed.emit()

    def request_size(self) -> tuple[int, int] | None:
        res = self.settings.resolution
        info = self.bundle_info()
        if not res or info is None or res not in info.resolutions:
            return None
        return parse_size(res)

    def user_bundles_dir(self) -> Path:
        return bundles_dir()

    def shutdown(self) -> None:
        self.engine.shutdown()
        self.history.close()
