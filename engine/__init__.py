"""Inference only: numpy, Pillow, ONNX Runtime (no Qt, no torch).

ONNX Runtime 1.32 carries Microsoft's telemetry client (1DS): a few seconds after the first
session it looks up ``mobile.events.data.microsoft.com``. It reads ``ORT_DISABLE_TELEMETRY``
once, when ``onnxruntime`` is imported (``disable_telemetry_events()`` does not stop it), so
it is set here, before anything in the engine imports onnxruntime. Every entry point (the
``vton`` CLI, the studio) imports the engine first. ``tests/test_offline.py`` keeps a process
alive long enough to catch it.
"""

import os as _os

_os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # offline means offline: not even a DNS lookup
