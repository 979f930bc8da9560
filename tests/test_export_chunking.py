"""The export-only feed-forward slicing (models/export/chunking.py): the same outputs as the
whole feed-forward, in torch and through ONNX Runtime, with no weight stored twice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.export.chunking import SlicedGEGLU, chunked_feed_forward, hidden_slices
from models.export.graphs import WRAPPERS, example_inputs, io_spec
from models.nets import build_student, get_config
from models.nets.layers import GEGLU

SLICE = 16 * 2**10  # tiny: the tiny config's layers (96 tokens x 128 hidden floats) in 3 slices


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    student = build_student(get_config("tiny")).eval()
    size = student.cfg.resolutions[0]
    wrapper = WRAPPERS["tryon_net"](student).eval()
    inputs = example_inputs(io_spec(student.cfg, "tryon_net", size))
    return student, wrapper, inputs


def test_hidden_slices_cover_the_hidden_units_within_the_budget():
    assert hidden_slices(1536, 1792, 12 * 2**20) == [(0, 1792)]  # fits whole: the graph is unchanged
    slices = hidden_slices(6144, 1792, 12 * 2**20)  # full at 1024x768, level 1
    assert slices == [(0, 448), (448, 896), (896, 1344), (1344, 1792)]
    for tokens, hidden, budget in [(6144, 1792, 12 * 2**20), (1536, 3584, 12 * 2**20), (97, 130, 5000), (5, 7, 1)]:
        slices = hidden_slices(tokens, hidden, budget)
        assert slices[0][0] == 0 and slices[-1][1] == hidden
        assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))
        assert all(tokens * (e - s) * 4 <= budget for s, e in slices) or all(e - s == 1 for s, e in slices)


def test_sliced_feed_forward_gives_the_same_outputs_and_is_put_back(tiny):
    student, wrapper, inputs = tiny
    with torch.no_grad():
        whole = wrapper(*inputs.values())
        with chunked_feed_forward(student, SLICE):
            ffs = [m for m in student.modules() if isinstance(m, GEGLU)]
            assert ffs and all(type(m) is SlicedGEGLU for m in ffs)
            sliced = wrapper(*inputs.values())
        assert all(type(m) is GEGLU and not hasattr(m, "slice_bytes") for m in ffs)
        again = wrapper(*inputs.values())
    torch.testing.assert_close(sliced, whole, rtol=0, atol=1e-5)
    assert torch.equal(again, whole)  # training's forward is untouched


def test_sliced_export_runs_in_onnx_runtime_with_the_same_result_and_weights(tiny, tmp_path):
    import onnx
    import onnxruntime as ort

    from models.export.onnx_export import export_graph, optimize_graph

    student, wrapper, inputs = tiny
    io = io_spec(student.cfg, "tryon_net", student.cfg.resolutions[0])
    with torch.no_grad():
        expected = wrapper(*inputs.values()).numpy()
    graphs = {}
    for name, budget in (("whole", None), ("sliced", SLICE)):
        with chunked_feed_forward(student, budget):
            export_graph(wrapper, inputs, list(io.outputs), tmp_path / f"{name}-raw.onnx")
        optimize_graph(tmp_path / f"{name}-raw.onnx", tmp_path / f"{name}.onnx")
        graphs[name] = onnx.load(str(tmp_path / f"{name}.onnx"))
        got = ort.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"]).run(
            None, {k: v.numpy() for k, v in inputs.items()})[0]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)

    def matmuls(model):
        return sum(n.op_type in ("MatMul", "Gemm") for n in model.graph.node)

    def weight_floats(model):  # float initializers (the int64 shapes of the extra Reshapes aside)
        return sum(int(np.prod(i.dims)) for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT)

    # the level-1 layers (96 tokens x 128 hidden floats) in 3 slices of (a, gate, out) instead of (proj, out)
    assert matmuls(graphs["sliced"]) - matmuls(graphs["whole"]) >= 3 * (9 - 2)
    # the slices are the weights cut apart, nothing stored twice (and no leftover whole copy)
    assert weight_floats(graphs["sliced"]) == weight_floats(graphs["whole"])
