"""Checking, before Qt starts, that the system libraries Qt needs are installed (Linux).

The PySide6 wheels bring Qt itself but not the system's graphics and X11 libraries. When
one is missing Qt aborts with a long message (or, for ``libxcb-cursor0``, which a stock
Debian desktop lacks, asks for it after printing a page of plugin diagnostics). The
studio checks first and says in one line what to install (docs/studio.md).
"""

from __future__ import annotations

import ctypes
import os
import sys

# soname -> Debian/Ubuntu package
CORE = {  # QtGui itself (every platform plugin, offscreen included)
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
XCB = {  # the X11 platform plugin (a desktop session without Wayland)
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def platform_plugin() -> str:
    """The Qt platform plugin that will be used: QT_QPA_PLATFORM, else Qt's own choice."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if chosen:
        return chosen
    if os.environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def missing_libraries(platform: str | None = None, tables: list[dict[str, str]] | None = None) -> dict[str, str]:
    """soname -> package for every library Qt will need here that cannot be loaded."""
    if not sys.platform.startswith("linux"):
        return {}
    platform = platform or platform_plugin()
    if tables is None:
        tables = [CORE] + ([XCB] if platform == "xcb" else [])
    missing = {}
    for table in tables:
        for soname, package in table.items():
            try:
                ctypes.CDLL(soname)  # what the dynamic loader will do when Qt starts
            except OSError:
                missing[soname] = package
    return missing


def install_hint(missing: dict[str, str]) -> str:
    """One line: what is missing and the command that installs it."""
    packages = " ".join(dict.fromkeys(missing.values()))
    names = ", ".join(missing)
    return (f"Qt needs system libraries that are not installed ({names}); on Debian or Ubuntu: "
            f"sudo apt-get install {packages}")
