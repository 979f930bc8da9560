"""The shared training loop: one ``Trainer`` runs any ``Stage`` (vae, teacher, student).

What it gives every stage (DESIGN §6): AdamW (the stage makes its optimisers), bf16
autocast on CUDA, EMA, gradient clipping, seeding, two phases, self-contained safetensors
checkpoints with exact resume, JSON-lines metrics, PNG sample grids, DDP under
``torchrun`` and a tqdm bar.

Exact resume: everything random in a step comes from generators seeded by
(run seed, rank, step), the data stream is a pure function of the step
(``StepSampler``), and a checkpoint holds live weights, EMA, optimiser state and step.
A run stopped and resumed at step k computes the same losses, bit for bit on CPU, as
one that never stopped.

Run folder::

    config.yaml            the resolved run config
    metrics.jsonl          {"kind": "train" | "sample" | "eval", "step": ..., ...} per line
    samples/step_000100.png
    checkpoints/step_000100/   periodic checkpoints (the newest ``keep_checkpoints``)
    final/                 the checkpoint written when the run stops (budget or steps)

A checkpoint folder holds the stage's shipping weights (EMA; e.g. ``student.safetensors``
+ ``config.json``, what ``vton bundle export --checkpoint`` reads) and, beside them,
``train_state.safetensors`` + ``train_state.json`` (live weights, EMA, optimisers, RNG,
step) for resuming. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file, save_file
from torch import nn

from .config import ConfigError, RunConfig
from .data import Batch, build_pool, held_out_batch, make_loader
from .distributed import (
    DistInfo,
    all_reduce_grads,
    any_rank,
    barrier,
    broadcast_module,
    cleanup,
    init_distributed,
    mean_over_ranks,
    ranks_in_sync,
)
from .ema import EMA
from .pool import BatchSource, DevicePool, LatentPool
from .visual import save_png

STATE_WEIGHTS = "train_state.safetensors"
STATE_JSON = "train_state.json"


@dataclass
class StepRandom:
    """The generators of one training step: ``cpu`` for scalar choices, ``dev`` for tensors."""

    cpu: torch.Generator
    dev: torch.Generator
    device: torch.device

    @classmethod
    def for_step(cls, seed: int, rank: int, step: int, device: torch.device) -> StepRandom:
        s = ((seed * 1_000_003 + step) * 4_099 + rank) % (2**63 - 1)
        cpu = torch.Generator().manual_seed(s)
        dev = cpu if device.type == "cpu" else torch.Generator(device=device).manual_seed(s)
        return cls(cpu, dev, device)

    def randn_like(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn(x.shape, generator=self.dev, device=self.device, dtype=torch.float32)

    def rand(self, n: int) -> torch.Tensor:
        return torch.rand(n, generator=self.dev, device=self.device)

    def randint(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.cpu))

    def coin(self, p: float) -> bool:
        return bool(torch.rand((), generator=self.cpu) < p)


@dataclass
class Env:
    """What a stage needs from the trainer: device, ranks, output folder, autocast."""

    run: RunConfig
    out: Path
    device: torch.device
    dist: DistInfo
    dtype: torch.dtype | None  # autocast dtype (None = fp32)
    log: Callable[[str], None] = print
    notes: dict = field(default_factory=dict)
    compile: bool = False  # train.compile resolved for this device
    channels_last: bool = False
    cuda_graphs: bool = False
    event: Callable[..., None] = lambda name, **fields: None  # a progress event line (Trainer.event)

    def autocast(self):
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def optimize(self, module: nn.Module, regions: tuple[str, ...] = ()) -> nn.Module:
        """The speed settings for one network, in place: NHWC weights and ``torch.compile``
        (``nn.Module.compile`` keeps the state-dict keys, so checkpoints are unchanged).

        ``regions`` names the classes of repeated blocks to compile one by one instead of the
        whole network (regional compilation: blocks of one shape share their compiled code,
        so a UNet or a transformer compiles in seconds, not minutes)."""
        if self.channels_last:
            module.to(memory_format=torch.channels_last)
        if self.compile:
            backend = self.run.train.compile_backend
            mode = ("reduce-overhead" if self.cuda_graphs else None) if backend == "inductor" else None
            parts = [m for m in module.modules() if type(m).__name__ in regions] if regions else [module]
            for part in parts:
                part.compile(dynamic=False, backend=backend, mode=mode)
        return module

    @contextmanager
    def eager(self):
        """Grids and evaluations run now and then, at other batch sizes: not worth a compile."""
        if not self.compile:
            yield
            return
        with torch.compiler.set_stance("force_eager"):
            yield

    def resolve(self, path: str | None) -> Path | None:
        """``init`` paths are relative to the run folder."""
        if path is None:
            return None
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.out / p).resolve()


class Stage:
    """One kind of training run. Subclasses build their networks and define a step."""

    name = "?"
    square = 28  # adapter image size the data should prepare
    crops = False  # whether data.augment.crop applies (fully convolutional stages)

    def __init__(self, env: Env):
        self.env = env
        self.run = env.run
        self.device = env.device

    # -- to implement ---------------------------------------------------------------
    def check(self) -> None:
        """Cheap checks before anything slow happens (e.g. the init checkpoints exist)."""

    def build(self) -> None:
        raise NotImplementedError

    def modules(self) -> dict[str, nn.Module]:
        """Trainable modules by name (their live weights go into the train state)."""
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def emas(self) -> dict[str, tuple[EMA, nn.Module]]:
        return {}

    def train_step(self, batch: Batch, step: int, rnd: StepRandom) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def save_weights(self, folder: Path, meta: dict) -> None:
        """Write the shipping weights (EMA) and ``config.json`` into ``folder``."""
        raise NotImplementedError

    def samples(self, batch: Batch) -> tuple[list[torch.Tensor], dict[str, float]]:
        """Grid columns and quick metrics on a held-out batch."""
        return [], {}

    def evaluate(self, batch: Batch) -> dict[str, float]:
        return {}

    def extra_state(self) -> dict:
        """Decisions a resumed run must remember (JSON), kept in ``train_state.json``."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def pool_encoder(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """Images -> latents with a frozen VAE, for ``data.encode: pool`` (None: not possible)."""
        return None

    # -- helpers for subclasses -----------------------------------------------------
    def adamw(self, params, lr: float) -> torch.optim.Optimizer:
        t = self.run.train
        params = [p for p in params if p.requires_grad]
        fused = self.device.type == "cuda"  # one kernel per step on the GPU
        opt = torch.optim.AdamW(params, lr=lr, betas=tuple(t.betas), weight_decay=t.weight_decay, fused=fused)
        for g in opt.param_groups:
            g["base_lr"] = lr
        return opt

    def optimizer_step(self, opt: torch.optim.Optimizer, params: list[nn.Parameter]) -> torch.Tensor:
        """Average gradients over ranks, clip, step, clear. Returns the pre-clip grad norm
        (a device tensor: nothing here waits for the GPU)."""
        checked = self.__dict__.setdefault("_grads_checked", set())
        all_reduce_grads(params, self.env.dist, check=id(opt) not in checked)  # the check syncs: once
        checked.add(id(opt))
        with_grad = [p for p in params if p.grad is not None]
        if self.run.train.grad_clip > 0 and with_grad:
            norm = torch.nn.utils.clip_grad_norm_(with_grad, self.run.train.grad_clip)
        else:
            norm = torch.zeros((), device=self.device)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return norm.detach()


# -- checkpoint helpers --------------------------------------------------------------


def optimizer_tensors(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], list]:
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            tensors[f"{prefix}{idx}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return tensors, sd["param_groups"]


def load_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], prefix: str, groups: list) -> None:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith(prefix):
            idx, name = key[len(prefix):].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": groups})


def rng_tensors() -> dict[str, torch.Tensor]:
    out = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng.cuda.{i}"] = s
    return out


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, or the newest checkpoint of a run folder."""
    path = Path(path)
    if (path / STATE_JSON).is_file():
        return path
    candidates = []
    for c in [path / "final", *sorted((path / "checkpoints").glob("step_*"))]:
        if (c / STATE_JSON).is_file():
            candidates.append((json.loads((c / STATE_JSON).read_text())["step"], c.name == "final", c))
    if not candidates:
        raise FileNotFoundError(f"{path}: no checkpoint (no {STATE_JSON}) here or under checkpoints/")
    return max(candidates)[2]


