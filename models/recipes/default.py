"""The embedded default model, in one command (issue 6)::

    python -m models.recipes.default --out runs/default                  # small preset, one GPU
    python -m models.recipes.default --preset tiny --out /tmp/r          # CPU smoke run, minutes

Trains, in order, the LightVAE, the ``dit`` teacher and the ``small`` student by FGA
distillation on the synthetic world, then exports the INT8 bundle (the default stages, one
GPU lease). Asked for by name (``--stages``): the ablations (no distillation, no TCG) at the
student's budget, and the refine stage, which continues the student and each ablation (more
FGA at the target resolution, on fresh samples, the generator updated every step). Each stage is a run
folder under ``--out``::

    vae/  teacher/  student/  student-no-distill/  student-no-tcg/  refine/  refine-no-distill/
    refine-no-tcg/  bundle/  cache/  recipe.json

and reads the previous stage's ``final`` checkpoint from there. A stage whose ``final``
checkpoint exists is skipped, one with only periodic checkpoints is resumed, so the recipe
can be split over several commands (``--stages vae,teacher`` then ``--stages student``...).
``--session-minutes N`` pauses a stage after N minutes of the command (a resumable
checkpoint); the same command run again resumes it, and the run ends exactly as an
uninterrupted one would (same budget, same phase boundaries).

Budgets: every stage has a wall-clock budget in minutes (``--minutes vae=2,teacher=5``)
and/or a step limit (``--max-steps``); the phases of the small configs split the budget
(256x192, then 512x384). Ablations get the student's budget; when they are shorter
(``--minutes ablations=2.5``) the full student is also scored when it has trained that
long, so every row of the comparison had the same budget.

Reproducible from ``--seed``: all randomness of a stage is a function of (seed, step), and
``recipe.json`` records the steps and phase boundaries each stage actually ran, so
``--replay runs/default/recipe.json`` repeats a time-budgeted run step for step.

Moving a run between machines (e.g. the GPU lease's ``$OUT``, at most 8 files of 16 MiB):
``--pack-to DIR`` writes the finished stages' weights (not the optimiser state; teacher and
student in fp16, the student without its VAE copy) as ``pack-*.tar.NNN`` parts of at most
``--part-mib`` MiB; ``--unpack-from DIR`` restores them into ``--out``, after which those
stages count as done.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

DESCRIPTION = ("Train the default model: the LightVAE, the dit teacher, the student by FGA distillation, "
               "then the INT8 bundle (and, by name, the ablations and the refine stage).")
STAGES = ("vae", "teacher", "student", "ablations", "refine", "export")
# what one GPU lease runs by default (docs/training.md); ablations and refine are asked for by name
DEFAULT_STAGES = ("vae", "teacher", "student", "export")
# overlay files in models/train/configs/overlays, each a student variant at the student's budget
ABLATIONS = ("no-distill", "no-tcg", "no-lc", "no-top-attention", "correspondence")
# wall-clock minutes per stage (0 = the config's step limits); ablations: each run.
# small: vae + teacher + student + export in one 30-minute lease of one GPU (docs/training.md,
# "One lease": the two leases of 2026-12-03 held the machine 1,454 s for 18.5 budget minutes
# and 1,399 s for 18.5; these 20 minutes plus the export leave about 2 minutes spare);
# refine: 7.5 minutes on four GPUs (torchrun) for the shipped small model
MINUTES = {
    "tiny": {"vae": 0, "teacher": 0, "student": 0, "ablations": 0, "refine": 0},
    "small": {"vae": 3.5, "teacher": 4.5, "student": 12.0, "ablations": 12.0, "refine": 7.5},
}
BUDGETS = ("vae", "teacher", "student", "ablations", "refine")


@dataclass(frozen=True)
class Run:
    """One training run of the recipe: its folder under ``--out``, its config
    (``<preset>_<config>.yaml``), its overlays and the budget it draws on. ``after`` is the
    finished run it continues (``init.student``), if any."""

    name: str
    config: str
    overlays: tuple[str, ...] = ()
    budget: str = ""
    after: str | None = None


def plan(stage: str, preset: str, ablations: list[str]) -> list[Run]:
    """The recipe as a table: the runs of each stage, in order."""
    refine = f"{preset}-refine"
    return {
        "vae": [Run("vae", "vae", (), "vae")],
        "teacher": [Run("teacher", "teacher", (), "teacher")],
        "student": [Run("student", "student", (), "student")],
        "ablations": [Run(f"student-{a}", "student", (a,), "ablations") for a in ablations],
        "refine": [Run("refine", "student", (refine,), "refine", after="student")]
        + [Run(f"refine-{a}", "student", (refine, a), "refine", after=f"student-{a}") for a in ablations],
    }.get(stage, [])


def log(msg: str) -> None:
    if not is_main():  # under torchrun: one voice
        return
    print(f"[recipe] {msg}", file=sys.stderr, flush=True)


def parse_map(text: str | None, what: str) -> dict[str, float]:
    """``"vae=2,teacher=5"`` -> dict; a bare number applies to every stage."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            try:
                v = float(part)
            except ValueError:
                raise SystemExit(f"--{what}: {part!r} is not a number or STAGE=NUMBER") from None
            out.update({s: v for s in BUDGETS})
            continue
        k, v = part.split("=", 1)
        if k not in BUDGETS:
            raise SystemExit(f"--{what}: unknown stage {k!r}")
        out[k] = float(v)
    return out


