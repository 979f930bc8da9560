#!/usr/bin/env bash
# Set up a local virtualenv (.venv) with the runtime only, and dress the bundled example portrait.
#   ./run.sh                 set up (first time) and run one try-on -> out/example-tryon.png
#   ./run.sh --setup-only    only set up
#   ./run.sh --gpu           set up with ONNX Runtime's CUDA build (onnxruntime-gpu) in place of
#                            the CPU one (CUDA and cuDNN from NVIDIA pip packages), then run
#                            the try-on on the GPU (needs an NVIDIA driver recent enough for them)
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
if [ "${1:-}" = "--gpu" ]; then
  # onnxruntime and onnxruntime-gpu install the same `onnxruntime` module, so one replaces the
  # other (ONNX Runtime's install docs): this cannot be a pip extra of a package that needs
  # onnxruntime. The engine prefers CUDA whenever ONNX Runtime offers it.
  if ! .venv/bin/python -c "import onnxruntime as o, sys; sys.exit('CUDAExecutionProvider' not in o.get_available_providers())" 2>/dev/null; then
    .venv/bin/python -m pip uninstall -q -y onnxruntime
    .venv/bin/python -m pip install -q "onnxruntime-gpu[cuda,cudnn]>=1.20"
  fi
  .venv/bin/python -c "import onnxruntime as o; print('ONNX Runtime providers:', ', '.join(o.get_available_providers()))"
fi
[ "${1:-}" = "--setup-only" ] && exit 0

mkdir -p out
.venv/bin/vton tryon \
  --person assets/examples/portrait_1.png \
  --garment assets/examples/garment_upper_longsleeve.png \
  --category upper \
  -o out/example-tryon.png
echo "wrote out/example-tryon.png"
