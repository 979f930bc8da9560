"""Training throughput of every stage's real step on the real data pipeline (GPU; never a test).

For each stage — ``vae``, ``teacher`` (the dit), ``student-regression`` (the student with
``distill: false``) and ``student-fga`` (the full FGA step: fake score and GAN head every
step, the generator every ``ratio`` steps, TCG) — and each size, it builds the stage from
the recipe's bundled ``small_*`` config exactly as the trainer does (``Trainer.setup``:
pool rendered by all cores, networks with the run's speed settings), runs ``--warmup``
steps (compilation), then times ``--steps`` steps and prints:

- samples/s (a sample is one try-on triplet: person, garment, target);
- data wait: the share of the timed wall clock the host spent getting the next batch;
- peak GPU memory (``torch.cuda.max_memory_allocated``);
- MFU: the model FLOPs of the timed steps (counted once, eagerly, with
  ``torch.utils.flop_counter`` over ``--flop-steps`` steps) over the time, against the
  GPU's dense bf16 peak (989 TFLOP/s for an H100/H200 SXM by the datasheet; the measured
  rate of an 8192^3 bf16 matmul is recorded beside it).

VAE and teacher checkpoints for the teacher and student stages are random-init: speed does
not depend on the weight values. Two profiles: ``before`` is the trainer's old settings
(the configs' old batch sizes, DataLoader workers reading the memory-mapped pool, eager
fp32-weight convolutions in NCHW, the VAE encoding every batch, no augmentation);
``after`` is the current configs' settings. Run on the GPU lease::

    python benchmarks/train_speed.py --profile before --json $OUT/train_speed.json
    python benchmarks/train_speed.py --profile after --json $OUT/train_speed.json
    # then, here: the table in docs/training.md from the JSON
    python benchmarks/train_speed.py --render docs/train_speed.json --doc docs/training.md

``--set stage:key=value`` overrides a config key for one stage kind (vae, teacher, student)
or ``all``; ``--label`` names a variant's rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = ("vae", "teacher", "student-regression", "student-fga")
KIND = {"vae": "vae", "teacher": "teacher", "student-regression": "student", "student-fga": "student"}
PEAK_TFLOPS = {"H100": 989.4, "H200": 989.4}  # dense bf16, SXM datasheet
# the trainer's settings before issue 13 (batch per size), for the "before" rows
BEFORE_BATCH = {"vae": {256: 32, 512: 12}, "teacher": {256: 64, 512: 16}, "student": {256: 32, 512: 8}}
MARK_BEGIN, MARK_END = "<!-- TRAIN SPEED -->", "<!-- END TRAIN SPEED -->"


def random_checkpoints(folder: Path) -> tuple[Path, Path]:
    """A random-init small VAE and dit teacher in checkpoint form (what the stages load)."""
    import torch

    from models.nets import LightVAE, get_config
    from models.train.config import DiTConfig, bundled_config, from_dict, load_config_dict
    from models.train.teachers import DiTTeacher, file_digest, save_dit_teacher
    from models.train.vae_stage import WEIGHTS, save_vae

    torch.manual_seed(0)
    vae_dir, teacher_dir = folder / "vae", folder / "teacher"
    cfg = dataclasses.replace(get_config("small").vae, scaling_factor=1.0, shift_factor=0.0)
    save_vae(LightVAE(cfg).state_dict(), cfg, vae_dir, {"preset": "small", "latent_space": "light"})
    dit = from_dict(DiTConfig, load_config_dict(bundled_config("small_teacher"))["teacher"]["dit"], "dit")
    save_dit_teacher(DiTTeacher(dit).state_dict(), dit, teacher_dir,
                     {"vae_sha256": file_digest(vae_dir / WEIGHTS), "vae_checkpoint": str(vae_dir)})
    return vae_dir, teacher_dir


def run_config(stage: str, size: tuple[int, int], profile: str, args, inits: tuple[Path, Path], cache: Path):
    from models.train.config import bundled_config, load_config_dict, load_run_config, parse_override

    kind = KIND[stage]
    base = load_config_dict(bundled_config(f"small_{kind}"))
    phases = base.get("phases") or [{}]
    # the config's phase at this size (its batch and data), as the one phase of the run
    phase = next((p for p in phases if tuple(p.get("data", {}).get("size", base["data"]["size"])) == size), phases[0])
    batch = phase.get("batch_size") or base["train"]["batch_size"]
    data = {**phase.get("data", {}), "size": list(size), "num_samples": args.pool, "cache_dir": str(cache)}
    o: dict = {"train.max_steps": 10**9, "train.max_minutes": 0, "train.eval_samples": 0, "train.sample_every": 0,
               "train.log_every": 10**9, "train.checkpoint_every": 0, "data.num_workers": args.workers}
    if profile == "before":
        batch = BEFORE_BATCH[kind][size[0] // 256 * 256]
        data.update(on_device=False, encode="step",
                    augment={"swap": 0, "flip": 0, "zoom": 0, "light": 0, "crop": None})
        o.update({"train.compile": False, "train.channels_last": False})
    if kind != "vae":
        o["init.vae"] = str(inits[0])
    if kind == "student":
        o["init.teacher"] = str(inits[1])
        o["student.distill"] = stage == "student-fga"
        o["student.regression_steps"] = 0
    for text in args.set or []:
        scope, _, rest = text.partition(":")
        if rest and scope in (kind, stage, "all"):
            k, v = parse_override(rest)
            o[k] = v
    if args.batch:
        batch = int(dict(x.split("=") for x in args.batch.split(",")).get(stage, batch))
    run = load_run_config(data={**base, "phases": [{"name": "bench", "batch_size": batch, "data": data}]},
                          overrides=o)
    return run, batch


def flop_counter():
    """Counts matmul, convolution and attention FLOPs (forward and backward) with the
    formulas of ``torch.utils.flop_counter``, without its per-module tracker (which
    trips over parameters used under ``no_grad``)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            count = flop_registry.get(func._overloadpacket)
            if count is not None:
                self.total += count(*args, **kwargs, out_val=out)
            return out

    return Count()


