"""The shared export module's driver: student -> ONNX (fp32) -> INT8 -> bundle + parity.

Desktop and Android bundles come from the same exported graphs (DESIGN §5). Parity is
measured on every export and written into the manifest: torch vs ONNX fp32 per graph
(max abs diff) and, for INT8, INT8 vs fp32 end to end (PSNR on held-out samples).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import json
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from engine.bundle import FileEntry, GraphSpec, Manifest, TensorSpec, open_bundle, sha256_file, size_key
from engine.pipeline import TryOnPipeline
from engine.request import TryOnRequest

from ..nets.layers import use_ort_attention
from ..nets.student import Student
from .chunking import chunked_feed_forward
from .graphs import GRAPH_NAMES, WRAPPERS, example_inputs, io_spec
from .onnx_export import OPSET, export_graph, optimize_graph
from .quantize import quantize_graph

LICENSE = "Apache-2.0. Weights trained by the Mobile-VTON Studio project on its own synthetic data."


@dataclass(frozen=True)
class ExampleInput:
    """A portrait/garment pair for calibration and parity (RGB uint8 arrays)."""

    person: np.ndarray
    garment: np.ndarray
    category: str


Log = Callable[[str], None]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _graph_file(name: str, size: tuple[int, int]) -> str:
    # The adapter sees a fixed-size garment crop, so one file serves every resolution.
    return "adapter.onnx" if name == "adapter" else f"{size_key(size)}/{name}.onnx"


def _specs(student: Student, name: str, size, precision: str, file: str) -> GraphSpec:
    io = io_spec(student.cfg, name, size)
    dtype = {torch.float32: "float32", torch.int64: "int64"}
    return GraphSpec(
        file=file,
        precision=precision,
        inputs=tuple(TensorSpec(n, s, dtype[d]) for n, (s, d) in io.inputs.items()),
        outputs=tuple(TensorSpec(n, s) for n, s in io.outputs.items()),
    )


def export_fp32_graphs(student: Student, sizes, folder: Path, log: Log) -> tuple[dict, dict]:
    """Export and optimise every graph at every size. Returns (torch-vs-onnx parity, exporters)."""
    parity: dict[str, dict[str, float]] = {}
    exporters: dict[str, str] = {}
    raw = folder / "raw"
    for size in sizes:
        for name in GRAPH_NAMES:
            file = _graph_file(name, size)
            if (folder / file).exists():
                continue
            io = io_spec(student.cfg, name, size)
            inputs = example_inputs(io)
            module = WRAPPERS[name](student).eval()
            log(f"export {file}")
            exporters[file] = export_graph(module, inputs, list(io.outputs), raw / file, OPSET)
            (folder / file).parent.mkdir(parents=True, exist_ok=True)
            optimize_graph(raw / file, folder / file)
            parity[file] = graph_parity(module, inputs, folder / file)
    shutil.rmtree(raw, ignore_errors=True)
    return parity, exporters


def graph_parity(module: torch.nn.Module, inputs: dict[str, torch.Tensor], path: Path) -> dict[str, float]:
    """torch vs ONNX Runtime (fp32) on the same inputs: max abs diff and its ratio to max |torch|."""
    with torch.no_grad():
        ref = module(*inputs.values())
    refs = [r.numpy() for r in (ref if isinstance(ref, tuple) else (ref,))]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {k: v.numpy() for k, v in inputs.items()})
    diff = max(float(np.abs(a - b).max()) for a, b in zip(refs, outs, strict=True))
    scale = max(float(np.abs(a).max()) for a in refs) or 1.0
    return {"max_abs_diff": diff, "max_abs_ref": scale, "relative": diff / scale}


def _write_manifest(
    student: Student, folder: Path, sizes, precision: str, name: str, garment_features: str,
    trained: bool, parity: dict, provenance: dict, target: str = "desktop", extra: dict | None = None,
) -> Manifest:
    cfg = student.cfg
    graphs = {}
    files = {}
    for size in sizes:
        graphs[size_key(size)] = {}
        for g in GRAPH_NAMES:
            file = _graph_file(g, size)
            graphs[size_key(size)][g] = _specs(student, g, size, precision, file)
            path = folder / file
            files[file] = FileEntry(sha256_file(path), path.stat().st_size)
    manifest = Manifest(
        name=name,
        config_name=cfg.name,
        config=cfg.to_dict(),
        trained=trained,
        target=target,
        resolutions=tuple(tuple(s) for s in sizes),
        graphs=graphs,
        files=files,
        sampler={"kind": "renoise", "sigmas": list(cfg.sigmas)},
        garment_features=garment_features,
        preprocess={
            "pixel_range": [-1.0, 1.0],
            "layout": "NCHW RGB",
            "fit": "resize to fit, keep aspect, pad by edge replication; result cropped and resized back",
            "adapter_size": cfg.adapter.dino.image_size,
            "adapter_fit": "letterbox onto white square",
            "vae_factor": 8,
            "latent_channels": cfg.unet.latent_channels,
            "latent_concat": cfg.latent_concat,
            "decode": "top half of x0" if cfg.latent_concat else "x0",
            "garment_sigma": "first sampler sigma (cached mode)",
        },
        categories=tuple(cfg.categories),
        parity=parity,
        provenance=provenance,
        license=LICENSE,
        extra=extra or {},
    )
    manifest.write(folder)
    return manifest


class RecordingPipeline(TryOnPipeline):
    """A pipeline that keeps a copy of every graph's inputs: the calibration feeds."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.feeds: dict[str, list[dict[str, np.ndarray]]] = {}

    def _run(self, size, graph, feeds):
        file = self.manifest.graph(size, graph).file
        self.feeds.setdefault(file, []).append({k: np.array(v, copy=True) for k, v in feeds.items()})
        return super()._run(size, graph, feeds)


