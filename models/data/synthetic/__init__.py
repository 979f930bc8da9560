"""The procedural synthetic try-on world (people, garments, fabrics, scenes, cameras, product shots)."""

from .backgrounds import BACKDROPS, Backdrop, random_backdrop
from .camera import Photo, random_photo
from .draws import Draws
from .garments import GARMENT_KINDS, Garment, random_garment
from .people import FRAMINGS, Person, random_person
from .product import ProductShot, random_product_shot, render_product
from .render import Light, PersonScene, random_light
from .textures import TEXTURE_KINDS, TextureSpec
from .world import SampleSpec, SyntheticWorld, render_sample, render_views, tune_allocator

__all__ = [
    "BACKDROPS",
    "FRAMINGS",
    "GARMENT_KINDS",
    "TEXTURE_KINDS",
    "Backdrop",
    "Draws",
    "Garment",
    "Light",
    "Person",
    "PersonScene",
    "Photo",
    "ProductShot",
    "SampleSpec",
    "SyntheticWorld",
    "TextureSpec",
    "random_backdrop",
    "random_garment",
    "random_light",
    "random_person",
    "random_photo",
    "random_product_shot",
    "render_product",
    "render_sample",
    "render_views",
    "tune_allocator",
]