# -- the loop -------------------------------------------------------------------------


class Trainer:
    def __init__(self, stage_cls: type[Stage], run: RunConfig, out: str | Path, resume: str | Path | None = None,
                 log=None, progress: bool = True):
        self.stage_cls = stage_cls
        self.run = run
        self.out = Path(out)
        self.resume = resume
        self.progress = progress
        self._log = log

    def log(self, msg: str) -> None:
        if self.info.is_main:
            (self._log or (lambda m: print(m, file=sys.stderr, flush=True)))(msg)

    # .....................................................................................
    def fit(self) -> Path | None:
        """Train until the step limit or the time budget; returns the final checkpoint folder,
        or None when ``train.session_minutes`` paused the run or a stop was asked for
        (``request_stop``, SIGTERM or SIGINT): a resumable checkpoint either way.

        Progress goes to ``metrics.jsonl`` as it happens, for any front end to follow:
        ``train`` lines (losses, samples/s, ETA), ``sample`` and ``eval`` lines, and
        ``event`` lines: started, phase, sample grid written, checkpoint saved, paused,
        stopped, finished, or failed (with the message)."""
        self.info, device, created = init_distributed(self.run.train.device)
        self._stop = False
        restore = self._catch_stop_signals()
        try:
            return self._fit(device)
        except Exception as exc:
            if self.out.is_dir():
                self.event("failed", message=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            for sig, handler in restore.items():
                signal.signal(sig, handler)
            if created:
                cleanup()

    def request_stop(self) -> None:
        """Stop at the next step boundary with a checkpoint to resume from (safe from a signal handler)."""
        self._stop = True

    def _catch_stop_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        old = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            old[sig] = signal.signal(sig, lambda *_: self.request_stop())
        return old

    def event(self, name: str, **fields) -> None:
        """One ``{"kind": "event"}`` line in metrics.jsonl (rank 0)."""
        if not self.info.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        record = {"kind": "event", "event": name, "time": round(time.time(), 3), **fields}
        with (self.out / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")

    def setup(self, device: torch.device) -> Stage:
        """Everything before the first step: backend flags, the data pools (rendered by all
        cores), the stage's networks with the speed settings, the same start on every rank."""
        run, info = self.run, self.info
        t = run.train
        precision = t.precision
        if precision == "auto":
            precision = "bf16" if device.type == "cuda" else "fp32"
        dtype = {"bf16": torch.bfloat16, "fp32": None}[precision]
        if device.type == "cpu" and t.cpu_threads > 0:
            torch.set_num_threads(t.cpu_threads)
        cuda = device.type == "cuda"
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True  # static shapes per phase: pick the fastest kernels once
        compile_ = cuda if t.compile is None else t.compile
        if compile_:
            import torch._dynamo as dynamo

            # each phase's shapes, train and no-grad variants: more than the default 8 graphs
            dynamo.config.cache_size_limit = max(dynamo.config.cache_size_limit, 64)
        self.out.mkdir(parents=True, exist_ok=True)
        env = Env(run, self.out, device, info, dtype, log=self.log, compile=compile_,
                  channels_last=cuda if t.channels_last is None else t.channels_last,
                  cuda_graphs=t.cuda_graphs and cuda, event=self.event)
        stage = self.stage_cls(env)
        self._env = env
        stage.check()
        self.pools: dict[str, dict] = {}
        self.prep_s = 0.0  # data preparation inside the loop (pools to the device): not budget
        for phase in run.all_phases():  # render the data pools before any model exists
            self._pool(stage, run.data_for(phase))
        self.t_start = time.perf_counter()  # the budget covers training, not the one-off data rendering
        torch.manual_seed(run.seed)
        stage.build()
        for m in stage.modules().values():
            broadcast_module(m, info)
        return stage

    def _fit(self, device: torch.device) -> Path:
        run, info = self.run, self.info
        stage = self.setup(device)
        t_start = self.t_start
        step, elapsed_before, phase_starts = 0, 0.0, [0]
        if self.resume is not None:
            ckpt = find_checkpoint(self.resume)
            step, elapsed_before, phase_starts = self.load_state(stage, ckpt)
            self.log(f"resumed from {ckpt} at step {step}")

        def clock() -> float:  # seconds of the budget spent (a resumed run continues its budget)
            return elapsed_before + time.perf_counter() - t_start - self.prep_s

        if info.is_main:
            (self.out / "config.yaml").write_text(yaml.safe_dump(run.to_dict(), sort_keys=False))
        total = run.total_steps()
        budget = run.train.max_minutes * 60.0
        if total <= 0 and budget <= 0:
            raise ConfigError("the run has no end: set train.max_steps, phase steps or train.max_minutes")
        self.event("started", stage=stage.name, step=step, steps=total or None, minutes=run.train.max_minutes or None,
                   resumed_from=str(self.resume) if self.resume is not None else None)
        phases = run.all_phases()

        metrics_path = self.out / "metrics.jsonl"
        bar = None
        if self.progress and info.is_main:
            from tqdm import tqdm

            bar = tqdm(total=total or None, initial=step, desc=f"train {stage.name}", dynamic_ncols=True,
                       mininterval=1.0 if sys.stderr.isatty() else 30.0, file=sys.stderr)

        t = run.train
        # ranks compare clocks (a collective that waits for the GPU): every step alone, else now and then
        sync_every = 10 if info.enabled else 1
        source_phase, source, held_out = -1, None, None
        phase = phases[len(phase_starts) - 1]
        data_cfg = run.data_for(phase)
        acc: dict[str, torch.Tensor] = {}
        n_acc, data_wait, t_interval = 0, 0.0, time.perf_counter()
        evals_due = sorted(m for m in t.eval_at_minutes if m * 60.0 > elapsed_before)
        self.phase_starts = phase_starts
        throughput: list[tuple[float, float]] = []
        last_print = time.perf_counter()
        stop = paused = False
        while not stop and (total <= 0 or step < total):
            i = len(phase_starts) - 1
            ends = run.phase_ends(i, step - phase_starts[i], clock())
            if phases[i].fraction > 0:
                ends = any_rank(ends, info, device)  # clocks differ: rank 0's word holds for all
            if ends:
                phase_starts.append(step)
                continue
            phase = phases[i]
            if i != source_phase:
                source_phase = i
                data_cfg = run.data_for(phase)
                batch_size = phase.batch_size or t.batch_size
                source = None  # free the last phase's pool first
                t0 = time.perf_counter()
                source = self._source(stage, data_cfg, batch_size, phase_starts[i], device)
                self.prep_s += time.perf_counter() - t0
                lr_scale = (phase.lr or t.lr) / t.lr
                held_out = None
                self.log(f"phase {i} '{phase.name}' from step {step}: {data_cfg.size[0]}x{data_cfg.size[1]}, "
                         f"batch {batch_size} x {info.world_size}, lr {phase.lr or t.lr:g}, {source.describe()}")
                self.event("phase", step=step, phase=phase.name, size=list(data_cfg.size), batch=batch_size,
                           data=source.describe())
                t_interval, data_wait = time.perf_counter(), 0.0
            warm = min(1.0, (step + 1) / t.warmup_steps) if t.warmup_steps > 0 else 1.0
            for opt in stage.optimizers().values():
                for g in opt.param_groups:
                    g["lr"] = g["base_lr"] * lr_scale * warm

            t0 = time.perf_counter()
            batch = source.get(step)
            data_wait += time.perf_counter() - t0

            rnd = StepRandom.for_step(run.seed, info.rank, step, device)
            logs = stage.train_step(batch, step, rnd)
            step += 1
            for k, v in logs.items():  # device tensors: summed there, read at the log interval only
                acc[k] = acc.get(k, 0.0) + (v.detach().float() if torch.is_tensor(v) else float(v))
                acc[f"#{k}"] = acc.get(f"#{k}", 0) + 1
            n_acc += 1
            if bar is not None:
                bar.update(1)

            if step % t.log_every == 0 or step == total:
                values = {k: float(v) / acc[f"#{k}"] for k, v in acc.items() if not k.startswith("#")}
                values = mean_over_ranks(values, info, device)
                now = time.perf_counter()  # after the values reached the host: the GPU caught up
                span = now - t_interval
                record = {
                    "kind": "train", "step": step, "phase": phase.name,
                    "lr": stage.optimizers()[next(iter(stage.optimizers()))].param_groups[0]["lr"],
                    **{k: round(v, 6) for k, v in sorted(values.items())},
                    "samples_per_s": round(n_acc * batch.size * info.world_size / max(span, 1e-9), 2),
                    "steps_per_s": round(n_acc / max(span, 1e-9), 3),
                    "data_wait_frac": round(data_wait / max(span, 1e-9), 3),
                    "elapsed_s": round(clock(), 1),
                }
                etas = [budget - clock()] if budget > 0 else []
                if total > 0:
                    etas.append((total - step) / max(record["steps_per_s"], 1e-9))
                record["eta_s"] = round(max(0.0, min(etas)), 1) if etas else None
                if info.is_main:
                    with metrics_path.open("a") as f:
                        f.write(json.dumps(record) + "\n")
                    throughput.append((record["samples_per_s"], record["data_wait_frac"]))
                    if bar is None and now - last_print >= 30.0:  # quiet runs: a line every 30 s
                        last_print = now
                        terms = " ".join(f"{k} {v:.4f}" for k, v in sorted(values.items()) if k.startswith("loss"))
                        self.log(f"{stage.name} step {step}: {terms} | {record['samples_per_s']} samples/s, "
                                 f"data wait {record['data_wait_frac']:.0%}")
                    if bar is not None:
                        main = next((k for k in ("loss", "loss_diff", "loss_flow", "loss_rec") if k in values), None)
                        post = {"sps": record["samples_per_s"]}
                        if main:
                            post[main] = f"{values[main]:.4f}"
                        bar.set_postfix(post, refresh=False)
                acc, n_acc, data_wait, t_interval = {}, 0, 0.0, time.perf_counter()

            if t.sample_every and step % t.sample_every == 0:
                held_out = held_out if held_out is not None else self._held_out(stage, data_cfg, device)
                self._aside(self.write_samples, stage, held_out, step, phase.name)
            if t.checkpoint_every and step % t.checkpoint_every == 0:
                self._aside(self.save, stage, self.out / "checkpoints" / f"step_{step:06d}", step, clock())
                self._prune()
            if step % sync_every and not (total > 0 and step >= total):
                continue
            if evals_due and t.eval_samples > 0 and any_rank(clock() >= evals_due[0] * 60.0, info, device):
                minutes = evals_due.pop(0)
                self._aside(self.write_eval, stage, data_cfg, device, step, minutes=minutes)
            if budget > 0:
                stop = any_rank(clock() >= budget, info, device)
            if not stop and (total <= 0 or step < total):
                session_over = t.session_minutes > 0 and time.perf_counter() - t_start >= t.session_minutes * 60.0
                paused = stop = any_rank(session_over or self._stop, info, device)
        if bar is not None:
            bar.close()
        source = None
        elapsed = clock()
        if paused:
            ckpt = self.out / "checkpoints" / f"step_{step:06d}"
            self.save(stage, ckpt, step, elapsed)
            self._prune()
            why = "stopped on request" if self._stop else f"paused after {t.session_minutes:g} min of this session"
            self.log(f"{stage.name}: {why} at step {step} ({elapsed / 60:.1f} min of the budget spent); "
                     f"resume from {ckpt}")
            self.event("stopped" if self._stop else "paused", step=step, checkpoint=str(ckpt))
            return None
        self.in_sync = ranks_in_sync(list(stage.modules().values()), info, device)
        if not self.in_sync:
            self.log("warning: the ranks' weights differ")
        final = self.out / "final"
        self.save(stage, final, step, elapsed)
        held_out = self._held_out(stage, data_cfg, device)
        with stage.env.eager():
            self.write_samples(stage, held_out, step, phase.name)
            if t.eval_samples > 0:
                self.write_eval(stage, data_cfg, device, step, minutes=round(elapsed / 60.0, 2))
        speed = {}
        if throughput:
            tail = throughput[len(throughput) // 5:] or throughput  # past the warm-up
            sps = sum(t[0] for t in tail) / len(tail)
            wait = sum(t[1] for t in tail) / len(tail)
            speed = {"samples_per_s": round(sps, 1), "data_wait_frac": round(wait, 4)}
            self.log(f"{stage.name}: {sps:.1f} samples/s on {info.world_size} process(es), data wait {wait:.0%} "
                     f"({'data-bound: add workers or a larger pool' if wait > 0.3 else 'compute-bound'})")
        self.log(f"{stage.name}: {step} steps in {elapsed / 60:.1f} min; final checkpoint {final}")
        self.event("finished", step=step, final=str(final), minutes=round(elapsed / 60.0, 2), **speed)
        return final

    def _aside(self, job: Callable, *args, **kwargs) -> None:
        """Grids, evaluations and checkpoints inside the loop: eager, and off the budget clock."""
        t0 = time.perf_counter()
        with self._env.eager():
            job(*args, **kwargs)
        self.prep_s += time.perf_counter() - t0

    # .....................................................................................
    def _pool(self, stage: Stage, cfg) -> dict | None:
        if not (cfg.cache and (cfg.num_samples > 0 or cfg.source != "synthetic")):
            return None
        from .data import pool_key

        key = f"{cfg.size}-{pool_key(cfg, stage.square)}"
        if key not in self.pools:
            folder = Path(cfg.cache_dir) if cfg.cache_dir else Path("cache")
            folder = folder if folder.is_absolute() else self.out / folder
            if self.info.is_main:
                self.pools[key] = build_pool(cfg, stage.square, folder, max(cfg.num_workers, 1), log=self.log)
            barrier(self.info)
            if not self.info.is_main:
                self.pools[key] = build_pool(cfg, stage.square, folder, 1, log=self.log)
        return self.pools[key]

    def _source(self, stage: Stage, cfg, batch_size: int, phase_start: int, device) -> BatchSource:
        """Where a phase's batches come from: the pool on the device (the fast path), or a
        DataLoader (samples rendered on the fly, or ``data.on_device: false``)."""
        pool = self._pool(stage, cfg)
        info, env = self.info, stage.env
        if pool is not None and cfg.on_device:
            encoder = stage.pool_encoder() if cfg.encode == "pool" else None
            if encoder is not None:
                hw = tuple(s // 8 for s in cfg.size)
                with env.eager():
                    made = LatentPool(pool, cfg, device, batch_size, info.rank, info.world_size, self.run.seed,
                                      encoder, hw, channels_last=env.channels_last)
            else:
                made = DevicePool(pool, cfg, device, batch_size, info.rank, info.world_size, self.run.seed,
                                  crop=stage.crops, channels_last=env.channels_last,
                                  compile=env.compile and self.run.train.compile_backend == "inductor")
            return BatchSource(phase_start, pool=made)

        def loader(start_batch: int):
            return make_loader(cfg, stage.square, batch_size, info.rank, info.world_size, self.run.seed,
                               start_batch, pool, pin_memory=device.type == "cuda")

        return BatchSource(phase_start, loader_factory=loader, cfg=cfg, crop=stage.crops, device=device,
                           seed=self.run.seed, rank=info.rank, channels_last=env.channels_last)

    def _held_out(self, stage: Stage, cfg, device) -> Batch:
        return held_out_batch(cfg, stage.square, self.run.train.sample_count, device)

    def write_samples(self, stage: Stage, batch: Batch, step: int, phase: str) -> None:
        if not self.info.is_main:
            return
        columns, metrics = stage.samples(batch)
        if not columns:
            return
        from .visual import grid

        path = save_png(grid(columns), self.out / "samples" / f"step_{step:06d}.png")
        record = {"kind": "sample", "step": step, "phase": phase, "grid": str(path.relative_to(self.out)),
                  **{k: round(v, 5) for k, v in metrics.items()}}
        with (self.out / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")
        self.event("sample grid written", step=step, path=record["grid"])

    def write_eval(self, stage: Stage, cfg, device, step: int, minutes: float | None = None) -> None:
        if not self.info.is_main or type(stage).evaluate is Stage.evaluate:
            return
        n, chunk = self.run.train.eval_samples, 8
        sums: dict[str, list[float]] = {}  # metric -> [weighted sum, samples]; NaN chunks are left out
        for off in range(0, n, chunk):
            batch = held_out_batch(cfg, stage.square, min(chunk, n - off), device, offset=off)
            for k, v in stage.evaluate(batch).items():
                if not math.isnan(v):
                    acc = sums.setdefault(k, [0.0, 0])
                    acc[0] += v * batch.size
                    acc[1] += batch.size
        record = {"kind": "eval", "step": step, "minutes": minutes, "samples": n, "world_seed": cfg.eval_world_seed,
                  "size": list(cfg.size), **{k: round(v / c, 5) for k, (v, c) in sums.items()}}
        with (self.out / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")
        self.log("eval: " + ", ".join(f"{k} {v}" for k, v in record.items() if k not in ("kind",)))

    # .....................................................................................
    def save(self, stage: Stage, folder: Path, step: int, elapsed: float) -> None:
        with stage.env.eager():  # shipping weights may need a forward pass (the VAE's latent stats)
            self._save(stage, folder, step, elapsed)

    def _save(self, stage: Stage, folder: Path, step: int, elapsed: float) -> None:
        if self.info.is_main:
            tmp = folder.with_name(folder.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            meta = {"stage": stage.name, "step": step, "run": self.run.to_dict(), **stage.env.notes}
            stage.save_weights(tmp, meta)
            tensors: dict[str, torch.Tensor] = {}
            for name, m in stage.modules().items():
                for k, v in m.state_dict().items():
                    tensors[f"module.{name}.{k}"] = v
            groups = {}
            for name, opt in stage.optimizers().items():
                ts, groups[name] = optimizer_tensors(opt, f"optim.{name}.")
                tensors.update(ts)
            emas = {}
            for name, (ema, _) in stage.emas().items():
                tensors.update(ema.state_tensors(f"ema.{name}."))
                emas[name] = ema.updates
            tensors.update(rng_tensors())
            save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp / STATE_WEIGHTS))
            (tmp / STATE_JSON).write_text(json.dumps({
                "stage": stage.name, "step": step, "elapsed_s": elapsed, "world_size": self.info.world_size,
                "optimizers": groups, "ema_updates": emas, "torch": torch.__version__,
                "phase_starts": list(getattr(self, "phase_starts", [0])),
                "ranks_in_sync": getattr(self, "in_sync", None),
                "stage_state": stage.extra_state(),
            }, indent=1) + "\n")
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
            self.event("checkpoint saved", step=step, path=str(folder.relative_to(self.out)
                                                                if folder.is_relative_to(self.out) else folder))
        barrier(self.info)

    def load_state(self, stage: Stage, folder: Path) -> tuple[int, float, list[int]]:
        info = json.loads((folder / STATE_JSON).read_text())
        if info["stage"] != stage.name:
            raise ConfigError(f"{folder}: a {info['stage']} checkpoint cannot resume a {stage.name} run")
        tensors = load_file(str(folder / STATE_WEIGHTS), device=str(self.env_device(stage)))
        for name, m in stage.modules().items():
            prefix = f"module.{name}."
            m.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, strict=True)
        for name, opt in stage.optimizers().items():
            load_optimizer(opt, tensors, f"optim.{name}.", info["optimizers"][name])
        for name, (ema, _) in stage.emas().items():
            ema.load_tensors(tensors, f"ema.{name}.")
            ema.updates = info["ema_updates"][name]
        if "rng.torch" in tensors:
            torch.set_rng_state(tensors["rng.torch"].cpu())
        stage.load_extra_state(info.get("stage_state") or {})
        return int(info["step"]), float(info.get("elapsed_s", 0.0)), list(info.get("phase_starts", [0]))

    @staticmethod
    def env_device(stage: Stage) -> torch.device:
        return stage.device

    def _prune(self) -> None:
        if not self.info.is_main:
            return
        keep = max(1, self.run.train.keep_checkpoints)
        ckpts = sorted((self.out / "checkpoints").glob("step_*"))
        ckpts = [c for c in ckpts if not c.name.endswith(".tmp")]
        for c in ckpts[:-keep]:
            shutil.rmtree(c, ignore_errors=True)


def loss_fell(values: list[float], k: int = 5) -> float:
    """Mean of the last ``k`` over the mean of the first ``k`` (tests and docs)."""
    k = max(1, min(k, len(values) // 2))
    first, last = sum(values[:k]) / k, sum(values[-k:]) / k
    return last / first if first else math.inf
