#!/usr/bin/env bash
# Set up a local virtualenv (.venv) with the runtime only, and dress the bundled example portrait.
#   ./run.sh                 set up (first time) and run one try-on -> out/example-tryon.png
#   ./run.sh --setup-only    only set up
# The runtime is numpy, Pillow, ONNX Runtime, PySide6, pyqtgraph and platformdirs: no PyTorch. Everything
# runs offline on the CPU; packages come from PyPI on the first run only. ./test.sh adds the
# training and test extras (CPU PyTorch) and runs the tests.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import engine, app, numpy, PIL, onnxruntime, platformdirs, PySide6, pyqtgraph" 2>/dev/null; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e .
fi
[ "${1:-}" = "--setup-only" ] && exit 0

mkdir -p out
.venv/bin/vton tryon \
  --person assets/examples/portrait_1.png \
  --garment assets/examples/garment_upper_longsleeve.png \
  --category upper \
  -o out/example-tryon.png
echo "wrote out/example-tryon.png"
