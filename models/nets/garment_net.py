"""GarmentNet: encodes the garment latent into per-layer features for TryonNet (DESIGN §2).

It mirrors TryonNet's blocks and returns the hidden state entering each of its
self-attention layers. The TCG head (training only, not exported) reconstructs the clean
garment latent from those features at any sigma, which keeps them stable across the
trajectory (Trajectory-Consistent GarmentNet) and lets the engine cache them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .layers import group_norm
from .unet import UNet, UNetConfig


@dataclass(frozen=True)
class GarmentNetConfig:
    unet: UNetConfig = field(default_factory=UNetConfig)
    tcg_head_channels: int = 64


class TCGHead(nn.Module):
    """Light head: last GarmentNet feature map -> garment latent (for L_cons)."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, upscale: int):
        super().__init__()
        self.upscale = upscale
        self.norm = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, hidden, 3, padding=1)
        self.conv_out = nn.Conv2d(hidden, out_channels, 3, padding=1)

    def forward(self, feature: torch.Tensor, height: int, width: int) -> torch.Tensor:
        b, n, c = feature.shape
        h, w = height // self.upscale, width // self.upscale
        x = feature.transpose(1, 2).reshape(b, c, h, w)
        x = F.silu(self.conv1(F.silu(self.norm(x))))
        if self.upscale > 1:
            x = F.interpolate(x, scale_factor=float(self.upscale), mode="nearest")
        return self.conv_out(F.silu(self.conv2(x)))


class GarmentNet(nn.Module):
    def __init__(self, cfg: GarmentNetConfig):
        super().__init__()
        self.cfg = cfg
        u = cfg.unet
        self.unet = UNet(u, in_channels=u.latent_channels, garment_side=True)
        last = min(i for i, a in enumerate(u.attention) if a)
        self.tcg_head = TCGHead(u.channels[last], cfg.tcg_head_channels, u.latent_channels, 2**last)

    def forward(self, z_garment: torch.Tensor, sigma: torch.Tensor, category: torch.Tensor) -> list[torch.Tensor]:
        return self.unet(z_garment, sigma, category)

    def reconstruct(self, features: list[torch.Tensor], height: int, width: int) -> torch.Tensor:
        """TCG: predict the clean garment latent (height x width) from the features."""
        return self.tcg_head(features[-1], height, width)

    def inference_parameters(self) -> int:
        """Parameters that ship (the TCG head is training-only)."""
        return sum(p.numel() for p in self.unet.parameters())
