"""DESIGN §1 layering: engine imports neither Qt nor torch; models never imports Qt;
the app never loads torch at import time (enforced by import-linter and by real imports)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


TRAIN_EXTRA = ("torch", "transformers", "diffusers", "onnx", "onnxscript", "safetensors", "yaml", "tqdm")


def _without_train_extra(tmp_path: Path) -> Path:
    """A folder of modules named like the `train` extra's that explode when imported."""
    fake = tmp_path / "no-train-extra"
    for name in TRAIN_EXTRA:
        (fake / name).mkdir(parents=True)
        (fake / name / "__init__.py").write_text(  # what Python raises when the package is not installed
            f"raise ModuleNotFoundError(\"No module named '{name}' (not part of the runtime)\", name='{name}')\n")
    return fake


def test_the_runtime_dependencies_hold_no_training_packages():
    """./run.sh installs the project without extras: the runtime list must not pull torch."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {d.split(">")[0].split("=")[0].split("!")[0].split("[")[0].strip().lower()
             for d in project["dependencies"]}
    assert names == {"numpy", "pillow", "onnxruntime", "platformdirs", "pyside6-essentials", "pyqtgraph"}
    train = " ".join(project["optional-dependencies"]["train"])
    assert "torch" in train and "diffusers" in train
    assert "pip install -q -e .\n" in (ROOT / "run.sh").read_text()  # no extras for the runtime


@pytest.mark.parametrize("argv", [["tryon", "--person", "{person}", "--garment", "{garment}", "--bundle", "{bundle}",
                                   "-o", "{out}", "-q"],
                                  ["bundle", "verify", "{bundle}"],
                                  ["info"]])
def test_runtime_commands_run_without_the_train_extra(argv, tmp_path, tiny_bundle, images):
    fake = _without_train_extra(tmp_path)
    values = {"person": images["person"], "garment": images["garment"], "bundle": tiny_bundle,
              "out": tmp_path / "o.png"}
    args = [a.format(**values) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from app.cli import main; "
         "sys.exit(main(sys.argv[2:]))", str(fake), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_training_commands_without_the_train_extra_say_what_to_install(tmp_path):
    fake = _without_train_extra(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from app.cli import main; "
         "sys.exit(main(sys.argv[2:]))", str(fake), "bundle", "export", "--config", "tiny", "--out",
         str(tmp_path / "b")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert "needs the PyTorch side" in lines[-1] and "pip install" in lines[-1] and "Traceback" not in proc.stderr


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


def test_the_studio_with_its_developer_tabs_never_loads_torch(tmp_path):
    """The developer tabs run the PyTorch side in subprocesses: building all five (pyqtgraph
    included) in a studio whose torch and training packages cannot be imported still works."""
    fake = _without_train_extra(tmp_path)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from app.studio.main_window import MainWindow\n"
        "from app.studio.session import StudioSession\n"
        "w = MainWindow(StudioSession(), dev=True)\n"
        "w.show_page('dev')\n"
        "assert w.dev_page.tab_titles() == ['Data', 'Train', 'Distill', 'Export', 'Evaluate']\n"
        "w.shutdown()\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MOBILE_VTON_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", code, str(fake)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    loaded = set(proc.stdout.split())
    assert "pyqtgraph" in loaded and not loaded & {*TRAIN_EXTRA, "models"}
