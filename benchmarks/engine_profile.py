"""Where one graph's time goes, per operator: ONNX Runtime's profiler over one run
(a benchmark, never a test)::

    python benchmarks/engine_profile.py /work/bench/full-int8 --size 1024x768 --graph tryon_net

Runs the graph once to warm up, then once with ``enable_profiling``, with the engine's own
session options (engine.pipeline). Feeds are random tensors of the manifest's shapes (time
does not depend on the values). Prints the time per operator type (the node's op as ORT
ran it after its graph optimisations, so fused ops show under their fused names), the
share of the run, and the slowest nodes; ``--json`` keeps the summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DTYPES = {"float32": np.float32, "int64": np.int64, "uint8": np.uint8, "float16": np.float16}


def random_feeds(spec) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds = {}
    for t in spec.inputs:
        dtype = DTYPES[t.dtype]
        if dtype == np.int64:
            feeds[t.name] = np.zeros(t.shape, np.int64)
        elif t.name == "sigma":
            feeds[t.name] = np.full(t.shape, 0.5, np.float32)
        else:
            feeds[t.name] = rng.standard_normal(t.shape).astype(dtype)
    return feeds


def profile(bundle_path: Path, size, graph: str, threads: int | None, options=None) -> dict:
    import onnxruntime as ort

    from engine.bundle import open_bundle, read_verified

    bundle = open_bundle(bundle_path)
    spec = bundle.manifest.graph(size, graph)
    data = read_verified(bundle, spec.file)
    feeds = random_feeds(spec)
    with tempfile.TemporaryDirectory(prefix="vton-profile-") as tmp:
        opts = options or ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or 0
        opts.inter_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.enable_mem_pattern = False
        opts.log_severity_level = 3
        sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        sess.run(None, feeds)  # warm-up
        opts.enable_profiling = True
        opts.profile_file_prefix = str(Path(tmp) / "profile")
        prof = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        prof.run(None, feeds)  # the profiled session's own first run pays its one-off costs
        t = time.perf_counter()
        prof.run(None, feeds)
        wall = time.perf_counter() - t
        events = json.loads(Path(prof.end_profiling()).read_text())
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    last = runs[-1]
    start, end = last["ts"], last["ts"] + last["dur"]
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")
             and start <= e["ts"] <= end]
    by_op: dict[str, float] = defaultdict(float)
    for e in nodes:
        by_op[e["args"].get("op_name", "?")] += e["dur"] / 1e6
    total = sum(by_op.values())
    slowest = sorted(nodes, key=lambda e: -e["dur"])[:15]
    return {
        "graph": graph, "size": f"{size[0]}x{size[1]}", "wall_s": wall, "kernel_s": total,
        "by_op": dict(sorted(by_op.items(), key=lambda kv: -kv[1])),
        "slowest": [{"node": e["name"].removesuffix("_kernel_time"), "op": e["args"].get("op_name"),
                     "s": e["dur"] / 1e6} for e in slowest],
    }


def main(argv=None) -> int:
    from engine.bundle import parse_size

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--size", type=parse_size, required=True)
    ap.add_argument("--graph", default="tryon_net")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    r = profile(args.bundle, args.size, args.graph, args.threads)
    print(f"{r['graph']} at {r['size']}: {r['wall_s']:.2f} s wall, {r['kernel_s']:.2f} s in kernels")
    for op, s in list(r["by_op"].items())[:20]:
        print(f"  {op:<28} {s:7.3f} s  {100 * s / r['kernel_s']:5.1f}%")
    print("slowest nodes:")
    for n in r["slowest"]:
        print(f"  {n['s']:7.3f} s  {n['op']:<20} {n['node'][:90]}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
