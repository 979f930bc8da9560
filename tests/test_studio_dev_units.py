"""The developer tabs' Qt-free pieces (fast, no subprocess): following metrics.jsonl, the jobs
list on disk and what a restart makes of it, the commands the forms build, failure lines."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from app.studio.dev.data import report_text, sheet_split
from app.studio.dev.distill import FGASettings
from app.studio.dev.folders import DevFolders, log_beside
from app.studio.dev.jobs import JobQueue, JobRecord, JobStore, error_line
from app.studio.dev.progress import MetricsReader, RunProgress, read_progress
from app.studio.dev.requests import ExportRequest, TrainRequest, command_text, parse_sizes
from app.studio.dev.train import DataChoice, TrainForm

CONFIG = Path(__file__).resolve().parent.parent / "models" / "train" / "configs" / "tiny_student.yaml"


def test_metrics_reader_returns_only_whole_new_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    reader = MetricsReader(path)
    assert reader.read_new() == []  # no file yet
    path.write_text('{"kind": "train", "step": 5, "loss": 1.0}\n{"kind": "train", "st')
    assert [r["step"] for r in reader.read_new()] == [5]
    with path.open("a") as f:
        f.write('ep": 10, "loss": 0.5}\nnot json\n[1, 2]\n{"kind": "event", "event": "finished", "step": 10}\n')
    new = reader.read_new()
    assert [r["kind"] for r in new] == ["train", "event"] and new[0]["step"] == 10
    path.write_text('{"kind": "event", "event": "started", "step": 0}\n')  # replaced: read from the start
    assert [r["event"] for r in reader.read_new()] == ["started"]


def test_run_progress_folds_losses_grids_events_and_a_resume(tmp_path):
    p = RunProgress(tmp_path)
    p.add([{"kind": "event", "event": "started", "stage": "vae", "step": 0, "steps": 20},
           {"kind": "train", "step": 5, "loss": 2.0, "loss_rec": 1.0, "samples_per_s": 12.5, "eta_s": 9.0,
            "lr": 0.002, "phase": "merged"},
           {"kind": "train", "step": 10, "loss": 1.5, "loss_rec": float("nan")},
           {"kind": "event", "event": "stopped", "step": 10, "checkpoint": str(tmp_path / "checkpoints/step_10")},
           {"kind": "event", "event": "started", "stage": "vae", "step": 10, "steps": 20},
           {"kind": "train", "step": 15, "loss": 1.0},
           {"kind": "sample", "step": 15, "grid": "samples/step_000015.png", "psnr": 12.0, "ssim": 0.4}])
    assert p.losses["loss"] == ([5.0, 10.0, 15.0], [2.0, 1.5, 1.0])
    assert p.losses["loss_rec"] == ([5.0], [1.0])  # a NaN is not plotted
    assert (p.step, p.total, p.fraction) == (15, 20, 0.75)
    assert p.grid == tmp_path / "samples" / "step_000015.png" and p.summary() == {"psnr": 12.0, "ssim": 0.4}
    assert p.checkpoint == tmp_path / "checkpoints" / "step_10" and p.last_event == "started"
    p.add([{"kind": "event", "event": "finished", "step": 20, "final": str(tmp_path / "final")}])
    assert p.final == tmp_path / "final" and p.fraction == 1.0 and p.eta_s == 0.0


def _record(tmp_path, state, **kw) -> JobRecord:
    out = tmp_path / "runs" / kw.pop("name", "vae")
    return JobRecord(id=kw.pop("id", state), kind=kw.pop("kind", "train"), title="t", argv=("train", "vae"),
                     out=str(out), log=str(log_beside(out)), state=state, created=time.time(), **kw)


def test_a_restart_settles_what_the_last_studio_left_running(tmp_path, qapp):
    store = JobStore(tmp_path / "dev" / "jobs.json")
    finished = _record(tmp_path, "running", id="a", name="done", pid=2**22 + 12345)
    (finished.out_path).mkdir(parents=True)
    (finished.out_path / "metrics.jsonl").write_text(
        json.dumps({"kind": "event", "event": "finished", "step": 3, "final": "x"}) + "\n")
    store.save([finished, _record(tmp_path, "running", id="b", name="gone", pid=None),
                _record(tmp_path, "queued", id="c", name="later"), _record(tmp_path, "failed", id="d", message="m")])
    queue = JobQueue(JobStore(store.path))
    states = {r.id: (r.state, r.message) for r in queue.records()}
    assert states["a"] == ("finished", "")  # its process is gone, its metrics say it finished
    assert states["b"][0] == "interrupted" and "went away" in states["b"][1]
    assert states["c"] == ("cancelled", "not started: the studio was closed")
    assert states["d"] == ("failed", "m")
    assert not queue.active()
    assert json.loads(store.path.read_text())["jobs"][0]["state"] == "finished"  # written back
    if os.name == "posix":
        assert oct(store.path.stat().st_mode & 0o777) == "0o600"


def test_a_damaged_jobs_file_is_reported_and_never_stops_the_studio(tmp_path, qapp):
    path = tmp_path / "jobs.json"
    path.write_text("{not json")
    store = JobStore(path)
    assert JobQueue(store).records() == [] and "unreadable" in store.problems[0]
    good = _record(tmp_path, "finished", id="ok").to_json()
    path.write_text(json.dumps({"jobs": [good, {"id": 3}, "x", {**good, "argv": "rm -rf /"}, good]}))
    store = JobStore(path)
    assert [r.id for r in store.load()] == ["ok"] and "3 damaged entries" in store.problems[0]


def test_two_windows_keep_each_others_jobs(tmp_path, qapp):
    path = tmp_path / "jobs.json"
    first, second = JobQueue(JobStore(path)), JobQueue(JobStore(path))
    first._records["x"] = _record(tmp_path, "finished", id="x")
    first._save()
    second._records["y"] = _record(tmp_path, "finished", id="y")
    second._save()
    assert {r.id for r in JobStore(path).load()} == {"x", "y"}
    assert second.forget("y") and {r.id for r in JobStore(path).load()} == {"x"}


def test_the_forms_build_the_command_a_developer_would_type(tmp_path):
    form = TrainForm(stage="student", config=CONFIG, knobs={"steps": "3", "lr": "5e-4", "batch": " ", "seed": "7"},
                     data=DataChoice(tmp_path / "set"), vae=tmp_path / "vae" / "final",
                     teacher=tmp_path / "teacher" / "final", device="cpu", overlays=("no-tcg",),
                     sets=FGASettings(knobs={"ratio": "3", "lambda_gan": ""}).sets())
    argv = form.request(tmp_path / "out").argv()
    assert argv[:6] == ["train", "student", "--config", str(CONFIG), "--out", str(tmp_path / "out")]
    text = command_text(argv)
    for part in ("--overlay no-tcg", f"--vae {tmp_path}/vae/final", "--seed 7", "--device cpu", "--max-steps 3",
                 "--set train.lr=0.0005", f"--set data.source={tmp_path}/set", "--set data.mode=unpaired",
                 "--set student.ratio=3", "-q"):
        assert part in text, part
    assert "batch_size" not in text and "lambda_gan" not in text  # blank = the config's own
    resumed = form.request(tmp_path / "out").resumed().argv()
    assert resumed[-3:] == ["--resume", str(tmp_path / "out"), "-q"]
    assert form.default_project() == "tiny"
    printing = TrainRequest("vae", CONFIG, tmp_path / "o", resume=True).print_config_argv()
    assert printing[-1] == "--print-config" and "--resume" not in printing and "-q" not in printing
    extra = TrainForm(stage="vae", config=CONFIG, extra="train.log_every=1 'data.categories=[upper, dress]'")
    assert extra.request(tmp_path).sets == (("train.log_every", "1"), ("data.categories", "[upper, dress]"))
    with pytest.raises(ValueError, match="Other settings: 'log_every' is not key=value"):
        TrainForm(stage="vae", config=CONFIG, extra="log_every").request(tmp_path)
    with pytest.raises(ValueError, match="Steps: 'three' is not a whole number"):
        TrainForm(stage="vae", config=CONFIG, knobs={"steps": "three"}).knob_values()
    with pytest.raises(ValueError, match="Ratio: must be at least 1"):
        FGASettings(knobs={"ratio": "0"}).sets()
    assert FGASettings(switches={"distill": False, "tcg": True, "lc": False}).overlays() == ("no-distill", "no-lc")
    assert FGASettings().sets({"student": {"tcg": False}}) == (("student.tcg", "true"),)
    # the correspondence loss brings what it needs: the garment flows and the top-level attention
    assert FGASettings(knobs={"lambda_corr": "0.05"}).sets() == (
        ("student.lambda_corr", "0.05"), ("data.flow", "true"), ("student.top_attention", "true"))
    assert FGASettings(knobs={"lambda_corr": "0"}).sets() == (("student.lambda_corr", "0.0"),)
    export = ExportRequest(tmp_path / "ck", tmp_path / "b", sizes=parse_sizes("128x96, 256x192"),
                           calibration_samples=4, parity_samples=2).argv()
    assert export == ["bundle", "export", "--checkpoint", str(tmp_path / "ck"), "--int8", "--size", "128x96",
                      "--size", "256x192", "--target", "desktop", "--calibration-samples", "4",
                      "--parity-samples", "2", "--out", str(tmp_path / "b")]
    with pytest.raises(ValueError, match="not a size"):
        parse_sizes("128 by 96")


def test_failure_lines_and_reports_come_from_the_commands_own_words(tmp_path):
    log = ("\n$ vton train vae --config x.yaml\n# started now\nloading...\n"
           "vton: error: x.yaml: train: unknown key 'batch_sise'\n# failed (exit status 2)\n")
    assert error_line(log) == "x.yaml: train: unknown key 'batch_sise'"
    trace = "Traceback (most recent call last):\n  File \"x\", line 1\nRuntimeError: boom\n"
    assert error_line(trace) == "RuntimeError: boom"
    assert error_line("", exit_code=3) == "it ended with exit status 3"
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"kind": "event", "event": "failed", "message": "ValueError: x"}))
    assert error_line("# only status lines\n", run) == "ValueError: x"
    assert read_progress(run).failed == "ValueError: x"
    both = "$ vton data check D\nD: synthetic\n  8 files checked\n# finished\n$ vton data sheet D\ncontact sheet\n"
    assert report_text(both) == "D: synthetic\n  8 files checked"
    (tmp_path / "viton" / "test").mkdir(parents=True)
    assert sheet_split(tmp_path / "viton") == "test" and sheet_split(tmp_path) == "train"


def test_new_folders_never_overwrite_an_earlier_run(tmp_path):
    folders = DevFolders(tmp_path)
    (tmp_path / "runs" / "tiny" / "vae").mkdir(parents=True)
    log_beside(tmp_path / "runs" / "tiny" / "vae-2").write_text("")
    taken = {str(tmp_path / "runs" / "tiny" / "vae-3")}
    assert folders.unused(tmp_path / "runs" / "tiny", "vae", taken) == tmp_path / "runs" / "tiny" / "vae-4"
    assert folders.unused(tmp_path, "a b/../c") == tmp_path / "a-b-..-c"
