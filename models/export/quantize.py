"""INT8 static QDQ quantisation through optimum's ``ORTQuantizer`` (DESIGN §5).

Calibration feeds are recorded from real fp32 runs of the pipeline over many sigmas.
Left in float: attention MatMuls whose second input is an activation (QK^T, AV), norms
(never in the quantised op types), the first and last convolutions of every graph and the
time embedding.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
from onnxruntime.quantization.calibrate import MinMaxCalibrater
from optimum.onnxruntime import ORTQuantizer
from optimum.onnxruntime.configuration import CalibrationConfig, QuantizationConfig

QUANTIZED_OPS = ["Conv", "MatMul", "Gemm"]

# optimum warns that our graphs have no transformers config beside them; they never will.
logging.getLogger("optimum.onnxruntime.quantization").setLevel(logging.ERROR)

# Module-name patterns (node names carry their module path, see onnx_export.name_nodes_by_scope)
FLOAT_SCOPES = (
    r"sigma_embed",  # the time embedding (sinusoid -> MLP); the per-block projections of it
    # (temb_proj) are ordinary linears and are quantised: in float they were 10% of the graph
    r"(^|\.)conv_in(/|$)",
    r"(^|\.)conv_out(/|$)",
    r"(^|\.)norm",
    r"\.embeddings\.patch_embeddings",  # DINOv2's first convolution
)


class _PriorityOrderMinMax(MinMaxCalibrater):
    """ORT's MinMax calibrator, run with priority-based execution order.

    The calibrator adds ReduceMin/ReduceMax after every calibrated tensor. In ORT's default
    order most of the graph runs before those reductions, holding every activation at once:
    16 GB for ``full``'s TryonNet at 1024x768 (measured). Priority-based order reduces each
    tensor as soon as it exists: 2.5 GB, and 2.5x faster.
    """

    def create_inference_session(self):
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.execution_order = ort.ExecutionOrder.PRIORITY_BASED
        self.infer_session = ort.InferenceSession(
            self.augmented_model_path, sess_options=opts, providers=self.execution_providers
        )


class _Calibration(CalibrationConfig):
    """optimum's MinMax calibration config, creating the calibrator above."""

    def create_calibrator(self, onnx_model_path, operators_to_quantize, use_external_data_format=False,
                          force_symmetric_range=False, augmented_model_name="augmented_model.onnx"):
        calibrator = _PriorityOrderMinMax(
            str(onnx_model_path), op_types_to_calibrate=operators_to_quantize or [],
            augmented_model_path=str(augmented_model_name), symmetric=force_symmetric_range,
            use_external_data_format=use_external_data_format,
        )
        calibrator.augment_graph()
        calibrator.create_inference_session()
        return calibrator


def float_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of quantisable nodes that must stay in float (see module docstring)."""
    initializers = {i.name for i in model.graph.initializer}
    produced_by_constant = {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    weights = initializers | produced_by_constant
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    keep = set()
    if convs:  # the first and last convolution of the graph (conv_in/conv_out, VAE ends)
        keep.add(convs[0].name)
        keep.add(convs[-1].name)
    pattern = re.compile("|".join(FLOAT_SCOPES))
    for node in model.graph.node:
        if node.op_type not in QUANTIZED_OPS:
            continue
        if node.op_type == "MatMul" and len(node.input) > 1 and node.input[1] not in weights:
            keep.add(node.name)  # activation x activation (attention scores, attention x values)
        elif pattern.search(node.name.split("/")[0]):
            keep.add(node.name)
    return sorted(keep)


def quantize_graph(fp32_path: str | Path, feeds: list[dict[str, np.ndarray]], out_path: str | Path) -> dict:
    """Calibrate on ``feeds`` and write the INT8 QDQ graph to ``out_path``. Returns a summary."""
    fp32_path, out_path = Path(fp32_path), Path(out_path)
    if not feeds:
        raise ValueError(f"no calibration data for {fp32_path.name}")
    model = onnx.load(str(fp32_path), load_external_data=False)
    keep_float = float_nodes(model)
    quantizable = [n.name for n in model.graph.node if n.op_type in QUANTIZED_OPS]
    with tempfile.TemporaryDirectory(prefix="vton-quant-") as tmp:
        work = Path(tmp)
        shutil.copy(fp32_path, work / "model.onnx")
        quantizer = ORTQuantizer.from_pretrained(work, file_name="model.onnx")
        calibration = _Calibration(
            dataset_name="mobile-vton-trajectories",
            dataset_config_name="fp32-pipeline",
            dataset_split="calibration",
            dataset_num_samples=len(feeds),
            method=CalibrationMethod.MinMax,
            moving_average=False,
        )
        # One run at a time: ORT folds each run's min/max into the running range, instead of
        # keeping every activation of every run (GBs per run for `full` at 1024x768). Later
        # calls pass method=None so optimum reuses the calibrator rather than making a new one.
        again = dataclasses.replace(calibration, method=None)
        for i, feed in enumerate(feeds):
            quantizer.partial_fit(
                dataset=[{k: v[0] for k, v in feed.items()}],  # the reader adds the batch axis back
                calibration_config=calibration if i == 0 else again,
                onnx_augmented_model_name=work / "augmented.onnx",
                operators_to_quantize=QUANTIZED_OPS,
            )
        ranges = quantizer.compute_ranges()
        config = QuantizationConfig(
            is_static=True,
            format=QuantFormat.QDQ,
            activations_dtype=QuantType.QUInt8,
            activations_symmetric=False,
            weights_dtype=QuantType.QInt8,
            weights_symmetric=True,
            per_channel=True,
            reduce_range=False,
            nodes_to_exclude=keep_float,
            operators_to_quantize=QUANTIZED_OPS,
        )
        quantizer.quantize(config, work / "out", file_suffix="int8", calibration_tensors_range=ranges)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(work / "out" / "model_int8.onnx"), out_path)
    return {
        "calibration_runs": len(feeds),
        "quantized_nodes": len(quantizable) - len(keep_float),
        "float_nodes": len(keep_float),
    }
