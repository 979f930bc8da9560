"""Sample grids (PNG) for training logs: rows of samples, columns such as
person | garment | result | ground truth. The metrics live in models/eval/metrics.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8."""
    x = ((x.detach().float().clamp(-1, 1) + 1.0) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def grid(columns: list[torch.Tensor], pad: int = 2) -> np.ndarray:
    """Columns of (B, 3, H, W) images (same B; heights may differ: resized to the first)."""
    cols = []
    h, w = columns[0].shape[-2:]
    for c in columns:
        if c.shape[-2:] != (h, w):
            c = F.interpolate(c.float(), size=(h, w), mode="bilinear", align_corners=False)
        cols.append(to_uint8(c))
    b = cols[0].shape[0]
    out = np.full((b * (h + pad) + pad, len(cols) * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(b):
        for j, c in enumerate(cols):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            out[y : y + h, x : x + w] = c[i]
    return out


def save_png(image: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path

