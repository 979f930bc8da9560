"""Where things live on disk: the embedded default bundle and the user data dir.

Directories are computed when asked for (never at import) so tests can point them at a
temp folder with the ``MOBILE_VTON_HOME`` environment variable.

The data and cache folders hold people's portraits and results: they are private to the
user (folders 0700, files 0600 on POSIX systems; ``private_mkdir``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

APP_NAME = "mobile-vton"
REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS = REPO_ROOT / "assets"
DEFAULT_BUNDLE = ASSETS / "bundles" / "default"
EXAMPLES = ASSETS / "examples"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def data_dir() -> Path:
    """User data dir (history, imported bundles, settings)."""
    override = os.environ.get("MOBILE_VTON_HOME")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    override = os.environ.get("MOBILE_VTON_HOME")
    return Path(override) / "cache" if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def bundles_dir() -> Path:
    return data_dir() / "bundles"


def keys_dir() -> Path:
    """Public keys of bundle signers the user trusts (``*.pub``)."""
    return data_dir() / "keys"


def private_mkdir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) as folders only the user can enter (0700).

    An existing folder is tightened to 0700 too, so a data folder made by an older version
    (with the umask's 0755) becomes private. No-op for the permission bits on Windows.
    """
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            pass
    make_private(path)
    return path


def make_private(path: str | Path) -> None:
    """0700 for a folder, 0600 for a file (never follows a symbolic link)."""
    if os.name != "posix":
        return
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            return
        mode = PRIVATE_DIR_MODE if stat.S_ISDIR(st.st_mode) else PRIVATE_FILE_MODE
        if stat.S_IMODE(st.st_mode) != mode:
            os.chmod(path, mode)
    except OSError:
        pass


def make_tree_private(root: str | Path) -> None:
    """Tighten every folder and file under ``root`` (a data folder made before it was private)."""
    root = Path(root)
    if os.name != "posix" or not root.is_dir():
        return
    make_private(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            make_private(Path(folder) / name)
