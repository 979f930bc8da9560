"""LightVAE: a TAESD-like autoencoder, 16-channel latent, factor 8 (DESIGN §3).

Trained by this project (models/train). The encoder applies the latent scale and shift
so that latents are roughly unit-variance for flow matching; the decoder undoes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class VAEConfig:
    kind: str = "light"
    latent_channels: int = 16
    width: int = 64
    blocks_per_stage: int = 3
    scaling_factor: float = 1.0  # set after VAE training from latent statistics
    shift_factor: float = 0.0


class Block(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1),
        )
        self.skip = nn.Conv2d(cin, cout, 1, bias=False) if cin != cout else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x) + self.skip(x))


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        w, n = cfg.width, cfg.blocks_per_stage
        layers: list[nn.Module] = [nn.Conv2d(3, w, 3, padding=1), Block(w, w)]
        for _ in range(3):
            layers.append(nn.Conv2d(w, w, 3, stride=2, padding=1, bias=False))
            layers += [Block(w, w) for _ in range(n)]
        layers.append(nn.Conv2d(w, cfg.latent_channels, 3, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Decoder(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        w, n = cfg.width, cfg.blocks_per_stage
        layers: list[nn.Module] = [nn.Conv2d(cfg.latent_channels, w, 3, padding=1), nn.ReLU()]
        for _ in range(3):
            layers += [Block(w, w) for _ in range(n)]
            layers += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(w, w, 3, padding=1, bias=False)]
        layers += [Block(w, w), nn.Conv2d(w, 3, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # TAESD's soft clamp keeps out-of-range latents from blowing up the decoder.
        return self.layers(torch.tanh(z / 3.0) * 3.0)


class LightVAE(nn.Module):
    factor = 8

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def encode_raw(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image)

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """[-1, 1] RGB -> scaled latent."""
        return (self.encoder(image) - self.cfg.shift_factor) * self.cfg.scaling_factor

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Scaled latent -> [-1, 1] RGB (not clamped)."""
        return self.decoder(latent / self.cfg.scaling_factor + self.cfg.shift_factor)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(image))
