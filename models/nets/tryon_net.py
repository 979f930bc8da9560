"""TryonNet: the denoiser that fuses person and garment (DESIGN §2).

Input is the noisy latent ``x`` channel-concatenated with the condition. With latent
concatenation (LC) the condition is the person latent stacked over the garment latent
along height, and ``x`` covers both halves; only the top half is decoded. Without LC
(ablation) ``x`` and the condition cover the person alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .unet import UNet, UNetConfig


@dataclass(frozen=True)
class TryonNetConfig:
    unet: UNetConfig = field(default_factory=UNetConfig)
    latent_concat: bool = True


class TryonNet(nn.Module):
    def __init__(self, cfg: TryonNetConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.unet.latent_channels
        self.unet = UNet(cfg.unet, in_channels=2 * c, garment_side=False)

    def condition(self, z_person: torch.Tensor, z_garment: torch.Tensor) -> torch.Tensor:
        if self.cfg.latent_concat:
            return torch.cat([z_person, z_garment], dim=2)
        return z_person

    def forward(
        self,
        x: torch.Tensor,
        z_person: torch.Tensor,
        z_garment: torch.Tensor,
        sigma: torch.Tensor,
        category: torch.Tensor,
        image_tokens: torch.Tensor,
        garment_features: list[torch.Tensor],
    ) -> torch.Tensor:
        """Predict the flow velocity ``v = eps - x0`` for the noisy latent ``x``."""
        inp = torch.cat([x, self.condition(z_person, z_garment)], dim=1)
        rows = z_person.shape[2] if self.cfg.latent_concat else None
        return self.unet(inp, sigma, category, image_tokens, list(garment_features), person_rows=rows)

    @property
    def num_fusion_layers(self) -> int:
        return len(self.unet.attention_layers())
