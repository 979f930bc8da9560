"""The Android target of the shared export module (DESIGN §5, issue 7).

A desktop bundle's ONNX graphs are converted, unchanged in content, to ONNX Runtime's ORT
format for ``onnxruntime-android``. The Android bundle holds:

- ``<same path>.ort`` for every graph (static shapes, checked against the manifest),
- ``required_operators.config``: the union of the operators of all graphs, the input of
  ONNX Runtime's reduced-operator ("minimal") build,
- ``mobile_usability.txt`` / ``.json``: ``check_onnx_model_mobile_usability``'s report on
  every source graph (can NNAPI / CoreML take them, are the shapes static),
- ``source_manifest.json``: the desktop manifest, byte for byte,
- ``manifest.json``: the same schema (``engine.bundle.Manifest``) with ``target: android``,
  ``files`` listing the ``.ort`` files, and an ``android`` section recording the sha256 of
  every source ONNX graph: the proof that desktop and Android run the same graphs.

Nothing here imports torch: converting an existing bundle needs only onnx + onnxruntime.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.bundle import MANIFEST, FileEntry, GraphSpec, Manifest, open_bundle, sha256_file
from engine.errors import BundleError, InputError, VtonError

SECTION = "android"
OPERATORS_CONFIG = "required_operators.config"
USABILITY_TEXT = "mobile_usability.txt"
USABILITY_JSON = "mobile_usability.json"
SOURCE_MANIFEST = "source_manifest.json"

# ORT optimisation style: Fixed, deliberately.
# - The app runs every graph on the CPU execution provider. Android deprecated NNAPI in
#   Android 15, and the usability report written beside the graphs says whether NNAPI/CoreML
#   could take them (for the UNets and the adapter: no, they split into many partitions).
#   "Runtime" style exists for compiling EPs that claim a set of nodes unknown at conversion
#   time; with the CPU EP nothing is unknown.
# - Fixed applies every optimisation (level "all": constant folding, Conv/MatMul fusions and
#   the QDQ -> QLinearConv/QLinearMatMul/QGemm fusions that make INT8 graphs run INT8 kernels)
#   once, here, and saves the result. The phone does no graph optimisation at session start,
#   and the reduced-ops build (which has no optimisers at all) runs exactly the optimised
#   graph that the tests below ran in Python.
# - target_platform "arm" keeps the NCHWc layout transformer (x86 AVX blocking) out of the
#   saved graph and sets session.qdqisint8allowed=1 as ARM's int8 kernels expect, so signed
#   int8 weights stay int8 instead of being shifted to uint8 as on x86.
# QDQ INT8 graphs stay INT8: ``convert_to_android`` refuses a converted int8 graph without
# quantized operators.
OPTIMIZATION_STYLE = "Fixed"
OPTIMIZATION_LEVEL = "all"
TARGET_PLATFORM = "arm"
QUANTIZED_OPS = frozenset({
    "QLinearConv", "QLinearMatMul", "QGemm", "QLinearAdd", "QLinearMul", "QLinearConcat", "QLinearSigmoid",
    "QLinearLeakyRelu", "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearSoftmax", "QLinearReduceMean",
    "QLinearWhere", "QAttention", "MatMulInteger", "ConvInteger", "MatMulIntegerToFloat", "DynamicQuantizeMatMul",
    "QuantizeLinear", "DequantizeLinear",
})
_INT8_COMPUTE_OPS = QUANTIZED_OPS - {"QuantizeLinear", "DequantizeLinear"}

Log = Callable[[str], None]


# -- reading ORT-format models ----------------------------------------------------------------
def ort_model_ops(path: str | Path) -> Counter:
    """Every operator of an ORT-format model (subgraphs included): ``{(domain, op, since_version): count}``.

    Reads the flatbuffer directly (``ai.onnx`` for the empty domain, as the operator config
    spells it), independently of the tool that writes ``required_operators.config``.
    """
    from onnxruntime.tools import ort_format_model  # noqa: F401  (puts the flatbuffer bindings on sys.path)
    from ort_flatbuffers_py import fbs

    buf = bytearray(Path(path).read_bytes())
    if not fbs.InferenceSession.InferenceSession.InferenceSessionBufferHasIdentifier(buf, 0):
        raise BundleError(path, "not an ORT-format model")
    ops: Counter = Counter()

    def walk(graph) -> None:
        for i in range(graph.NodesLength()):
            node = graph.Nodes(i)
            ops[(node.Domain().decode() or "ai.onnx", node.OpType().decode(), node.SinceVersion())] += 1
            for j in range(node.AttributesLength()):
                attr = node.Attributes(j)
                if attr.Type() == fbs.AttributeType.AttributeType.GRAPH:
                    walk(attr.G())
                elif attr.Type() == fbs.AttributeType.AttributeType.GRAPHS:
                    for k in range(attr.GraphsLength()):
                        walk(attr.Graphs(k))

    walk(fbs.InferenceSession.InferenceSession.GetRootAsInferenceSession(buf, 0).Model().Graph())
    return ops


def read_operators_config(path: str | Path) -> set[tuple[str, str, int]]:
    """Parse a ``required_operators.config`` (``domain;opset;Op1,Op2``) into ``{(domain, op, opset)}``."""
    entries = set()
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        domain, opset, ops = line.split(";")
        entries.update((domain, op.split("{")[0], int(opset)) for op in ops.split(",") if op)
    return entries


# -- the conversion ---------------------------------------------------------------------------
def _graph_files(manifest: Manifest) -> dict[str, GraphSpec]:
    """Each distinct graph file once (the adapter is shared by all resolutions)."""
    out: dict[str, GraphSpec] = {}
    for per_size in manifest.graphs.values():
        for spec in per_size.values():
            out.setdefault(spec.file, spec)
    return out


def ort_name(onnx_file: str) -> str:
    """'128x96/tryon_net.onnx' -> '128x96/tryon_net.ort' (the converter's naming for style Fixed, level all)."""
    if not onnx_file.endswith(".onnx"):
        raise ValueError(f"{onnx_file!r} is not an .onnx graph")
    return onnx_file[: -len(".onnx")] + ".ort"


def check_static_shapes(path: Path, spec: GraphSpec) -> None:
    """Every graph input/output has fixed dimensions equal to the manifest's: mobile graphs are static."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    want = {t.name: t.shape for t in (*spec.inputs, *spec.outputs)}
    for value in (*graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim
        shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
        if None in shape:
            raise BundleError(path, f"'{value.name}' has a dynamic shape {shape}: Android graphs must be static")
        if value.name not in want:
            raise BundleError(path, f"graph tensor '{value.name}' is not in the manifest")
        if shape != tuple(want[value.name]):
            raise BundleError(path, f"'{value.name}' is {list(shape)} in the graph but {list(want[value.name])} "
                                    "in the manifest")


def _convert_graphs(stage: Path, out: Path, log: Log) -> None:
    """Run ONNX Runtime's converter over the staged graphs; its chatter goes to ``log``."""
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    level_override = os.environ.get("ORT_CONVERT_ONNX_MODELS_TO_ORT_OPTIMIZATION_LEVEL", OPTIMIZATION_LEVEL)
    if level_override != OPTIMIZATION_LEVEL:  # the converter reads it and renames its output files
        raise VtonError(f"unset ORT_CONVERT_ONNX_MODELS_TO_ORT_OPTIMIZATION_LEVEL ({level_override!r}): "
                        f"Android bundles are optimised at level {OPTIMIZATION_LEVEL!r}")
    chatter = io.StringIO()
    tool_logger = logging.getLogger("ort_format_model.utils")
    level = tool_logger.level
    tool_logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(chatter):
            convert_onnx_models_to_ort(
                stage, output_dir=out, optimization_styles=[OptimizationStyle[OPTIMIZATION_STYLE]],
                target_platform=TARGET_PLATFORM,
            )
    except Exception as exc:  # the converter raises whatever ORT raised for the graph it was on
        raise VtonError(f"ORT-format conversion failed: {exc}") from None
    finally:
        tool_logger.setLevel(level)
        for line in chatter.getvalue().splitlines():
            if line.startswith("Converting optimized"):
                log("  " + line.replace(str(stage) + "/", "").replace(str(out) + "/", ""))
    # the converter writes absolute (temporary) paths into the config's header: keep them relative
    config = out / OPERATORS_CONFIG
    lines = [
        f"# - {Path(line[4:]).relative_to(out).as_posix()}" if line.startswith("# - /") else line
        for line in config.read_text().splitlines()
    ]
    config.write_text("\n".join(lines) + "\n")


_SUITABILITY = re.compile(r"Model should perform well with (.+?) as is: (\w+)")


def usability_report(path: Path, root: Path | None = None) -> tuple[str, dict]:
    """``check_onnx_model_mobile_usability``'s analysis of one ONNX graph: (log text, summary).

    Calls the function that tool's command line calls (``usability_checker.analyze_model``)
    with a private logger, so nothing is printed and the root logger is left alone.
    """
    from onnxruntime.tools.mobile_helpers import usability_checker

    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger(f"mobile_vton.usability.{path.stem}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = Collect()
    logger.addHandler(handler)
    try:
        try_eps = bool(usability_checker.analyze_model(path, skip_optimize=False, logger=logger))
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records).replace(str(root or path.parent) + "/", "")  # no temporary paths in the report
    summary = {
        "nnapi_or_coreml_worth_trying": try_eps,
        "suitability": dict(_SUITABILITY.findall(text)),
        "recommended_execution_provider": "NNAPI/CoreML worth a comparison" if try_eps else "CPU",
    }
    return text, summary


def _example_feeds(spec: GraphSpec, seed: int = 0) -> dict[str, np.ndarray]:
    """Valid random inputs from the manifest alone (as models/export/graphs.example_inputs)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for t in spec.inputs:
        if t.dtype == "int64":
            feeds[t.name] = np.zeros(t.shape, np.int64)
        elif t.name == "sigma":
            feeds[t.name] = np.full(t.shape, 0.75, np.float32)
        elif t.name in ("image", "garment"):
            feeds[t.name] = rng.uniform(-1, 1, t.shape).astype(np.float32)
        else:
            feeds[t.name] = rng.standard_normal(t.shape, dtype=np.float32)
    return feeds


def graph_parity(onnx_path: Path, ort_path: Path, spec: GraphSpec) -> dict[str, float]:
    """The converted graph against its source on the same random inputs (one thread: deterministic).

    ``max_abs_diff``: the .ort against the .onnx loaded with the optimisations the conversion
    applied (``TARGET_PLATFORM``'s session options): this isolates the conversion itself, and
    is 0 when it is lossless. ``desktop_session_max_abs_diff``: against the .onnx as the
    desktop engine loads it on this machine (x86 disallows int8 QDQ fusions, so some INT8
    ops run as different fused kernels); an INT8 graph may differ there by a requantisation
    step where a value sits on a rounding boundary.
    """
    import onnxruntime as ort

    def session(path: Path, as_converted: bool):
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        disabled = None
        if as_converted:
            opts.add_session_config_entry("session.qdqisint8allowed", "1" if TARGET_PLATFORM == "arm" else "0")
            disabled = ["NchwcTransformer"]
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"], disabled_optimizers=disabled)

    def max_diff(a: list, b: list) -> float:
        return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))

    feeds = _example_feeds(spec)
    converted = session(ort_path, False).run(None, feeds)
    source = session(onnx_path, True).run(None, feeds)
    desktop = session(onnx_path, False).run(None, feeds)
    ref = max(float(np.abs(x).max()) for x in source) or 1.0
    return {
        "max_abs_diff": max_diff(source, converted),
        "max_abs_ref": ref,
        "desktop_session_max_abs_diff": max_diff(desktop, converted),
    }


def convert_to_android(desktop_bundle: str | Path, out: str | Path, *, log: Log = print) -> Manifest:
    """Convert a verified desktop bundle (folder or .zip) into an Android bundle folder ``out``.

    ``out`` is created and must not exist or be empty. Returns the Android manifest, read
    back from disk and verified.
    """
    import onnxruntime as ort

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(out, "already exists and is not empty")
    source = open_bundle(desktop_bundle)  # verifies every source hash before anything is read
    manifest = source.manifest
    if manifest.target != "desktop":
        raise BundleError(source.path / MANIFEST, f"is a '{manifest.target}' bundle; convert a desktop bundle")
    graphs = _graph_files(manifest)
    for file, spec in graphs.items():
        if not file.endswith(".onnx"):
            raise BundleError(source.path / file, "is not an .onnx graph")
        check_static_shapes(source.path / file, spec)

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vton-android-", dir=out.parent) as tmp:
        stage, work = Path(tmp) / "onnx", Path(tmp) / "android"
        for file in graphs:  # only the manifest's graphs, never a stray .onnx lying beside them
            (stage / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source.path / file, stage / file)
        log(f"convert {len(graphs)} graphs to ORT format ({OPTIMIZATION_STYLE}, level {OPTIMIZATION_LEVEL}, "
            f"{TARGET_PLATFORM})")
        _convert_graphs(stage, work, log)

        converted = {file: ort_name(file) for file in graphs}
        files: dict[str, FileEntry] = {}
        ops_total: Counter = Counter()
        parity: dict[str, dict] = {}
        quantized: dict[str, int] = {}
        for file, target in sorted(converted.items()):
            path = work / target
            if not path.is_file():
                raise VtonError(f"ORT-format conversion wrote no {target}")
            ops = ort_model_ops(path)
            ops_total.update(ops)
            quantized[target] = sum(n for (_, op, _), n in ops.items() if op in _INT8_COMPUTE_OPS)
            if graphs[file].precision == "int8" and quantized[target] == 0:
                raise VtonError(f"{target}: the INT8 graph lost its quantized operators in conversion")
            files[target] = FileEntry(sha256_file(path), path.stat().st_size)
            parity[target] = graph_parity(stage / file, path, graphs[file])
            log(f"  {target}: {sum(ops.values())} nodes, {quantized[target]} int8 kernels, max |onnx - ort| = "
                f"{parity[target]['max_abs_diff']:.3g} (desktop session: {parity[target]['desktop_session_max_abs_diff']:.3g})")

        log("mobile usability report")
        texts, summaries = [], {}
        for file in graphs:
            text, summaries[file] = usability_report(stage / file, stage)
            texts.append(f"==== {file} ====\n{text}\n")
        (work / USABILITY_TEXT).write_text(
            "check_onnx_model_mobile_usability (onnxruntime.tools.mobile_helpers.usability_checker."
            f"analyze_model), onnxruntime {ort.__version__}\n\n" + "\n".join(texts)
        )
        (work / USABILITY_JSON).write_text(json.dumps(summaries, indent=2) + "\n")
        shutil.copy2(source.path / MANIFEST, work / SOURCE_MANIFEST)

        section = {
            "source": {
                "name": manifest.name,
                "target": manifest.target,
                "manifest": SOURCE_MANIFEST,
                "manifest_sha256": sha256_file(work / SOURCE_MANIFEST),
            },
            # graph file -> sha256 of the ONNX graph each .ort was converted from; these are the
            # desktop manifest's own "files" hashes, so both targets provably run the same graphs
            "source_graphs": {file: manifest.files[file].sha256 for file in sorted(graphs)},
            "converted_from": {converted[file]: file for file in sorted(graphs)},
            "ort_format": {
                "onnxruntime": ort.__version__,
                "note": "ORT-format models load in onnxruntime-android of this version or newer",
            },
            "optimization": {
                "style": OPTIMIZATION_STYLE,
                "level": OPTIMIZATION_LEVEL,
                "target_platform": TARGET_PLATFORM,
                "qdq_is_int8_allowed": TARGET_PLATFORM == "arm",
                "disabled_optimizers": ["NchwcTransformer"],
                "execution_provider": "CPU",
                "int8_kernels": quantized,
            },
            "required_operators": {
                "file": OPERATORS_CONFIG,
                "sha256": sha256_file(work / OPERATORS_CONFIG),
                "operators": len({(d, op) for d, op, _ in ops_total}),
            },
            "usability_report": {"text": USABILITY_TEXT, "json": USABILITY_JSON, "summary": summaries},
            "parity_vs_source": parity,
        }
        extra = {k: v for k, v in manifest.extra.items() if k != SECTION}
        extra[SECTION] = section
        android = replace(
            manifest,
            target="android",
            graphs={
                size: {name: replace(spec, file=converted[spec.file]) for name, spec in per_size.items()}
                for size, per_size in manifest.graphs.items()
            },
            files=files,
            extra=extra,
        )
        android.write(work)
        out.mkdir(parents=True, exist_ok=True)
        for item in work.iterdir():
            shutil.move(str(item), out / item.name)
    result = open_bundle(out).manifest  # verifies every hash just written
    log(f"Android bundle written to {out} ({sum(f.bytes for f in result.files.values()) / 2**20:.1f} MiB)")
    return result


# -- command line -----------------------------------------------------------------------------
