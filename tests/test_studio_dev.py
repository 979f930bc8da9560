"""The developer tabs, driven headless on the tiny preset, end to end on the CPU (issue 15):
render a set → train the VAE and the teacher → distill the student (and an ablation at the
same budget) → export INT8 → use it in the studio → evaluate, side by side. Every job is the
real ``vton`` command in a subprocess; the tabs follow its metrics and log.

One module-scoped studio and pipeline serve the tests that look at each tab, so the whole
pipeline runs once; the failing, cancelled and closing runs have tests of their own.
"""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")  # the jobs run the PyTorch side (in subprocesses)

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from app.studio.dev.jobs import JobQueue, JobStore  # noqa: E402
from app.studio.main_window import MainWindow  # noqa: E402
from app.studio.session import StudioSession  # noqa: E402
from app.studio.theme import apply_theme  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "models" / "train" / "configs"
STEPS = 3  # per stage: the point is the plumbing, not the quality
JOB_MS = 300_000
SET = {"n": 8, "size": "64x64", "seed": 7}


@pytest.fixture(scope="module")
def dev_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dev-home")


@pytest.fixture(autouse=True)
def private_home(dev_home, monkeypatch):
    """(Overrides conftest's.) The tests of this module share one studio data folder."""
    monkeypatch.setenv("MOBILE_VTON_HOME", str(dev_home))
    return dev_home


def finish(bot: QtBot, jobs: JobQueue, job_id: str | None, timeout: int = JOB_MS):
    """Wait for a job to end (a signal, not a sleep) and return its record."""
    assert job_id, "the job did not start"
    if jobs.get(job_id).active:
        with bot.waitSignal(jobs.job_finished, timeout=timeout, check_params_cb=lambda i: i == job_id):
            pass
    return jobs.get(job_id)


def done(bot, jobs, job_id) -> SimpleNamespace:
    record = finish(bot, jobs, job_id)
    log = Path(record.log).read_text() if Path(record.log).is_file() else "(no log)"
    assert record.state == "finished", f"{record.title}: {record.state}: {record.message}\n{log[-3000:]}"
    return record


@pytest.fixture(scope="module")
def studio(qapp, request, dev_home):
    old = os.environ.get("MOBILE_VTON_HOME")
    os.environ["MOBILE_VTON_HOME"] = str(dev_home)
    apply_theme(qapp)
    window = MainWindow(StudioSession(), dev=True)
    window.resize(1440, 900)
    window.show()
    window.show_page("dev")
    bot = QtBot(request)
    yield SimpleNamespace(window=window, bot=bot, dev=window.dev, jobs=window.dev.jobs, page=window.dev_page)
    window.shutdown()
    window.close()
    if old is None:
        os.environ.pop("MOBILE_VTON_HOME", None)
    else:
        os.environ["MOBILE_VTON_HOME"] = old


@pytest.fixture(scope="module")
def pipeline(studio):
    """The whole chain through the tabs' own buttons; each step waits for its job."""
    s, bot, jobs = studio, studio.bot, studio.jobs
    out = SimpleNamespace()

    data = s.page.show_tab("Data")
    data.count.setValue(SET["n"])
    data.size.setCurrentText(SET["size"])
    data.seed.setValue(SET["seed"])
    data.split.setCurrentIndex(data.split.findData("train"))
    out.synth = done(bot, jobs, data.render())

    train = s.page.show_tab("Train")
    form = train.form_view
    form.set_stage("vae")
    form.use_config(CONFIGS / "tiny_vae.yaml")
    form.use_data(out.synth.out_path)
    form.knobs["steps"].setText(str(STEPS))
    qclick(bot, train.start_button)
    out.vae = done(bot, jobs, train.monitor.job_id)
    form.set_stage("teacher")
    form.use_config(CONFIGS / "tiny_teacher.yaml")
    assert form.vae.currentData() == str(out.vae.out_path / "final")  # the finished VAE run is offered first
    qclick(bot, train.start_button)
    out.teacher = done(bot, jobs, train.monitor.job_id)

    distill = s.page.show_tab("Distill")
    dform = distill.form_view
    dform.refresh_choices()
    dform.use_teacher(out.teacher.out_path / "final")
    dform.use_data(out.synth.out_path)
    dform.knobs["steps"].setText(str(STEPS))
    for name, box in distill.ablations.items():
        box.setChecked(name == "no-tcg")
    ids = distill.start_ablations()
    assert len(ids) == 2
    out.student, out.no_tcg = (done(bot, jobs, i) for i in ids)

    export = s.page.show_tab("Export")
    export.refresh_checkpoints()
    export.use_checkpoint(out.student.out_path / "final")
    assert export.int8.isChecked()
    export.calibration.setValue(4)
    export.parity.setValue(2)
    out.export = done(bot, jobs, export.export())

    evaluate = s.page.show_tab("Evaluate")
    evaluate.refresh_bundles()
    evaluate.check_bundle(out.export.out_path)
    evaluate.n.setValue(4)
    evaluate.seed.setValue(5)
    out.eval1 = done(bot, jobs, evaluate.evaluate())
    evaluate.n.setValue(2)
    evaluate.seed.setValue(6)
    out.eval2 = done(bot, jobs, evaluate.evaluate())
    return out