def is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class Recipe:
    def __init__(self, args):
        self.args = args
        self.out = Path(args.out).resolve()
        self.preset = args.preset
        self.minutes = {**MINUTES[self.preset], **parse_map(args.minutes, "minutes")}
        self.steps = {k: int(v) for k, v in parse_map(args.max_steps, "max-steps").items()}
        self.replay = json.loads(Path(args.replay).read_text())["stages"] if args.replay else {}
        self.record_path = self.out / "recipe.json"
        self.record = json.loads(self.record_path.read_text()) if self.record_path.is_file() else {}
        self.record.setdefault("stages", {})
        self.paused = False  # a stage stopped at --session-minutes: later stages wait

    # -- one training run ---------------------------------------------------------------
    def config_for(self, kind: str) -> Path:
        from models.train.config import bundled_config

        return bundled_config(f"{self.preset}_{kind}")

    def budget(self, key: str):
        """A run's budget: its stage's minutes and steps (ablations: the student's when not set)."""
        from models.train import Budget

        fallback = "student" if key == "ablations" else key
        minutes = self.minutes.get(key) or self.minutes.get(fallback) or None
        steps = self.steps.get(key, self.steps.get(fallback))
        return Budget(minutes=minutes, steps=steps or None, session_minutes=self.args.session_minutes or None)

    def overrides(self, run: Run) -> dict:
        """What the command line changes in every run (seed, cache, device...) and ``--set``."""
        a = self.args
        o: dict = {"seed": a.seed, "data.cache_dir": str(self.out / "cache")}
        if a.device:
            o["train.device"] = a.device
        if a.workers is not None:
            o["data.num_workers"] = a.workers
        if run.config == "student":
            if a.eval_samples is not None:
                o["train.eval_samples"] = a.eval_samples
            if a.eval_world_seed is not None:
                o["data.eval_world_seed"] = a.eval_world_seed
        if run.after is not None:
            o["init.student"] = f"../{run.after}/final"
        for text in a.set or []:
            from models.train.config import parse_override

            scope, _, rest = text.partition(":")
            if rest and scope in (run.config, run.budget, "all"):
                k, v = parse_override(rest)
                o[k] = v
        return o

    def replay_overrides(self, run: Run, resolved) -> dict:
        """Step-based phases and limits equal to what the recorded run did."""
        rec = self.replay.get(run.name)
        if not rec:
            return {}
        starts = rec["phase_starts"] + [rec["steps"]]
        new = []
        for i, p in enumerate(resolved.all_phases()[: len(rec["phase_starts"])]):
            q = {k: v for k, v in resolved.to_dict()["phases"][i].items() if k != "fraction"} if resolved.phases \
                else {"name": p.name}
            q["steps"] = starts[i + 1] - starts[i] if i + 1 < len(rec["phase_starts"]) else 0
            new.append(q)
        return {"phases": new, "train.max_steps": rec["steps"], "train.max_minutes": 0}

    def train_run(self, run: Run, extra: dict | None = None) -> None:
        from models.train import resolve, train
        from models.train.trainer import STATE_JSON, find_checkpoint

        folder = self.out / run.name
        if (folder / "final" / "config.json").is_file():
            log(f"{run.name}: done already ({folder / 'final'})")
            self.note(run.name, folder)
            return
        resume = None
        try:
            resume = find_checkpoint(folder)
        except FileNotFoundError:
            pass
        config, budget = self.config_for(run.config), self.budget(run.budget)
        o = {**self.overrides(run), **(extra or {})}
        o.update(self.replay_overrides(run, resolve(config, run.overlays, budget, o)))
        resolved = resolve(config, run.overlays, budget, o)
        log(f"{run.name}: training ({config.name}{''.join(' + ' + x for x in run.overlays)}, "
            f"{resolved.train.max_minutes or '-'} min, {resolved.total_steps() or '-'} steps)"
            + (f", resuming {resume}" if resume else ""))
        t0 = time.perf_counter()
        if train(resolved, folder, resume=resume, progress=not self.args.quiet) is None:
            log(f"{run.name}: paused (--session-minutes); the same command resumes it")
            self.paused = True
            return
        state = json.loads((folder / "final" / STATE_JSON).read_text())
        log(f"{run.name}: {state['step']} steps in {(time.perf_counter() - t0) / 60:.1f} min")
        self.note(run.name, folder)

    def note(self, name: str, folder: Path) -> None:
        from models.train.trainer import STATE_JSON

        state_file = folder / "final" / STATE_JSON
        rec = {"folder": name}
        if state_file.is_file():
            state = json.loads(state_file.read_text())
            rec.update({"steps": state["step"], "phase_starts": state.get("phase_starts", [0]),
                        "minutes": round(state.get("elapsed_s", 0) / 60, 2)})
        metrics = folder / "metrics.jsonl"
        if metrics.is_file():
            lines = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()]
            evals = [r for r in lines if r.get("kind") == "eval"]
            if evals:
                rec["eval"] = evals
            done = [r for r in lines if r.get("kind") == "event" and r.get("event") == "finished"]
            if done and "samples_per_s" in done[-1]:  # the stage's mean throughput past its warm-up
                rec.update({k: done[-1][k] for k in ("samples_per_s", "data_wait_frac")})
            gates = [r for r in lines if r.get("kind") == "event" and r.get("event") == "fga gate"]
            if gates:  # FGA ran only if the teacher beat the regression-only student: both scores
                rec["fga_gate"] = {k: v for k, v in gates[-1].items() if k not in ("kind", "event", "time")}
        old = self.record["stages"].get(name, {})
        self.record["stages"][name] = {**old, **rec}
        self.save_record()

    def save_record(self) -> None:
        if not is_main():
            return
        self.record.update({"preset": self.preset, "seed": self.args.seed, "git_commit": git_commit()})
        self.out.mkdir(parents=True, exist_ok=True)
        self.record_path.write_text(json.dumps(self.record, indent=2) + "\n")

    # -- the stages -------------------------------------------------------------------
    def run(self, stages: list[str]) -> None:
        self.record.setdefault("commands", []).append(" ".join(sys.argv))
        for folder in self.args.unpack_from or []:
            for earlier in unpack(Path(folder), self.out):  # keep what the earlier commands recorded
                for name, rec in earlier.get("stages", {}).items():
                    self.record["stages"].setdefault(name, rec)
                self.record.setdefault("commands", [])[:0] = [
                    c for c in earlier.get("commands", []) if c not in self.record.get("commands", [])]
        for stage in stages:
            if self.paused:
                log(f"{stage}: waits for the paused stage (run the same command again)")
                break
            if stage == "export":
                if is_main():
                    self.export()
                continue
            runs = plan(stage, self.preset, self.ablations())
            if stage == "refine":
                runs = self.finished_before(runs)
            for run in runs:
                if self.paused:
                    break
                self.train_run(run, self.student_extra() if run.name == "student" else None)
        if self.args.pack_to and is_main():
            pack(self.out, Path(self.args.pack_to), self.args.pack.split(",") if self.args.pack else stages,
                 self.ablations(), int(self.args.part_mib * 2**20), weights=not self.args.pack_metrics_only)
        self.save_record()

    def student_extra(self) -> dict:
        """Ablations on a shorter budget: the full student is also scored when it has trained that long."""
        ab, st = self.minutes.get("ablations", 0), self.minutes.get("student", 0)
        return {"train.eval_at_minutes": [ab]} if self.ablations() and ab and st and ab < st else {}

    def finished_before(self, runs: list[Run]) -> list[Run]:
        """The refine runs whose student is finished (each ablation's refine continues its own
        student, so the ablations end at the shipped model's budget too)."""
        def finished(name: str) -> bool:
            return (self.out / name / "final" / "config.json").is_file()

        if not any(finished(r.after) for r in runs):
            raise SystemExit(f"refine: needs the finished student ({self.out / 'student' / 'final'})")
        for r in runs:
            if not finished(r.after):
                log(f"{r.name}: skipped, {r.after} has no final checkpoint")
        return [r for r in runs if finished(r.after)]

    def ablations(self) -> list[str]:
        names = [a for a in (self.args.ablations or "").split(",") if a]
        for a in names:
            if a not in ABLATIONS:
                raise SystemExit(f"--ablations: unknown {a!r} (known: {', '.join(ABLATIONS)})")
        return names

    def export(self) -> None:
        from engine.bundle import parse_size
        from models.checkpoint import read_checkpoint_config
        from models.export.bundle import export_checkpoint

        bundle = self.out / "bundle"
        if (bundle / "manifest.json").is_file():
            log(f"export: done already ({bundle})")
            return
        name, selection = pick_checkpoint(self.out, self.record["stages"], self.args.select_by)
        if selection:
            log(f"export: {name} has the best validation {selection['metric']} (world seed "
                f"{selection['world_seed']}, {selection['samples']} samples): "
                + ", ".join(f"{k} {v:.4g}" for k, v in selection["scores"].items()))
        elif self.args.select_by != "none":
            log(f"export: no validation {self.args.select_by} recorded for the student runs; {name} by default")
        ckpt = self.out / name / "final"
        cfg, meta = read_checkpoint_config(ckpt)
        log(f"export: from {ckpt}")
        sizes = [parse_size(s) for s in self.args.export_sizes.split(",")] if self.args.export_sizes \
            else [tuple(s) for s in cfg.resolutions]
        log(f"export: INT8 bundle at {', '.join(f'{h}x{w}' for h, w in sizes)}")
        tiny = self.preset == "tiny"
        stages = self.record["stages"]
        provenance = {
            "recipe": "models.recipes.default", "preset": self.preset, "seed": self.args.seed,
            "data": "synthetic try-on world (models.data.synthetic), training world seed 1",
            "stages": {k: {kk: v.get(kk) for kk in ("steps", "minutes", "phase_starts")} for k, v in stages.items()},
            "student_eval": stages.get(ckpt.parent.name, {}).get("eval"),
            "checkpoint": ckpt.parent.name,
            "checkpoint_step": meta.get("step"),
            "selection": selection,
        }
        export_checkpoint(ckpt, bundle, sizes=sizes, int8=True,
                          calibration_samples=self.args.calibration_samples or (4 if tiny else 16),
                          parity_samples=self.args.parity_samples or (1 if tiny else 4),
                          name=self.args.bundle_name or f"{self.preset}-default-int8",
                          provenance=provenance, log=lambda m: log(f"export: {m}"))
        self.record["bundle"] = str(bundle.relative_to(self.out))


