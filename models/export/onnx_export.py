"""torch -> ONNX for one graph: dynamo exporter (TorchScript only if dynamo fails), then ORT's
portable (basic-level) graph optimisation, with node names that say which module they came from.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import onnx
import torch

log = logging.getLogger(__name__)

OPSET = 18  # <= 20 (DESIGN §5); 18 has LayerNormalization and is well covered by ORT Mobile


def _scope(node: onnx.NodeProto) -> str:
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            scopes = [s.strip(" '\"") for s in prop.value.strip("[]").split(",")]
            scopes = [s for s in scopes if s]
            if scopes:
                return scopes[-1] if len(scopes) < 2 else scopes[-2]
    return ""


def name_nodes_by_scope(model: onnx.ModelProto) -> None:
    """Rename nodes to ``<module path>/<op>_<i>`` so quantisation rules can match module names."""
    seen: dict[str, int] = {}
    for node in model.graph.node:
        scope = _scope(node) or "graph"
        base = f"{scope}/{node.op_type}"
        seen[base] = seen.get(base, 0) + 1
        node.name = f"{base}_{seen[base]}"


def export_graph(
    module: torch.nn.Module,
    inputs: dict[str, torch.Tensor],
    output_names: list[str],
    path: str | Path,
    opset: int = OPSET,
) -> str:
    """Export ``module`` called with ``inputs`` (in order) to ``path``. Returns the exporter used."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    args = tuple(inputs.values())
    module.eval()
    exporter = "dynamo"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module, args, str(path), input_names=list(inputs), output_names=output_names,
                opset_version=opset, dynamo=True, external_data=False, verbose=False,
            )
        except Exception as exc:  # the dynamo exporter is preferred; TorchScript is the fallback
            log.warning("dynamo export of %s failed (%s); using the TorchScript exporter", path.name, exc)
            exporter = "torchscript"
            torch.onnx.export(
                module, args, str(path), input_names=list(inputs), output_names=output_names,
                opset_version=opset, dynamo=False,
            )
    model = onnx.load(str(path))
    name_nodes_by_scope(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return exporter


def optimize_graph(src: str | Path, dst: str | Path) -> None:
    """ORT basic-level optimisation (constant folding, redundant nodes): portable to ORT Mobile.

    Hardware-specific fusions happen at session creation (ORT_ENABLE_ALL) on each device.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(dst)
    opts.log_severity_level = 3
    ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])
    model = onnx.load(str(dst))
    onnx.checker.check_model(model)
