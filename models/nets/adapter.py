"""Light-Adapter: DINOv2 image features -> perceiver resampler -> 16 garment tokens.

DINOv2 (``transformers.Dinov2Model``) replaces CLIP (DESIGN §2). It is built from its
config with random weights, or loaded from a local directory of pretrained weights;
nothing is ever downloaded. The penultimate layer's hidden states feed the resampler,
whose tokens TryonNet reads through decoupled cross-attention.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

# ImageNet statistics DINOv2 was trained with; the graph takes [-1, 1] RGB like every other.
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class DinoConfig:
    hidden_size: int = 768  # DINOv2-base
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    image_size: int = 224
    patch_size: int = 14


@dataclass(frozen=True)
class AdapterConfig:
    dino: DinoConfig = field(default_factory=DinoConfig)
    dim: int = 384
    depth: int = 2
    heads: int = 6
    tokens: int = 16
    output_dim: int = 768  # = TryonNet's context_dim


class PerceiverLayer(nn.Module):
    """Latents attend to [features; latents], then a feed-forward (IP-Adapter-plus style)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm_x = nn.LayerNorm(dim)
        self.norm_l = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ff = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        lat = self.norm_l(latents)
        kv = torch.cat([self.norm_x(x), lat], dim=1)
        latents = latents + self.attn(lat, kv, kv, need_weights=False)[0]
        return latents + self.ff(latents)


class Resampler(nn.Module):
    def __init__(self, cfg: AdapterConfig):
        super().__init__()
        self.latents = nn.Parameter(torch.randn(1, cfg.tokens, cfg.dim) * cfg.dim**-0.5)
        self.proj_in = nn.Linear(cfg.dino.hidden_size, cfg.dim)
        self.layers = nn.ModuleList(PerceiverLayer(cfg.dim, cfg.heads) for _ in range(cfg.depth))
        self.proj_out = nn.Linear(cfg.dim, cfg.output_dim)
        self.norm_out = nn.LayerNorm(cfg.output_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.proj_in(features)
        latents = self.latents.expand(x.shape[0], -1, -1)
        for layer in self.layers:
            latents = layer(x, latents)
        return self.norm_out(self.proj_out(latents))


def build_dino(cfg: DinoConfig, weights_dir: str | Path | None = None) -> nn.Module:
    from transformers import Dinov2Config, Dinov2Model

    if weights_dir is not None:
        path = Path(weights_dir)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path}: not a DINOv2 weights directory (no config.json)")
        return Dinov2Model.from_pretrained(path, local_files_only=True)
    config = Dinov2Config(
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        image_size=cfg.image_size,
        patch_size=cfg.patch_size,
    )
    return Dinov2Model(config)


class LightAdapter(nn.Module):
    def __init__(self, cfg: AdapterConfig, dino_weights: str | Path | None = None):
        super().__init__()
        self.cfg = cfg
        self.dino = build_dino(cfg.dino, dino_weights)
        self.resampler = Resampler(cfg)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, garment: torch.Tensor) -> torch.Tensor:
        """``garment``: (B, 3, S, S) in [-1, 1], S = dino image_size. Returns (B, tokens, D)."""
        pixels = ((garment + 1.0) * 0.5 - self.mean) / self.std
        out = self.dino(pixel_values=pixels, output_hidden_states=True)
        return self.resampler(out.hidden_states[-2])  # penultimate layer

    def resampler_parameters(self) -> int:
        return sum(p.numel() for p in self.resampler.parameters())