def matmul_tflops() -> float:
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize()
    return 2 * 8192**3 * 10 / (time.perf_counter() - t) / 1e12


def measure(stage_name: str, size, profile: str, args, inits, cache: Path, work: Path) -> dict:
    import torch

    from models.train.distributed import init_distributed
    from models.train.runner import stage_class
    from models.train.trainer import StepRandom, Trainer

    run, batch = run_config(stage_name, size, profile, args, inits, cache)
    out = work / f"{profile}-{stage_name}-{size[0]}x{size[1]}"
    shutil.rmtree(out, ignore_errors=True)
    trainer = Trainer(stage_class(run.stage), run, out, progress=False, log=lambda m: print(f"    {m}", file=sys.stderr))
    trainer.info, device, _ = init_distributed(run.train.device)
    cuda = device.type == "cuda"
    t0 = time.perf_counter()
    stage = trainer.setup(device)
    data_cfg = run.data_for(run.all_phases()[0])
    source = trainer._source(stage, data_cfg, batch, 0, device)
    setup_s = time.perf_counter() - t0

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def steps(first: int, n: int) -> tuple[float, float, float]:
        """(wall seconds, host seconds spent getting batches, GPU seconds spent making them)."""
        wait, events = 0.0, []
        sync()
        t = time.perf_counter()
        for step in range(first, first + n):
            t1 = time.perf_counter()
            if cuda:
                events.append(torch.cuda.Event(enable_timing=True))
                events[-1].record()
            b = source.get(step)
            if cuda:
                events.append(torch.cuda.Event(enable_timing=True))
                events[-1].record()
            wait += time.perf_counter() - t1
            stage.train_step(b, step, StepRandom.for_step(run.seed, 0, step, device))
        sync()
        gpu = sum(a.elapsed_time(b) for a, b in zip(events[::2], events[1::2], strict=True)) / 1e3
        return time.perf_counter() - t, wait, gpu

    t0 = time.perf_counter()
    steps(0, args.warmup)
    warmup_s = time.perf_counter() - t0
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    span, wait, data_gpu = steps(args.warmup, args.steps)
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    # model FLOPs of the same kind of steps, counted eagerly (compiled kernels hide their ops)
    first = args.warmup + args.steps
    with torch.compiler.set_stance("force_eager"), flop_counter() as counter:
        for step in range(first, first + args.flop_steps):
            stage.train_step(source.get(step), step, StepRandom.for_step(run.seed, 0, step, device))
    flops_per_sample = counter.total / (args.flop_steps * batch)
    sps = args.steps * batch / span
    gpu = torch.cuda.get_device_name() if cuda else "cpu"
    peak_tflops = next((v for k, v in PEAK_TFLOPS.items() if k in gpu), None)
    achieved = flops_per_sample * sps / 1e12
    row = {
        "profile": args.label or profile, "stage": stage_name, "size": f"{size[0]}x{size[1]}", "batch": batch,
        "samples_per_s": round(sps, 1), "data_wait": round(wait / span, 4),
        "data_gpu": round(data_gpu / span, 4), "peak_gib": round(peak, 2),
        "mfu": round(achieved / peak_tflops, 4) if peak_tflops else None, "tflops": round(achieved, 1),
        "gflops_per_sample": round(flops_per_sample / 1e9, 1), "gpu": gpu, "steps": args.steps,
        "compile": stage.env.compile, "channels_last": stage.env.channels_last, "on_device": data_cfg.on_device,
        "encode": data_cfg.encode if run.stage != "vae" else None, "source": source.describe(),
        "setup_s": round(setup_s, 1), "warmup_s": round(warmup_s, 1), "torch": torch.__version__,
    }
    shutil.rmtree(out, ignore_errors=True)
    return row


