"""``vton eval``: score bundles (and trivial baselines) on a held-out synthetic test set."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ._common import size_arg


def register(sub) -> None:
    p = sub.add_parser("eval", help="score bundles against ground truth on held-out synthetic data",
                       description="Run bundles through the engine on a held-out synthetic test set (a seed "
                                   "never used in training) and score them against the ground truth.")
    p.add_argument("bundles", nargs="*", type=Path, help="bundle folders or .zip files")
    p.add_argument("--n", type=int, default=64, help="test samples (default 64)")
    p.add_argument("--size", type=size_arg, help="resolution HxW (default: the first bundle's default)")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--garment-features", choices=("cached", "per_step"), action="append",
                   help="score each bundle in this mode (repeatable; default: the bundle's own)")
    p.add_argument("--restore", choices=("on", "off", "both"), default="both",
                   help="score the results with the engine's detail restore (what the app shows), the model's "
                        "raw output, or both (default; one model run serves both)")
    p.add_argument("--baselines", action="store_true", help="also score identity and paste baselines")
    p.add_argument("--ceiling", action="store_true",
                   help="also score each bundle's VAE round trip of the ground truth: the best its raw "
                        "output can reach")
    p.add_argument("--seed", type=int, help="test-set seed (default: the report's own seed)")
    p.add_argument("--framing", choices=("all", "landscape", "portrait"), default="all",
                   help="only landscape photos fitted into the portrait canvas, or only portraits (default: all)")
    p.add_argument("--threads", type=int)
    p.add_argument("--json", type=Path, help="write the scores here")
    p.add_argument("--grid", type=Path, help="PNG: person | garment | result | ground truth (first bundle)")
    p.set_defaults(func=run)


def run(args) -> int:
    from engine.bundle import open_bundle
    from engine.errors import InputError
    from engine.images import save_image
    from engine.pipeline import TryOnPipeline
    from engine.restore import keep_unchanged
    from models.eval.quality import (
        TEST_SEED,
        baseline_images,
        comparison_grid,
        held_out_samples,
        run_bundle,
        score,
        win_rates,
    )

    if not args.bundles and not args.baselines:
        raise InputError("vton eval", "give at least one bundle, or --baselines")
    bundles = [open_bundle(b) for b in args.bundles]
    size = args.size or (bundles[0].manifest.default_size if bundles else (512, 384))
    seed = TEST_SEED if args.seed is None else args.seed
    samples = held_out_samples(args.n, size, seed, args.framing)
    rows: dict[str, dict] = {}
    per_sample = {}  # label -> Scores, for the paired comparison with the baselines
    grid_images = None
    names = [b.manifest.name for b in bundles]
    for bundle, path in zip(bundles, args.bundles, strict=True):
        pipe = TryOnPipeline(bundle, threads=args.threads)
        # two bundles of one name (two fp32 exports, say) are told apart by their paths
        base = bundle.manifest.name if names.count(bundle.manifest.name) == 1 else f"{bundle.manifest.name} {path}"
        for mode in args.garment_features or [None]:
            label = base + (f" ({mode})" if mode else "")
            print(f"scoring {label} on {len(samples)} samples at {size[0]}x{size[1]}...", file=sys.stderr)
            raw = run_bundle(pipe, samples, size, args.steps, mode)
            restored = None
            if args.restore != "off":
                restored = [keep_unchanged(img, s.person) for img, s in zip(raw, samples, strict=True)]
            info = {"bundle": str(bundle.source), "mode": mode}
            if restored is not None:
                per_sample[label] = score(restored, samples)
                rows[label] = per_sample[label].summary() | info | {"restore": True}
            if args.restore in ("off", "both"):
                per_sample[f"{label} raw"] = score(raw, samples)
                rows[f"{label} raw"] = per_sample[f"{label} raw"].summary() | info | {"restore": False}
            grid_images = grid_images or restored or raw
        if args.ceiling:
            print(f"scoring {base}'s VAE round trip of the ground truth...", file=sys.stderr)
            ceiling = [pipe.round_trip(s.target, size) for s in samples]
            per_sample[f"{base} VAE ceiling"] = score(ceiling, samples)
            rows[f"{base} VAE ceiling"] = per_sample[f"{base} VAE ceiling"].summary() | {"bundle": str(bundle.source)}
    if args.baselines:
        baselines = {name: score(images, samples) for name, images in baseline_images(samples).items()}
        for name, scores in baselines.items():
            rows[f"baseline: {name}"] = scores.summary()
        for label, scores in per_sample.items():  # paired: on how many samples does it do better?
            rows[label]["beats"] = {name: win_rates(scores, b) for name, b in baselines.items()}
    width = max([40, *map(len, rows)])
    print(f"{'method':<{width}} {'SSIM':>7} {'PSNR dB':>8} {'colour err':>10} {'garment SSIM':>12} "
          f"{'garment edges':>13} {'leak err':>8} {'face err':>8} {'worst face':>10}")
    for label, r in rows.items():
        print(f"{label:<{width}} {r['ssim']:7.4f} {r['psnr']:8.2f} {r['garment_colour_error']:10.2f} "
              f"{r['garment_ssim']:12.4f} {r['garment_edges']:13.4f} {r['leak_error']:8.2f} "
              f"{r['face_error']:8.2f} {r['face_error_max']:10.2f}")
    for label, r in rows.items():
        for name, w in r.get("beats", {}).items():
            print(f"{label} beats {name} on {w['ssim']:.0%} of the samples in SSIM, {w['psnr']:.0%} in PSNR, "
                  f"{w['garment_colour_error']:.0%} in colour error, {w['garment_ssim']:.0%} in garment SSIM, "
                  f"{w['garment_edges']:.0%} in garment edges, {w['leak_error']:.0%} in leak error, "
                  f"{w['face_error']:.0%} in face error")
    if args.json:
        args.json.write_text(json.dumps({"test_seed": seed, "framing": args.framing, "samples": len(samples),
                                         "size": list(size),
                                         "steps": args.steps, "results": rows}, indent=2) + "\n")
    if args.grid and grid_images is not None:
        save_image(comparison_grid(samples, grid_images), args.grid)
    return 0