# -- which student ships -----------------------------------------------------------------------

def check_select_metric(metric: str) -> None:
    """``--select-by``: ``none`` or a metric of the quality report (models.eval.quality.METRICS)."""
    from models.eval.quality import METRICS

    if metric != "none" and metric not in METRICS:
        raise SystemExit(f"--select-by: unknown {metric!r} (known: none, {', '.join(METRICS)})")


def pick_checkpoint(out: Path, stages: dict, metric: str = "psnr") -> tuple[str, dict | None]:
    """The student run to export: among the finished ones (``student``, ``refine`` and the
    ablations, all trained at the same budget), the best by ``metric`` on the validation
    seed, read from each run's last evaluation in the recipe's record; the test seed is never
    seen here. Only runs scored on the same world seed, samples and size as ``student``
    compete. Without scores: ``refine`` if it finished, else ``student``, else the first
    finished ablation (and no selection)."""
    order = ["refine", "student"]
    finished = [n for n in stages if (n in order or n.startswith(("refine-", "student-")))
                and (out / n / "final" / "config.json").is_file()]
    finished.sort(key=lambda n: (order.index(n) if n in order else 2, n))
    default = next((n for n in order if n in finished), finished[0] if finished else "student")
    if metric == "none":
        return default, None
    check_select_metric(metric)
    scored = {}
    for name in finished:
        evals = [e for e in stages[name].get("eval") or [] if isinstance(e.get(metric), (int, float))]
        if evals:
            final = [e for e in evals if e.get("step") == stages[name].get("steps")] or evals
            scored[name] = final[-1]
    if not scored:
        return default, None
    first = scored.get("student") or next(iter(scored.values()))
    key = lambda e: (e.get("world_seed"), e.get("samples"), list(e.get("size") or []))  # noqa: E731
    scored = {n: e for n, e in scored.items() if key(e) == key(first)}
    from models.eval.quality import METRICS

    higher = METRICS[metric]
    best = max(scored, key=lambda n: scored[n][metric] if higher else -scored[n][metric])  # first wins ties
    return best, {"metric": metric, "world_seed": first.get("world_seed"), "samples": first.get("samples"),
                  "size": first.get("size"), "scores": {n: e[metric] for n, e in scored.items()}, "picked": best}


