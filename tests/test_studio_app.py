"""The studio's real widgets, driven offscreen with the tiny bundle (pytest-qt).

Drops go through the widgets' own drop handlers (QDragEnter/QDrop events with file URLs);
runs go through the real engine thread. Waiting is done on signals (or waitUntil for a
state several signals build up), never with sleeps.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QObject, QPoint, QPointF, Qt, QThread, QTimer, QUrl, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from app.studio.main_window import MainWindow
from app.studio.session import StudioSession
from app.studio.theme import apply_theme

RUN_TIMEOUT = 60_000  # ms; a tiny-bundle run takes well under a second, CI machines can be slow


# -- helpers ---------------------------------------------------------------------------------------
def drop(widget, paths) -> None:
    """Drag ``paths`` over ``widget`` and drop them, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(Path(p).resolve())) for p in paths])
    center = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(center.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the drop target refused the drag"
    event = QDropEvent(center, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


class StepGate:
    """Wraps the runner's progress callback (worker thread) to hold a job after its first
    denoising step until the test releases it, so "mid-run" is a state, not a race."""

    def __init__(self, runner):
        self.inner = runner.on_progress
        self.reached = threading.Event()
        self.release = threading.Event()
        runner.on_progress = self

    def __call__(self, job, progress):
        self.inner(job, progress)
        if progress.stage == "denoise" and progress.step >= 1 and not self.release.is_set():
            self.reached.set()
            self.release.wait(30)


class Ticker(QObject):
    """Counts timer ticks in the GUI thread."""

    def __init__(self):
        super().__init__()
        self.ticks = 0

    @Slot()
    def tick(self) -> None:
        self.ticks += 1


class ThreadRecorder(QObject):
    def __init__(self):
        super().__init__()
        self.threads: list[bool] = []

    @Slot(int, str, object)
    def on_finished(self, job_id, tag, result) -> None:
        self.threads.append(QThread.currentThread() is QApplication.instance().thread())


@pytest.fixture
def make_window(qtbot, tiny_bundle):
    made = []

    def make(bundle: Path | None = tiny_bundle, dev: bool = False) -> MainWindow:
        apply_theme(QApplication.instance())
        window = MainWindow(StudioSession(bundle_override=bundle), dev=dev)
        window.history_view.confirm_delete = False
        qtbot.addWidget(window)
        window.resize(1200, 800)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        window.shutdown()


def run_workspace(qtbot, window) -> None:
    with qtbot.waitSignal(window.workspace.result_changed, timeout=RUN_TIMEOUT):
        qtbot.mouseClick(window.workspace_view.try_button, Qt.MouseButton.LeftButton)


def load_inputs(window, images) -> None:
    view = window.workspace_view
    drop(view.person_zone, [images["person"]])
    drop(view.garment_zone, [images["garment"]])
    assert window.workspace.person is not None and window.workspace.garment is not None


# -- workspace -------------------------------------------------------------------------------------
def test_drop_run_result_appears_and_is_in_history(qtbot, make_window, images):
    w = make_window()
    view = w.workspace_view
    assert not view.try_button.isEnabled()  # nothing to try on yet
    load_inputs(w, images)
    assert view.person_zone.is_filled() and view.garment_zone.is_filled()
    assert view.try_button.isEnabled()

    recorder = ThreadRecorder()
    w.session.engine.job_finished.connect(recorder.on_finished)
    run_workspace(qtbot, w)

    result = w.workspace.result
    assert result is not None and result.image.shape == (301, 207, 3)  # the portrait's own size
    assert view.compare.has_result()
    assert view.save_button.isEnabled() and view.pin_button.isEnabled()
    assert recorder.threads == [True]  # the bridge re-emits in the GUI thread
    entries = w.session.history.entries()
    assert len(entries) == 1 and entries[0].request.person == Path(images["person"]).resolve()
    assert w.history_view.list.count() == 1
    assert view.progress.value() == 1000


def test_cancel_mid_run(qtbot, make_window, images):
    w = make_window()
    w.session.update_settings(steps=16)
    load_inputs(w, images)
    gate = StepGate(w.session.engine.runner)
    try:
        qtbot.mouseClick(w.workspace_view.try_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(gate.reached.is_set, timeout=RUN_TIMEOUT)
        assert w.workspace.running and w.workspace_view.cancel_button.isVisible()
        with qtbot.waitSignal(w.workspace.run_cancelled, timeout=RUN_TIMEOUT):
            qtbot.mouseClick(w.workspace_view.cancel_button, Qt.MouseButton.LeftButton)
            gate.release.set()
    finally:
        gate.release.set()
    assert not w.workspace.running and w.workspace.result is None
    assert len(w.session.history) == 0
    assert w.banner.isVisible() and "cancelled" in w.banner.text.text().lower()
    run_workspace(qtbot, w)  # and the engine still works afterwards
    assert w.workspace.result is not None


def test_window_stays_responsive_during_a_run(qtbot, make_window, images):
    w = make_window()
    load_inputs(w, images)
    gate = StepGate(w.session.engine.runner)
    ticker = Ticker()
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(ticker.tick)
    try:
        qtbot.mouseClick(w.workspace_view.try_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(gate.reached.is_set, timeout=RUN_TIMEOUT)  # the worker is now inside the job
        timer.start()
        qtbot.waitUntil(lambda: ticker.ticks >= 20, timeout=10_000)
        assert w.session.engine.busy and w.workspace.running  # still mid-run while the GUI ticked
        with qtbot.waitSignal(w.workspace.result_changed, timeout=RUN_TIMEOUT):
            gate.release.set()
    finally:
        gate.release.set()
        timer.stop()


def test_dropping_a_text_file_shows_a_message_and_keeps_working(qtbot, make_window, images, tmp_path):
    w = make_window()
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    drop(w.workspace_view.person_zone, [notes])
    assert w.workspace.person is None
    assert w.banner.isVisible() and w.banner.level == "error"
    assert "notes.txt" in w.banner.text.text() and "not an image" in w.banner.text.text()
    assert "notes.txt" in w.status_text.text()
    load_inputs(w, images)  # the app is alive and takes good files
    run_workspace(qtbot, w)


def test_a_second_dropped_file_points_to_the_board(make_window, images):
    w = make_window()
    drop(w.workspace_view.garment_zone, [images["garment"], images["person"]])
    assert w.workspace.garment.path == Path(images["garment"]).resolve()
    assert "Board" in w.banner.text.text()


def test_paste_an_image_from_the_clipboard(make_window, images):
    w = make_window()
    QGuiApplication.clipboard().setImage(QImage(str(images["person"])))
    w.paste()
    person = w.workspace.person
    assert person is not None and person.path.parent == w.session.pasted_dir()
    assert person.image.shape == (301, 207, 3)
    QGuiApplication.clipboard().setText("just words")
    w.paste()
    assert w.banner.level == "warning" and "text" in w.banner.text.text()


def test_shortcut_ctrl_enter_runs(qtbot, make_window, images):
    w = make_window()
    load_inputs(w, images)
    keys = [s.toString() for s in w.actions_by_name["try_on"].shortcuts()]
    assert "Ctrl+Return" in keys
    with qtbot.waitSignal(w.workspace.result_changed, timeout=RUN_TIMEOUT):
        w.actions_by_name["try_on"].trigger()


def test_save_copy_and_category(qtbot, make_window, images, tmp_path):
    w = make_window()
    ws = w.workspace
    load_inputs(w, images)
    assert ws.category_guessed
    qtbot.mouseClick(w.workspace_view.category.buttons["dress"], Qt.MouseButton.LeftButton)
    assert ws.category == "dress" and not ws.category_guessed
    run_workspace(qtbot, w)
    assert ws.result.request.category == "dress"
    assert ws.save_result(tmp_path / "out.jpg") and ws.save_result(tmp_path / "out.png")
    assert Image.open(tmp_path / "out.jpg").size == (207, 301)
    assert not ws.save_result(tmp_path / "missing-folder" / "x.png")
    assert w.banner.level == "error"
    assert ws.copy_result()
    assert QGuiApplication.clipboard().image().size().width() == 207


def test_try_an_example(qtbot, make_window, images, tmp_path):
    for name in ("person.png", "garment.png"):
        shutil.copy(images["person"], tmp_path / name)
    (tmp_path / "examples.json").write_text(
        '{"portraits": ["person.png"], "garments": [{"file": "garment.png", "category": "lower"}]}')
    w = make_window()
    w.workspace.examples_root = tmp_path
    qtbot.mouseClick(w.workspace_view.example_button, Qt.MouseButton.LeftButton)
    assert w.workspace.person.path.name == "person.png" and w.workspace.category == "lower"


def test_without_a_model_the_user_is_sent_to_settings(qtbot, make_window, images, tmp_path, monkeypatch):
    import app.studio.bundles as bundles_module
    import app.studio.session as session_module

    monkeypatch.setattr(bundles_module, "DEFAULT_BUNDLE", tmp_path / "no-default")
    monkeypatch.setattr(session_module, "DEFAULT_BUNDLE", tmp_path / "no-default")
    w = make_window(bundle=None)
    assert w.banner.isVisible() and "import a bundle" in w.banner.text.text()  # told at start
    load_inputs(w, images)
    qtbot.mouseClick(w.workspace_view.try_button, Qt.MouseButton.LeftButton)
    assert not w.workspace.running and w.banner.level == "error"
    qtbot.mouseClick(w.banner._action, Qt.MouseButton.LeftButton)
    assert w.current_page() == "settings"


def test_compare_slider_and_zoom(qtbot, make_window, images):
    w = make_window()
    load_inputs(w, images)
    run_workspace(qtbot, w)
    compare = w.workspace_view.compare
    qtbot.mouseClick(compare, Qt.MouseButton.LeftButton, pos=QPoint(compare.width() // 4, compare.height() // 2))
    assert compare.split < 0.5
    w.zoom_in()
    assert compare.zoom_label().endswith("%")
    w.fit()
    assert compare.zoom_label() == "Fit"


# -- board ---------------------------------------------------------------------------------------------
def garment_files(images, tmp_path, n=3) -> list[Path]:
    out = []
    for i, name in enumerate(("red_shirt.png", "blue_jeans.png", "summer_dress.png", "coat.png")[:n]):
        img = np.asarray(Image.open(images["garment"]).convert("RGB")).copy()
        img[..., i % 3] = 255 - img[..., i % 3]
        Image.fromarray(img).save(tmp_path / name)
        out.append(tmp_path / name)
    return out


def test_board_runs_several_garments_into_a_grid(qtbot, make_window, images, tmp_path):
    w = make_window()
    w.show_page("board")
    view, board = w.board_view, w.board
    garments = garment_files(images, tmp_path, 3)
    drop(view.garment_zone, garments)  # several at once; no portrait yet: they wait
    assert [i.state for i in board.items] == ["waiting"] * 3
    assert [i.category for i in board.items] == ["upper", "lower", "dress"]
    assert [i.label for i in board.items] == ["Red shirt", "Blue jeans", "Summer dress"]
    drop(view.portrait_zone, [images["person"]])
    qtbot.waitUntil(lambda: len(board.finished) == 3, timeout=RUN_TIMEOUT)
    assert board.pending == 0
    assert len(view.cards) == 3
    positions = [view.grid.getItemPosition(view.grid.indexOf(view.cards[i.id])) for i in board.items]
    assert [p[:2] for p in positions] == [(0, 0), (0, 1), (0, 2)]
    assert all(not view.cards[i.id].image.pixmap().isNull() for i in board.items)
    assert len(w.session.history) == 3
    assert "3 of 3" in view.summary.text()

    first, second, third = (i.id for i in board.items)
    qtbot.mouseClick(view.cards[first].right, Qt.MouseButton.LeftButton)  # reorder
    assert [i.id for i in board.items] == [second, first, third]
    card = view.cards[third]
    card.caption.setText("Evening look")
    card.caption.editingFinished.emit()
    assert board.item(third).label == "Evening look"
    qtbot.mouseClick(view.cards[second].remove, Qt.MouseButton.LeftButton)
    assert [i.id for i in board.items] == [first, third] and second not in view.cards

    out = tmp_path / "board.png"
    assert board.export(out)
    exported = Image.open(out)
    assert exported.width > 2 * 96 and exported.height > 128


def test_board_drop_on_the_grid_and_a_bad_file(qtbot, make_window, images, tmp_path):
    w = make_window()
    board = w.board
    board.set_portrait([images["person"]])
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    garments = garment_files(images, tmp_path, 2)
    drop(w.board_view.garment_zone, [garments[0], bad, garments[1]])
    assert len(board.items) == 2
    assert w.banner.level == "error" and "broken.png" in w.banner.text.text()
    qtbot.waitUntil(lambda: len(board.finished) == 2, timeout=RUN_TIMEOUT)


def test_pin_from_the_workspace(qtbot, make_window, images):
    w = make_window()
    load_inputs(w, images)
    run_workspace(qtbot, w)
    qtbot.mouseClick(w.workspace_view.pin_button, Qt.MouseButton.LeftButton)
    assert len(w.board.items) == 1 and w.board.items[0].kind == "pinned" and w.board.items[0].done
    assert w.banner._action.text() == "Show board"


# -- history ---------------------------------------------------------------------------------------------
def test_history_survives_a_restart(qtbot, make_window, images):
    w1 = make_window()
    load_inputs(w1, images)
    run_workspace(qtbot, w1)
    entry_id = w1.session.history.entries()[0].id
    w1.close()

    w2 = make_window()  # a new window, session, engine and database connection; same data dir
    hv = w2.history_view
    assert hv.list.count() == 1 and hv.selected().id == entry_id
    assert w2.workspace.result is None
    qtbot.mouseClick(hv.open_button, Qt.MouseButton.LeftButton)
    assert w2.current_page() == "tryon"
    assert w2.workspace.result is not None and w2.workspace_view.compare.has_result()
    assert w2.workspace.result.image.shape == (301, 207, 3)

    with qtbot.waitSignal(w2.session.history_changed, timeout=RUN_TIMEOUT):  # redo reopens first
        w2.show_page("history")
        qtbot.mouseClick(hv.redo_button, Qt.MouseButton.LeftButton)
    assert hv.list.count() == 2
    newest = w2.session.history.entries()[0]
    assert newest.request.seed == w2.session.history.get(entry_id).request.seed

    hv.list.setCurrentRow(0)
    qtbot.mouseClick(hv.delete_button, Qt.MouseButton.LeftButton)
    assert hv.list.count() == 1 and w2.session.history.get(newest.id) is None


# -- settings -------------------------------------------------------------------------------------------------
def test_import_bundle_and_settings_persist(qtbot, make_window, tiny_bundle, tmp_path):
    w = make_window(bundle=None)
    sv = w.settings_view
    bad = tmp_path / "bad-bundle"
    shutil.copytree(tiny_bundle, bad)
    graph = sorted(bad.rglob("*.onnx"))[0]
    graph.write_bytes(graph.read_bytes()[:-10])
    assert w.session.import_bundle(bad) is None
    assert w.banner.level == "error" and graph.name in w.banner.text.text()

    target = sv.import_bundle(tiny_bundle)
    assert target is not None and target.parent == w.session.user_bundles_dir()
    assert w.session.bundle_path() != target  # importing alone never switches the model (issue 16)
    qtbot.waitUntil(lambda: sv.import_dialog is not None and sv.import_dialog.isVisible())
    qtbot.mouseClick(sv._use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.session.bundle_path() == target)
    assert w.session.bundle_problem() is None
    assert any("in use" in sv.bundle_list.item(i).text() for i in range(sv.bundle_list.count()))
    assert sv.resolution.count() == 2  # "Model default" + the bundle's 128x96
    sv.steps.setValue(6)
    assert sv.restore.isChecked()  # on by default
    sv.restore.setChecked(False)
    assert w.workspace.load_example() and w.workspace.build_request().restore is False
    sv.dev_mode.setChecked(True)
    assert w.nav["dev"].isVisible() or w.nav["dev"].isVisibleTo(w)
    w.show_page("dev")
    assert w.current_page() == "dev" and w.dev_page.tab_titles() == ["Data", "Train", "Distill", "Export", "Evaluate"]
    w.close()

    again = make_window(bundle=None)
    s = again.session.settings
    assert s.steps == 6 and s.dev_mode and Path(s.bundle) == target and s.restore is False
    assert again.settings_view.steps.value() == 6 and not again.settings_view.restore.isChecked()
    assert again.nav["dev"].isVisibleTo(again)


def test_dev_switch_from_the_command_line(make_window):
    w = make_window(dev=True)
    assert w.nav["dev"].isVisibleTo(w) and not w.session.settings.dev_mode
    plain = make_window()
    assert not plain.nav["dev"].isVisibleTo(plain)
    plain.show_page("dev")
    assert plain.current_page() != "dev"