def qclick(bot, button) -> None:
    assert button.isEnabled(), button.text()
    bot.mouseClick(button, Qt.MouseButton.LeftButton)


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# -- each tab --------------------------------------------------------------------------------------
def test_data_tab_renders_a_set_and_checks_folders(studio, pipeline, tmp_path):
    s, bot, jobs = studio, studio.bot, studio.jobs
    synth = pipeline.synth
    assert len(list((synth.out_path / "train" / "image").glob("*.png"))) == SET["n"]
    assert Path(synth.log) == synth.out_path.with_name(synth.out_path.name + ".log")  # the log beside the set
    assert "$ vton data synth --n 8 --size 64x64 --seed 7 --split train" in Path(synth.log).read_text()
    view = s.page.show_tab("Data")
    view.show_job(synth.id)
    assert view.sheet.has_picture() and view.sheet.path == Path(synth.meta["sheet"])

    view.folder.setText(str(synth.out_path))
    with bot.waitSignal(s.dev.data.check_finished, timeout=JOB_MS):
        check = view.check()
    assert jobs.get(check).state == "finished"
    assert "train (unpaired): 8 samples" in view.report.toPlainText()
    assert "no problems found" in view.report.toPlainText()
    assert view.sheet.has_picture() and view.sheet.path == Path(jobs.get(check).meta["sheet"])

    view.folder.setText(str(tmp_path / "nowhere"))  # a missing folder: one clear message, no job
    assert view.check() is None
    assert s.window.banner.level == "error" and "folder not found" in s.window.banner.text.text()
    (tmp_path / "notes").mkdir()
    view.folder.setText(str(tmp_path / "notes"))  # not a dataset: the command says so, the job fails
    with bot.waitSignal(s.dev.data.check_finished, timeout=JOB_MS):
        bad = view.check()
    assert jobs.get(bad).state == "failed" and "not a dataset" in jobs.get(bad).message
    assert "not a dataset" in s.window.banner.text.text() and "not a dataset" in view.report.toPlainText()


def test_train_tab_follows_the_runs_live_and_keeps_their_logs(studio, pipeline):
    view = studio.page.show_tab("Train")
    for record, weights, loss in ((pipeline.vae, "vae", "loss_rec"), (pipeline.teacher, "teacher", "loss_flow")):
        run = record.out_path
        assert run.parent == studio.dev.folders.runs / "tiny" and run.name == weights
        assert (run / "final" / f"{weights}.safetensors").is_file()
        events = [r["event"] for r in metrics(run) if r["kind"] == "event"]
        assert events[0] == "started" and events[-1] == "finished"
        log = Path(record.log).read_text()
        assert run.with_name(run.name + ".log") == Path(record.log)
        assert f"$ vton train {weights} --config" in log and "--max-steps 3" in log and "# finished" in log
        view.runs.select(record.id)
        assert view.monitor.job_id == record.id
        mv = view.monitor_view
        assert mv.stats["step"].text() == f"{STEPS} / {STEPS}"
        assert loss in mv.chart.curves and mv.chart.point_count() > 0
        assert mv.picture.has_picture()  # the last sample grid
        assert not mv.pause_button.isEnabled() and not mv.resume_button.isEnabled()
    teacher_cmd = pipeline.teacher.argv
    assert "--vae" in teacher_cmd and teacher_cmd[teacher_cmd.index("--vae") + 1] == str(pipeline.vae.out_path / "final")
    assert stat.S_IMODE(os.stat(pipeline.vae.out_path / "final").st_mode) == 0o700  # as private as the data folder
    listed = [view.runs.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(view.runs.list.count())]
    assert pipeline.vae.id in listed and pipeline.teacher.id in listed


