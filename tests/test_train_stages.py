"""Evidence that each stage trains (tiny configs, CPU): losses fall, resume is exact, DDP
runs over gloo, the CLI works and names bad input, checkpoints export to bundles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from models.train.config import CONFIG_DIR  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STEPS = 30


def records(folder: Path, kind: str = "train") -> list[dict]:
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def series(folder: Path, key: str) -> list[float]:
    return [r[key] for r in records(folder) if key in r]


def fell(values: list[float], k: int, factor: float) -> bool:
    """Mean of the last k below ``factor`` times the mean of the first k."""
    first, last = sum(values[:k]) / k, sum(values[-k:]) / k
    return last < factor * first


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """vae -> teacher -> student through the recipe, STEPS steps each, logging every step."""
    from models.recipes.default import main

    out = tmp_path_factory.mktemp("tiny-run")
    main(["--preset", "tiny", "--out", str(out), "--stages", "vae,teacher,student", "-q",
          "--max-steps", f"vae={STEPS},teacher={STEPS},student={STEPS}", "--set", "all:train.log_every=1"])
    return out


def test_vae_loss_falls_and_latent_stats_are_saved(run_dir):
    rec = series(run_dir / "vae", "loss_rec")
    assert len(rec) == STEPS
    assert fell(rec, 5, 0.75), rec
    cfg = json.loads((run_dir / "vae" / "final" / "config.json").read_text())
    assert cfg["vae"]["scaling_factor"] != 1.0 and cfg["stats"]["std"] > 0
    from models.train.config import DataConfig
    from models.train.data import held_out_batch
    from models.train.vae_stage import load_vae

    vae, _ = load_vae(run_dir / "vae" / "final")
    batch = held_out_batch(DataConfig(size=(64, 64), eval_world_seed=1), 28, 8, "cpu")
    z = vae.encode(torch.cat([batch.person, batch.garment, batch.target]))
    assert z.shape == (24, 16, 8, 8)
    assert abs(float(z.mean())) < 0.3 and 0.7 < float(z.std()) < 1.3  # scaled latents: ~ N(0, 1) on the data


def test_teacher_flow_loss_falls(run_dir):
    flow = series(run_dir / "teacher", "loss_flow")
    assert len(flow) == STEPS
    assert fell(flow, 5, 0.75), flow
    meta = json.loads((run_dir / "teacher" / "final" / "config.json").read_text())
    assert meta["teacher"]["kind"] == "dit" and len(meta["vae_sha256"]) == 64
    from models.train.teachers import load_teacher

    teacher, _ = load_teacher(run_dir / "teacher" / "final")
    assert not any(p.requires_grad for p in teacher.parameters())


def test_student_losses_fall_and_checkpoint_loads(run_dir):
    folder = run_dir / "student"
    diff, cons, fake = series(folder, "loss_diff"), series(folder, "loss_cons"), series(folder, "loss_fake")
    assert len(fake) == STEPS  # the fake score updates every step
    assert len(diff) == STEPS // 2  # the generator every `ratio` (2) steps
    assert fell(diff, 4, 0.75), diff
    assert fell(cons, 4, 0.75), cons
    assert all(k in records(folder)[0] for k in ("loss_feature", "loss_gan", "loss_disc", "samples_per_s"))
    from models.checkpoint import load_student

    student, meta = load_student(folder / "final")
    assert meta["step"] == STEPS and meta["ablation"] == {"distill": True, "tcg": True, "latent_concat": True,
                                                          "top_attention": False, "correspondence_loss": False}
    assert student.cfg.vae.scaling_factor != 1.0  # the trained VAE's statistics travel with the student
    grid = records(folder, "sample")[-1]
    assert (folder / grid["grid"]).is_file() and grid["psnr"] > 5
    recipe = json.loads((run_dir / "recipe.json").read_text())
    assert recipe["stages"]["student"]["steps"] == STEPS


def _student_cfg(run_dir: Path) -> dict:
    return {"init.vae": str(run_dir / "vae" / "final"), "init.teacher": str(run_dir / "teacher" / "final"),
            "data.cache_dir": str(run_dir / "cache"), "train.log_every": 1}


def test_resume_continues_bit_for_bit(run_dir, tmp_path):
    from models.train import train

    cfg = CONFIG_DIR / "tiny_student.yaml"
    base = _student_cfg(run_dir)
    train(cfg, tmp_path / "a", overrides={**base, "train.max_steps": 6}, progress=False)
    train(cfg, tmp_path / "b", overrides={**base, "train.max_steps": 3}, progress=False)
    train(cfg, tmp_path / "b", overrides={**base, "train.max_steps": 6}, resume=tmp_path / "b", progress=False)

    def losses(folder):
        return {r["step"]: {k: v for k, v in r.items() if k.startswith(("loss", "grad", "logit", "dmd"))}
                for r in records(folder)}

    a, b = losses(tmp_path / "a"), losses(tmp_path / "b")
    assert sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in (4, 5, 6):
        assert a[step] == b[step], step
    from safetensors.torch import load_file

    wa = load_file(str(tmp_path / "a" / "final" / "student.safetensors"))
    wb = load_file(str(tmp_path / "b" / "final" / "student.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    sa = load_file(str(tmp_path / "a" / "final" / "train_state.safetensors"))
    sb = load_file(str(tmp_path / "b" / "final" / "train_state.safetensors"))
    assert all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("rng."))


def test_resume_continues_the_time_budget(run_dir, tmp_path):
    """A resumed time-budgeted run spends what is left of its budget, not a fresh one."""
    import json

    from models.train import train

    cfg = CONFIG_DIR / "tiny_vae.yaml"
    over = {"data.cache_dir": str(run_dir / "cache"), "train.log_every": 1}
    train(cfg, tmp_path / "r", overrides={**over, "train.max_steps": 2}, progress=False)
    state = tmp_path / "r" / "final" / "train_state.json"
    info = json.loads(state.read_text())
    info["elapsed_s"] = 3600.0  # an hour already spent
    state.write_text(json.dumps(info))
    train(cfg, tmp_path / "r", overrides={**over, "train.max_steps": 0, "train.max_minutes": 1.0, "phases": []},
          resume=tmp_path / "r", progress=False)
    after = json.loads(state.read_text())
    assert after["step"] <= info["step"] + 1  # the 1-minute budget was already spent


def test_regression_warm_up_comes_before_distillation(run_dir, tmp_path):
    from models.train import train

    over = {**_student_cfg(run_dir), "train.max_steps": 5, "student.regression_steps": 3, "student.ratio": 1,
            "student.region_weight": 4.0}
    train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "w", overrides=over, progress=False)
    recs = {r["step"]: r for r in records(tmp_path / "w")}
    assert all("loss_fake" not in recs[s] and "loss_feature" not in recs[s] for s in (1, 2, 3))
    assert all("loss_fake" in recs[s] and "loss_feature" in recs[s] for s in (4, 5))


def test_ablation_switches(run_dir, tmp_path):
    from app.cli import main

    cfg = str(CONFIG_DIR / "tiny_student.yaml")
    common = ["--vae", str(run_dir / "vae" / "final"), "--max-steps", "2", "-q",
              "--set", f"data.cache_dir={run_dir / 'cache'}", "--set", "train.log_every=1"]
    assert main(["train", "student", "--config", cfg, "--out", str(tmp_path / "nd"), "--no-distill", *common]) == 0
    keys = set().union(*records(tmp_path / "nd"))
    assert "loss_diff" in keys and "loss_cons" in keys and "loss_feature" not in keys and "loss_fake" not in keys
    teacher = ["--teacher", str(run_dir / "teacher" / "final")]
    assert main(["train", "student", "--config", cfg, "--out", str(tmp_path / "nt"), "--no-tcg",
                 "--set", "student.ratio=1", *teacher, *common]) == 0
    keys = set().union(*records(tmp_path / "nt"))
    assert "loss_feature" in keys and "loss_cons" not in keys
    assert main(["train", "student", "--config", cfg, "--out", str(tmp_path / "nl"), "--no-lc",
                 "--set", "student.ratio=1", *teacher, *common]) == 0
    from models.checkpoint import load_student

    student, meta = load_student(tmp_path / "nl" / "final")
    assert student.cfg.latent_concat is False and meta["ablation"]["latent_concat"] is False


def test_cli_trains_a_stage_and_names_bad_input(run_dir, tmp_path, capsys):
    from app.cli import main

    cfg = str(CONFIG_DIR / "tiny_teacher.yaml")
    vae = str(run_dir / "vae" / "final")
    out = tmp_path / "t"
    common = ["--max-steps", "2", "-q", "--set", f"data.cache_dir={run_dir / 'cache'}"]
    assert main(["train", "teacher", "--config", cfg, "--vae", vae, "--out", str(out), *common]) == 0
    assert (out / "final" / "teacher.safetensors").is_file() and (out / "metrics.jsonl").is_file()
    capsys.readouterr()
    # the same folder again without --resume would mix two runs
    assert main(["train", "teacher", "--config", cfg, "--vae", vae, "--out", str(out), *common]) == 2
    assert "--resume" in capsys.readouterr().err
    # --resume continues from the final checkpoint
    assert main(["train", "teacher", "--config", cfg, "--vae", vae, "--out", str(out), "--resume", str(out),
                 "--max-steps", "3", *common[2:]]) == 0
    assert json.loads((out / "final" / "train_state.json").read_text())["step"] == 3
    capsys.readouterr()
    bad = [
        (["train", "teacher", "--config", str(tmp_path / "nope.yaml")], "config file not found"),
        (["train", "vae", "--config", cfg], "is a 'teacher' config"),
        (["train", "teacher", "--config", cfg, "--vae", str(tmp_path / "novae"), "--out", str(tmp_path / "x")],
         "not a VAE checkpoint"),
        (["train", "teacher", "--config", cfg, "--set", "train.nope=1"], "unknown key"),
        (["train", "teacher", "--config", cfg, "--set", "lr"], "KEY=VALUE"),
    ]
    for argv, message in bad:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_two_process_gloo_ddp(run_dir, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "app.cli", "train", "student", "--config", str(CONFIG_DIR / "tiny_student.yaml"),
           "--vae", str(run_dir / "vae" / "final"), "--teacher", str(run_dir / "teacher" / "final"),
           "--max-steps", "4", "--out", str(out), "-q", "--set", "train.batch_size=2",
           "--set", f"data.cache_dir={run_dir / 'cache'}", "--set", "train.log_every=1"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = json.loads((out / "final" / "train_state.json").read_text())
    assert state["world_size"] == 2 and state["step"] == 4
    assert state["ranks_in_sync"] is True  # gradients were averaged: both ranks hold the same weights
    rec = records(out)
    assert len(rec) == 4 and all(r["samples_per_s"] > 0 for r in rec)
    from models.checkpoint import load_student

    load_student(out / "final")


def test_pack_and_unpack_move_finished_stages(run_dir, tmp_path):
    from models.checkpoint import load_student
    from models.recipes.default import pack, unpack
    from models.train.teachers import load_teacher

    parts = pack(run_dir, tmp_path / "pack", ["vae", "teacher", "student"], [], part_bytes=400_000)
    assert len(parts) > 1 and all(p.stat().st_size <= 400_000 for p in parts)
    dest = tmp_path / "restored"
    unpack(tmp_path / "pack", dest)
    a, _ = load_student(run_dir / "student" / "final")
    b, _ = load_student(dest / "student" / "final")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(va, vb, rtol=2e-3, atol=1e-4, msg=k)  # fp16 transport
    load_teacher(dest / "teacher" / "final")
    assert (dest / "vae" / "final" / "vae.safetensors").read_bytes() == \
        (run_dir / "vae" / "final" / "vae.safetensors").read_bytes()  # exact: its digest ties the stages


@pytest.mark.slow
def test_trained_checkpoint_exports_to_an_int8_bundle(run_dir, tmp_path):
    from app.cli import main

    out = tmp_path / "bundle"
    assert main(["bundle", "export", "--checkpoint", str(run_dir / "student" / "final"), "--int8",
                 "--out", str(out), "--calibration-samples", "4", "--parity-samples", "1"]) == 0
    from engine.bundle import open_bundle

    manifest = open_bundle(out).manifest
    assert manifest.trained and manifest.provenance["training"]["step"] == STEPS


def test_recipe_default_stages_end_to_end_with_export(tmp_path):
    """The default recipe (vae -> teacher -> student -> INT8 bundle), as one GPU lease runs it,
    on the tiny preset."""
    from engine.bundle import open_bundle
    from models.recipes.default import main

    out = tmp_path / "r"
    assert main(["--preset", "tiny", "--out", str(out), "-q", "--max-steps", "3",
                 "--calibration-samples", "2", "--parity-samples", "1"]) == 0
    recipe = json.loads((out / "recipe.json").read_text())
    assert set(recipe["stages"]) == {"vae", "teacher", "student"}
    assert all(recipe["stages"][s]["steps"] == 3 for s in ("vae", "teacher", "student"))
    assert open_bundle(out / "bundle").manifest.trained  # verifies every hash


def test_init_student_starts_from_a_finished_student(run_dir, tmp_path):
    from safetensors.torch import load_file

    from engine.errors import InputError
    from models.train import train

    start = run_dir / "student" / "final"
    # a warm-up of 1e9 steps keeps the lr ~0: the run's weights stay the ones it started from
    over = {**_student_cfg(run_dir), "train.max_steps": 1, "train.warmup_steps": 10**9, "init.student": str(start)}
    final = train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "ft", overrides=over, progress=False)
    a, b = load_file(str(start / "student.safetensors")), load_file(str(final / "student.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=1e-5, msg=k)
    assert json.loads((final / "config.json").read_text())["init_student"]["step"] == STEPS
    fresh = train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "fresh",
                  overrides={**over, "init.student": None}, progress=False)
    c = load_file(str(fresh / "student.safetensors"))
    assert any(not torch.allclose(a[k], c[k]) for k in a if not k.startswith("vae."))  # the check can fail
    with pytest.raises(InputError, match="not a student checkpoint"):
        train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "bad",
              overrides={**over, "init.student": str(run_dir / "teacher" / "final")}, progress=False)


def test_recipe_refine_stage_continues_the_student(run_dir, tmp_path):
    import shutil

    from models.recipes.default import main

    out = tmp_path / "r"
    shutil.copytree(run_dir, out)
    assert main(["--preset", "tiny", "--out", str(out), "--stages", "refine", "-q",
                 "--max-steps", "refine=3", "--set", "all:train.log_every=1"]) == 0
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["stages"]["refine"]["steps"] == 3
    cfg = json.loads((out / "refine" / "final" / "config.json").read_text())
    assert cfg["run"]["init"]["student"] == "../student/final" and cfg["init_student"]["step"] == STEPS
    assert cfg["run"]["student"]["ratio"] == 1 and cfg["run"]["student"]["regression_steps"] == 0
    (phase,) = cfg["run"]["phases"]  # one phase: the config's last, on fresh samples
    assert phase["name"] == "refine" and phase["data"]["num_samples"] == 0
    assert all("loss_feature" in r for r in records(out / "refine"))  # distillation from the first step
    # an ablation's student gets the same refine, with its own change; the main one is not redone
    common = ["--preset", "tiny", "--out", str(out), "-q", "--ablations", "no-distill", "--set", "all:train.log_every=1"]
    assert main([*common, "--stages", "ablations,refine", "--max-steps", f"ablations={STEPS},refine=2",
                 "--pack-to", str(tmp_path / "packs"), "--pack", "refine"]) == 0
    cfg = json.loads((out / "refine-no-distill" / "final" / "config.json").read_text())
    assert cfg["run"]["init"]["student"] == "../student-no-distill/final" and not cfg["run"]["student"]["distill"]
    assert not any("loss_feature" in r for r in records(out / "refine-no-distill"))
    assert json.loads((out / "recipe.json").read_text())["stages"]["refine"]["steps"] == 3
    assert sorted(p.name for p in (tmp_path / "packs").iterdir()) == ["pack-refine-refine-no-distill.tar.000"]
    with pytest.raises(SystemExit, match="needs the finished student"):
        main(["--preset", "tiny", "--out", str(tmp_path / "empty"), "--stages", "refine", "-q"])


def test_session_pause_then_resume_equals_one_run(run_dir, tmp_path):
    """A run paused by train.session_minutes and resumed ends bit-for-bit like one run."""
    from safetensors.torch import load_file

    from models.train import train

    over = {**_student_cfg(run_dir), "train.max_steps": 6}
    one = train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "one", overrides=over, progress=False)
    # session_minutes ~0: pauses after the first step, a checkpoint and no final
    paused = train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "two",
                   overrides={**over, "train.session_minutes": 1e-9}, progress=False)
    assert paused is None and not (tmp_path / "two" / "final").exists()
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").glob("step_*")) == ["step_000001"]
    final = train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "two", overrides=over, resume=tmp_path / "two",
                  progress=False)
    a, b = load_file(str(one / "student.safetensors")), load_file(str(final / "student.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_cli_and_recipe_train_the_same_weights(tmp_path):
    """One entry point: `vton train` with an overlay and the recipe's table give the same
    checkpoints, bit for bit, for the same config, seed and budget (tiny, CPU)."""
    from safetensors.torch import load_file

    from app.cli import main as cli
    from models.recipes.default import main as recipe

    out = tmp_path / "recipe"
    assert recipe(["--preset", "tiny", "--out", str(out), "--stages", "vae,teacher,ablations",
                   "--ablations", "no-distill", "--max-steps", "3", "-q"]) == 0
    runs = tmp_path / "cli"
    for stage in ("vae", "teacher"):
        assert cli(["train", stage, "--config", str(CONFIG_DIR / f"tiny_{stage}.yaml"), "--out", str(runs / stage),
                    "--max-steps", "3", "-q"]) == 0
    assert cli(["train", "student", "--config", str(CONFIG_DIR / "tiny_student.yaml"), "--no-distill",
                "--out", str(runs / "student-no-distill"), "--max-steps", "3", "-q"]) == 0
    for name, weights in (("vae", "vae"), ("teacher", "teacher"), ("student-no-distill", "student")):
        a = load_file(str(out / name / "final" / f"{weights}.safetensors"))
        b = load_file(str(runs / name / "final" / f"{weights}.safetensors"))
        assert a.keys() == b.keys(), name
        assert all(torch.equal(a[k], b[k]) for k in a), name
    events = [r["event"] for r in records(runs / "vae", "event")]
    assert events[0] == "started" and events[-1] == "finished" and "checkpoint saved" in events


def test_sigterm_stops_at_a_step_with_a_checkpoint_that_resumes(tmp_path):
    """What a front end's Stop does: SIGTERM -> the run saves a resumable checkpoint, logs a
    'stopped' event and exits 0; --resume finishes it."""
    import signal
    import time

    cfg = str(CONFIG_DIR / "tiny_vae.yaml")
    out = tmp_path / "vae"
    cmd = [sys.executable, "-m", "app.cli", "train", "vae", "--config", cfg, "--out", str(out), "-q",
           "--max-steps", "100000", "--set", "train.log_every=1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        def training() -> bool:
            return (out / "metrics.jsonl").is_file() and bool(records(out))

        while not training():
            assert proc.poll() is None, proc.stderr.read()
            assert time.time() < deadline, "no training step within 2 minutes"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    stopped = [r for r in records(out, "event") if r["event"] == "stopped"]
    assert len(stopped) == 1 and Path(stopped[0]["checkpoint"]).is_dir()
    assert "paused; continue with" in err
    step = stopped[0]["step"]
    done = subprocess.run([*cmd[:-4], "--resume", str(out), "--max-steps", str(step + 2)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert records(out, "event")[-1]["event"] == "finished"


@pytest.mark.parametrize("margin, fga", [(-1e9, True), (1e9, False)])
def test_fga_gate_starts_distillation_only_when_the_teacher_is_better(run_dir, tmp_path, margin, fga):
    """When regression ends the gate scores the teacher and the student on held-out samples;
    FGA runs only if the teacher wins (a margin forces each outcome here), and the decision
    survives a resume."""
    from models.train import Budget, train

    over = {**_student_cfg(run_dir), "student.regression_steps": 2, "student.fga_gate": "psnr",
            "student.gate_margin": margin, "student.gate_samples": 2, "student.gate_teacher_steps": 2}
    out = tmp_path / "gated"
    train("tiny_student", out, overrides=over, budget=Budget(steps=3), progress=False)
    gate = [r for r in records(out, "event") if r["event"] == "fga gate"]
    assert len(gate) == 1 and gate[0]["step"] == 2 and gate[0]["fga"] is fga
    assert set(gate[0]["teacher"]) >= {"psnr", "ssim"} and set(gate[0]["student"]) >= {"psnr", "ssim"}
    assert ("loss_feature" in records(out)[-1]) is fga  # step 3 (after the gate) distils or not
    train("tiny_student", out, overrides=over, budget=Budget(steps=5), resume=out, progress=False)
    assert len([r for r in records(out, "event") if r["event"] == "fga gate"]) == 1  # decided once
    assert ("loss_feature" in records(out)[-1]) is fga


def test_vae_with_colour_shortcut_saves_per_channel_statistics(tmp_path):
    """The small and full presets' VAEs carry the colour shortcut; their checkpoints normalise
    each latent channel on its own (the colour channels vary far more than the learned ones)."""
    from models.recipes.default import main
    from models.train.vae_stage import load_vae

    main(["--preset", "tiny", "--out", str(tmp_path), "--stages", "vae", "-q", "--max-steps", "vae=6",
          "--set", "vae:vae.shortcut=true"])
    meta = json.loads((tmp_path / "vae" / "final" / "config.json").read_text())
    cfg = meta["vae"]
    assert cfg["shortcut"] is True and len(cfg["channel_scale"]) == len(cfg["channel_shift"]) == 16
    assert cfg["scaling_factor"] == 1.0 and cfg["shift_factor"] == 0.0  # the scalars are not used then
    assert cfg["channel_scale"] == pytest.approx([1.0 / max(s, 1e-6) for s in meta["stats"]["channel_std"]])
    assert cfg["channel_shift"] == pytest.approx(meta["stats"]["channel_mean"])
    vae, _ = load_vae(tmp_path / "vae" / "final")
    image = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(vae.decode(vae.encode(image)), vae.decoder(vae.encode_raw(image)), rtol=1e-4, atol=1e-4)
