"""``vton-studio``: start the desktop app, or render it to a PNG (``--screenshot``).

Screenshot mode runs offscreen and can preload state so pictures are reproducible::

    vton-studio --screenshot ws.png --bundle B --person P --garment G --run
    vton-studio --screenshot board.png --bundle B --person P --board G1 G2 G3 --page board
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from engine.paths import private_mkdir
from engine.request import CATEGORIES

PAGES = ("tryon", "board", "history", "settings", "dev")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vton-studio", description="Mobile-VTON Studio: private, offline virtual try-on.")
    p.add_argument("--dev", action="store_true", help="show the developer tabs (also a setting)")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="use DIR as the user data dir (history, models, settings)")
    p.add_argument("--bundle", type=Path, metavar="PATH", help="use this model bundle for this session (not saved)")
    g = p.add_argument_group("screenshot mode (renders offscreen, writes a PNG and exits)")
    g.add_argument("--screenshot", type=Path, metavar="PNG", help="render the main window to PNG and exit")
    g.add_argument("--person", type=Path, metavar="IMG", help="preload this portrait")
    g.add_argument("--garment", type=Path, metavar="IMG", help="preload this garment")
    g.add_argument("--category", choices=CATEGORIES, help="garment category (default: guessed)")
    g.add_argument("--example", action="store_true", help="preload the first bundled example")
    g.add_argument("--run", action="store_true", help="run the try-on and wait for the result before capturing")
    g.add_argument("--board", nargs="+", type=Path, metavar="IMG", help="put these garments on the board (with --person)")
    g.add_argument("--pin", action="store_true", help="pin the workspace result to the board (with --run)")
    g.add_argument("--page", choices=PAGES, help="page to show")
    g.add_argument("--size", default="1320x860", metavar="WxH", help="window size (default 1320x860)")
    g.add_argument("--timeout", type=float, default=180.0, help="give up waiting after this many seconds")
    return p


def _window_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        return w, h
    except ValueError:
        raise SystemExit(f"vton-studio: --size must look like 1320x860, not {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.data_dir is not None:
        try:
            private_mkdir(args.data_dir)
        except OSError as exc:
            print(f"vton-studio: error: {args.data_dir}: cannot be used as the data folder "
                  f"({exc.strerror or exc})", file=sys.stderr)
            return 2
        os.environ["MOBILE_VTON_HOME"] = str(args.data_dir.resolve())
    elif args.screenshot is not None and "MOBILE_VTON_HOME" not in os.environ:
        # a screenshot must not depend on (or write into) the user's own history and settings
        os.environ["MOBILE_VTON_HOME"] = tempfile.mkdtemp(prefix="vton-studio-shot-")

    from .system_libs import install_hint, missing_libraries

    missing = missing_libraries()
    if missing:  # say what to install in one line instead of letting Qt abort
        print(f"vton-studio: error: {install_hint(missing)}", file=sys.stderr)
        return 2

    # Qt is imported only now, after the platform and data dir are settled
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .session import StudioSession
    from .theme import apply_theme

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Mobile-VTON Studio")
    app.setApplicationDisplayName("Mobile-VTON Studio")
    app.setDesktopFileName("mobile-vton-studio")
    apply_theme(app)

    session = StudioSession(bundle_override=args.bundle)
    window = MainWindow(session, dev=args.dev)
    window.resize(*_window_size(args.size))
    preload(window, args)
    if args.page:
        window.show_page(args.page)
    if args.screenshot is not None:
        from .screenshot import Screenshotter

        shot = Screenshotter(window, args.screenshot, wait_result=args.run, wait_board=bool(args.board),
                             pin=args.pin, timeout=args.timeout)
        window.show()
        shot.start()
        code = app.exec()
        window.shutdown()
        return code or shot.exit_code
    window.show()
    code = app.exec()
    window.shutdown()
    return code


def preload(window, args) -> None:
    """Apply --person/--garment/--example/--board (screenshots, demos)."""
    ws = window.workspace
    if args.example:
        ws.load_example()
    if args.person:
        ws.open_paths("person", [args.person])
    if args.garment:
        ws.open_paths("garment", [args.garment])
    if args.category:
        ws.set_category(args.category)
    if args.board:
        if args.person:
            window.board.set_portrait([args.person])
        window.board.add_garments(args.board, args.category)


if __name__ == "__main__":
    sys.exit(main())
