"""The studio's Qt-free parts: settings, history store, bundle import, board export, inputs."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.studio import bundles
from app.studio.board import compose_board
from app.studio.history import HistoryStore
from app.studio.inputs import guess_category, load_examples
from app.studio.settings import Settings, SettingsStore
from engine.errors import BundleError
from engine.paths import bundles_dir
from engine.request import TryOnRequest, TryOnResult


# -- settings ------------------------------------------------------------------------------------
def test_settings_are_lazy_and_round_trip(tmp_path):
    path = tmp_path / "settings.json"
    store = SettingsStore(path)
    assert not path.exists() and store._settings is None  # nothing read or written yet
    assert store.settings == Settings()
    store.update(steps=8, seed=42, dev_mode=True, threads=1)
    again = SettingsStore(path).settings
    assert (again.steps, again.seed, again.dev_mode, again.threads) == (8, 42, True, 1)


def test_settings_survive_a_damaged_file(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    store = SettingsStore(path)
    assert store.settings == Settings()
    assert store.problems and "settings.json" in store.problems[0]
    path.write_text(json.dumps({"steps": "many", "seed": 3, "unknown": 1, "dev_mode": 1}))
    store = SettingsStore(path)
    assert store.settings.steps == Settings().steps  # bad type ignored, with a note
    assert store.settings.seed == 3
    assert store.settings.dev_mode is False  # 1 is not a bool
    assert any("steps" in p for p in store.problems)


def test_settings_clamp_out_of_range_values(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"steps": 99, "threads": -4}))
    s = SettingsStore(path).settings
    assert s.steps == 16 and s.threads == 0


# -- history -------------------------------------------------------------------------------------
def _result(images, seed=0) -> TryOnResult:
    req = TryOnRequest(images["person"], images["garment"], "dress", steps=3, seed=seed, bundle="/b")
    image = np.zeros((301, 207, 3), np.uint8)
    image[:, :, 1] = 200
    return TryOnResult(image, req, (128, 96), "tiny-int8", {"total": 0.25, "denoise": 0.1})


def test_history_add_list_reopen_delete(tmp_path, images):
    store = HistoryStore(tmp_path / "history")
    first = store.add(_result(images, seed=1))
    second = store.add(_result(images, seed=2), source="board")
    assert len(store) == 2
    assert [e.id for e in store.entries()] == [second.id, first.id]  # newest first
    e = store.get(first.id)
    assert e.request.seed == 1 and e.request.category == "dress" and e.size == (128, 96)
    assert e.image.is_file() and e.thumb.is_file() and e.person.is_file() and e.garment.is_file()
    assert np.asarray(Image.open(e.image)).shape == (301, 207, 3)
    assert e.person == second.person  # inputs are stored once, by content
    redo = e.redo_request()
    assert redo.person == e.person and redo.seed == 1 and redo.steps == 3
    store.delete(first.id)
    assert store.get(first.id) is None and not e.image.exists() and not e.thumb.exists()
    assert second.person.exists()  # still used by the other entry
    store.delete(second.id)
    assert not second.person.exists()


def test_history_survives_a_new_store_on_the_same_folder(tmp_path, images):
    store = HistoryStore(tmp_path / "h")
    entry = store.add(_result(images))
    store.close()
    again = HistoryStore(tmp_path / "h")
    assert [e.id for e in again.entries()] == [entry.id]
    assert again.get(entry.id).timings["total"] == pytest.approx(0.25)


def test_history_writes_files_before_the_row(tmp_path, images, monkeypatch):
    """If writing the image fails, no row may point at it."""
    store = HistoryStore(tmp_path / "h")
    import app.studio.history as history_module

    def broken_save(image, path, **options):
        raise OSError("disk full")

    monkeypatch.setattr(history_module, "save_image", broken_save)
    with pytest.raises(OSError):
        store.add(_result(images))
    rows = sqlite3.connect(store.db_path).execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert rows == 0


# -- bundles -------------------------------------------------------------------------------------
def test_import_bundle_folder_verifies_and_copies(tiny_bundle):
    target = bundles.import_bundle(tiny_bundle)
    assert target.parent == bundles_dir() and (target / "manifest.json").is_file()
    assert bundles.import_bundle(tiny_bundle) == target  # the same bundle twice is one install
    listed = [b for b in bundles.list_bundles() if b.where == "user"]
    assert [b.path for b in listed] == [target] and listed[0].manifest is not None
    bundles.remove_bundle(target)
    assert not target.exists()


def test_import_bundle_zip(tiny_bundle, tmp_path):
    archive = tmp_path / "tiny.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in tiny_bundle.rglob("*"):
            if f.is_file():
                zf.write(f, Path("tiny-int8") / f.relative_to(tiny_bundle))
    target = bundles.import_bundle(archive)
    assert target.is_dir() and (target / "manifest.json").is_file()


def test_a_corrupted_bundle_is_refused_naming_the_file(tiny_bundle, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_bundle, bad)
    graph = next(p for p in sorted(bad.rglob("*.onnx")))
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(BundleError) as err:
        bundles.import_bundle(bad)
    assert graph.name in str(err.value) and "sha256" in str(err.value)
    assert not bundles_dir().exists() or not any(bundles_dir().iterdir())  # nothing was installed


def test_non_bundles_are_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(BundleError, match="not a bundle"):
        bundles.import_bundle(tmp_path / "notes.txt")
    with pytest.raises(BundleError, match="manifest.json"):
        bundles.import_bundle(tmp_path)


# -- board export, inputs ----------------------------------------------------------------------------
def test_compose_board_grid():
    looks = [(np.full((128, 96, 3), 40 * i, np.uint8), f"look {i}", np.zeros((60, 50, 3), np.uint8)) for i in range(5)]
    portrait = np.full((128, 96, 3), 255, np.uint8)
    board = compose_board(portrait, looks, cell_h=256)
    assert board.dtype == np.uint8 and board.ndim == 3
    cell_w = round(256 * 96 / 128)
    assert board.shape[1] == 24 + 3 * (cell_w + 24)  # 6 cells -> 2 rows of 3
    assert board.shape[0] > 2 * 256
    assert compose_board(None, looks[:4], cell_h=256).shape[1] == 24 + 4 * (cell_w + 24)


@pytest.mark.parametrize(("name", "expected"), [
    ("blue_jeans.png", "lower"), ("summer-dress.jpg", "dress"), ("Skirt01.png", "lower"),
    ("tshirt.png", "upper"), ("IMG_1234.jpg", "upper"),
])
def test_guess_category_from_name(tmp_path, name, expected):
    assert guess_category(tmp_path / name) == expected


def test_guess_category_from_shape(tmp_path):
    assert guess_category(tmp_path / "IMG_1.jpg", (1000, 400)) == "dress"


def test_load_examples_formats(tmp_path, images):
    for name in ("p.png", "g.png", "g2.png"):
        shutil.copy(images["person"], tmp_path / name)
    (tmp_path / "examples.json").write_text(json.dumps({
        "portraits": [{"file": "p.png"}],
        "garments": [{"file": "g.png", "category": "lower"}, {"file": "g2.png", "category": "dress"},
                     {"file": "missing.png", "category": "upper"}],
    }))
    ex = load_examples(tmp_path)
    assert [(e.person.name, e.garment.name, e.category) for e in ex] == [("p.png", "g.png", "lower"),
                                                                         ("p.png", "g2.png", "dress")]
    (tmp_path / "examples.json").write_text(json.dumps(
        [{"person": "p.png", "garment": "g2.png", "category": "dress"}]))
    assert [(e.garment.name, e.category) for e in load_examples(tmp_path)] == [("g2.png", "dress")]
