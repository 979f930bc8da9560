#!/usr/bin/env bash
# Set up a local virtualenv (.venv) and dress the bundled example portrait with the embedded model.
#   ./run.sh                 set up (first time) and run one try-on -> out/example-tryon.png
#   ./run.sh --setup-only    only set up
# Everything runs offline on the CPU; packages come from PyPI on the first run only.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import engine, models, app, torch, PySide6" 2>/dev/null; then
  .venv/bin/python -m pip install -q --upgrade pip
  # the CPU build of torch first, so the project's torch range is already satisfied
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[train,test]"
fi
[ "${1:-}" = "--setup-only" ] && exit 0

mkdir -p out
.venv/bin/vton tryon \
  --person assets/examples/portrait_1.png \
  --garment assets/examples/garment_upper_longsleeve.png \
  --category upper \
  -o out/example-tryon.png
echo "wrote out/example-tryon.png"
