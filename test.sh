#!/usr/bin/env bash
# The test command (README, CI): set up .venv with the runtime (./run.sh --setup-only), add the
# training and test extras (the CPU build of PyTorch first, so pip never pulls a CUDA build),
# then run pytest. Arguments go to pytest, e.g. ./test.sh tests/test_engine.py -x
set -euo pipefail
cd "$(dirname "$0")"
./run.sh --setup-only
if ! .venv/bin/python -c "import torch, transformers, diffusers, onnx, onnxscript, safetensors, yaml, pytest, pytestqt, importlinter, cryptography" 2>/dev/null; then
  # the CPU build of torch first, so the project's torch range is already satisfied
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[train,test]"
fi
exec .venv/bin/python -m pytest "$@"
