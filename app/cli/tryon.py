"""``vton tryon``: one try-on on this machine, no network, no torch."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import InputError
from engine.images import check_output, load_garment, load_image, save_image
from engine.pipeline import TryOnPipeline
from engine.request import CATEGORIES, MAX_STEPS, TryOnRequest

from ._common import ProgressBar, resolve_bundle, size_arg

OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def register(sub) -> None:
    p = sub.add_parser("tryon", help="dress a portrait in a garment", description="Dress a portrait in a garment.")
    p.add_argument("--person", required=True, type=Path, help="portrait image (any size; EXIF rotation honoured)")
    p.add_argument("--garment", required=True, type=Path, help="garment product shot")
    p.add_argument("--category", choices=CATEGORIES, default="upper", help="garment category (default: upper)")
    p.add_argument("--bundle", type=Path, help="model bundle folder or .zip (default: the embedded model)")
    p.add_argument("--steps", type=int, default=4, help=f"denoising steps, 1-{MAX_STEPS} (default: 4)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    p.add_argument("--size", type=size_arg, help="model resolution HxW, e.g. 1024x768 (default: the bundle's first)")
    p.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    p.add_argument("--garment-features", choices=("cached", "per_step"), help="override the bundle's choice")
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="where to write the result (.png/.jpg/.webp; never one of the inputs)")
    p.add_argument("--no-restore", action="store_true",
                   help="return the model's whole redrawn portrait (default: keep the portrait's own pixels "
                        "wherever the try-on left it unchanged)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    out: Path = args.output
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(out, f"unsupported output format; use one of {', '.join(OUTPUT_SUFFIXES)}")
    check_output(out, inputs=(args.person, args.garment))  # before any work: never over an input
    if not 1 <= args.steps <= MAX_STEPS:
        raise InputError("--steps", f"must be between 1 and {MAX_STEPS}, not {args.steps}")
    if not 0 <= args.seed < 2**63:
        raise InputError("--seed", f"must be between 0 and 2**63 - 1, not {args.seed}")
    if args.threads is not None and not 0 <= args.threads <= 1024:
        raise InputError("--threads", f"must be between 0 and 1024, not {args.threads}")
    person = load_image(args.person)
    garment = load_garment(args.garment)
    bundle = resolve_bundle(args.bundle)
    # one try-on per process: each graph's session lives only while the pipeline needs it
    pipeline = TryOnPipeline(bundle, threads=args.threads, keep_sessions=False)
    request = TryOnRequest(
        person=args.person, garment=args.garment, category=args.category, steps=args.steps, seed=args.seed,
        size=args.size, bundle=str(bundle.source), garment_features=args.garment_features,
        restore=not args.no_restore,
    )
    result = pipeline.run(request, progress=None if args.quiet else ProgressBar(), person=person, garment=garment)
    del pipeline, person, garment  # free the sessions and the portrait before encoding a large result
    save_image(result.image, out, inputs=(args.person, args.garment))
    t = result.timings
    stages = " ".join(f"{k}={t[k]:.2f}s" for k in ("load", "encode", "adapter", "garment", "denoise", "decode",
                                                  "restore") if k in t)
    if not args.quiet:
        print(f"{out}  {result.image.shape[1]}x{result.image.shape[0]}  total {t['total']:.2f}s ({stages})",
              file=sys.stderr)
    note = bundle.manifest.training_note
    if note and not args.quiet:  # once, plainly: what this model can and cannot do
        print(f"note: model '{bundle.manifest.name}' is {note}", file=sys.stderr)
    return 0
