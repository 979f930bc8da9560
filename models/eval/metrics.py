"""Image quality metrics shared by training (quick held-out scores) and evaluation (reports).

All take [-1, 1] RGB tensors (B, 3, H, W) and return per-sample values; ``image_metrics``
averages them. SSIM is Wang et al.'s on luminance with an 11x11 Gaussian window (sigma 1.5);
PSNR is on the 0..1 range; the garment colour error is the distance, in 0..255 RGB units,
between the mean colours inside the ground-truth garment mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


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
