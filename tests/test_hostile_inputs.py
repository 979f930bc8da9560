"""Issue 16: hostile and careless inputs, through the real loader and the real ``vton`` command.

Each test reproduces one failure the issue reported (PostScript run by Ghostscript, an
output written over the portrait, a planted symlink at the temp path, an 80 MP photo
taking 4 GB, a 500 MiB file read whole, FIFOs and devices, long and odd names, library
warnings on the terminal, a cancel ignored during decode and restore) and shows it fixed.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

import engine.images as images_module
from app.cli import main
from engine.errors import Cancelled, InputError
from engine.images import load_image, resize_array, save_image, to_rgb
from engine.pipeline import TryOnPipeline
from engine.request import CancelToken, TryOnRequest
from engine.restore import keep_unchanged
from engine.runner import JobState, TryOnRunner

ROOT = Path(__file__).resolve().parent.parent
PEAK_LIMIT_BYTES = 1.5e9  # the bound for an 80 MP photo


# Linux keeps a process's peak RSS across exec, so a child started from pytest (torch loaded)
# would report pytest's size: a small wrapper starts the command and reports its child's peak.
PEAK = ("import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.stderr.write(p.stderr)\n")


def peak_rss(argv: list[str]) -> tuple[int, int, str]:
    """(exit code, peak RSS in KiB, stderr) of a command."""
    proc = subprocess.run([sys.executable, "-c", PEAK, *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    code, rss_kib = (int(v) for v in proc.stdout.split())
    return code, rss_kib, proc.stderr


def cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def photo(path: Path, h: int = 120, w: int = 90, seed: int = 0, **options) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(path, **options)
    return path


# -- formats: only photos are decoded -------------------------------------------------------------
EPS_LOOP = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{ } loop\n%%EOF\n"


def test_postscript_named_png_never_reaches_ghostscript(tmp_path, tiny_bundle, images):
    """An EPS named .png used to be rendered by gs; a '{ } loop' hung the CLI forever."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    marker = tmp_path / "ghostscript-ran"
    gs = fake_bin / "gs"
    gs.write_text(f"#!/bin/sh\necho ran > '{marker}'\nsleep 60\n")
    gs.chmod(0o755)
    eps = tmp_path / "portrait.png"
    eps.write_bytes(EPS_LOOP)
    env = dict(os.environ, PATH=f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "app.cli", "tryon", "--person", str(eps), "--garment",
                           str(images["garment"]), "--bundle", str(tiny_bundle), "-o", str(tmp_path / "o.png")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert str(eps) in line and "not an image" in line and "PNG, JPEG" in line
    assert not marker.exists(), "Ghostscript was started"
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("fmt", ["EPS", "PDF", "XBM", "ICO", "SGI", "TGA", "PCX", "PPM", "JPEG2000", "QOI", "DDS",
                                 "ICNS", "IM", "SPIDER"])
def test_other_pillow_formats_are_refused(fmt, tmp_path):
    img = Image.fromarray(np.full((64, 64, 3), 128, np.uint8))
    img = img.convert("1") if fmt == "XBM" else img.convert("F") if fmt == "SPIDER" else img
    path = tmp_path / "photo.jpg"
    buf = io.BytesIO()  # (saving SPIDER to a named file makes Pillow map that suffix to SPIDER for good)
    img.save(buf, format=fmt)
    path.write_bytes(buf.getvalue())
    if fmt != "PDF":  # (Pillow only writes PDF)
        assert Image.open(path).format == fmt  # Pillow itself would open it...
    with pytest.raises(InputError, match="not an image"):  # ...the app does not
        load_image(path)


def test_svg_is_refused_and_never_fetched(tmp_path):
    svg = tmp_path / "garment.png"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><image href="http://127.0.0.1:9/x.png"/></svg>')
    with pytest.raises(InputError, match="not an image"):
        load_image(svg)


# -- files that are not regular files -------------------------------------------------------------
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "portrait.png"
    os.mkfifo(fifo)
    result: list = []

    def load():
        try:
            load_image(fifo)
        except InputError as exc:
            result.append(exc)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "opening a FIFO blocked"
    assert result and "not a regular file" in str(result[0])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_devices_are_not_called_empty(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    with pytest.raises(InputError, match="not a regular file"):
        load_image(device)


def test_a_huge_file_is_refused_without_being_read(tmp_path):
    """A 600 MiB file is refused from its size; a 500 MiB one is streamed, never read whole."""
    big = tmp_path / "big.png"
    with open(big, "wb") as fh:  # sparse: costs no disk
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.truncate(600 * 2**20)
    with pytest.raises(InputError, match="600 MiB; the limit is 512 MiB"):
        load_image(big)
    half = tmp_path / "half.png"
    with open(half, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        fh.truncate(500 * 2**20)
    code = f"from engine.images import load_image\nload_image({str(half)!r})"
    exit_code, rss_kib, err = peak_rss([sys.executable, "-c", code])
    assert exit_code == 1 and "InputError" in err and "not an image" in err
    assert rss_kib < 200 * 1024, f"peak RSS {rss_kib // 1024} MiB: the file was read whole"


# -- names ----------------------------------------------------------------------------------------
def test_a_path_component_over_255_bytes_is_one_line(tmp_path, capsys, tiny_bundle, images):
    long = tmp_path / ("p" * 300 + ".png")
    code, err = cli(capsys, "tryon", "--person", long, "--garment", images["garment"], "--bundle", tiny_bundle,
                    "-o", tmp_path / "o.png")
    assert code == 2 and "too long" in one_line(err)
    code, err = cli(capsys, "tryon", "--person", images["person"], "--garment", images["garment"],
                    "--bundle", tiny_bundle, "-o", tmp_path / ("o" * 300 + ".png"))
    assert code == 2 and "too long" in one_line(err)


@pytest.mark.parametrize("name", ["two\nlines.png", "escape\x1b[31m.png", "bad-\udcff.png"])
def test_odd_names_stay_on_one_line(name, tmp_path, capsys, tiny_bundle, images):
    bad = tmp_path / name
    with open(os.fsencode(bad), "wb") as fh:
        fh.write(b"not a picture")
    code, err = cli(capsys, "tryon", "--person", bad, "--garment", images["garment"], "--bundle", tiny_bundle,
                    "-o", tmp_path / "o.png")
    assert code == 2
    line = one_line(err)
    assert "not an image" in line and "\x1b" not in line


def test_library_warnings_do_not_reach_the_terminal(tmp_path, tiny_bundle, images):
    """A JPEG with a damaged EXIF block makes Pillow warn; the user sees only the result."""
    buf = io.BytesIO()
    Image.open(images["person"]).save(buf, "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12"
                                                        b"\x00\x03\x00\x00\x00\x01\x00\x06")
    odd = tmp_path / "odd-exif.jpg"
    odd.write_bytes(buf.getvalue())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        Image.open(odd).getexif()
    assert seen, "this file no longer makes Pillow warn; pick another"
    proc = subprocess.run([sys.executable, "-m", "app.cli", "tryon", "--person", str(odd), "--garment",
                           str(images["garment"]), "--bundle", str(tiny_bundle), "-o", str(tmp_path / "o.png"), "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["tryon", "--person", "p.png"])
    assert exc.value.code == 2
    assert "required" in one_line(capsys.readouterr().err)


# -- never overwrite an input ----------------------------------------------------------------------
@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
def test_output_over_an_input_is_refused(how, tmp_path, capsys, tiny_bundle):
    person = photo(tmp_path / "me.png")
    garment = photo(tmp_path / "shirt.png", seed=1)
    before = person.read_bytes()
    out = {"same path": person, "symlink": tmp_path / "link.png", "hard link": tmp_path / "hard.png"}[how]
    if how == "symlink":
        out.symlink_to(person)
    elif how == "hard link":
        os.link(person, out)
    code, err = cli(capsys, "tryon", "--person", person, "--garment", garment, "--bundle", tiny_bundle, "-o", out)
    assert code == 2 and "never overwritten" in one_line(err)
    assert person.read_bytes() == before


def test_a_planted_symlink_at_the_old_temp_name_is_not_followed(tmp_path, capsys, tiny_bundle, images):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out.png"
    (tmp_path / ".out.png.part").symlink_to(victim)  # the predictable name the old code used
    code, err = cli(capsys, "tryon", "--person", images["person"], "--garment", images["garment"],
                    "--bundle", tiny_bundle, "-o", out, "-q")
    assert code == 0, err
    assert victim.read_text() == "precious"
    assert out.is_file() and not out.is_symlink() and Image.open(out).size == (207, 301)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part") and not p.is_symlink()]


def test_save_image_temp_files_are_unique_and_cleaned_up(tmp_path):
    arr = np.zeros((40, 40, 3), np.uint8)
    with pytest.raises(InputError):
        save_image(arr, tmp_path / "x.txt")
    save_image(arr, tmp_path / "a.png", durable=True, private=True)
    assert oct((tmp_path / "a.png").stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


# -- bounded memory --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def photo_80mp(tmp_path_factory) -> Path:
    """An 80 MP portrait that is a small PNG (the issue's case: 253 KB on disk)."""
    path = tmp_path_factory.mktemp("big") / "portrait-80mp.png"
    img = Image.new("RGB", (10_000, 8_000), (205, 190, 170))
    d = ImageDraw.Draw(img)
    d.ellipse((3000, 800, 7000, 5200), fill=(120, 80, 60))
    d.rectangle((2500, 4000, 7500, 8000), fill=(40, 60, 140))
    img.save(path)
    return path


def test_an_80mp_photo_runs_within_1_5_gb(photo_80mp, tmp_path):
    """The CLI took 4.1 GB for this photo; the saved result keeps the photo's size."""
    out = tmp_path / "out.jpg"
    garment = ROOT / "assets" / "examples" / "garment_upper_tshirt.png"
    code, rss_kib, err = peak_rss([sys.executable, "-m", "app.cli", "tryon", "--person", str(photo_80mp),
                                   "--garment", str(garment), "-o", str(out), "-q"])
    assert code == 0, err
    assert rss_kib * 1024 <= PEAK_LIMIT_BYTES, f"peak RSS {rss_kib / 2**20:.2f} GiB"
    with Image.open(out) as result:
        assert result.size == (10_000, 8_000)


def test_banded_resize_matches_a_whole_image_resize():
    rng = np.random.default_rng(0)
    for (H, W), (h, w) in [((700, 500), (200, 150)), ((150, 100), (900, 600))]:
        a = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        whole = np.asarray(Image.fromarray(a).resize((w, h), Image.Resampling.LANCZOS)).astype(int)
        bands = list(images_module.resize_bands(a, (h, w), band_bytes=60_000))  # many small bands
        assert len(bands) > 3 and bands[-1][1] == h
        banded = np.concatenate([b for _, _, b in bands]).astype(int)
        assert np.abs(banded - whole).max() <= 1
        assert np.array_equal(resize_array(a, (h, w)), whole)  # small enough for one band: identical


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_rotation_in_bands_matches_pillow(orientation, tmp_path, monkeypatch):
    img = Image.fromarray(np.random.default_rng(orientation).integers(0, 256, (70, 50, 3), dtype=np.uint8))
    exif = img.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"
    img.save(path, exif=exif)
    monkeypatch.setattr(images_module, "BAND_BYTES", 50 * 4 * 7)  # 7 rows per band
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    assert np.array_equal(load_image(path), expected)


@pytest.mark.parametrize("mode", ["I;16", "I", "F", "P", "LA", "CMYK", "1"])
def test_conversion_in_bands_matches_the_whole_image(mode, tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    if mode == "I;16":
        img = Image.fromarray((rng.random((90, 60)) * 60000).astype(np.uint16))
    else:
        base = Image.fromarray(rng.integers(0, 256, (90, 60, 3), dtype=np.uint8))
        img = base.convert("L").convert(mode) if mode in ("I", "F") else base.convert(mode)
    path = tmp_path / ("x.tif" if mode in ("I", "F", "CMYK", "I;16") else "x.png")
    img.save(path)
    whole = to_rgb(Image.open(path))
    monkeypatch.setattr(images_module, "BAND_BYTES", 60 * 4 * 5)
    assert np.array_equal(load_image(path), whole)


# -- cancel at every stage ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pipeline(tiny_bundle):
    return TryOnPipeline(tiny_bundle, threads=1)


@pytest.mark.parametrize("stage", ["load", "encode", "garment", "decode"])
def test_cancel_is_honoured_at_every_stage(stage, pipeline, images):
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p.stage)
        if p.stage == stage:
            token.cancel()  # for "encode" this stops the running graph (ONNX Runtime's terminate flag)

    with pytest.raises(Cancelled):
        pipeline.run(TryOnRequest(images["person"], images["garment"]), progress=progress, cancel=token)
    assert "done" not in seen
    # the pipeline still works afterwards
    assert pipeline.run(TryOnRequest(images["person"], images["garment"])).image.shape == (301, 207, 3)


def test_cancel_during_restore_stops_between_bands(images):
    person = np.full((2000, 1500, 3), 200, np.uint8)
    result = np.full((300, 225, 3), 20, np.uint8)
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        keep_unchanged(result, person, check=check)
    assert len(calls) == 2


def test_a_job_cancelled_while_decoding_delivers_no_result(tiny_bundle, images):
    states = []
    holder = {}

    def on_progress(job, p):
        if p.stage == "decode":
            holder["runner"].cancel(job)

    runner = TryOnRunner(tiny_bundle, threads=1, on_progress=on_progress, on_state=lambda j: states.append(j.state))
    holder["runner"] = runner
    try:
        job = runner.submit(TryOnRequest(images["person"], images["garment"]))
        assert runner.wait_until_idle(120)
        assert job.state is JobState.CANCELLED and job.result is None
        assert JobState.FINISHED not in states
    finally:
        runner.shutdown()
