"""Student networks: one file per network, a config dataclass beside each."""

from .adapter import AdapterConfig, DinoConfig, LightAdapter
from .garment_net import GarmentNet, GarmentNetConfig
from .student import PRESETS, Student, StudentConfig, build_student, get_config
from .tryon_net import TryonNet, TryonNetConfig
from .unet import CATEGORIES, UNetConfig
from .vae import LightVAE, VAEConfig

__all__ = [
    "AdapterConfig", "CATEGORIES", "DinoConfig", "GarmentNet", "GarmentNetConfig", "LightAdapter",
    "LightVAE", "PRESETS", "Student", "StudentConfig", "TryonNet", "TryonNetConfig", "UNetConfig",
    "VAEConfig", "build_student", "get_config",
]