def check(stage_name: str, size, profile: str, args, inits, cache: Path, work: Path) -> dict:
    """The fast path's losses against plain eager PyTorch on this device: one step of each from
    the same seed and weights (step 0: for student-fga the generator and the fake score)."""

    from models.train.distributed import init_distributed
    from models.train.runner import stage_class
    from models.train.trainer import StepRandom, Trainer

    losses = []
    for fast in (False, True):
        run, batch = run_config(stage_name, size, profile, args, inits, cache)
        run = run.replace(train=dataclasses.replace(run.train, compile=fast, channels_last=fast))
        out = work / f"check-{fast}"
        shutil.rmtree(out, ignore_errors=True)
        trainer = Trainer(stage_class(run.stage), run, out, progress=False, log=lambda m: None)
        trainer.info, device, _ = init_distributed(run.train.device)
        stage = trainer.setup(device)
        source = trainer._source(stage, run.data_for(run.all_phases()[0]), batch, 0, device)
        logs = stage.train_step(source.get(0), 0, StepRandom.for_step(run.seed, 0, 0, device))
        losses.append({k: float(v) for k, v in logs.items() if k.startswith("loss")})
        del stage, source, trainer
        shutil.rmtree(out, ignore_errors=True)
    eager, fast = losses
    rel = {k: abs(fast[k] - eager[k]) / max(abs(eager[k]), 1e-8) for k in eager}
    return {"stage": stage_name, "size": f"{size[0]}x{size[1]}", "eager": eager, "fast": fast,
            "max_rel_diff": max(rel.values()), "worst": max(rel, key=rel.get)}


def merge(path: Path, rows: list[dict]) -> list[dict]:
    """Rows replace earlier rows of the same (profile, stage, size, batch); the file stays sorted."""
    old = json.loads(path.read_text()) if path.is_file() else []
    key = lambda r: (r["profile"], r["stage"], r["size"], r["batch"])  # noqa: E731
    new = {key(r): r for r in old}
    new.update({key(r): r for r in rows})
    order = {s: i for i, s in enumerate(STAGES)}
    return sorted(new.values(), key=lambda r: (r["profile"] != "before", r["profile"], order.get(r["stage"], 9),
                                               int(r["size"].split("x")[0]), r["batch"]))


