"""Fonts and the style sheet. The bundled DejaVu Sans makes text render the same everywhere,
including headless (offscreen) screenshots and tests."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from engine.paths import ASSETS

STYLE_SHEET = Path(__file__).with_name("style.qss")
RESOURCES = Path(__file__).with_name("resources")
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
FONT_FAMILY = "DejaVu Sans"


def load_fonts() -> str:
    """Register the bundled fonts; return the family to use (a system fallback if missing)."""
    family = None
    for name in FONT_FILES:
        path = ASSETS / "fonts" / name
        if path.is_file():
            fid = QFontDatabase.addApplicationFont(str(path))
            fams = QFontDatabase.applicationFontFamilies(fid) if fid >= 0 else []
            family = family or (fams[0] if fams else None)
    return family or QFont().defaultFamily()


def apply_theme(app: QApplication) -> None:
    family = load_fonts()
    font = QFont(family)
    font.setPixelSize(13)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    app.setFont(font)
    app.setStyle("Fusion")  # the same look on every platform; the style sheet does the rest
    pal = app.palette()
    for role, color in (
        (QPalette.ColorRole.Window, "#f4f5f8"),
        (QPalette.ColorRole.Base, "#ffffff"),
        (QPalette.ColorRole.AlternateBase, "#f7f8fa"),
        (QPalette.ColorRole.Text, "#1f2430"),
        (QPalette.ColorRole.WindowText, "#1f2430"),
        (QPalette.ColorRole.ButtonText, "#1f2430"),
        (QPalette.ColorRole.Button, "#ffffff"),
        (QPalette.ColorRole.Highlight, "#4f46e5"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, "#1f2430"),
        (QPalette.ColorRole.ToolTipText, "#ffffff"),
        (QPalette.ColorRole.PlaceholderText, "#9aa1ad"),
    ):
        pal.setColor(role, QColor(color))
    app.setPalette(pal)
    app.setStyleSheet(style_sheet())


def style_sheet() -> str:
    """The style sheet with resource paths filled in (Qt wants forward slashes, even on Windows)."""
    return STYLE_SHEET.read_text(encoding="utf-8").replace("@RESOURCES@", RESOURCES.resolve().as_posix())


def repolish(widget) -> None:
    """Re-apply the style sheet after a dynamic property used by a selector changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()
