"""The model manager's logic (Qt-free): list bundles, import and verify, remove.

Two places hold bundles: the embedded default (``assets/bundles/default``, shipped with
the app) and ``<data dir>/bundles`` (imported by the user). Import verifies every file with
``open_bundle`` *before* anything is copied (regular files only, every hash, the signature
where a key is trusted), copies only what the manifest lists, verifies the copy, renames it
into place and records the manifest's sha256 (``engine.trust``), so an installed bundle
edited later is refused. Import never switches the model in use: the studio asks first.
A bundle that cannot be read is listed as broken; it never stops the studio.

Bundles installed from the developer tabs' Export ("use in the studio") are marked as this
machine's own models in ``<data dir>/bundles/own.json`` (folder name -> manifest sha256 and
the run they came from); the mark holds only while the installed manifest is that one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.bundle import MANIFEST, SIGNATURE, Manifest, open_bundle, read_manifest, size_key, verify_files
from engine.errors import BundleError, VtonError
from engine.images import write_atomic
from engine.paths import DEFAULT_BUNDLE, bundles_dir, make_tree_private, private_mkdir
from engine.trust import check_pin, pin, sweep_stale, unpin


@dataclass(frozen=True)
class BundleInfo:
    path: Path
    where: str  # "embedded" | "user" | "external"
    manifest: Manifest | None
    error: str | None = None
    own: dict | None = None  # made on this machine (the Export tab): {"run": ..., "installed": ...}

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
        trained = "untrained (test weights)" if not m.trained else (
            "trained on synthetic people only" if m.synthetic_only else "trained")
        return f"{m.config_name} · {precision.upper()} · {', '.join(self.resolutions)} · {self.mib:.1f} MiB · {trained}"


def describe_bundle(path: Path, where: str) -> BundleInfo:
    """Read a bundle's manifest (no hashing) for display; problems become ``error``.

    Never raises: whatever is in the bundles folder, the studio starts and lists it.
    """
    try:
        if path.is_file():  # a .zip: unpacked into the cache, hashes checked when it is used
            return BundleInfo(path, where, open_bundle(path, verify=False).manifest)
        manifest = read_manifest(path)
        check_pin(path, manifest)  # an installed bundle edited since its import is broken
        return BundleInfo(path, where, manifest, own=own_mark(path, manifest))
    except VtonError as exc:
        return BundleInfo(path, where, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - a damaged folder must not stop the studio
        return BundleInfo(path, where, None, f"{path}: cannot be read ({type(exc).__name__}: {exc})")


def default_bundle_installed() -> bool:
    return (DEFAULT_BUNDLE / "manifest.json").is_file()


def list_bundles(extra: Path | None = None) -> list[BundleInfo]:
    """The embedded default (when shipped), every imported bundle, and ``extra`` if it is elsewhere."""
    found = []
    if default_bundle_installed():
        found.append(describe_bundle(DEFAULT_BUNDLE, "embedded"))
    root = bundles_dir()
    try:
        folders = sorted(p for p in root.iterdir() if not p.name.startswith(".") and p.is_dir())
    except OSError:
        folders = []
    for p in folders:
        if (p / MANIFEST).exists() or (p / MANIFEST).is_symlink():
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


def import_bundle(source: str | Path, own: dict | None = None) -> Path:
    """Verify ``source`` (folder or .zip) and copy it into ``bundles_dir()``; return the new folder.

    Raises ``BundleError`` (naming the file and the problem) for anything that does not verify.
    The bundle in use does not change (see ``StudioSession.import_bundle``). ``own`` marks it
    as this machine's own model (what the Export tab made; e.g. ``{"run": RUN_FOLDER}``).
    """
    target = _install(source)
    if own is not None:
        mark_own(target, own)
    return target


def _install(source: str | Path) -> Path:
    source = Path(source)
    if not source.exists():
        raise BundleError(source, "not found")
    if source.is_file() and source.suffix.lower() != ".zip":
        raise BundleError(source, "not a bundle: choose a bundle folder or a .zip of one")
    bundle = open_bundle(source)  # checks the manifest and every sha256; unpacks a .zip into the cache
    root = private_mkdir(bundles_dir())
    sweep_stale(root)
    if _same(bundle.path.parent, root):
        return bundle.path  # already installed
    base = _slug(bundle.manifest.name)
    target, n = root / base, 2
    while target.exists():
        if (target / "manifest.json").is_file() and _same_files(target, bundle.manifest):
            return target  # the same bundle was imported before
        target, n = root / f"{base}-{n}", n + 1
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name[:40]}.", suffix=".part", dir=root))
    try:
        names = [*bundle.manifest.files, MANIFEST]
        if (bundle.path / SIGNATURE).is_file() and not (bundle.path / SIGNATURE).is_symlink():
            names.append(SIGNATURE)
        for rel in names:  # only what the manifest lists: never a stray file or a link
            out = tmp / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle.path / rel, out, follow_symlinks=False)
        copy = read_manifest(tmp)
        problems = verify_files(tmp, copy)  # the copy must verify too (disk full, flaky media...)
        if problems:
            raise problems[0]
        if copy.digest != bundle.manifest.digest:
            raise BundleError(tmp / MANIFEST, "changed while it was being imported")
        make_tree_private(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BundleError(target, f"cannot be written ({exc.strerror or exc})") from None
    except BundleError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pin(target, bundle.manifest)
    return target


def _same_files(folder: Path, manifest: Manifest) -> bool:
    try:
        return read_manifest(folder).files == manifest.files
    except VtonError:
        return False


def remove_bundle(path: str | Path) -> None:
    """Delete an imported bundle (never the embedded default or a folder outside bundles_dir)."""
    path = Path(path)
    if not _same(path.parent, bundles_dir()) or path.is_symlink():
        raise BundleError(path, "only imported bundles can be removed")
    shutil.rmtree(path)
    unpin(path.name)
    _write_own({k: v for k, v in read_own().items() if k != path.name})


# -- this machine's own models ------------------------------------------------------------------
OWN = "own.json"


def read_own() -> dict[str, dict]:
    """Installed folder name -> {"sha256": manifest digest, "run": ..., ...} (never raises)."""
    try:
        data = json.loads((bundles_dir() / OWN).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)
            and isinstance(v.get("sha256"), str)}


def _write_own(marks: dict[str, dict]) -> None:
    root = private_mkdir(bundles_dir())
    write_atomic(root / OWN, (json.dumps(marks, indent=2, sort_keys=True) + "\n").encode(), durable=True,
                 private=True)


def mark_own(folder: Path, details: dict) -> None:
    """Record an installed bundle as made on this machine (for the model manager's label)."""
    folder = Path(folder)
    if not _same(folder.parent, bundles_dir()):
        return
    manifest = read_manifest(folder)
    marks = read_own()
    marks[folder.name] = {**{k: str(v) for k, v in details.items()}, "sha256": manifest.digest}
    _write_own(marks)


def own_mark(folder: Path, manifest: Manifest) -> dict | None:
    """The mark of an installed bundle made here, if its manifest is still the one marked."""
    folder = Path(folder)
    if not _same(folder.parent, bundles_dir()):
        return None
    mark = read_own().get(folder.name)
    return mark if mark is not None and mark.get("sha256") == manifest.digest else None
