"""The five exported graphs: thin wrappers that fix each graph's inputs and outputs.

Input/output names here are the bundle contract the engine and the Android app read
from the manifest (DESIGN §4). All images enter as [-1, 1] RGB; all latents are scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..nets.student import Student, StudentConfig

GRAPH_NAMES = ("vae_encoder", "garment_net", "adapter", "tryon_net", "vae_decoder")


class VaeEncoderGraph(nn.Module):
    def __init__(self, student: Student):
        super().__init__()
        self.vae = student.vae

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(image)


class VaeDecoderGraph(nn.Module):
    def __init__(self, student: Student):
        super().__init__()
        self.vae = student.vae

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(latent)


class AdapterGraph(nn.Module):
    def __init__(self, student: Student):
        super().__init__()
        self.adapter = student.adapter

    def forward(self, garment: torch.Tensor) -> torch.Tensor:
        return self.adapter(garment)


class GarmentNetGraph(nn.Module):
    def __init__(self, student: Student):
        super().__init__()
        self.garment_net = student.garment_net

    def forward(self, z_garment: torch.Tensor, sigma: torch.Tensor, category: torch.Tensor):
        return tuple(self.garment_net(z_garment, sigma, category))


class TryonNetGraph(nn.Module):
    def __init__(self, student: Student):
        super().__init__()
        self.tryon_net = student.tryon_net

    def forward(self, x, z_person, z_garment, sigma, category, image_tokens, *garment_features):
        return self.tryon_net(x, z_person, z_garment, sigma, category, image_tokens, list(garment_features))


WRAPPERS = {
    "vae_encoder": VaeEncoderGraph,
    "garment_net": GarmentNetGraph,
    "adapter": AdapterGraph,
    "tryon_net": TryonNetGraph,
    "vae_decoder": VaeDecoderGraph,
}


@dataclass(frozen=True)
class IOSpec:
    inputs: dict[str, tuple[tuple[int, ...], torch.dtype]]
    outputs: dict[str, tuple[int, ...]]


def feature_shapes(cfg: StudentConfig, size: tuple[int, int]) -> list[tuple[int, int, int]]:
    """Shapes of GarmentNet's per-layer features, (1, tokens, channels), in fusion order."""
    H, W = size
    h, w = H // 8, W // 8
    u = cfg.unet
    shapes = []
    nlev = len(u.channels)
    for lev in range(nlev):  # down
        if u.attention[lev]:
            f = 2**lev
            shapes += [(1, (h // f) * (w // f), u.channels[lev])] * u.layers_per_block
    f = 2 ** (nlev - 1)
    shapes.append((1, (h // f) * (w // f), u.channels[-1]))  # mid
    for lev in reversed(range(nlev)):  # up
        if u.attention[lev]:
            f = 2**lev
            shapes += [(1, (h // f) * (w // f), u.channels[lev])] * (u.layers_per_block + 1)
    return shapes


def io_spec(cfg: StudentConfig, name: str, size: tuple[int, int]) -> IOSpec:
    H, W = size
    c = cfg.unet.latent_channels
    h, w = H // 8, W // 8
    xh = 2 * h if cfg.latent_concat else h
    s = cfg.adapter.dino.image_size
    tokens = (1, cfg.adapter.tokens, cfg.adapter.output_dim)
    f32, i64 = torch.float32, torch.int64
    feats = feature_shapes(cfg, size)
    if name == "vae_encoder":
        return IOSpec({"image": ((1, 3, H, W), f32)}, {"latent": (1, c, h, w)})
    if name == "vae_decoder":
        return IOSpec({"latent": ((1, c, h, w), f32)}, {"image": (1, 3, H, W)})
    if name == "adapter":
        return IOSpec({"garment": ((1, 3, s, s), f32)}, {"image_tokens": tokens})
    if name == "garment_net":
        return IOSpec(
            {"z_garment": ((1, c, h, w), f32), "sigma": ((1,), f32), "category": ((1,), i64)},
            {f"garment_feature_{i:02d}": shape for i, shape in enumerate(feats)},
        )
    if name == "tryon_net":
        inputs = {
            "x": ((1, c, xh, w), f32),
            "z_person": ((1, c, h, w), f32),
            "z_garment": ((1, c, h, w), f32),
            "sigma": ((1,), f32),
            "category": ((1,), i64),
            "image_tokens": (tokens, f32),
        }
        inputs.update({f"garment_feature_{i:02d}": (shape, f32) for i, shape in enumerate(feats)})
        return IOSpec(inputs, {"v": (1, c, xh, w)})
    raise ValueError(f"unknown graph {name!r}")


def example_inputs(spec: IOSpec, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random but valid inputs (sigma in (0, 1), category 0) for tracing and parity checks."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, (shape, dtype) in spec.inputs.items():
        if dtype == torch.int64:
            out[name] = torch.zeros(shape, dtype=dtype)
        elif name == "sigma":
            out[name] = torch.full(shape, 0.75)
        elif name in ("image", "garment"):
            out[name] = torch.rand(shape, generator=g) * 2 - 1
        else:
            out[name] = torch.randn(shape, generator=g)
    return out
