"""Bad input gets one clear line naming the file and the problem, exit code 2, no traceback;
odd but valid images are converted and work (DESIGN §9)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from engine.errors import InputError
from engine.images import MAX_PIXELS, load_image


def _photo(h=120, w=90, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8))


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tryon(capsys, bundle, person, garment, tmp_path):
    return run_cli(capsys, "tryon", "--bundle", bundle, "--person", person, "--garment", garment,
                   "-o", tmp_path / "out.png", "-q")


# -- broken files: refused ------------------------------------------------------------------

def _missing(d: Path) -> Path:
    return d / "nope.png"


def _empty(d: Path) -> Path:
    p = d / "empty.jpg"
    p.write_bytes(b"")
    return p


def _truncated_jpeg(d: Path) -> Path:
    buf = io.BytesIO()
    _photo(200, 150).save(buf, format="JPEG", quality=95)
    p = d / "truncated.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return p


def _truncated_png(d: Path) -> Path:
    buf = io.BytesIO()
    _photo(200, 150).save(buf, format="PNG")
    p = d / "truncated.png"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return p


def _text_as_jpg(d: Path) -> Path:
    p = d / "notes.jpg"
    p.write_text("this is not a picture\n")
    return p


def _bomb(d: Path) -> Path:
    p = d / "bomb.png"
    Image.new("1", (10_000, 9_000)).save(p)  # 90 MP, a few KB on disk
    return p


def _one_pixel(d: Path) -> Path:
    p = d / "pixel.png"
    Image.new("RGB", (1, 1), (255, 0, 0)).save(p)
    return p


def _folder(d: Path) -> Path:
    p = d / "a-folder.png"
    p.mkdir()
    return p


BROKEN = {
    "missing": (_missing, "not found"),
    "empty": (_empty, "empty"),
    "truncated jpeg": (_truncated_jpeg, "truncated"),
    "truncated png": (_truncated_png, "truncated"),
    "text named .jpg": (_text_as_jpg, "not an image"),
    "decompression bomb": (_bomb, "MP"),
    "1x1 image": (_one_pixel, "1x1"),
    "folder": (_folder, "folder"),
}


@pytest.mark.parametrize("case", list(BROKEN))
@pytest.mark.parametrize("role", ["person", "garment"])
def test_broken_image_gives_one_line_and_exit_2(case, role, tmp_path, capsys, tiny_bundle, images):
    make, words = BROKEN[case]
    bad = make(tmp_path)
    person = bad if role == "person" else images["person"]
    garment = bad if role == "garment" else images["garment"]
    code, out, err = tryon(capsys, tiny_bundle, person, garment, tmp_path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(bad) in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "out.png").exists()  # nothing half-written


def test_truncated_file_is_untouched(tmp_path):
    bad = _truncated_jpeg(tmp_path)
    before = bad.read_bytes()
    with pytest.raises(InputError):
        load_image(bad)
    assert bad.read_bytes() == before  # loses nothing


def test_bomb_limit_is_80_megapixels():
    assert MAX_PIXELS == 80_000_000


# -- odd but valid images: converted and used -----------------------------------------------

def _gray(d):
    p = d / "gray.png"
    _photo().convert("L").save(p)
    return p


def _cmyk(d):
    p = d / "cmyk.jpg"
    _photo().convert("CMYK").save(p, quality=90)
    return p


def _rgba(d):
    p = d / "rgba.png"
    img = _photo().convert("RGBA")
    img.putalpha(128)
    img.save(p)
    return p


def _sixteen_bit(d):
    p = d / "gray16.png"
    arr = (np.random.default_rng(0).random((120, 90)) * 65535).astype(np.uint16)
    Image.fromarray(arr).save(p)
    return p


def _palette(d):
    p = d / "palette.gif"
    _photo().convert("P", palette=Image.Palette.ADAPTIVE).save(p)
    return p


def _exif_rotated(d):
    p = d / "rotated.jpg"
    img = _photo(120, 90)
    exif = img.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° CW to display
    img.save(p, exif=exif, quality=90)
    return p


ODD = {"grayscale": _gray, "cmyk": _cmyk, "rgba": _rgba, "16-bit": _sixteen_bit, "palette": _palette}


@pytest.mark.parametrize("case", list(ODD))
def test_odd_valid_images_are_converted(case, tmp_path):
    arr = load_image(ODD[case](tmp_path))
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
    assert arr.shape[:2] == (120, 90)


def test_sixteen_bit_keeps_its_range(tmp_path):
    arr = load_image(_sixteen_bit(tmp_path))
    assert arr.max() > 200 and arr.min() < 50  # scaled, not clipped to white


def test_exif_rotation_is_honoured(tmp_path):
    arr = load_image(_exif_rotated(tmp_path))
    assert arr.shape[:2] == (90, 120)  # upright: width and height swapped


def test_odd_images_run_through_the_cli(tmp_path, capsys, tiny_bundle):
    person = _exif_rotated(tmp_path)
    garment = _cmyk(tmp_path)
    code, _, err = tryon(capsys, tiny_bundle, person, garment, tmp_path)
    assert code == 0, err
    assert Image.open(tmp_path / "out.png").size == (120, 90)  # the upright portrait's size


# -- bad bundles and options ------------------------------------------------------------------

def test_bundle_without_manifest(tmp_path, capsys, images):
    (tmp_path / "empty-bundle").mkdir()
    code, _, err = tryon(capsys, tmp_path / "empty-bundle", images["person"], images["garment"], tmp_path)
    assert code == 2
    assert "manifest.json" in err and "not a model bundle" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "text, words",
    [("{not json", "invalid JSON"), ("[]", "JSON object"), ('{"format": "other"}', "not a Mobile-VTON bundle")],
)
def test_bundle_with_bad_manifest(text, words, tmp_path, capsys, images):
    b = tmp_path / "bad-bundle"
    b.mkdir()
    (b / "manifest.json").write_text(text)
    code, _, err = tryon(capsys, b, images["person"], images["garment"], tmp_path)
    assert code == 2 and words in err and str(b / "manifest.json") in err


def test_manifest_missing_a_field(tmp_path, capsys, images, tiny_bundle):
    b = tmp_path / "b"
    shutil.copytree(tiny_bundle, b)
    data = json.loads((b / "manifest.json").read_text())
    del data["sampler"]
    (b / "manifest.json").write_text(json.dumps(data))
    code, _, err = tryon(capsys, b, images["person"], images["garment"], tmp_path)
    assert code == 2 and "missing field 'sampler'" in err


def test_unwritable_output_is_refused_before_running(tmp_path, capsys, tiny_bundle, images):
    code, _, err = run_cli(capsys, "tryon", "--bundle", tiny_bundle, "--person", images["person"],
                           "--garment", images["garment"], "-o", tmp_path / "no-such-dir" / "o.png")
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(capsys, "tryon", "--bundle", tiny_bundle, "--person", images["person"],
                           "--garment", images["garment"], "-o", tmp_path / "o.txt")
    assert code == 2 and "unsupported output format" in err


def test_size_not_in_bundle(tmp_path, capsys, tiny_bundle, images):
    code, _, err = run_cli(capsys, "tryon", "--bundle", tiny_bundle, "--person", images["person"],
                           "--garment", images["garment"], "--size", "512x384", "-o", tmp_path / "o.png")
    assert code == 2 and "512x384" in err and "available" in err
