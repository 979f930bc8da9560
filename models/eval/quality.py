"""Quality of bundles on a held-out synthetic test set with ground truth (issue 6).

The bundle runs through the real engine (ONNX Runtime, exactly what users run); results
are scored against the unpaired ground truth (the same person wearing the new garment)
with ``models.eval.metrics``, beside the trivial baselines of ``models.eval.baselines``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.pipeline import TryOnPipeline
from engine.request import TryOnRequest

from ..data.sample import TryOnSample
from .baselines import BASELINES
from .metrics import face_error, garment_colour_error, garment_edges, garment_ssim, leak_error, psnr, ssim

# Seeds of the synthetic world already spoken for: training 1, the trainer's held-out
# grids 30000, INT8 calibration 10000, export parity 20000. The report's test set uses
# its own, so no image in it was ever seen by training, calibration or model selection.
TEST_SEED = 40_000


FRAMINGS = ("all", "landscape", "portrait")


def held_out_samples(n: int, size: tuple[int, int], seed: int = TEST_SEED, framing: str = "all") -> list[TryOnSample]:
    """The first ``n`` samples of the world ``seed``; with ``framing`` landscape (or portrait),
    the first ``n`` whose portrait is a landscape photo fitted into the canvas (or is not)."""
    from ..data.synthetic import SyntheticWorld

    if framing not in FRAMINGS:
        raise ValueError(f"framing {framing!r} is not one of {', '.join(FRAMINGS)}")
    world = SyntheticWorld(seed=seed, size=tuple(size))
    if framing == "all":
        return [world.sample(i) for i in range(n)]
    want = framing == "landscape"
    picked = []
    for i in itertools.count():
        if len(picked) == n:
            return picked
        if (world.spec(i).landscape is not None) == want:
            picked.append(world.sample(i))


def _tensor(images: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


# metric -> whether higher is better (models/eval/metrics.py says what each measures)
METRICS = {"ssim": True, "psnr": True, "garment_colour_error": False, "garment_ssim": True,
           "garment_edges": True, "leak_error": False, "face_error": False}


@dataclass
class Scores:
    """Per-sample metrics of one method on the test set (NaN: undefined for that sample)."""

    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    garment_colour_error: list[float] = field(default_factory=list)
    garment_ssim: list[float] = field(default_factory=list)
    garment_edges: list[float] = field(default_factory=list)
    leak_error: list[float] = field(default_factory=list)
    face_error: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        out = {}
        for key in METRICS:
            values = np.asarray(getattr(self, key), dtype=np.float64)
            values = values[~np.isnan(values)]
            out[key] = float(values.mean()) if len(values) else float("nan")
            out[f"{key}_std"] = float(values.std()) if len(values) else float("nan")
        out["samples"] = len(self.psnr)
        out["leak_samples"] = int(np.sum(~np.isnan(np.asarray(self.leak_error, dtype=np.float64))))
        faces = np.asarray(self.face_error, dtype=np.float64)
        faces = faces[~np.isnan(faces)]
        out["face_error_max"] = float(faces.max()) if len(faces) else float("nan")  # the worst face
        return out


def score(images: Sequence[np.ndarray], samples: Sequence[TryOnSample], batch: int = 16) -> Scores:
    scores = Scores()
    for i in range(0, len(samples), batch):
        chunk = samples[i : i + batch]
        pred = _tensor(images[i : i + batch])
        target = _tensor([s.target for s in chunk])
        new = torch.from_numpy(np.stack([s.target_mask for s in chunk]))[:, None]
        old = torch.from_numpy(np.stack([s.person_mask for s in chunk]))[:, None]
        scores.psnr += psnr(pred, target).tolist()
        scores.ssim += ssim(pred, target).tolist()
        scores.garment_colour_error += garment_colour_error(pred, target, new).tolist()
        scores.garment_ssim += garment_ssim(pred, target, new).tolist()
        scores.garment_edges += garment_edges(pred, target, new).tolist()
        scores.leak_error += leak_error(pred, target, old, new).tolist()
        if all(s.face_mask is not None for s in chunk):
            face = torch.from_numpy(np.stack([s.face_mask for s in chunk]))[:, None]
            scores.face_error += face_error(pred, target, face).tolist()
        else:  # photographs from a data set: no face mask
            scores.face_error += [float("nan")] * len(chunk)
    return scores


def win_rates(ours: Scores, other: Scores) -> dict[str, float]:
    """Share of samples on which ``ours`` is better than ``other``, per metric (paired; samples
    where either is undefined are left out)."""
    out = {}
    for key, higher in METRICS.items():
        a, b = np.asarray(getattr(ours, key), np.float64), np.asarray(getattr(other, key), np.float64)
        ok = ~(np.isnan(a) | np.isnan(b))
        better = np.greater if higher else np.less
        out[key] = float(better(a[ok], b[ok]).mean()) if ok.any() else float("nan")
    return out


def run_bundle(
    bundle: str | Path | TryOnPipeline,
    samples: Sequence[TryOnSample],
    size: tuple[int, int] | None = None,
    steps: int = 4,
    garment_features: str | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """The engine's raw results for ``samples`` (seed = sample index, so runs are comparable).

    Raw: the model's own redrawn portrait. The engine's detail restore is
    :func:`engine.restore.keep_unchanged` applied to it, so one run serves both scores."""
    pipe = bundle if isinstance(bundle, TryOnPipeline) else TryOnPipeline(bundle, threads=threads)
    out = []
    for i, s in enumerate(samples):
        req = TryOnRequest(
            person=f"test/{s.id}", garment=f"test/{s.id}", category=s.category, steps=steps, seed=i,
            size=size, garment_features=garment_features, restore=False,
        )
        out.append(pipe.run(req, person=s.person, garment=s.garment).image)
        if progress:
            progress(i + 1)
    return out


def baseline_images(samples: Sequence[TryOnSample]) -> dict[str, list[np.ndarray]]:
    return {name: [fn(s) for s in samples] for name, fn in BASELINES.items()}


def comparison_grid(samples: Sequence[TryOnSample], results: Sequence[np.ndarray], rows: int = 8,
                    tile_height: int = 256) -> np.ndarray:
    """person | garment | result | ground truth, one sample per row."""
    from PIL import Image

    def fit(img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        return np.asarray(Image.fromarray(img).resize((round(w * tile_height / h), tile_height),
                                                      Image.Resampling.LANCZOS))

    lines = []
    for s, r in list(zip(samples, results, strict=True))[:rows]:
        tiles = [fit(x) for x in (s.person, s.garment, r, s.target)]
        gap = np.full((tile_height, 4, 3), 255, np.uint8)
        lines.append(np.concatenate([t for pair in zip(tiles, [gap] * 4, strict=True) for t in pair][:-1], axis=1))
    width = max(line.shape[1] for line in lines)
    lines = [np.pad(line, ((0, 4), (0, width - line.shape[1]), (0, 0)), constant_values=255) for line in lines]
    return np.concatenate(lines, axis=0)