def test_distill_tab_runs_the_student_and_an_ablation_at_equal_budget(studio, pipeline):
    view = studio.page.show_tab("Distill")
    student, ablation = pipeline.student, pipeline.no_tcg
    assert student.group == ablation.group and student.group.startswith("ablations-")
    assert ablation.argv[ablation.argv.index("--overlay") + 1] == "no-tcg" and "--overlay" not in student.argv
    for record in (student, ablation):
        assert record.argv[record.argv.index("--max-steps") + 1] == str(STEPS)
        assert record.argv[record.argv.index("--teacher") + 1] == str(pipeline.teacher.out_path / "final")
        assert record.argv[record.argv.index("--vae") + 1] == str(pipeline.vae.out_path / "final")
    assert ablation.out_path.name == "student-no-tcg"
    config = (ablation.out_path / "config.yaml").read_text()
    assert "tcg: false" in config and "tcg: false" not in (student.out_path / "config.yaml").read_text()
    view.refresh_ablations()
    rows = {view.table.item(r, 1).text(): [view.table.item(r, c).text() for c in range(6)]
            for r in range(view.table.rowCount())}
    assert set(rows) == {"full FGA", "no TCG"}
    psnr = [r["psnr"] for r in metrics(ablation.out_path) if r["kind"] == "sample"][-1]
    assert rows["no TCG"][3] == str(STEPS) and rows["no TCG"][4] == f"{psnr:.2f}"
    view.runs.select(student.id)
    assert any(k.startswith("loss_") for k in view.monitor_view.chart.curves)


def test_tabs_cli_and_recipe_train_the_same_weights(studio, pipeline, tmp_path):
    """One entry point: the tabs' runs, `vton train` and the recipe give bit-identical
    checkpoints for the same config, data, seed and budget."""
    from safetensors.torch import load_file

    from app.cli import main as cli
    from models.recipes.default import main as recipe

    data = [f"all:data.{k}={v}" for k, v in (("source", pipeline.synth.out_path), ("split", "train"),
                                             ("mode", "unpaired"))]
    out = tmp_path / "recipe"
    assert recipe(["--preset", "tiny", "--out", str(out), "--stages", "vae,teacher,student", "--max-steps",
                   str(STEPS), "-q", *[a for d in data for a in ("--set", d)]]) == 0
    cli_vae = tmp_path / "cli" / "vae"
    assert cli(["train", "vae", "--config", str(CONFIGS / "tiny_vae.yaml"), "--out", str(cli_vae), "--max-steps",
                str(STEPS), "-q", *[a for d in data for a in ("--set", d.removeprefix("all:"))]]) == 0
    pairs = [(pipeline.vae, out / "vae", "vae"), (pipeline.teacher, out / "teacher", "teacher"),
             (pipeline.student, out / "student", "student")]
    for record, theirs, name in pairs + [(pipeline.vae, cli_vae, "vae")]:
        a = load_file(str(record.out_path / "final" / f"{name}.safetensors"))
        b = load_file(str(theirs / "final" / f"{name}.safetensors"))
        assert a.keys() == b.keys(), name
        assert all(torch.equal(a[k], b[k]) for k in a), f"{name}: the tab's weights differ from {theirs}"


def test_export_tab_shows_parity_and_installs_the_bundle_as_our_own(studio, pipeline):
    s, bot = studio, studio.bot
    view = s.page.show_tab("Export")
    record = pipeline.export
    assert "--int8" in record.argv and "--checkpoint" in record.argv
    view.list.select(record.id)
    manifest = json.loads((record.out_path / "manifest.json").read_text())
    graphs = manifest["parity"]["torch_vs_onnx_fp32"]
    assert view.graphs.rowCount() == len(graphs) == 5
    shown = {view.graphs.item(r, 0).text(): view.graphs.item(r, 1).text() for r in range(view.graphs.rowCount())}
    assert shown == {g: f"{v['relative']:.2e}" for g, v in graphs.items()}
    e2e = manifest["parity"]["int8_vs_fp32_end_to_end"]["128x96"]
    assert view.int8_table.rowCount() == 1 and view.int8_table.item(0, 1).text() == f"{e2e['psnr_db_mean']:.2f}"
    assert view.int8_table.item(0, 3).text() == "2"  # the parity samples asked for

    qclick(bot, view.use_button)
    sv = s.window.settings_view
    bot.waitUntil(lambda: sv.import_dialog is not None and sv.import_dialog.isVisible())
    target = Path(sv.import_dialog.property("bundle_path"))
    assert target.parent == s.window.session.user_bundles_dir()
    qclick(bot, sv._use_button)
    bot.waitUntil(lambda: s.window.session.bundle_path() == target)
    texts = [sv.bundle_list.item(i).text() for i in range(sv.bundle_list.count())]
    assert any("trained on this machine" in t and "in use" in t for t in texts), texts


