"""How often the studio's category guess from the garment's silhouette is right, and the
fit of the guess's linear classifier (docs/studio.md).

Measured on the synthetic world's product shots (ghost, flat and on hangers), which carry
their true category. ``--fit`` fits the classifier in app/studio/category.py on the
fitting seeds (1-4, 99, 123) and writes app/studio/resources/category_guess.json; every
other seed is held out (the tests score seed 5). There is no real product photo here to
measure on.

    python benchmarks/category_guess.py --fit
    python benchmarks/category_guess.py --seeds 5 7 --n 150
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np

from app.studio.category import WEIGHTS_FILE, garment_mask, guess_from_image, silhouette
from engine.request import CATEGORIES
from models.data.synthetic.world import SyntheticWorld

FIT_SEEDS = (1, 2, 3, 4, 99, 123)


def fit(seeds=FIT_SEEDS, n: int = 90, l2: float = 0.01, steps: int = 4000) -> dict:
    """Multinomial logistic regression on standardised silhouette features (full-batch
    gradient descent), the standardisation folded into the saved weights."""
    rows, labels = [], []
    for seed in seeds:
        world = SyntheticWorld(seed, (512, 384), n)
        for i in range(len(world)):
            sample = world[i]
            mask = garment_mask(sample.garment)
            features = silhouette(mask) if mask is not None else None
            if features is not None:
                rows.append(features)
                labels.append(CATEGORIES.index(sample.category))
    x, y = np.stack(rows), np.asarray(labels)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / std
    onehot = np.eye(len(CATEGORIES))[y]
    w, b = np.zeros((len(CATEGORIES), z.shape[1])), np.zeros(len(CATEGORIES))
    for _ in range(steps):
        logits = z @ w.T + b
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - onehot) / len(z)
        w -= 0.5 * (grad.T @ z + l2 * w)
        b -= 0.5 * grad.sum(axis=0)
    weights, bias = w / std, b - (w / std) @ mean
    right = int(((x @ weights.T + bias).argmax(axis=1) == y).sum())
    return {"classes": list(CATEGORIES), "weights": weights.round(6).tolist(), "bias": bias.round(6).tolist(),
            "fitted_on": {"seeds": list(seeds), "per_seed": n, "samples": len(y), "right": right}}


def score(seeds, n: int) -> dict:
    out = {}
    for seed in seeds:
        world = SyntheticWorld(seed, (512, 384), n)
        confusion = Counter((world[i].category, guess_from_image(world[i].garment)) for i in range(len(world)))
        right = sum(v for (truth, guess), v in confusion.items() if truth == guess)
        out[seed] = {"right": right, "of": len(world), "accuracy": round(right / len(world), 4),
                     "confusion": {f"{t} -> {g}": v for (t, g), v in sorted(confusion.items(), key=str)}}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fit", action="store_true", help="fit the classifier and write its weights file")
    p.add_argument("--seeds", type=int, nargs="+", default=[5, 7])
    p.add_argument("--n", type=int, default=150)
    args = p.parse_args()
    if args.fit:
        model = fit()
        WEIGHTS_FILE.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
        print(json.dumps(model["fitted_on"]))
        return
    held_out = set(args.seeds) & set(FIT_SEEDS)
    if held_out:
        raise SystemExit(f"seeds {sorted(held_out)} were used to fit the guess; score others")
    print(json.dumps(score(args.seeds, args.n), indent=2))


if __name__ == "__main__":
    main()
