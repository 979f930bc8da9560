"""Image quality metrics shared by training (quick held-out scores) and evaluation (reports).

All take [-1, 1] RGB tensors (B, 3, H, W) and return per-sample values; ``image_metrics``
averages them. SSIM is Wang et al.'s on luminance with an 11x11 Gaussian window (sigma 1.5);
PSNR is on the 0..1 range; the garment colour error is the distance, in 0..255 RGB units,
between the mean colours inside the ground-truth garment mask.

What a user sees of the garment itself (issue 14):

- ``garment_ssim``: the SSIM map averaged inside the new garment's ground-truth region;
- ``garment_edges``: an F-score of edge strength inside that region, ``2PR / (P + R)`` with
  ``R = sum min(|grad pred|, |grad target|) / sum |grad target|`` (the target's stripes,
  checks and letters that the result keeps where they belong) and ``P`` the same over
  ``sum |grad pred|`` (edges the result invents). A smeared print has R near 0; noise
  lowers P. 1 is perfect;
- ``leak_error``: mean absolute error (0..255) where the old garment was and the new one
  is not (``person_mask & ~target_mask``): the old garment showing through. NaN where a
  sample has no such region; summaries skip NaNs.
- ``face_error``: mean absolute error (0..255) on the face (synthetic samples carry its
  mask): a garment painted over the face, as on a landscape photo, raises it. NaN where no
  face is visible.
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


def _luma(x: torch.Tensor, clamp: bool = False) -> torch.Tensor:
    """[-1, 1] RGB -> 0..1 luminance (B, 1, H, W)."""
    weights = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
    x = x.float().clamp(-1, 1) if clamp else x.float()
    return ((x + 1) / 2 * weights).sum(1, keepdim=True)


def ssim_map(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM per pixel (B, 1, H, W), zero-padded so it lines up with the images."""
    a, b = _luma(pred, clamp=True), _luma(target)
    k = _gauss(device=pred.device)
    mu_a, mu_b = F.conv2d(a, k), F.conv2d(b, k)
    var_a = F.conv2d(a * a, k) - mu_a**2
    var_b = F.conv2d(b * b, k) - mu_b**2
    cov = F.conv2d(a * b, k) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    pad = k.shape[-1] // 2
    return F.pad(s, (pad, pad, pad, pad), value=float("nan"))


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample SSIM on luminance of [-1, 1] images (Wang et al., 11x11 Gaussian window)."""
    return ssim_map(pred, target).nan_to_num(0.0).sum(dim=(1, 2, 3)) / _valid(pred)


def _valid(x: torch.Tensor, pad: int = 5) -> float:
    return float((x.shape[-2] - 2 * pad) * (x.shape[-1] - 2 * pad))


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample mean of ``values`` over ``mask`` (and where values are defined); NaN if empty."""
    m = mask.float() * (~values.isnan()).float()
    total = (values.nan_to_num(0.0) * m).sum(dim=(1, 2, 3))
    area = m.sum(dim=(1, 2, 3))
    return torch.where(area > 0, total / area.clamp_min(1.0), torch.full_like(total, float("nan")))


def garment_ssim(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample SSIM inside the new garment's ground-truth region."""
    return _masked_mean(ssim_map(pred, target), mask)


def _gradient(x: torch.Tensor) -> torch.Tensor:
    """Edge strength |grad| of the luminance (central differences), (B, 1, H, W)."""
    y = F.pad(_luma(x, clamp=True), (1, 1, 1, 1), mode="replicate")
    gx = (y[..., 1:-1, 2:] - y[..., 1:-1, :-2]) / 2
    gy = (y[..., 2:, 1:-1] - y[..., :-2, 1:-1]) / 2
    return torch.sqrt(gx * gx + gy * gy)


def garment_edges(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample edge F-score inside the garment region (module docstring); NaN if empty."""
    gp, gt = _gradient(pred), _gradient(target)
    m = mask.float()
    both = (torch.minimum(gp, gt) * m).sum(dim=(1, 2, 3))
    recall = both / (gt * m).sum(dim=(1, 2, 3)).clamp_min(1e-6)
    precision = both / (gp * m).sum(dim=(1, 2, 3)).clamp_min(1e-6)
    f = 2 * precision * recall / (precision + recall).clamp_min(1e-6)
    return torch.where(m.sum(dim=(1, 2, 3)) > 0, f, torch.full_like(f, float("nan")))


def leak_error(pred: torch.Tensor, target: torch.Tensor, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """Per-sample mean absolute error (0..255) where the old garment was and the new one is not."""
    region = old.bool() & ~new.bool()
    err = ((pred.float().clamp(-1, 1) - target.float()).abs() * 127.5).mean(dim=1, keepdim=True)
    return _masked_mean(err, region)


def face_error(pred: torch.Tensor, target: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """Per-sample mean absolute error (0..255) on the face."""
    err = ((pred.float().clamp(-1, 1) - target.float()).abs() * 127.5).mean(dim=1, keepdim=True)
    return _masked_mean(err, face.bool())


def garment_colour_error(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample distance (0..255 RGB units) between the mean colours inside the garment mask."""
    m = mask.float()
    area = m.sum(dim=(1, 2, 3)).clamp_min(1.0)
    mp = ((pred.float().clamp(-1, 1) + 1) * 127.5 * m).sum(dim=(2, 3)) / area[:, None]
    mt = ((target.float() + 1) * 127.5 * m).sum(dim=(2, 3)) / area[:, None]
    return (mp - mt).norm(dim=1)


def nanmean(values: torch.Tensor) -> float:
    kept = values[~values.isnan()]
    return float(kept.mean()) if kept.numel() else float("nan")


def image_metrics(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
                  old_mask: torch.Tensor | None = None) -> dict[str, float]:
    """Means over the batch: PSNR, SSIM; with the new garment's ``mask`` its colour error,
    SSIM and edge F-score; with the old garment's ``old_mask`` too, the leak error."""
    out = {"psnr": float(psnr(pred, target).mean()), "ssim": float(ssim(pred, target).mean())}
    if mask is not None:
        out["garment_colour_error"] = float(garment_colour_error(pred, target, mask).mean())
        out["garment_ssim"] = nanmean(garment_ssim(pred, target, mask))
        out["garment_edges"] = nanmean(garment_edges(pred, target, mask))
        if old_mask is not None:
            out["leak_error"] = nanmean(leak_error(pred, target, old_mask, mask))
    return out
