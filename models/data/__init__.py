"""Data: the synthetic try-on world, real-dataset loaders and the shared sample type."""

from .sample import CATEGORIES, TryOnSample

__all__ = ["CATEGORIES", "TryOnSample"]
