"""The `vton` command line end to end on CPU (the issue's acceptance commands)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image

from app.cli import main


def vton(*args: str, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "app.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_export_verify_tryon_round_trip(tmp_path, images):
    """Also: the export opens no socket (audit hook), shows progress from the start and no
    screens of library warnings (issue 16)."""
    from test_offline import guarded

    bundle = tmp_path / "B"
    proc = subprocess.run(guarded("app.cli", "bundle", "export", "--config", "tiny", "--int8",
                                  "--calibration-samples", "2", "--parity-samples", "1", "--out", bundle),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "network use" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].endswith("loading PyTorch and the export tools…")
    assert all(line.startswith("[") and "s] " in line for line in lines), proc.stderr  # only its own lines
    assert "Warning" not in proc.stderr and "W1" not in proc.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["trained"] is False
    assert {g["precision"] for g in manifest["graphs"]["128x96"].values()} == {"int8"}
    assert "int8_vs_fp32_end_to_end" in manifest["parity"]
    assert vton("bundle", "verify", bundle).returncode == 0
    out = tmp_path / "out.png"
    proc = vton("tryon", "--bundle", bundle, "--person", images["person"], "--garment", images["garment"], "-o", out)
    assert "step 4/4" in proc.stderr
    assert Image.open(out).size == Image.open(images["person"]).size


def test_verify_names_the_changed_file(tiny_bundle, tmp_path, capsys):
    import shutil

    b = tmp_path / "b"
    shutil.copytree(tiny_bundle, b)
    with open(b / "adapter.onnx", "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert main(["bundle", "verify", str(b)]) == 2  # a refused input: exit 2, one line (README)
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "adapter.onnx" in err and "sha256 does not match" in err
    assert main(["bundle", "verify", str(tiny_bundle)]) == 0
    assert "untrained" in capsys.readouterr().out


def test_info_counts_the_full_student(capsys):
    assert main(["info", "--config", "full", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert abs(info["parameters"]["student"] - 415e6) / 415e6 <= 0.02


def test_missing_default_bundle_says_how_to_get_one(images, tmp_path, capsys, monkeypatch):
    import app.cli._common as common

    monkeypatch.setattr(common, "DEFAULT_BUNDLE", tmp_path / "none")
    code = main(["tryon", "--person", str(images["person"]), "--garment", str(images["garment"]),
                 "-o", str(tmp_path / "o.png")])
    assert code == 2
    assert "vton bundle export" in capsys.readouterr().err


def test_the_embedded_default_bundle_verifies_and_runs_without_flags(tmp_path):
    """Issue 6: the shipped model is used when no bundle is given; --no-restore returns the
    model's own redrawn portrait instead of keeping the portrait's unchanged pixels."""
    from engine.paths import DEFAULT_BUNDLE, EXAMPLES

    assert vton("bundle", "verify", DEFAULT_BUNDLE).returncode == 0
    manifest = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
    assert manifest["trained"] is True and "synthetic" in manifest["provenance"]["data"]
    person, garment = EXAMPLES / "portrait_1.png", EXAMPLES / "garment_upper_longsleeve.png"
    restored, raw = tmp_path / "restored.png", tmp_path / "raw.png"
    vton("tryon", "--person", person, "--garment", garment, "-o", restored, "-q")
    vton("tryon", "--person", person, "--garment", garment, "--no-restore", "-o", raw, "-q")
    a, b, p = (np.asarray(Image.open(x).convert("RGB")) for x in (restored, raw, person))
    assert a.shape == b.shape == p.shape
    kept = np.all(a == p, axis=2).mean()  # restore keeps some of the portrait's own pixels ...
    assert kept > 0.2 and np.all(b == p, axis=2).mean() < kept  # ... the raw result hardly any
