"""``vton bundle export|verify``: make and check model bundles."""

from __future__ import annotations

import sys
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
    e.add_argument("--calibration-samples", type=int, default=16, help="synthetic samples for INT8 calibration")
    e.add_argument("--parity-samples", type=int, default=4, help="held-out samples for INT8 vs fp32 PSNR")
    e.add_argument("--name", help="bundle name (default: <config>-<precision>)")
    e.add_argument("--seed", type=int, default=0, help="seed for random init")
    e.add_argument("--out", required=True, type=Path)
    e.set_defaults(func=export)

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
    export_bundle(
        student, args.out, sizes=sizes, int8=args.int8, calibration=calibration, held_out=held_out,
        garment_features=args.garment_features, trained=trained, name=args.name, provenance=provenance,
        log=lambda m: print(m, file=sys.stderr),
    )
    return 0
