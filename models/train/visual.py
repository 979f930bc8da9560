"""Sample grids (PNG) and quick image metrics for training logs.

Grids are rows of samples, columns such as person | garment | result | ground truth.
PSNR, SSIM (Gaussian window, on grey) and the garment-region colour error are cheap
checks that training moves the right way; the full quality report lives in models/eval.
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


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample PSNR (dB) of [-1, 1] images, measured on the 0..1 range."""
    mse = (((pred.float().clamp(-1, 1) - target.float()) / 2.0) ** 2).mean(dim=(1, 2, 3))
    return -10.0 * torch.log10(mse.clamp_min(1e-10))


def _gauss(size: int = 11, sigma: float = 1.5, device=None) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32, device=device) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample SSIM on luminance of [-1, 1] images (Wang et al., 11x11 Gaussian window)."""
    weights = torch.tensor([0.299, 0.587, 0.114], device=pred.device).view(1, 3, 1, 1)
    a = ((pred.float().clamp(-1, 1) + 1) / 2 * weights).sum(1, keepdim=True)
    b = ((target.float() + 1) / 2 * weights).sum(1, keepdim=True)
    k = _gauss(device=pred.device)
    mu_a, mu_b = F.conv2d(a, k), F.conv2d(b, k)
    var_a = F.conv2d(a * a, k) - mu_a**2
    var_b = F.conv2d(b * b, k) - mu_b**2
    cov = F.conv2d(a * b, k) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.mean(dim=(1, 2, 3))


def garment_colour_error(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample distance (0..255 RGB units) between the mean colours inside the garment mask."""
    m = mask.float()
    area = m.sum(dim=(1, 2, 3)).clamp_min(1.0)
    mp = ((pred.float().clamp(-1, 1) + 1) * 127.5 * m).sum(dim=(2, 3)) / area[:, None]
    mt = ((target.float() + 1) * 127.5 * m).sum(dim=(2, 3)) / area[:, None]
    return (mp - mt).norm(dim=1)


def image_metrics(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, float]:
    out = {"psnr": float(psnr(pred, target).mean()), "ssim": float(ssim(pred, target).mean())}
    if mask is not None:
        out["garment_colour_error"] = float(garment_colour_error(pred, target, mask).mean())
    return out
