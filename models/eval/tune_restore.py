"""Pick the detail-restore thresholds (engine.restore.RestoreSettings) on a tuning set.

The tuning samples come from their own world seed (never the report's test seed), the
model runs once (raw output), and every (low, high) pair is scored on the restored images::

    python -m models.eval.tune_restore runs/g3/bundle --n 32
"""

from __future__ import annotations

import argparse
import itertools

from engine.pipeline import TryOnPipeline
from engine.restore import RestoreSettings, keep_unchanged

from .quality import TEST_SEED, held_out_samples, run_bundle, score

TUNE_SEED = 50_000
assert TUNE_SEED != TEST_SEED


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.eval.tune_restore", description=__doc__.splitlines()[0])
    p.add_argument("bundle")
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--seed", type=int, default=TUNE_SEED)
    args = p.parse_args(argv)
    pipe = TryOnPipeline(args.bundle)
    size = pipe.manifest.default_size
    samples = held_out_samples(args.n, size, args.seed)
    raw = run_bundle(pipe, samples, size)
    base = score(raw, samples).summary()
    print(f"raw: SSIM {base['ssim']:.4f} PSNR {base['psnr']:.2f} colour {base['garment_colour_error']:.2f}")
    rows = []
    for low, width, grow in itertools.product((10, 14, 20, 26, 32), (16, 28, 40), (0.0, 0.006, 0.012)):
        st = RestoreSettings(low=low, high=low + width, grow=grow)
        r = score([keep_unchanged(img, s.person, st) for img, s in zip(raw, samples, strict=True)], samples).summary()
        rows.append((r["ssim"], r["psnr"], r["garment_colour_error"], st))
    for ssim, psnr, colour, st in sorted(rows, key=lambda r: -r[0])[:10]:
        print(f"low {st.low:4.0f} high {st.high:4.0f} grow {st.grow:.3f}: SSIM {ssim:.4f} PSNR {psnr:.2f} "
              f"colour {colour:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
