"""INT8 static QDQ quantisation with ONNX Runtime's own quantiser (DESIGN §5).

Calibration feeds are recorded from real fp32 runs of the pipeline over many sigmas.
Left in float: attention MatMuls whose second input is an activation (QK^T, AV), norms
(never in the quantised op types), the first and last convolutions of every graph and the
time embedding.

``onnxruntime.quantization`` is called directly: its MinMax calibrator, then its
``QDQQuantizer`` with the settings optimum's ``ORTQuantizer`` passed it before (optimum was
a thin wrapper around these two calls, and it pins ``transformers < 4.58``, which kept the
export off the GPU machines, whose image has transformers 5). The graphs it writes are the
same, node for node and byte for byte (checked when the switch was made, see the commit).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import QuantType
from onnxruntime.quantization.calibrate import CalibrationDataReader, MinMaxCalibrater
from onnxruntime.quantization.qdq_quantizer import QDQQuantizer

QUANTIZED_OPS = ["Conv", "MatMul", "Gemm"]

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


class _Feeds(CalibrationDataReader):
    """The recorded feeds, one run each (batch axis included, as the graphs take them)."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


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
        calibrator = _PriorityOrderMinMax(
            str(work / "model.onnx"), op_types_to_calibrate=QUANTIZED_OPS,
            augmented_model_path=str(work / "augmented.onnx"), symmetric=False,
        )
        calibrator.augment_graph()
        calibrator.create_inference_session()
        # One run at a time: ORT folds each run's min/max into the running range, instead of
        # keeping every activation of every run (GBs per run for `full` at 1024x768).
        for feed in feeds:
            calibrator.collect_data(_Feeds([feed]))
        ranges = calibrator.compute_data()
        del calibrator  # its session holds the augmented graph
        quantizer = QDQQuantizer(
            onnx.load(str(work / "model.onnx")),
            per_channel=True,
            reduce_range=False,
            weight_qType=QuantType.QInt8,  # symmetric per output channel
            activation_qType=QuantType.QUInt8,  # asymmetric
            tensors_range=ranges,
            nodes_to_quantize=[],
            nodes_to_exclude=keep_float,
            op_types_to_quantize=QUANTIZED_OPS,
            extra_options={
                "WeightSymmetric": True,
                "ActivationSymmetric": False,
                "EnableSubgraph": False,
                "ForceSymmetric": False,
                "AddQDQPairToWeight": False,
                "DedicatedQDQPair": False,
                "QDQOpTypePerChannelSupportToAxis": {"MatMul": 1},
            },
        )
        quantizer.quantize_model()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        quantizer.model.save_model_to_file(str(out_path))
    return {
        "calibration_runs": len(feeds),
        "quantized_nodes": len(quantizable) - len(keep_float),
        "float_nodes": len(keep_float),
    }
