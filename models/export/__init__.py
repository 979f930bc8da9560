import engine  # noqa: F401  (first: it switches ONNX Runtime's telemetry off before onnxruntime is imported)
