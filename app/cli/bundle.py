"""``vton bundle export|verify``: make and check model bundles."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from engine.bundle import read_manifest, size_key, verify_files
from engine.errors import InputError

from ._common import size_arg


def register(sub) -> None:
    p = sub.add_parser("bundle", help="export or verify model bundles")
    bsub = p.add_subparsers(dest="bundle_command", required=True, metavar="ACTION")

    e = bsub.add_parser("export", help="student (checkpoint or random init) -> ONNX [INT8] bundle")
    e.add_argument("--config", choices=("full", "small", "tiny"), help="model config (default: the checkpoint's)")
    e.add_argument("--checkpoint", type=Path, help="student checkpoint folder; omitted = random init")
    e.add_argument("--int8", action="store_true", help="INT8 static QDQ quantisation (calibrated)")
    e.add_argument("--size", type=size_arg, action="append", help="resolution HxW (repeatable; default: config's)")
    e.add_argument("--garment-features", choices=("cached", "per_step"), default="cached")
    e.add_argument("--target", choices=("desktop", "android"), default="desktop",
                   help="android: the same graphs converted to ORT format, with required_operators.config "
                        "and the mobile usability report (default: desktop)")
    e.add_argument("--calibration-samples", type=int, default=16, help="synthetic samples for INT8 calibration")
    e.add_argument("--parity-samples", type=int, default=4, help="held-out samples for INT8 vs fp32 PSNR")
    e.add_argument("--name", help="bundle name (default: <config>-<precision>)")
    e.add_argument("--seed", type=int, default=0, help="seed for random init")
    e.add_argument("--out", required=True, type=Path)
    e.set_defaults(func=export)

    a = bsub.add_parser("android", help="convert an existing desktop bundle into an Android bundle")
    a.add_argument("bundle", type=Path, help="desktop bundle folder or .zip")
    a.add_argument("--out", required=True, type=Path, help="Android bundle folder to create")
    a.set_defaults(func=android)

    v = bsub.add_parser("verify", help="check a bundle's manifest and every file hash")
    v.add_argument("bundle", type=Path)
    v.set_defaults(func=verify)


def verify(args) -> int:
    from engine.bundle import open_bundle

    source = open_bundle(args.bundle, verify=False)  # unpacks a .zip; manifest errors raise (exit 2)
    manifest = read_manifest(source.path)
    problems = verify_files(source.path, manifest)
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    if problems:
        print(f"{args.bundle}: {len(problems)} of {len(manifest.files)} files do not verify", file=sys.stderr)
        return 1
    total = sum(f.bytes for f in manifest.files.values())
    sizes = ", ".join(size_key(s) for s in manifest.resolutions)
    print(f"{args.bundle}: OK — '{manifest.name}', {len(manifest.files)} files, {total / 2**20:.1f} MiB, "
          f"{sizes}, {'trained' if manifest.trained else 'UNTRAINED (random weights)'}")
    return 0


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def android(args) -> int:
    from models.export.android import convert_to_android

    if args.out.exists() and any(args.out.iterdir()):
        raise InputError(args.out, "already exists and is not empty")
    manifest = convert_to_android(args.bundle, args.out, log=_log)
    _log(f"{args.out}: {len(manifest.files)} .ort graphs, converted from the desktop graphs "
         f"whose sha256 the manifest records under 'android.source_graphs'")
    return 0


def export(args) -> int:
    import torch

    from models.checkpoint import load_student
    from models.export.bundle import export_bundle
    from models.export.samples import example_inputs_from_synthetic
    from models.nets import build_student, get_config

    if args.out.exists() and any(args.out.iterdir()):
        raise InputError(args.out, "already exists and is not empty")
    if args.checkpoint is not None:
        student, meta = load_student(args.checkpoint)
        if args.config and args.config != student.cfg.name:
            raise InputError(args.checkpoint, f"is a '{student.cfg.name}' checkpoint, not '{args.config}'")
        trained, provenance = True, {"checkpoint": str(args.checkpoint), "training": meta}
    else:
        if not args.config:
            raise InputError("--config", "give --config (full, small or tiny) or --checkpoint")
        torch.manual_seed(args.seed)
        student = build_student(get_config(args.config))
        trained, provenance = False, {"init": f"random (seed {args.seed})"}
    sizes = args.size or list(student.cfg.resolutions)
    for s in sizes:
        if s[0] % 32 or s[1] % 32:
            raise InputError("--size", f"{size_key(s)}: height and width must be multiples of 32")
    calibration = held_out = ()
    if args.int8:
        calibration = example_inputs_from_synthetic(args.calibration_samples, sizes[0], seed=10_000)
        held_out = example_inputs_from_synthetic(args.parity_samples, sizes[0], seed=20_000)
    options = dict(
        sizes=sizes, int8=args.int8, calibration=calibration, held_out=held_out,
        garment_features=args.garment_features, trained=trained, name=args.name, provenance=provenance, log=_log,
    )
    if args.target == "desktop":
        export_bundle(student, args.out, **options)
        return 0
    # Android: export the desktop graphs, then convert those very graphs (the manifest records their hashes)
    from models.export.android import convert_to_android

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vton-desktop-", dir=args.out.parent) as tmp:
        desktop = Path(tmp) / "desktop"
        export_bundle(student, desktop, **options)
        convert_to_android(desktop, args.out, log=_log)
    return 0
