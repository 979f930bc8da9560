#!/usr/bin/env bash
# Build the frozen desktop app (Linux; see README.md here for Windows/macOS).
#   packaging/desktop/build.sh      -> build/desktop/dist/mobile-vton-studio/mobile-vton-studio
# Uses its own virtualenv with the runtime packages only (no torch), so the app stays small.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3}
VENV=build/desktop/venv
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "pyinstaller>=6.5" .
"$VENV/bin/python" -m PyInstaller --noconfirm --clean \
  --distpath build/desktop/dist --workpath build/desktop/work \
  packaging/desktop/mobile-vton-studio.spec
echo "built build/desktop/dist/mobile-vton-studio/ ($(du -sh build/desktop/dist/mobile-vton-studio | cut -f1))"