def _run_examples(pipeline: TryOnPipeline, examples: Sequence[ExampleInput], size, steps_cycle, mode, seed=0):
    outputs = []
    for i, ex in enumerate(examples):
        req = TryOnRequest(
            person="<array>", garment="<array>", category=ex.category, steps=steps_cycle[i % len(steps_cycle)],
            seed=seed + i, size=size, garment_features=mode, restore=False,
        )
        outputs.append(pipeline.run(req, person=ex.person, garment=ex.garment).image)
    return outputs


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def export_bundle(
    student: Student,
    out: str | Path,
    *,
    sizes: Sequence[tuple[int, int]] | None = None,
    int8: bool = False,
    calibration: Sequence[ExampleInput] = (),
    held_out: Sequence[ExampleInput] = (),
    garment_features: str = "cached",
    trained: bool = False,
    name: str | None = None,
    provenance: dict | None = None,
    top_attention: bool | None = None,
    ffn_slice_bytes: int | None = None,
    log: Log = print,
) -> Manifest:
    """Export ``student`` to a verified bundle folder ``out`` (created; must not exist or be empty).

    ``ffn_slice_bytes``: export the feed-forward layers in hidden-unit slices of at most this
    many bytes per activation (models.export.chunking); ``None`` (the default) keeps them whole:
    measured, the slices lower no try-on's peak once the engine runs without ORT's buffer reuse
    (docs/benchmarks.md, issue 17)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: already exists and is not empty")
    sizes = [tuple(s) for s in (sizes or student.cfg.resolutions)]
    params = list(student.parameters())
    if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in params):
        # a private float32 CPU copy: exporting never moves or changes the caller's (training) model
        student = copy.deepcopy(student).float().cpu()
    was_training = student.training
    student.eval()
    use_ort_attention(student, True)
    provenance = {"feed_forward": "whole" if ffn_slice_bytes is None else
                  f"hidden-unit slices of at most {ffn_slice_bytes / 2**20:g} MiB per activation",
                  **(provenance or {})}
    try:
        with chunked_feed_forward(student, ffn_slice_bytes):
            return _export(student, out, sizes, int8, calibration, held_out, garment_features, trained, name,
                           provenance, log)
    finally:  # the caller's model comes back as it was
        use_ort_attention(student, False)
        student.train(was_training)


def _export(student, out, sizes, int8, calibration, held_out, garment_features, trained, name, provenance,
            log) -> Manifest:
    precision = "int8" if int8 else "fp32"
    name = name or f"{student.cfg.name}-{precision}"
    prov = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "opset": OPSET,
        "attention": "com.microsoft.MultiHeadAttention",
        "machine": platform.platform(),
        "parameters": student.parameter_counts(),
    }
    prov.update(provenance or {})

    with tempfile.TemporaryDirectory(prefix="vton-export-", dir=out.parent if out.parent.exists() else None) as tmp:
        work = Path(tmp)
        fp32 = work / "fp32"
        graph_parity_, exporters = export_fp32_graphs(student, sizes, fp32, log)
        prov["exporter"] = exporters
        parity = {"torch_vs_onnx_fp32": graph_parity_}
        fp32_manifest = _write_manifest(
            student, fp32, sizes, "fp32", name, garment_features, trained, parity, prov
        )
        final = fp32
        if int8:
            if not calibration:
                raise ValueError("INT8 export needs calibration samples")
            int8_dir = work / "int8"
            fp32_bundle = open_bundle(fp32)
            feeds: dict[str, list] = {}
            for size in sizes:
                rec = RecordingPipeline(fp32_bundle)
                log(f"calibrate at {size_key(size)} on {len(calibration)} samples")
                # per-step garment features and several step counts: activations over many sigmas
                _run_examples(rec, calibration, size, (4, 8, 2, 6), "per_step", seed=1000)
                for file, items in rec.feeds.items():
                    feeds.setdefault(file, []).extend(items)
                del rec  # free the fp32 sessions before the next size / the quantiser
            quant = {}
            for file in sorted(feeds):
                log(f"quantize {file} ({len(feeds[file])} calibration runs)")
                quant[file] = quantize_graph(fp32 / file, feeds[file], int8_dir / file)
            del feeds
            prov["quantization"] = {
                "format": "QDQ", "activations": "uint8 asymmetric", "weights": "int8 symmetric per-channel",
                "calibration": "MinMax over fp32 pipeline runs (4/8/2/6 steps, per-step garment features)",
                "calibration_samples": len(calibration), "graphs": quant,
            }
            _write_manifest(student, int8_dir, sizes, "int8", name, garment_features, trained, parity, prov)
            if held_out:
                e2e = {}
                fp32_pipe, int8_pipe = TryOnPipeline(fp32_bundle), TryOnPipeline(open_bundle(int8_dir))
                for size in sizes:
                    a = _run_examples(fp32_pipe, held_out, size, (len(student.cfg.sigmas),), garment_features)
                    b = _run_examples(int8_pipe, held_out, size, (len(student.cfg.sigmas),), garment_features)
                    values = [psnr(x, y) for x, y in zip(a, b, strict=True)]
                    e2e[size_key(size)] = {"psnr_db_mean": float(np.mean(values)), "psnr_db_min": float(np.min(values)),
                                           "samples": len(values)}
                    log(f"INT8 vs fp32 at {size_key(size)}: {np.mean(values):.2f} dB PSNR")
                parity["int8_vs_fp32_end_to_end"] = e2e
            parity["fp32_files_sha256"] = {f: e.sha256 for f, e in fp32_manifest.files.items()}
            _write_manifest(student, int8_dir, sizes, "int8", name, garment_features, trained, parity, prov)
            final = int8_dir
        out.mkdir(parents=True, exist_ok=True)
        for item in final.iterdir():
            shutil.move(str(item), out / item.name)
    manifest = open_bundle(out).manifest  # verifies every hash we just wrote
    log(f"bundle written to {out} ({sum(f.bytes for f in manifest.files.values()) / 2**20:.1f} MiB)")
    return manifest


def bundle_summary(manifest: Manifest) -> str:
    return json.dumps({"name": manifest.name, "files": len(manifest.files), "parity": manifest.parity}, indent=2)


# The synthetic worlds export draws from: calibration and the INT8-vs-fp32 parity samples,
# both apart from training (world seed 1) and from evaluation (30000 validation, 40000 test).
CALIBRATION_SEED = 10_000
PARITY_SEED = 20_000


def export_checkpoint(
    checkpoint: str | Path | None,
    out: str | Path,
    *,
    config: str | None = None,
    sizes: Sequence[tuple[int, int]] | None = None,
    int8: bool = True,
    target: str = "desktop",
    calibration_samples: int = 16,
    parity_samples: int = 4,
    garment_features: str = "cached",
    name: str | None = None,
    seed: int = 0,
    provenance: dict | None = None,
    top_attention: bool | None = None,
    ffn_slice_bytes: int | None = None,
    log: Log = print,
) -> Manifest:
    """The one export entry point (``vton bundle export``, the recipe, the studio's Export tab):
    a student checkpoint folder (or, with ``checkpoint=None``, a random-init ``config``) ->
    a verified bundle folder ``out`` for ``target`` desktop or android (the Android bundle is
    converted from the very desktop graphs, whose hashes its manifest records). ``top_attention``
    switches the random-init student's top-level garment attention on or off (benchmarks);
    ``ffn_slice_bytes`` as in :func:`export_bundle`."""
    from engine.errors import InputError

    from ..checkpoint import load_student
    from ..nets import build_student, get_config
    from .samples import example_inputs_from_synthetic

    if target not in ("desktop", "android"):
        raise ValueError(f"target {target!r} is not desktop or android")
    if checkpoint is not None:
        if top_attention is not None:
            raise ValueError("top_attention applies to a random-init config, not a checkpoint")
        student, meta = load_student(checkpoint)
        if config and config != student.cfg.name:
            raise InputError(checkpoint, f"is a '{student.cfg.name}' checkpoint, not '{config}'")
        trained = True
        provenance = {"checkpoint": str(checkpoint), "training": meta, **(provenance or {})}
    else:
        if not config:
            raise InputError("config", "give a config (full, small or tiny) or a checkpoint")
        torch.manual_seed(seed)
        log(f"building the '{config}' student (random weights, seed {seed})")
        cfg = get_config(config)
        if top_attention is not None:
            cfg = cfg.replace(unet=dataclasses.replace(cfg.unet, top_attention=top_attention))
        student = build_student(cfg)
        trained = False
        provenance = {"init": f"random (seed {seed})", **(provenance or {})}
    sizes = [tuple(s) for s in (sizes or student.cfg.resolutions)]
    step = 8 * student.cfg.unet.downsample_factor
    for s in sizes:
        if s[0] % step or s[1] % step:
            raise InputError("size", f"{size_key(s)}: height and width must be multiples of {step}")
    log(f"exporting {len(sizes) * 4 + 1} graphs at {', '.join(size_key(s) for s in sizes)}"
        + (" then INT8 calibration, quantisation and parity" if int8 else "")
        + (" then the Android conversion" if target == "android" else ""))
    calibration = held_out = ()
    if int8:
        log(f"rendering {calibration_samples} calibration and {parity_samples} held-out samples")
        calibration = example_inputs_from_synthetic(calibration_samples, sizes[0], seed=CALIBRATION_SEED)
        held_out = example_inputs_from_synthetic(parity_samples, sizes[0], seed=PARITY_SEED)
    options = dict(sizes=sizes, int8=int8, calibration=calibration, held_out=held_out,
                   garment_features=garment_features, trained=trained, name=name, provenance=provenance,
                   ffn_slice_bytes=ffn_slice_bytes, log=log)
    out = Path(out)
    if target == "desktop":
        return export_bundle(student, out, **options)
    from .android import convert_to_android

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vton-desktop-", dir=out.parent) as tmp:
        desktop = Path(tmp) / "desktop"
        export_bundle(student, desktop, **options)
        return convert_to_android(desktop, out, log=log)