def test_evaluate_tab_scores_bundles_and_puts_evaluations_side_by_side(studio, pipeline):
    view = studio.page.show_tab("Evaluate")
    first, second = pipeline.eval1, pipeline.eval2
    assert "--baselines" in first.argv and first.argv[first.argv.index("--seed") + 1] == "5"
    view.compare(second.id, first.id)
    a, b = view.pane_a, view.pane_b
    methods = [a.table.horizontalHeaderItem(c).text() for c in range(a.table.columnCount())]
    assert methods == ["tiny-int8", "tiny-int8\nraw", "identity\n(baseline)", "paste\n(baseline)"]
    metrics_shown = [a.table.verticalHeaderItem(r).text() for r in range(a.table.rowCount())]
    assert metrics_shown[1] == "PSNR dB ↑" and metrics_shown[2] == "colour err ↓"
    scores = json.loads((second.out_path / "scores.json").read_text())
    assert scores["samples"] == 2 and scores["test_seed"] == 6
    assert a.table.item(1, 3).text() == f"{scores['results']['baseline: paste']['psnr']:.2f}"
    psnr = [a.table.item(1, c) for c in range(4)]
    best = max(range(4), key=lambda c: float(psnr[c].text()))
    assert psnr[best].font().bold() and sum(p.font().bold() for p in psnr) == 1
    assert "beats identity on" in a.wins.text()
    assert a.grid.has_picture() and b.grid.has_picture()
    assert b.result.samples == 4 and b.result.seed == 5 and "seed 5 · 4 samples at 128x96" in b.caption.text()


def test_the_runs_list_survives_a_restart(studio, pipeline):
    ids = {r.id: r.state for r in studio.jobs.records()}
    again = MainWindow(StudioSession(), dev=True)
    try:
        assert {r.id: r.state for r in again.dev.jobs.records()} == ids
        view = again.dev_page.show_tab("Train")
        listed = [view.runs.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(view.runs.list.count())]
        assert pipeline.vae.id in listed and pipeline.student.id in listed
        assert stat.S_IMODE(os.stat(studio.dev.folders.jobs_file).st_mode) == 0o600
    finally:
        again.shutdown()
        again.close()


# -- failures, pause, stop, closing ----------------------------------------------------------------
def test_a_bad_config_fails_with_one_line_and_the_log(studio, tmp_path):
    s, bot, jobs = studio, studio.bot, studio.jobs
    bad = tmp_path / "typo_vae.yaml"
    bad.write_text((CONFIGS / "tiny_vae.yaml").read_text().replace("batch_size: 4", "batch_sise: 4"))
    view = s.page.show_tab("Train")
    view.form_view.set_stage("vae")
    view.form_view.use_config(bad)
    with bot.waitSignal(s.dev.train.config_problem, timeout=60_000, check_params_cb=bool):
        pass  # --print-config already names the problem before anything starts
    assert "batch_sise" in view.form_view.problem.text() and view.form_view.problem.isVisibleTo(view)
    qclick(bot, view.start_button)
    record = finish(bot, jobs, view.monitor.job_id)
    assert record.state == "failed" and record.exit_code == 2
    assert "typo_vae.yaml" in record.message and "batch_sise" in record.message
    mv = view.monitor_view
    assert "batch_sise" in mv.note.text() and mv.log.isVisibleTo(view) and "batch_sise" in mv.log.toPlainText()
    assert s.window.isVisible()  # the studio carries on
    view.form_view.use_config(CONFIGS / "tiny_vae.yaml")
    with bot.waitSignal(s.dev.train.config_problem, timeout=60_000, check_params_cb=lambda why: why == ""):
        pass
    assert not view.form_view.problem.isVisibleTo(view)


