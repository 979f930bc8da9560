"""``vton info``: parameter counts per network, installed bundles, runtime."""

from __future__ import annotations

import json

import onnxruntime as ort

from engine.bundle import read_manifest
from engine.errors import VtonError
from engine.paths import DEFAULT_BUNDLE, bundles_dir

from ._quiet import one_line


def register(sub) -> None:
    p = sub.add_parser("info", help="parameter counts, installed bundles, runtime")
    p.add_argument("--config", choices=("full", "small", "tiny"), help="count the parameters of this config (needs torch)")
    p.add_argument("--devices", action="store_true",
                   help="the training devices PyTorch sees: the CPU and any CUDA GPUs (needs torch)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def installed_bundles() -> list[dict]:
    found = []
    candidates = [("embedded", DEFAULT_BUNDLE)]
    root = bundles_dir()
    try:
        candidates += [("user", p) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        pass
    for where, path in candidates:
        if not (path / "manifest.json").exists():
            continue
        try:
            m = read_manifest(path)
        except VtonError as exc:  # listed as broken, never a traceback
            found.append({"where": where, "path": str(path), "error": str(exc)})
            continue
        found.append({
            "where": where, "path": str(path), "name": m.name, "config": m.config_name, "trained": m.trained,
            "note": m.training_note,
            "resolutions": [f"{h}x{w}" for h, w in m.resolutions],
            "precision": sorted({g.precision for per in m.graphs.values() for g in per.values()}),
            "mib": round(sum(f.bytes for f in m.files.values()) / 2**20, 1),
        })
    return found


def training_devices() -> dict:
    """What ``--device auto|cpu|cuda`` can use: asked of torch (imported here only)."""
    import torch

    cuda = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            cuda.append({"index": i, "name": props.name, "memory_gib": round(props.total_memory / 2**30, 1)})
    return {"torch": torch.__version__, "cpu_threads": torch.get_num_threads(), "cuda": cuda}


def run(args) -> int:
    info: dict = {
        "onnxruntime": ort.__version__,
        "providers": ort.get_available_providers(),
        "bundles": installed_bundles(),
    }
    if args.config:
        from models.nets import build_student, get_config

        counts = build_student(get_config(args.config), device="meta").parameter_counts()
        info["config"] = args.config
        info["parameters"] = counts
    if args.devices:
        info["devices"] = training_devices()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    if args.config:
        print(f"config '{args.config}' parameters:")
        for k, v in info["parameters"].items():
            print(f"  {k:<26} {v / 1e6:9.2f} M")
        print("  ('student' = GarmentNet + TryonNet + adapter resampler, as the paper counts;"
              " DINOv2 and the VAE are reported apart)")
    if args.devices:
        d = info["devices"]
        gpus = ", ".join(f"cuda:{g['index']} {g['name']} ({g['memory_gib']} GiB)" for g in d["cuda"]) or "no CUDA GPU"
        print(f"training devices: cpu ({d['cpu_threads']} threads), {gpus}; torch {d['torch']}")
    print(f"onnxruntime {info['onnxruntime']} ({', '.join(info['providers'])})")
    if not info["bundles"]:
        print("bundles: none installed")
    for b in info["bundles"]:
        if "error" in b:
            print(f"bundle [{b['where']}] BROKEN {one_line(b['error'])}")
        else:
            print(f"bundle [{b['where']}] {b['name']}: {b['config']}, {'/'.join(b['precision'])}, "
                  f"{', '.join(b['resolutions'])}, {b['mib']} MiB, {b['note'] or 'trained'}"
                  f"  ({one_line(b['path'])})")
    return 0
