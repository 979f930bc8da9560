"""Screenshots of the developer tabs mid-run, for docs/studio.md, taken offscreen::

    python -m app.studio.dev.screenshots docs/images      # about 6 minutes on 2 CPU cores

Everything is real: a fresh temporary data folder, the tiny preset, the jobs the tabs start
(render → train the VAE and the teacher → distill the student and its ablations → export
INT8 → evaluate), each picture taken while a job runs. Needs the PyTorch side (./test.sh).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[3] / "models" / "train" / "configs"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.studio.dev.screenshots", description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="folder for studio_dev_<tab>.png")
    p.add_argument("--size", default="1500x950", help="window size WxH")
    p.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds per wait")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["MOBILE_VTON_HOME"] = tempfile.mkdtemp(prefix="vton-dev-shots-")

    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from ..main_window import MainWindow
    from ..session import StudioSession
    from ..theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    window = MainWindow(StudioSession(), dev=True)
    window.resize(*(int(v) for v in args.size.split("x")))
    window.show()
    window.show_page("dev")
    page, jobs = window.dev_page, window.dev.jobs
    args.out.mkdir(parents=True, exist_ok=True)

    def wait(what: str, cond) -> None:
        deadline = time.monotonic() + args.timeout
        while not cond():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            QTest.qWait(100)

    def finished(job_id: str):
        wait(f"job {job_id}", lambda: not jobs.get(job_id).active)
        record = jobs.get(job_id)
        if record.state != "finished":
            raise SystemExit(f"{record.title}: {record.state}: {record.message}")
        return record

    def stop(job_id: str) -> None:
        jobs.stop(job_id)
        wait(f"job {job_id} to stop", lambda: not jobs.get(job_id).active)

    def grab(name: str) -> None:
        window.banner.dismiss()
        QTest.qWait(400)  # layouts, pixmaps and the plot settle
        path = args.out / f"studio_dev_{name}.png"
        window.grab().save(str(path))
        print(f"wrote {path}", flush=True)

    # Data: a small set to train on, then a large render caught a third of the way
    data = page.show_tab("Data")
    data.count.setValue(16)
    data.size.setCurrentText("64x64")
    data.seed.setValue(7)
    small = finished(data.render())
    data.count.setValue(3000)
    data.size.setCurrentText("256x192")
    data.seed.setValue(11)
    data.name.setText("synth-large")
    large = data.render()
    data.list.select(small.id)
    wait("the large render", lambda: data.controller.written(jobs.get(large)) >= 600)
    grab("data")
    stop(large)

    # Train: the VAE on the small set, caught mid-run; then the teacher
    train = page.show_tab("Train")
    form = train.form_view
    form.set_stage("vae")
    form.use_config(CONFIGS / "tiny_vae.yaml")
    form.use_data(small.out_path)
    form.knobs["steps"].setText("400")
    form.extra.setText("train.log_every=2 train.sample_every=50")
    vae = train.start()
    wait("VAE training", lambda: train.monitor.progress is not None and train.monitor.progress.step >= 270
         and train.monitor.grid() is not None)
    grab("train")
    finished(vae)
    form.set_stage("teacher")
    form.use_config(CONFIGS / "tiny_teacher.yaml")
    form.knobs["steps"].setText("150")
    form.extra.setText("train.log_every=5")
    teacher = finished(train.start())

    # Distill: the student and its three ablations at the same budget, caught in the second run
    distill = page.show_tab("Distill")
    dform = distill.form_view
    dform.refresh_choices()
    dform.use_teacher(teacher.out_path / "final")
    dform.use_data(small.out_path)
    dform.knobs["steps"].setText("60")
    dform.extra.setText("train.log_every=2 train.sample_every=20")
    ids = distill.start_ablations()
    student = finished(ids[0])
    distill.runs.select(ids[1])
    wait("the first ablation", lambda: distill.monitor.progress is not None and distill.monitor.progress.step >= 40)
    distill.refresh_ablations()
    grab("distill")
    for job_id in ids[1:]:
        finished(job_id)

    # Export: INT8, then a two-size export caught mid-run beside the first one's parity figures
    export = page.show_tab("Export")
    export.refresh_checkpoints()
    export.use_checkpoint(student.out_path / "final")
    export.calibration.setValue(8)
    first = finished(export.export())
    export.sizes.setText("128x96, 256x192")
    second = export.export()
    export.list.select(first.id)
    wait("the second export", lambda: "quantize" in Path(jobs.get(second).log).read_text())
    grab("export")
    stop(second)

    # Evaluate: two evaluations side by side while a third runs
    evaluate = page.show_tab("Evaluate")
    evaluate.refresh_bundles()
    evaluate.check_bundle(first.out_path)
    evaluate.n.setValue(8)
    evaluate.seed.setValue(5)
    one = finished(evaluate.evaluate())
    evaluate.seed.setValue(6)
    two = finished(evaluate.evaluate())
    evaluate.n.setValue(64)
    three = evaluate.evaluate()
    evaluate.compare(two.id, one.id)
    wait("the third evaluation", lambda: "scoring" in Path(jobs.get(three).log).read_text())
    grab("evaluate")
    stop(three)

    window.shutdown()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