def test_pause_resume_stop_and_a_crash(studio):
    s, bot, jobs = studio, studio.bot, studio.jobs
    view = s.page.show_tab("Train")
    form = view.form_view
    form.set_stage("vae")
    form.use_config(CONFIGS / "tiny_vae.yaml")
    form.use_data(None)
    form.project.setText("long")
    form.knobs["steps"].setText("100000")
    qclick(bot, view.start_button)
    job_id = view.monitor.job_id
    mv = view.monitor_view
    bot.waitUntil(lambda: view.monitor.progress.step > 0, timeout=JOB_MS)  # a train line arrived
    assert mv.pause_button.isEnabled() and mv.stats["sps"].text() != "—"
    qclick(bot, mv.pause_button)
    record = finish(bot, jobs, job_id)
    assert record.state == "paused" and record.resumable()
    paused_at = view.monitor.progress.step
    assert "Paused at step" in mv.note.text() and mv.resume_button.isEnabled()

    qclick(bot, mv.resume_button)
    assert "--resume" in jobs.get(job_id).argv
    bot.waitUntil(lambda: view.monitor.progress.step > paused_at, timeout=JOB_MS)
    qclick(bot, mv.stop_button)
    record = finish(bot, jobs, job_id)
    assert record.state == "cancelled" and record.resumable() and record.starts == 2
    events = [r["event"] for r in metrics(record.out_path) if r["kind"] == "event"]
    assert events.count("stopped") == 2 and events.count("started") == 2

    assert jobs.resume(job_id)  # once more, and this time the process dies under it
    bot.waitUntil(lambda: view.monitor.progress.step > paused_at and jobs.pid(job_id) is not None
                  and jobs.get(job_id).state == "running" and view.monitor.progress.last_event != "stopped",
                  timeout=JOB_MS)
    os.kill(jobs.pid(job_id), signal.SIGKILL)
    record = finish(bot, jobs, job_id)
    assert record.state == "failed" and "crashed" in record.message
    assert "crashed" in mv.note.text() and s.window.isVisible()
    assert Path(record.log).read_text().count("$ vton train vae") == 3  # one log, every start appended


def test_the_page_stops_any_running_job_a_rendering_here(studio, tmp_path):
    """Data, Export and Evaluate jobs have no monitor of their own: the page's Stop ends them."""
    s, bot, jobs = studio, studio.bot, studio.jobs
    assert not s.page.stop_button.isVisibleTo(s.page)  # nothing runs
    data = s.page.show_tab("Data")
    data.count.setValue(100_000)  # hours of rendering: it can only end by the button
    data.size.setCurrentText("512x384")
    data.seed.setValue(11)
    job_id = data.render()
    bot.waitUntil(lambda: jobs.get(job_id).state == "running", timeout=JOB_MS)
    assert s.page.stop_button.isVisibleTo(s.page)
    qclick(bot, s.page.stop_button)
    record = finish(bot, jobs, job_id)
    assert record.state == "cancelled" and not s.page.stop_button.isVisibleTo(s.page)
    assert s.window.isVisible()


def test_closing_with_a_job_running_asks_then_stops_it_with_a_checkpoint(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILE_VTON_HOME", str(tmp_path / "home"))
    window = MainWindow(StudioSession(), dev=True)
    qtbot.addWidget(window)
    window.show()
    view = window.dev_page.show_tab("Train")
    view.form_view.use_config(CONFIGS / "tiny_vae.yaml")
    view.form_view.knobs["steps"].setText("100000")
    qclick(qtbot, view.start_button)
    job_id = view.monitor.job_id
    qtbot.waitUntil(lambda: view.monitor.progress.step > 0, timeout=JOB_MS)

    window.close()
    assert window.isVisible() and window.close_dialog is not None  # it asks first
    keep = next(b for b in window.close_dialog.buttons() if b.text() == "Keep working")
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.close_dialog is None)
    assert window.isVisible() and window.dev.jobs.get(job_id).state == "running"

    window.close()
    qtbot.waitUntil(lambda: window.close_dialog is not None and window.close_dialog.isVisible())
    qtbot.mouseClick(window._close_stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=JOB_MS)
    record = JobStore(tmp_path / "home" / "dev" / "jobs.json").load()[0]
    assert record.id == job_id and record.state == "paused"
    stopped = [r for r in metrics(record.out_path) if r.get("event") == "stopped"]
    assert len(stopped) == 1 and Path(stopped[0]["checkpoint"]).is_dir()
    assert QApplication.instance() is not None
