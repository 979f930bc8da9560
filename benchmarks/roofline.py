"""This CPU's ceilings and a graph's arithmetic: the roofline of the engine's denoise step.

- ``cpu_peaks``: the machine's peak fp32 and int8 matrix throughput through ONNX Runtime's
  own kernels (a large fp32 ``MatMul`` and an int8 ``MatMulInteger``, u8 x s8 as the QDQ
  graphs use), on the threads the engine uses: what the best possible kernel reaches here.
- ``graph_flops``: the multiply-add work of an exported graph, counted from its static
  shapes (Conv, MatMul, Gemm; 2 FLOPs per multiply-add), split into what runs in int8
  (a QDQ node whose inputs come from DequantizeLinear) and what stays float.

``achieved / peak`` for a step = (int8 FLOPs / int8 peak + float FLOPs / fp32 peak) / the
measured step time: 1.0 would be every operation at the speed of the best matrix kernel.

    python benchmarks/roofline.py /work/bench/full-int8 --size 1024x768
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MATMUL_OPS = {"MatMul", "MatMulInteger", "QLinearMatMul", "Gemm", "FusedMatMul"}
CONV_OPS = {"Conv", "ConvInteger", "QLinearConv"}


def _session(model, threads: int | None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or 0
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _time(sess, feeds, repeats: int = 7) -> float:
    """The best of ``repeats`` runs: a peak is what the kernel can do, and on a shared machine
    the median swings with the neighbours' load (fp32 80-122 GFLOP/s here within minutes)."""
    sess.run(None, feeds)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t)
    return min(times)


def cpu_peaks(threads: int | None = None, n: int = 2048) -> dict[str, float]:
    """GFLOP/s of an n x n x n fp32 MatMul and int8 MatMulInteger through ONNX Runtime."""
    from onnx import TensorProto, helper

    out = {}
    for kind, a_type, b_type, op in (("fp32", TensorProto.FLOAT, TensorProto.FLOAT, "MatMul"),
                                     ("int8", TensorProto.UINT8, TensorProto.INT8, "MatMulInteger")):
        y_type = TensorProto.FLOAT if kind == "fp32" else TensorProto.INT32
        graph = helper.make_graph(
            [helper.make_node(op, ["a", "b"], ["y"])], kind,
            [helper.make_tensor_value_info("a", a_type, [n, n]), helper.make_tensor_value_info("b", b_type, [n, n])],
            [helper.make_tensor_value_info("y", y_type, [n, n])],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        rng = np.random.default_rng(0)
        if kind == "fp32":
            feeds = {"a": rng.standard_normal((n, n), np.float32), "b": rng.standard_normal((n, n), np.float32)}
        else:
            feeds = {"a": rng.integers(0, 255, (n, n), np.uint8), "b": rng.integers(-127, 127, (n, n), np.int8)}
        sess = _session(model, threads)
        seconds = _time(sess, feeds)
        out[kind] = 2 * n**3 / seconds / 1e9
    return out


def graph_flops(path: str | Path) -> dict[str, float]:
    """{"int8": FLOPs, "float": FLOPs, "nodes": {...}} of an ONNX graph with static shapes."""
    import onnx
    from onnx import shape_inference

    model = shape_inference.infer_shapes(onnx.load(str(path)))
    shapes = {}
    for vi in [*model.graph.value_info, *model.graph.input, *model.graph.output]:
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    producer = {o: node for node in model.graph.node for o in node.output}

    def quantised(node) -> bool:
        ins = [i for i in node.input[:2] if i]
        return all(producer.get(i) is not None and producer[i].op_type == "DequantizeLinear" for i in ins)

    totals = {"int8": 0.0, "float": 0.0}
    per_op: dict[str, float] = {}
    for node in model.graph.node:
        if node.op_type in CONV_OPS:
            w = shapes.get(node.input[3] if node.op_type == "QLinearConv" else node.input[1])
            y = shapes.get(node.output[0])
            if not w or not y or 0 in y:
                continue
            flops = 2.0 * np.prod(y) * (w[1] * np.prod(w[2:]))  # N*Cout*H*W x (Cin/groups)*kh*kw (w: Cout, Cin/g, kh, kw)
        elif node.op_type in MATMUL_OPS:
            a = shapes.get(node.input[0])
            y = shapes.get(node.output[0])
            if not a or not y or 0 in y or 0 in a:
                continue
            k = a[-1] if not (node.op_type == "Gemm" and any(x.name == "transA" and x.i for x in node.attribute)) \
                else a[-2]
            flops = 2.0 * np.prod(y) * k
        elif node.op_type == "MultiHeadAttention":  # ORT's fused attention: Q K^T, then P V
            q, kv = shapes.get(node.input[0]), shapes.get(node.input[1])
            if not q or not kv or len(q) != 3 or len(kv) != 3:
                continue
            flops = 4.0 * q[0] * q[1] * kv[1] * q[2]  # 2 x (B x Sq x Sk x C) multiply-adds
        else:
            continue
        kind = "int8" if node.op_type in ("MatMulInteger", "QLinearMatMul", "ConvInteger", "QLinearConv") \
            or (node.op_type != "MultiHeadAttention" and quantised(node)) else "float"  # ORT's attention: fp32
        totals[kind] += flops
        key = f"{node.op_type} ({kind})"
        per_op[key] = per_op.get(key, 0.0) + flops
    totals["by_op"] = per_op
    return totals


def roofline(flops: dict[str, float], peaks: dict[str, float], seconds: float) -> dict[str, float]:
    """The step's time at the machine's peak rates, against the measured time."""
    bound = flops["int8"] / (peaks["int8"] * 1e9) + flops["float"] / (peaks["fp32"] * 1e9)
    return {"gflop_int8": flops["int8"] / 1e9, "gflop_float": flops["float"] / 1e9,
            "seconds_at_peak": bound, "seconds": seconds, "achieved_over_peak": bound / seconds}


def main(argv=None) -> int:
    from engine.bundle import open_bundle, parse_size

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--size", type=parse_size)
    ap.add_argument("--graph", default="tryon_net")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args(argv)
    bundle = open_bundle(args.bundle)
    size = args.size or bundle.manifest.default_size
    peaks = cpu_peaks(args.threads)
    print(f"peak through ONNX Runtime: fp32 {peaks['fp32']:.0f} GFLOP/s, int8 {peaks['int8']:.0f} GOP/s")
    flops = graph_flops(bundle.file(size, args.graph))
    print(f"{args.graph} at {size[0]}x{size[1]}: {flops['int8'] / 1e9:.0f} GFLOP in int8, "
          f"{flops['float'] / 1e9:.0f} GFLOP in float")
    for op, f in sorted(flops["by_op"].items(), key=lambda kv: -kv[1]):
        print(f"  {op:<28} {f / 1e9:8.1f} GFLOP")
    return 0


if __name__ == "__main__":
    sys.exit(main())