# -- moving finished stages between machines -------------------------------------------------

PACK_PREFIX = "pack-"


def _fp16(state: dict) -> dict:
    import torch

    out = {}
    for k, v in state.items():
        if v.is_floating_point() and v.dtype == torch.float32 and float(v.abs().max()) < 6.0e4:
            out[k] = v.half()
        else:
            out[k] = v
    return out


def pack(out: Path, dest: Path, stages: list[str], ablations: list[str], part_bytes: int,
         weights: bool = True) -> list[Path]:
    """Weights-only copies of finished stages as tar parts of at most ``part_bytes``
    (with ``weights=False``: their metrics, configs and last grids only)."""
    from safetensors.torch import load_file
    from safetensors.torch import save as save_bytes

    folders = []
    for s in stages:
        if s in ("vae", "teacher", "student"):
            folders.append(s)
        elif s == "ablations":
            folders += [f"student-{a}" for a in ablations]
        elif s == "refine":
            folders += ["refine"] + [f"refine-{a}" for a in ablations]
    packed = []
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add_bytes(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for name in folders:
            if not (out / name).is_dir():  # never ran here (an ablation's refine, say): nothing to pack
                log(f"pack: no {name} here; skipped")
                continue
            final = out / name / "final"
            if weights and not (final / "config.json").is_file():
                log(f"pack: {name} has no final checkpoint; skipped")
                continue
            packed.append(name)
            for extra in ("metrics.jsonl", "config.yaml"):
                if (out / name / extra).is_file():
                    tar.add(out / name / extra, f"{name}/{extra}")
            grids = sorted((out / name / "samples").glob("*.png"))
            if grids:
                tar.add(grids[-1], f"{name}/samples/{grids[-1].name}")
            if not weights:  # no final/ then: the stage is not "done" where this is unpacked
                continue
            tar.add(final / "config.json", f"{name}/final/config.json")
            if name == "vae":
                tar.add(final / "vae.safetensors", f"{name}/final/vae.safetensors")
            elif name == "teacher":
                add_bytes(f"{name}/final/teacher.safetensors",
                          save_bytes(_fp16(load_file(str(final / "teacher.safetensors")))))
            else:
                state = {k: v for k, v in load_file(str(final / "student.safetensors")).items()
                         if not k.startswith("vae.")}
                add_bytes(f"{name}/final/student.fp16.safetensors", save_bytes(_fp16(state)))
        if (out / "bundle" / "manifest.json").is_file() and "export" in stages:
            tar.add(out / "bundle", "bundle")
        if (out / "recipe.json").is_file():
            tar.add(out / "recipe.json", "recipe.json")
    data = buf.getvalue()
    dest.mkdir(parents=True, exist_ok=True)
    tag = ("-".join(packed) or "run") + ("" if weights else "-metrics")
    parts = []
    for i in range(0, max(len(data), 1), part_bytes):
        p = dest / f"{PACK_PREFIX}{tag}.tar.{i // part_bytes:03d}"
        p.write_bytes(data[i : i + part_bytes])
        parts.append(p)
    log(f"pack: {len(data) / 2**20:.1f} MiB of {', '.join(packed) or 'nothing'} in {len(parts)} part(s) under {dest}")
    return parts


def unpack(src: Path, out: Path) -> list[dict]:
    """Restore ``pack`` parts from ``src`` into the run folder ``out``; returns the packed
    ``recipe.json`` records (the caller merges them into its own)."""
    import torch
    from safetensors.torch import load_file, save_file

    groups: dict[str, list[Path]] = {}
    for p in sorted(src.glob(f"{PACK_PREFIX}*.tar.[0-9][0-9][0-9]")):
        groups.setdefault(p.name.rsplit(".", 1)[0], []).append(p)
    if not groups:
        raise SystemExit(f"--unpack-from {src}: no {PACK_PREFIX}*.tar.NNN parts there")
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for name, parts in sorted(groups.items()):
        data = b"".join(p.read_bytes() for p in sorted(parts))
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            for m in tar.getmembers():
                if m.name.startswith("/") or ".." in Path(m.name).parts or not (m.isfile() or m.isdir()):
                    raise SystemExit(f"{name}: unsafe member {m.name!r}")
                if m.name == "recipe.json":
                    records.append(json.loads(tar.extractfile(m).read()))
                    continue
                if hasattr(tarfile, "data_filter"):
                    tar.extract(m, out, filter="data")
                else:
                    tar.extract(m, out)
        log(f"unpack: {name} ({len(data) / 2**20:.1f} MiB)")
    for half in sorted(out.glob("*/final/student.fp16.safetensors")):
        final = half.parent
        vae = load_file(str(out / "vae" / "final" / "vae.safetensors"))
        state = {f"vae.{k}": v for k, v in vae.items()}
        state.update({k: (v.float() if v.dtype == torch.float16 else v) for k, v in load_file(str(half)).items()})
        save_file(state, str(final / "student.safetensors"))
        half.unlink()
    return records


def preflight(stages: list[str], args) -> None:
    """Fail in seconds, not after a stage, when a package a stage needs is missing."""
    import importlib.util

    need = {"torch", "safetensors", "yaml", "numpy", "PIL"}
    if set(stages) & {"vae", "teacher", "student", "ablations"}:
        need |= {"tqdm", "transformers"}  # transformers: the Light-Adapter's DINOv2
    if set(stages) & {"teacher", "student", "ablations"}:
        need.add("diffusers")  # the dit teacher is diffusers' SD3Transformer2DModel
    if "export" in stages:
        need |= {"onnx", "onnxruntime", "transformers", "platformdirs"}
    missing = sorted(n for n in need if importlib.util.find_spec(n) is None)
    if missing:
        raise SystemExit(f"missing Python packages for stages {','.join(stages)}: {', '.join(missing)} "
                         "(pip install -e '.[train]', or carry their wheels)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.recipes.default", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="run folder (stages go in sub-folders)")
    p.add_argument("--preset", choices=tuple(MINUTES), default="small")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stages", default=",".join(DEFAULT_STAGES),
                   help=f"comma list from {', '.join(STAGES)} (default: {','.join(DEFAULT_STAGES)})")
    p.add_argument("--minutes", "--minutes-per-stage", dest="minutes",
                   help="wall-clock budget per stage, e.g. 'vae=2,teacher=4,student=5,ablations=2.5' or one number")
    p.add_argument("--max-steps", help="step limit per stage, e.g. 'vae=2000,student=500'")
    p.add_argument("--ablations", default="no-distill,no-tcg", help=f"comma list from {', '.join(ABLATIONS)}")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--session-minutes", type=float,
                   help="pause a training stage after this many minutes of this command (resumable checkpoint; "
                        "the budget and phase boundaries stay those of one uninterrupted run)")
    p.add_argument("--workers", type=int, help="data processes (default: the config's)")
    p.add_argument("--eval-samples", type=int, help="held-out samples scored at the end of student runs")
    p.add_argument("--eval-world-seed", type=int, help="world seed of the held-out samples")
    p.add_argument("--set", action="append", metavar="STAGE:KEY=VALUE",
                   help="config override for one stage kind (vae, teacher, student, ablations, refine or all)")
    p.add_argument("--replay", help="recipe.json of an earlier run: repeat its steps and phase boundaries")
    p.add_argument("--export-sizes", help="bundle resolutions, e.g. 512x384,256x192 (default: the config's)")
    p.add_argument("--calibration-samples", type=int, help="INT8 calibration samples (tiny 4, small 16)")
    p.add_argument("--parity-samples", type=int, help="held-out INT8-vs-fp32 samples (tiny 1, small 4)")
    p.add_argument("--bundle-name")
    p.add_argument("--select-by", default="psnr",
                   help="the student run to export: the best on the validation seed by this metric of "
                        "the quality report (default psnr; none: refine if it ran, else student)")
    p.add_argument("--pack-to", help="write the finished stages' weights as tar parts into this folder")
    p.add_argument("--pack", help="what to pack (default: this command's stages)")
    p.add_argument("--pack-metrics-only", action="store_true", help="pack metrics, configs and grids, no weights")
    p.add_argument("--part-mib", type=float, default=15.0)
    p.add_argument("--unpack-from", action="append",
                   help="restore tar parts written by --pack-to before training (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    for s in stages:
        if s not in STAGES:
            raise SystemExit(f"--stages: unknown stage {s!r} (known: {', '.join(STAGES)})")
    preflight(stages, args)
    if "export" in stages:  # now, not after the training stages
        check_select_metric(args.select_by)
    from models.train.distributed import cleanup, init_distributed

    _, _, created = init_distributed(args.device or "auto")
    try:
        Recipe(args).run(stages)
    finally:
        if created:
            cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
