"""The student: LightVAE + GarmentNet + TryonNet + Light-Adapter, and its presets.

``full`` is the paper's 415M student (GarmentNet + TryonNet + adapter resampler; DINOv2
and the VAE counted apart), ``small`` the embedded default trained here, ``tiny`` the
test model (DESIGN §3). Configs are frozen dataclasses saved in every checkpoint and
bundle (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..config_io import from_dict
from .adapter import AdapterConfig, DinoConfig, LightAdapter
from .garment_net import GarmentNet, GarmentNetConfig
from .tryon_net import TryonNet, TryonNetConfig
from .unet import CATEGORIES, UNetConfig
from .vae import LightVAE, VAEConfig

DEFAULT_SIGMAS = (1.0, 0.75, 0.5, 0.25)


@dataclass(frozen=True)
class StudentConfig:
    name: str = "full"
    unet: UNetConfig = field(default_factory=UNetConfig)
    latent_concat: bool = True
    tcg_head_channels: int = 64
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    resolutions: tuple[tuple[int, int], ...] = ((1024, 768), (512, 384))  # (H, W), first = default
    sigmas: tuple[float, ...] = DEFAULT_SIGMAS
    categories: tuple[str, ...] = CATEGORIES

    def __post_init__(self):
        if self.adapter.output_dim != self.unet.context_dim:
            raise ValueError("adapter.output_dim must equal unet.context_dim")
        if self.vae.latent_channels != self.unet.latent_channels:
            raise ValueError("vae and unet latent channels differ")
        step = LightVAE.factor * self.unet.downsample_factor
        for h, w in self.resolutions:
            if h % step or w % step:
                raise ValueError(f"resolution {h}x{w} is not a multiple of {step}")

    @property
    def tryon(self) -> TryonNetConfig:
        return TryonNetConfig(unet=self.unet, latent_concat=self.latent_concat)

    @property
    def garment(self) -> GarmentNetConfig:
        return GarmentNetConfig(unet=self.unet, tcg_head_channels=self.tcg_head_channels)

    def replace(self, **changes) -> StudentConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> StudentConfig:
        """Strict: an unknown key or a wrong type is an error naming the key (models.config_io)."""
        return from_dict(cls, data, "student")


def full_config() -> StudentConfig:
    return StudentConfig(vae=VAEConfig(shortcut=True))


def small_config() -> StudentConfig:
    unet = UNetConfig(channels=(64, 128, 224), head_dim=32, context_dim=256)
    adapter = AdapterConfig(
        dino=DinoConfig(hidden_size=192, num_hidden_layers=4, num_attention_heads=3, image_size=112),
        dim=192, depth=2, heads=4, output_dim=256,
    )
    return StudentConfig(
        name="small", unet=unet, adapter=adapter, tcg_head_channels=32,
        vae=VAEConfig(width=48, shortcut=True), resolutions=((512, 384), (256, 192)),
    )


def tiny_config() -> StudentConfig:
    unet = UNetConfig(channels=(16, 32, 32), head_dim=16, context_dim=32, category_tokens=2)
    adapter = AdapterConfig(
        dino=DinoConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=28),
        dim=32, depth=1, heads=2, tokens=16, output_dim=32,
    )
    # no colour shortcut: in the suite's 30-step runs its learned latent channels are still
    # near zero, and the shortcut's per-channel scaling would blow them up into noise
    return StudentConfig(
        name="tiny", unet=unet, adapter=adapter, tcg_head_channels=16,
        vae=VAEConfig(width=16, blocks_per_stage=1), resolutions=((128, 96),),
    )


PRESETS = {"full": full_config, "small": small_config, "tiny": tiny_config}


def get_config(name: str) -> StudentConfig:
    try:
        return PRESETS[name]()
    except KeyError:
        raise ValueError(f"unknown config {name!r}; choose one of {', '.join(PRESETS)}") from None


class Student(nn.Module):
    """All student networks. Not called as a whole: each part exports to its own graph."""

    def __init__(self, cfg: StudentConfig, dino_weights: str | Path | None = None):
        super().__init__()
        self.cfg = cfg
        self.vae = LightVAE(cfg.vae)
        self.garment_net = GarmentNet(cfg.garment)
        self.tryon_net = TryonNet(cfg.tryon)
        self.adapter = LightAdapter(cfg.adapter, dino_weights)

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per network. ``student`` is what the paper's 415M counts."""

        def n(m: nn.Module) -> int:
            return sum(p.numel() for p in m.parameters())

        counts = {
            "tryon_net": n(self.tryon_net),
            "garment_net": self.garment_net.inference_parameters(),
            "adapter_resampler": self.adapter.resampler_parameters(),
            "dinov2": n(self.adapter.dino),
            "vae_encoder": n(self.vae.encoder),
            "vae_decoder": n(self.vae.decoder),
            "tcg_head (training only)": n(self.garment_net.tcg_head),
        }
        counts["student"] = counts["tryon_net"] + counts["garment_net"] + counts["adapter_resampler"]
        counts["total"] = counts["student"] + counts["dinov2"] + counts["vae_encoder"] + counts["vae_decoder"]
        return counts


def build_student(cfg: StudentConfig, device: str | torch.device = "cpu", dino_weights=None) -> Student:
    with torch.device(device):
        return Student(cfg, dino_weights)