def table(rows: list[dict]) -> str:
    """Markdown: one line per row; **bold** samples/s for the settings the configs now use."""
    def pct(v):
        return "—" if v is None else f"{100 * v:.1f}%"

    lines = ["| profile | stage | size | batch | samples/s | data wait (GPU making batches) | peak GiB | MFU "
             "| GFLOP/sample | first steps (s) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        sps = f"**{r['samples_per_s']:g}**" if r.get("configs_use") else f"{r['samples_per_s']:g}"
        lines.append(f"| {r['profile']} | {r['stage']} | {r['size']} | {r['batch']} | {sps} | "
                     f"{pct(r['data_wait'])} ({pct(r.get('data_gpu'))}) | {r['peak_gib']:g} | {pct(r.get('mfu'))} | "
                     f"{r['gflops_per_sample']:g} | {r['warmup_s']:g} |")
    return "\n".join(lines)


def render_doc(rows: list[dict], doc: Path, command: str) -> None:
    gpus = sorted({r["gpu"] for r in rows})
    body = (f"{MARK_BEGIN}\nMeasured on {', '.join(gpus)} by {command} (rows in "
            f"[train_speed.json](train_speed.json)):\n\n{table(rows)}\n{MARK_END}")
    text = doc.read_text()
    if MARK_BEGIN in text:
        text = text[: text.index(MARK_BEGIN)] + body + text[text.index(MARK_END) + len(MARK_END):]
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    doc.write_text(text)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stages", default=",".join(STAGES))
    p.add_argument("--sizes", default="256x192,512x384")
    p.add_argument("--profile", choices=("before", "after"), default="after")
    p.add_argument("--label", help="name of these rows (default: the profile)")
    p.add_argument("--steps", type=int, default=30, help="timed steps")
    p.add_argument("--warmup", type=int, default=8, help="untimed steps first (compilation, cudnn autotuning)")
    p.add_argument("--flop-steps", type=int, default=4, help="steps whose FLOPs are counted")
    p.add_argument("--pool", type=int, default=1024, help="rendered samples per size")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="render / DataLoader processes")
    p.add_argument("--batch", help="per-stage batch, e.g. 'student-fga=64,vae=32'")
    p.add_argument("--set", action="append", metavar="STAGE:KEY=VALUE")
    p.add_argument("--cache", help="keep rendered pools here (reused by later runs)")
    p.add_argument("--check", help="instead of timing: compare the fast path's losses with eager ones, "
                                   "written to this JSON file")
    p.add_argument("--json", help="merge the rows into this JSON file")
    p.add_argument("--render", help="only write the docs table from this JSON file")
    p.add_argument("--doc", default=str(ROOT / "docs" / "training.md"))
    args = p.parse_args(argv)

    if args.render:
        rows = json.loads(Path(args.render).read_text())
        render_doc(rows, Path(args.doc), "the commands above")
        print(table(rows))
        return 0

    import torch

    work = Path(tempfile.mkdtemp(prefix="train-speed-"))
    cache = Path(args.cache) if args.cache else work / "cache"
    rows = []
    try:
        inits = random_checkpoints(work / "init")
        peak = matmul_tflops() if torch.cuda.is_available() else None
        if peak:
            print(f"bf16 8192^3 matmul: {peak:.0f} TFLOP/s on {torch.cuda.get_device_name()}", file=sys.stderr)
        for stage_name in args.stages.split(","):
            for text in args.sizes.split(","):
                h, w = (int(v) for v in text.split("x"))
                if args.check:
                    result = check(stage_name, (h, w), args.profile, args, inits, cache, work)
                    print(f"    {stage_name} {text}: max relative loss difference {result['max_rel_diff']:.2e} "
                          f"({result['worst']})", file=sys.stderr, flush=True)
                    rows.append(result)
                    Path(args.check).write_text(json.dumps(rows, indent=1) + "\n")
                    continue
                print(f"[{args.label or args.profile}] {stage_name} {h}x{w} ...", file=sys.stderr, flush=True)
                try:
                    row = measure(stage_name, (h, w), args.profile, args, inits, cache, work)
                except torch.OutOfMemoryError as exc:
                    print(f"    out of memory: {str(exc).splitlines()[0]}", file=sys.stderr)
                    torch.cuda.empty_cache()
                    continue
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()  # the stage is gone: the next one starts from a clean GPU
                row["matmul_tflops_measured"] = round(peak, 1) if peak else None
                rows.append(row)
                if args.json:  # row by row: a run cut short still leaves what it measured
                    path = Path(args.json)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(merge(path, [row]), indent=1) + "\n")
                print(f"    {row['samples_per_s']} samples/s, data wait {100 * row['data_wait']:.1f}% "
              f"(GPU making batches {100 * row['data_gpu']:.1f}%), "
                      f"peak {row['peak_gib']} GiB, MFU {row['mfu']}, {row['gflops_per_sample']} GFLOP/sample, "
                      f"warm-up {row['warmup_s']} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work if not args.cache else work / "init", ignore_errors=True)
    if not args.check:
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
