"""Data: the synthetic try-on world, real-dataset loaders and the shared sample type.

Importing this package is cheap (numpy and Pillow only); ``TryOnTensors`` (torch) is
loaded on first use.
"""

from .check import DatasetReport, check_dataset
from .datasets import FileDataset, Problem, detect_layout, open_dataset, split_names
from .examples import write_examples
from .sample import CATEGORIES, TryOnSample
from .sheet import contact_sheet
from .synthetic import SyntheticWorld
from .writer import write_synthetic

__all__ = [
    "CATEGORIES",
    "DatasetReport",
    "FileDataset",
    "Problem",
    "SyntheticWorld",
    "TryOnSample",
    "TryOnTensors",
    "check_dataset",
    "contact_sheet",
    "detect_layout",
    "open_dataset",
    "split_names",
    "write_examples",
    "write_synthetic",
]


def __getattr__(name: str):
    if name == "TryOnTensors":  # torch is imported only here
        from .torch_dataset import TryOnTensors

        return TryOnTensors
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
