"""``vton data``: make and check datasets (the synthetic world, VITON-HD, DressCode, triplets).

``models`` (and so numpy-heavy code) is imported inside the handlers only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import InputError


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 512x384 (height x width), got {text!r}") from None
    if h <= 0 or w <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return h, w


def _categories(text: str) -> tuple[str, ...]:
    from models.data import CATEGORIES

    cats = tuple(c.strip() for c in text.split(",") if c.strip())
    bad = [c for c in cats if c not in CATEGORIES]
    if bad or not cats:
        raise argparse.ArgumentTypeError(f"categories are a comma-separated subset of {','.join(CATEGORIES)}")
    return cats


def register(sub) -> None:
    p = sub.add_parser("data", help="make and check datasets", description="Make and check try-on datasets.")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    s = dsub.add_parser(
        "synth",
        help="write a synthetic try-on set (VITON-HD layout + unpaired ground truth)",
        description="Render N samples of the synthetic try-on world into DIR in the VITON-HD layout, "
        "with the unpaired ground truth and garment masks. The same seed gives byte-identical files.",
    )
    s.add_argument("--n", type=int, required=True, help="number of samples")
    s.add_argument("--size", type=_size, default=(512, 384), help="HxW, a 4:3 portrait (default 512x384)")
    s.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    s.add_argument("--out", type=Path, required=True, help="output folder (new, or a synthetic set without SPLIT)")
    s.add_argument("--split", choices=("train", "test"), default="test", help="split to write (default test)")
    s.add_argument("--start", type=int, default=0, help="index of the first sample (default 0)")
    s.add_argument("--categories", type=_categories, default=None, help="e.g. upper,lower,dress (default all)")
    s.add_argument("--workers", type=int, default=1, help="parallel processes (the files do not depend on it)")
    s.add_argument("--sheet", type=Path, default=None, help="also save a contact sheet of the first 16 samples")
    s.set_defaults(func=_synth)

    c = dsub.add_parser(
        "check",
        help="validate a dataset folder and report counts and problems",
        description="Validate a VITON-HD, DressCode, pseudo-triplet or synthetic dataset folder. "
        "Exit 0 if clean, 1 if problems were found, 2 if DIR is not a dataset.",
    )
    c.add_argument("dir", type=Path, metavar="DIR")
    c.add_argument("--quick", action="store_true", help="check image headers only, do not decode")
    c.add_argument("--limit", type=int, default=50, help="list at most this many problems (default 50)")
    c.set_defaults(func=_check)

    e = dsub.add_parser("examples", help="regenerate the example portraits and garments")
    e.add_argument("--out", type=Path, default=None, help="folder (default assets/examples)")
    e.set_defaults(func=_examples)

    k = dsub.add_parser("sheet", help="save a contact sheet (person | garment | target) of a dataset")
    k.add_argument("dir", type=Path, metavar="DIR")
    k.add_argument("--out", type=Path, required=True, help="PNG to write")
    k.add_argument("--split", default="test")
    k.add_argument("--n", type=int, default=16, help="samples (default 16)")
    k.add_argument("--tile-height", type=int, default=256)
    k.set_defaults(func=_sheet)


def _synth(args) -> int:
    from models.data import CATEGORIES, SyntheticWorld, contact_sheet, write_synthetic
    from models.data.images import write_png

    if args.n < 1:
        raise InputError(args.out, "--n must be at least 1")
    categories = args.categories or CATEGORIES
    try:
        SyntheticWorld(args.seed, args.size, args.n, categories)
    except ValueError as exc:
        raise InputError(args.out, str(exc)) from None

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty() and (done == total or done % 10 == 0):
            print(f"\r{done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    out = write_synthetic(
        args.out, args.n, args.size, args.seed, args.split, categories, args.start, max(1, args.workers), progress
    )
    print(f"wrote {args.n} {args.split} samples ({args.size[0]}x{args.size[1]}, seed {args.seed}) to {out}")
    if args.sheet is not None:
        world = SyntheticWorld(args.seed, args.size, args.start + min(args.n, 16), categories)
        write_png(contact_sheet(world[args.start :]), args.sheet)
        print(f"contact sheet: {args.sheet}")
    return 0


def _check(args) -> int:
    from models.data import check_dataset

    report = check_dataset(args.dir, decode=not args.quick)
    print(report.format(limit=max(1, args.limit)))
    return 0 if report.ok else 1


def _examples(args) -> int:
    from models.data import write_examples
    from models.data.examples import ASSETS

    paths = write_examples(args.out or ASSETS)
    print(f"wrote {len(paths)} files to {paths[0].parent}")
    return 0


def _sheet(args) -> int:
    from models.data import contact_sheet, open_dataset
    from models.data.images import write_png

    ds = open_dataset(args.dir, split=args.split, strict=False)
    write_png(contact_sheet(ds[: max(1, args.n)], tile_height=args.tile_height), args.out)
    print(f"contact sheet of {min(len(ds), args.n)} samples: {args.out}")
    return 0
