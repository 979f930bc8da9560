"""The committed examples and the bundled font: present, described, and regenerable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from models.data import CATEGORIES, write_examples
from models.data.examples import ASSETS

ROOT = Path(__file__).resolve().parent.parent


def test_examples_are_listed_and_cover_every_category():
    meta = json.loads((ASSETS / "examples.json").read_text())
    assert len(meta["portraits"]) >= 4 and len(meta["garments"]) >= 6
    assert {g["category"] for g in meta["garments"]} == set(CATEGORIES)
    for item in meta["portraits"] + meta["garments"]:
        img = Image.open(ASSETS / item["file"])
        assert img.format == "PNG" and img.size == (384, 512) and img.mode == "RGB"
    assert sorted(p.name for p in ASSETS.glob("*.png")) == sorted(i["file"] for i in meta["portraits"] + meta["garments"])


def test_examples_regenerate_from_code(tmp_path):
    write_examples(tmp_path)
    assert json.loads((tmp_path / "examples.json").read_text()) == json.loads((ASSETS / "examples.json").read_text())
    for png in sorted(ASSETS.glob("*.png")):
        a = np.asarray(Image.open(png), dtype=np.int16)
        b = np.asarray(Image.open(tmp_path / png.name), dtype=np.int16)
        # identical on the machine that made them; allow float differences of other CPUs
        assert np.abs(a - b).mean() < 0.5, png.name


def test_bundled_font_and_its_licence():
    fonts = ROOT / "assets" / "fonts"
    assert (fonts / "DejaVuSans.ttf").stat().st_size > 100_000
    assert (fonts / "DejaVuSans-Bold.ttf").stat().st_size > 100_000
    assert "Bitstream" in (fonts / "LICENSE-DejaVu.txt").read_text()
