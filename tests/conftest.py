"""Test setup: offscreen Qt before any Qt import, a private data dir, and a shared tiny bundle."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    """Every test gets its own user data dir: nothing touches the real one."""
    home = tmp_path_factory.mktemp("vton-home")
    monkeypatch.setenv("MOBILE_VTON_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """A tiny INT8 bundle exported once per test session (random weights, real pipeline)."""
    import torch

    from models.export.bundle import export_bundle
    from models.export.samples import example_inputs_from_synthetic
    from models.nets import build_student, get_config

    torch.manual_seed(0)
    student = build_student(get_config("tiny"))
    out = tmp_path_factory.mktemp("bundles") / "tiny-int8"
    size = student.cfg.resolutions[0]
    export_bundle(
        student, out, int8=True,
        calibration=example_inputs_from_synthetic(3, size, seed=10_000),
        held_out=example_inputs_from_synthetic(1, size, seed=20_000),
        log=lambda m: None,
    )
    return out


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> dict[str, Path]:
    """A portrait and a garment as files (odd sizes on purpose)."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    person = root / "person.png"
    garment = root / "garment.jpg"
    Image.fromarray((rng.random((301, 207, 3)) * 255).astype(np.uint8)).save(person)
    Image.fromarray((rng.random((180, 160, 3)) * 255).astype(np.uint8)).save(garment, quality=90)
    return {"person": person, "garment": garment}
