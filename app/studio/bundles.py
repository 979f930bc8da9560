"""The model manager's logic (Qt-free): list bundles, import and verify, remove.

Two places hold bundles: the embedded default (``assets/bundles/default``, shipped with
the app) and ``<data dir>/bundles`` (imported by the user). Import verifies every file with
``open_bundle`` *before* anything is copied, and the copy is verified again before use.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.bundle import Manifest, open_bundle, read_manifest, size_key
from engine.errors import BundleError, VtonError
from engine.paths import DEFAULT_BUNDLE, bundles_dir


@dataclass(frozen=True)
class BundleInfo:
    path: Path
    where: str  # "embedded" | "user" | "external"
    manifest: Manifest | None
    error: str | None = None

    @property
    def name(self) -> str:
        return self.manifest.name if self.manifest else self.path.name

    @property
    def resolutions(self) -> list[str]:
        return [size_key(r) for r in self.manifest.resolutions] if self.manifest else []

    @property
    def mib(self) -> float:
        return sum(f.bytes for f in self.manifest.files.values()) / 2**20 if self.manifest else 0.0

    def describe(self) -> str:
        if self.manifest is None:
            return f"unusable: {self.error}"
        m = self.manifest
        precision = "/".join(sorted({g.precision for per in m.graphs.values() for g in per.values()}))
        trained = "trained" if m.trained else "untrained (test weights)"
        return f"{m.config_name} · {precision.upper()} · {', '.join(self.resolutions)} · {self.mib:.1f} MiB · {trained}"


def describe_bundle(path: Path, where: str) -> BundleInfo:
    """Read a bundle's manifest (no hashing) for display; problems become ``error``."""
    try:
        if path.is_file():  # a .zip: unpacked into the cache, hashes checked when it is used
            return BundleInfo(path, where, open_bundle(path, verify=False).manifest)
        return BundleInfo(path, where, read_manifest(path))
    except VtonError as exc:
        return BundleInfo(path, where, None, str(exc))


def default_bundle_installed() -> bool:
    return (DEFAULT_BUNDLE / "manifest.json").is_file()


def list_bundles(extra: Path | None = None) -> list[BundleInfo]:
    """The embedded default (when shipped), every imported bundle, and ``extra`` if it is elsewhere."""
    found = []
    if default_bundle_installed():
        found.append(describe_bundle(DEFAULT_BUNDLE, "embedded"))
    root = bundles_dir()
    if root.is_dir():
        for p in sorted(root.iterdir()):
            if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").is_file():
                found.append(describe_bundle(p, "user"))
    if extra is not None and extra.exists() and not any(_same(extra, b.path) for b in found):
        found.append(describe_bundle(extra, "external"))
    return found


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "bundle"


def import_bundle(source: str | Path) -> Path:
    """Verify ``source`` (folder or .zip) and copy it into ``bundles_dir()``; return the new folder.

    Raises ``BundleError`` (naming the file and the problem) for anything that does not verify.
    """
    source = Path(source)
    if not source.exists():
        raise BundleError(source, "not found")
    if source.is_file() and source.suffix.lower() != ".zip":
        raise BundleError(source, "not a bundle: choose a bundle folder or a .zip of one")
    bundle = open_bundle(source)  # checks the manifest and every sha256; unpacks a .zip into the cache
    root = bundles_dir()
    root.mkdir(parents=True, exist_ok=True)
    if _same(bundle.path.parent, root):
        return bundle.path  # already installed
    base = _slug(bundle.manifest.name)
    target, n = root / base, 2
    while target.exists():
        if (target / "manifest.json").is_file() and _same_files(target, bundle.manifest):
            return target  # the same bundle was imported before
        target, n = root / f"{base}-{n}", n + 1
    tmp = root / f".{target.name}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for rel in [*bundle.manifest.files, "manifest.json"]:
            out = tmp / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle.path / rel, out)
        open_bundle(tmp)  # the copy must verify too (disk full, flaky media...)
        os.replace(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BundleError(target, f"cannot be written ({exc.strerror or exc})") from None
    except BundleError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _same_files(folder: Path, manifest: Manifest) -> bool:
    try:
        return read_manifest(folder).files == manifest.files
    except VtonError:
        return False


def remove_bundle(path: str | Path) -> None:
    """Delete an imported bundle (never the embedded default or a folder outside bundles_dir)."""
    path = Path(path)
    if not _same(path.parent, bundles_dir()):
        raise BundleError(path, "only imported bundles can be removed")
    shutil.rmtree(path)
