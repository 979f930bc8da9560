"""LightVAE: a TAESD-like autoencoder, 16-channel latent, factor 8 (DESIGN §3).

Trained by this project (models/train). The encoder applies the latent scale and shift
so that latents are roughly unit-variance for flow matching; the decoder undoes them.

With ``shortcut`` (a colour shortcut in the spirit of DC-AE's non-parametric residual
shortcuts), the first three raw latent channels carry each 8x8 cell's mean colour on top of
what the encoder learns, and the decoder adds those channels back, bilinearly upsampled,
to its output. The networks then learn only the detail around a colour that is right from
the first step; without it a minutes-long run greys colours out (a 2-minute small VAE on
the current world turned greens grey).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class VAEConfig:
    kind: str = "light"
    latent_channels: int = 16
    width: int = 64
    blocks_per_stage: int = 3
    shortcut: bool = False  # mean colour in latent channels 0-2, added back by the decoder
    scaling_factor: float = 1.0  # set after VAE training from latent statistics
    shift_factor: float = 0.0
    # per-channel statistics (one value per latent channel), used instead of the two scalars
    # when set: the shortcut's colour channels vary several times more than the others
    channel_scale: tuple[float, ...] = ()
    channel_shift: tuple[float, ...] = ()


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
        self.shortcut = cfg.shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.layers(x)
        if not self.shortcut:
            return z
        colour = F.avg_pool2d(x, LightVAE.factor)
        return torch.cat([z[:, :3] + colour, z[:, 3:]], dim=1)


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
        self.shortcut = cfg.shortcut

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # TAESD's soft clamp keeps out-of-range latents from blowing up the decoder.
        out = self.layers(torch.tanh(z / 3.0) * 3.0)
        if self.shortcut:  # the colour itself, unclamped: a flat colour comes back exactly
            out = out + F.interpolate(z[:, :3], scale_factor=float(LightVAE.factor), mode="bilinear",
                                      align_corners=False)
        return out


class LightVAE(nn.Module):
    factor = 8

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def encode_raw(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image)

    def _affine(self, like: torch.Tensor) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """(shift, scale): the two scalars, or per-channel values shaped to broadcast over ``like``."""
        if not self.cfg.channel_scale:
            return self.cfg.shift_factor, self.cfg.scaling_factor
        shape = (1, len(self.cfg.channel_scale), 1, 1)
        shift = torch.tensor(self.cfg.channel_shift, dtype=like.dtype, device=like.device).view(shape)
        scale = torch.tensor(self.cfg.channel_scale, dtype=like.dtype, device=like.device).view(shape)
        return shift, scale

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """[-1, 1] RGB -> scaled latent."""
        shift, scale = self._affine(image)
        return (self.encoder(image) - shift) * scale

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Scaled latent -> [-1, 1] RGB (not clamped)."""
        shift, scale = self._affine(latent)
        return self.decoder(latent / scale + shift)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(image))
