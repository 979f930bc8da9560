"""Where things live on disk: the embedded default bundle and the user data dir.

Directories are computed when asked for (never at import) so tests can point them at a
temp folder with the ``MOBILE_VTON_HOME`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "mobile-vton"
REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS = REPO_ROOT / "assets"
DEFAULT_BUNDLE = ASSETS / "bundles" / "default"
EXAMPLES = ASSETS / "examples"


def data_dir() -> Path:
    """User data dir (history, imported bundles, settings)."""
    override = os.environ.get("MOBILE_VTON_HOME")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    override = os.environ.get("MOBILE_VTON_HOME")
    return Path(override) / "cache" if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def bundles_dir() -> Path:
    return data_dir() / "bundles"
