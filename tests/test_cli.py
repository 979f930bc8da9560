"""The `vton` command line end to end on CPU (the issue's acceptance commands)."""

from __future__ import annotations

import json
import subprocess
import sys

from PIL import Image

from app.cli import main


def vton(*args: str, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "app.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_export_verify_tryon_round_trip(tmp_path, images):
    bundle = tmp_path / "B"
    vton("bundle", "export", "--config", "tiny", "--int8", "--calibration-samples", "2", "--parity-samples", "1",
         "--out", bundle)
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
    assert main(["bundle", "verify", str(b)]) == 1
    err = capsys.readouterr().err
    assert "adapter.onnx" in err and "FAILED" in err
    assert main(["bundle", "verify", str(tiny_bundle)]) == 0


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
