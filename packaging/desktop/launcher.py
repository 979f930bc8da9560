"""Entry point of the frozen desktop app (PyInstaller runs this file)."""

import sys

from app.studio.main import main

if __name__ == "__main__":
    sys.exit(main())
