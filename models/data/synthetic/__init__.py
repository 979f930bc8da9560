"""The procedural synthetic try-on world (people, garments, fabrics, rendering)."""

from .garments import GARMENT_KINDS, Garment, random_garment
from .people import Person, random_person
from .render import PersonScene, render_flat
from .textures import TEXTURE_KINDS, TextureSpec
from .world import SampleSpec, SyntheticWorld, render_sample, tune_allocator

__all__ = [
    "GARMENT_KINDS",
    "TEXTURE_KINDS",
    "Garment",
    "Person",
    "PersonScene",
    "SampleSpec",
    "SyntheticWorld",
    "TextureSpec",
    "random_garment",
    "random_person",
    "render_flat",
    "render_sample",
    "tune_allocator",
]
