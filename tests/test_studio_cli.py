"""``vton-studio`` as a program: the offscreen screenshot mode, and no torch on its path."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def studio(*args: str, tmp_path: Path, fake_torch: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("MOBILE_VTON_HOME", None)  # --data-dir must be enough
    code = "import sys; from app.studio.main import main; sys.exit(main(sys.argv[1:]))"
    if fake_torch:  # modules of the `train` extra that explode on import: the studio never needs them
        for name in ("torch", "transformers", "diffusers", "onnx", "safetensors", "yaml"):
            fake = tmp_path / "fake" / name
            fake.mkdir(parents=True)
            (fake / "__init__.py").write_text(f"raise ImportError('{name} must not be imported by the studio')\n")
        env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "fake"), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def history_rows(data_dir: Path) -> int:
    db = data_dir / "history" / "history.sqlite3"
    return sqlite3.connect(db).execute("SELECT COUNT(*) FROM results").fetchone()[0] if db.exists() else 0


def test_screenshot_of_the_empty_window(tmp_path):
    out = tmp_path / "shot.png"
    proc = studio("--screenshot", str(out), "--data-dir", str(tmp_path / "data"), "--size", "1100x700",
                  tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).size == (1100, 700)


def test_screenshot_waits_for_a_real_result_without_torch(tmp_path, tiny_bundle, images):
    out, data = tmp_path / "ws.png", tmp_path / "data"
    proc = studio("--screenshot", str(out), "--data-dir", str(data), "--bundle", str(tiny_bundle),
                  "--person", str(images["person"]), "--garment", str(images["garment"]), "--run",
                  tmp_path=tmp_path, fake_torch=True)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and history_rows(data) == 1  # it captured after the result was stored


def test_screenshot_of_a_board(tmp_path, tiny_bundle, images):
    out, data = tmp_path / "board.png", tmp_path / "data"
    proc = studio("--screenshot", str(out), "--data-dir", str(data), "--bundle", str(tiny_bundle),
                  "--person", str(images["person"]), "--board", str(images["garment"]), str(images["person"]),
                  "--page", "board", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert history_rows(data) == 2


def test_a_failed_run_still_captures_and_reports(tmp_path, images):
    out = tmp_path / "err.png"
    proc = studio("--screenshot", str(out), "--data-dir", str(tmp_path / "data"), "--bundle",
                  str(tmp_path / "no-such-bundle"), "--person", str(images["person"]), "--garment",
                  str(images["garment"]), "--run", tmp_path=tmp_path)
    assert proc.returncode == 1 and out.is_file()
