"""The UNet body that GarmentNet and TryonNet share (DESIGN §2–3).

GarmentNet mirrors TryonNet's block structure so that each of its self-attention layers
has a partner in TryonNet: the hidden state entering GarmentNet's layer ``i`` is appended
to the keys/values of TryonNet's layer ``i`` (multi-scale fusion).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .layers import (
    Downsample,
    GarmentAttention,
    ResBlock,
    SigmaEmbedding,
    SpatialTransformer,
    Upsample,
    conv3x3,
    group_norm,
)

CATEGORIES = ("upper", "lower", "dress")


@dataclass(frozen=True)
class UNetConfig:
    channels: tuple[int, ...] = (224, 448, 896)
    attention: tuple[bool, ...] = (False, True, True)  # self + cross attention per level
    separable: tuple[bool, ...] = (False, False, False)  # depthwise-separable convs per level
    layers_per_block: int = 1
    head_dim: int = 64
    context_dim: int = 768  # width of category tokens and adapter tokens
    category_tokens: int = 4  # learned tokens per garment category (no text encoder)
    image_scale: float = 1.0  # lambda of the decoupled image cross-attention
    latent_channels: int = 16
    # Garment attention at the top latent level (1/8 of the image): before conv_out, the
    # person half of the LC canvas attends to the garment half, so garment pixels reach the
    # result at the finest scale the UNet has (the attention levels below are 1/16 and 1/32).
    top_attention: bool = False

    @property
    def downsample_factor(self) -> int:
        return 2 ** (len(self.channels) - 1)


class UNet(nn.Module):
    """Conditioned UNet. ``garment_side=True`` builds GarmentNet's truncated copy.

    GarmentNet stops after its last self-attention layer (nothing below it feeds TryonNet),
    so it has no shallow up-levels and no ``conv_out``.
    """

    def __init__(self, cfg: UNetConfig, in_channels: int, garment_side: bool):
        super().__init__()
        self.cfg = cfg
        self.garment_side = garment_side
        ch = cfg.channels
        temb = 4 * ch[0]
        nlev = len(ch)
        image_attention = not garment_side

        def transformer(c: int) -> SpatialTransformer:
            return SpatialTransformer(c, cfg.head_dim, cfg.context_dim, cfg.image_scale, image_attention)

        self.conv_in = nn.Conv2d(in_channels, ch[0], 3, padding=1)
        self.sigma_embed = SigmaEmbedding(ch[0], temb)
        self.category_tokens = nn.Parameter(torch.randn(len(CATEGORIES), cfg.category_tokens, cfg.context_dim) * 0.02)

        skips = [ch[0]]
        self.down = nn.ModuleList()
        cin = ch[0]
        for lev in range(nlev):
            level = nn.Module()
            level.res = nn.ModuleList()
            level.attn = nn.ModuleList()
            for _ in range(cfg.layers_per_block):
                level.res.append(ResBlock(cin, ch[lev], temb, cfg.separable[lev]))
                cin = ch[lev]
                if cfg.attention[lev]:
                    level.attn.append(transformer(cin))
                skips.append(cin)
            level.downsample = Downsample(cin, cfg.separable[lev]) if lev < nlev - 1 else None
            if level.downsample is not None:
                skips.append(cin)
            self.down.append(level)

        self.mid_res1 = ResBlock(cin, cin, temb, cfg.separable[-1])
        self.mid_attn = transformer(cin)
        self.mid_res2 = ResBlock(cin, cin, temb, cfg.separable[-1])

        # Up path: deepest level first. GarmentNet keeps only the levels down to the
        # shallowest one with attention.
        last_level = min(i for i, a in enumerate(cfg.attention) if a) if garment_side else 0
        self.up = nn.ModuleList()
        for lev in reversed(range(last_level, nlev)):
            level = nn.Module()
            level.res = nn.ModuleList()
            level.attn = nn.ModuleList()
            for _ in range(cfg.layers_per_block + 1):
                level.res.append(ResBlock(cin + skips.pop(), ch[lev], temb, cfg.separable[lev]))
                cin = ch[lev]
                if cfg.attention[lev]:
                    level.attn.append(transformer(cin))
            level.upsample = Upsample(cin, cfg.separable[lev]) if lev > last_level else None
            self.up.append(level)

        if not garment_side:
            self.garment_attn = GarmentAttention(cin, cfg.head_dim) if cfg.top_attention else None
            self.norm_out = group_norm(cin)
            self.conv_out = conv3x3(cin, cfg.latent_channels)

    def attention_layers(self) -> list[SpatialTransformer]:
        """Self-attention layers in execution order (the fusion pairing order)."""
        layers = [a for lev in self.down for a in lev.attn]
        layers.append(self.mid_attn)
        layers += [a for lev in self.up for a in lev.attn]
        return layers

    def forward(
        self,
        x: torch.Tensor,
        sigma: torch.Tensor,
        category: torch.Tensor,
        image_tokens: torch.Tensor | None = None,
        garment_features: list[torch.Tensor] | None = None,
        person_rows: int | None = None,
    ) -> torch.Tensor | list[torch.Tensor]:
        """``person_rows``: with latent concatenation, how many top rows of ``x`` are the person
        (the rest is the garment): what the top-level garment attention needs."""
        temb = self.sigma_embed(sigma)
        ctx = self.category_tokens[category]  # (B, tokens, context_dim)
        capture: list[torch.Tensor] | None = [] if self.garment_side else None
        feats = iter(garment_features) if garment_features is not None else None

        def attn(layer: SpatialTransformer, h: torch.Tensor) -> torch.Tensor:
            g = next(feats) if feats is not None else None
            return layer(h, ctx, image_tokens, g, capture)

        h = self.conv_in(x)
        skips = [h]
        for level in self.down:
            for i, res in enumerate(level.res):
                h = res(h, temb)
                if len(level.attn):
                    h = attn(level.attn[i], h)
                skips.append(h)
            if level.downsample is not None:
                h = level.downsample(h)
                skips.append(h)

        h = self.mid_res2(attn(self.mid_attn, self.mid_res1(h, temb)), temb)

        for level in self.up:
            for i, res in enumerate(level.res):
                h = res(torch.cat([h, skips.pop()], dim=1), temb)
                if len(level.attn):
                    h = attn(level.attn[i], h)
            if level.upsample is not None:
                h = level.upsample(h)

        if self.garment_side:
            return capture
        if self.garment_attn is not None and person_rows is not None:
            h = self.garment_attn(h, person_rows)
        return self.conv_out(torch.nn.functional.silu(self.norm_out(h)))
