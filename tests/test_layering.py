"""DESIGN §1 layering: engine imports neither Qt nor torch; models never imports Qt;
the app never loads torch at import time (enforced by import-linter and by real imports)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    proc = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    return {m.split(".")[0] for m in out}


def test_engine_and_cli_do_not_load_torch_or_qt():
    mods = _loaded_after("import engine.pipeline, engine.runner, app.cli; app.cli.build_parser()")
    assert "torch" not in mods and "PySide6" not in mods


def test_tryon_command_runs_without_torch(tmp_path, tiny_bundle, images):
    # a 'torch' that explodes on import proves the CLI's inference path never needs it
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('torch must not be imported here')\n")
    argv = ["tryon", "--bundle", str(tiny_bundle), "--person", str(images["person"]),
            "--garment", str(images["garment"]), "-o", str(tmp_path / "o.png"), "-q"]
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from app.cli import main; "
         "sys.exit(main(sys.argv[2:]))", str(tmp_path), *argv],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o.png").is_file()
