"""``vton bundle export|verify``: make and check model bundles."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from engine.bundle import open_bundle, read_manifest, size_key, verify_files
from engine.errors import BundleError, InputError

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

    v = bsub.add_parser("verify", help="check a bundle's manifest, every file hash and its trust",
                        description="Check the manifest (every value in range), every file (a regular file "
                                    "with the listed size and sha256) and, where a key is trusted, the "
                                    "signature. Exit 0 if it verifies, 2 (one line naming the problem) if not.")
    v.add_argument("bundle", type=Path)
    v.set_defaults(func=verify)

    k = bsub.add_parser("keygen", help="make an Ed25519 key pair for signing bundles (needs 'cryptography')")
    k.add_argument("--out", required=True, type=Path, help="writes OUT.key (private, 0600) and OUT.pub")
    k.set_defaults(func=keygen)

    s = bsub.add_parser("sign", help="sign a bundle's manifest.json with a private key (writes manifest.sig)")
    s.add_argument("bundle", type=Path, help="bundle folder")
    s.add_argument("--key", required=True, type=Path, help="private key from 'vton bundle keygen'")
    s.set_defaults(func=sign)

    t = bsub.add_parser("trust", help="trust a signer's public key: from then on every bundle must be signed")
    t.add_argument("key", type=Path, help="public key (.pub) from 'vton bundle keygen'")
    t.set_defaults(func=trust)


def verify(args) -> int:
    is_zip = args.bundle.suffix.lower() == ".zip" and args.bundle.is_file()
    with tempfile.TemporaryDirectory(prefix="vton-verify-") as tmp:
        # a .zip is unpacked (with limits) into a temporary folder that is removed afterwards
        source = open_bundle(args.bundle, verify=False, unpack_into=Path(tmp) / "b" if is_zip else None)
        manifest = read_manifest(source.path)
        problems = verify_files(source.path, manifest)
        if problems:
            names = "; ".join(f"{Path(p.path).name}: {p.problem}" for p in problems[:3])
            more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
            raise BundleError(args.bundle, f"{len(problems)} of {len(manifest.files)} files do not verify "
                                           f"({names}{more})")
        trust = open_bundle(source.path).trust  # pins and signatures
    total = sum(f.bytes for f in manifest.files.values())
    sizes = ", ".join(size_key(s) for s in manifest.resolutions)
    note = manifest.training_note or "trained"
    print(f"{args.bundle}: OK — '{manifest.name}', {len(manifest.files)} files, {total / 2**20:.1f} MiB, "
          f"{sizes}, {note}; manifest sha256 {manifest.digest[:16]}…" + (f"; {trust}" if trust else ""))
    return 0


def keygen(args) -> int:
    from engine.trust import generate_key

    key, pub, kid = generate_key(args.out)
    print(f"wrote {key} (private: keep it secret) and {pub} (public, key id {kid}); "
          f"sign with 'vton bundle sign BUNDLE --key {key}'")
    return 0


def sign(args) -> int:
    from engine.trust import sign_bundle

    open_bundle(args.bundle)  # only a bundle that verifies gets signed
    kid = sign_bundle(args.bundle, args.key)
    print(f"{args.bundle}: signed manifest.json with key {kid} (manifest.sig)")
    return 0


def trust(args) -> int:
    from engine.trust import trust_key, trusted_keys

    target = trust_key(args.key)
    print(f"trusted {target.stem}: from now on every bundle except the embedded one must be signed "
          f"by one of {len(trusted_keys())} trusted key(s) ({target.parent})")
    return 0


_T0 = time.monotonic()


def _log(message: str) -> None:
    print(f"[{time.monotonic() - _T0:5.0f}s] {message}", file=sys.stderr, flush=True)


def _quiet_libraries() -> None:
    """The exporter's libraries log screens of warnings (torchvision ops not installed, constant
    folding skipped); the export's own lines say what happens."""
    if not os.environ.get("VTON_DEBUG"):
        logging.disable(logging.WARNING)


def android(args) -> int:
    from models.export.android import convert_to_android

    if args.out.exists() and any(args.out.iterdir()):
        raise InputError(args.out, "already exists and is not empty")
    manifest = convert_to_android(args.bundle, args.out, log=_log)
    _log(f"{args.out}: {len(manifest.files)} .ort graphs, converted from the desktop graphs "
         f"whose sha256 the manifest records under 'android.source_graphs'")
    return 0


def export(args) -> int:
    global _T0
    _T0 = time.monotonic()
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise InputError(args.out, "already exists and is not empty")
    _quiet_libraries()
    _log("loading PyTorch and the export tools…")
    from models.export.bundle import export_checkpoint

    _quiet_libraries()  # (importing them may have reset logging)
    export_checkpoint(args.checkpoint, args.out, config=args.config, sizes=args.size, int8=args.int8,
                      target=args.target, calibration_samples=args.calibration_samples,
                      parity_samples=args.parity_samples, garment_features=args.garment_features,
                      name=args.name, seed=args.seed, log=_log)
    return 0
