"""Synthetic try-on world throughput: samples per second on one core (and optionally many).

A sample is everything ``SyntheticWorld.sample`` returns: the person wearing A, the person
wearing B, both product shots and both masks. Run::

    python benchmarks/synth_speed.py                       # 256x192 and 512x384, one core
    python benchmarks/synth_speed.py --sizes 256x192 --n 400 --processes 2
    python benchmarks/synth_speed.py --tune-malloc         # with models.data.synthetic.tune_allocator()
    mkdir /tmp/before && git archive <commit> models engine assets/fonts | tar -x -C /tmp/before
    echo <commit> > /tmp/before/COMMIT                     # another version of the renderer ...
    python benchmarks/synth_speed.py --baseline /tmp/before --json docs/synth_speed.json  # ... measured alongside

Per-core figures are samples per second of this process's CPU time (``time.process_time``),
best of ``--repeat`` runs: unlike wall-clock time they do not drop when other processes
share the cores (caches and memory bandwidth still do). Wall-clock figures, the machine and
its load average are printed beside them. With ``--baseline`` every run of this checkout is
followed by a run of the other checkout (in a subprocess, one size at a time), so both are
measured under the same conditions. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = Path(__file__).resolve().parent.parent


def _tree() -> Path:
    """The checkout whose renderer is measured: ``--tree`` if given (baseline runs), else this one."""
    if "--tree" in sys.argv:
        return Path(sys.argv[sys.argv.index("--tree") + 1]).resolve()
    return ROOT


sys.path.insert(0, str(_tree()))

import numpy as np  # noqa: E402
import PIL  # noqa: E402

from models.data import SyntheticWorld  # noqa: E402
from models.data.synthetic import tune_allocator  # noqa: E402


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(path: Path) -> str:
    """The checkout's commit, or for an exported tree (``git archive``) the first line of its
    COMMIT file, if it has one."""
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except OSError:
        pass
    marker = path / "COMMIT"
    return marker.read_text().split()[0] if marker.is_file() else "unknown"


def run(size: tuple[int, int], n: int, seed: int, start: int = 0, garment_worn: bool = True) -> tuple[float, float]:
    """(CPU seconds, wall seconds) to render samples start .. start + n - 1 (``garment_worn``
    False: without the product photo of A, as a trainer that never reads it asks for)."""
    world = SyntheticWorld(seed, size, start + n) if garment_worn else SyntheticWorld(seed, size, start + n, garment_worn=False)
    c, t = time.process_time(), time.perf_counter()
    for i in range(start, start + n):
        world.sample(i)
    return time.process_time() - c, time.perf_counter() - t


def _chunk(args):
    size, n, seed, start = args
    return run(size, n, seed, start)[1]


def _baseline_run(tree: Path, size: str, n: int, seed: int, tuned: bool) -> tuple[float, float]:
    """One run of the baseline checkout's renderer, in a fresh process."""
    cmd = [sys.executable, __file__, "--tree", str(tree), "--sizes", size, "--n", str(n), "--repeat", "1",
           "--seed", str(seed), "--one-run"] + (["--tune-malloc"] if tuned else [])  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    cpu, wall = json.loads(out.stdout.strip().splitlines()[-1])
    return cpu, wall


# the stages of ``render_sample``, by the names ``models.data.synthetic.world`` calls them
STAGES = {
    "random_spec": "the sample's random draws",
    "product_layout": "product layouts and fabrics (A and B)",
    "PersonScene": "the body's parts",
    "worn_fabric": "worn fabrics and folds (3 garments)",
    "draw_all": "drawing the part maps",
    "render_backdrop": "the backdrop",
    "resolve": "shading the person and the target",
    "develop": "camera: the person's photo",
    "develop_region": "camera: the target's photo, around the change",
    "render_product": "the two product photos (shading, shadow, camera)",
}


def stages(size: tuple[int, int], n: int, seed: int) -> dict[str, float]:
    """CPU ms per sample spent in each of ``STAGES`` (the rest: geometry, garment parts, masks)."""
    import models.data.synthetic.world as world

    spent = dict.fromkeys(STAGES, 0.0)

    def timed(name, f):
        def g(*a, **k):
            c = time.process_time()
            try:
                return f(*a, **k)
            finally:
                spent[name] += time.process_time() - c

        return g

    saved = {name: getattr(world, name) for name in STAGES}
    for name, f in saved.items():
        setattr(world, name, timed(name, f))
    try:
        cpu, _ = run(size, n, seed)
    finally:
        for name, f in saved.items():
            setattr(world, name, f)
    out = {name: 1000 * t / n for name, t in spent.items()}
    out["total"] = 1000 * cpu / n
    return out


def _row(text: str, n: int, runs: list[tuple[float, float]]) -> dict:
    cpu, wall = min(r[0] for r in runs), min(r[1] for r in runs)
    return {"size": text, "n": n, "per_core_samples_per_s": n / cpu, "cpu_ms_per_sample": 1000 * cpu / n,
            "wall_samples_per_s": n / wall, "runs_cpu_wall_s": runs}  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["256x192", "512x384"])
    p.add_argument("--n", type=int, default=200, help="samples per run (default 200)")
    p.add_argument("--repeat", type=int, default=3, help="runs per size; the best is reported (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--processes", type=int, default=1, help="also measure this many processes together")
    p.add_argument("--json", type=Path, default=None, help="write the results here too")
    p.add_argument("--baseline", type=Path, default=None, help="another checkout to measure alongside, run for run")
    p.add_argument("--stages", action="store_true", help="also time the stages of a sample (one extra run)")
    p.add_argument("--trainer-view", action="store_true",
                   help="also measure samples without garment_worn (SyntheticWorld(..., garment_worn=False))")  # fmt: skip
    p.add_argument("--tree", type=Path, default=None, help=argparse.SUPPRESS)  # the checkout to import (baseline runs)
    p.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)  # print (cpu, wall) of one run as JSON
    p.add_argument(
        "--tune-malloc", action="store_true",
        help="call tune_allocator() first (glibc keeps freed memory: fewer page faults; same outputs)",
    )  # fmt: skip
    args = p.parse_args(argv)
    tuned = tune_allocator() if args.tune_malloc else False
    if args.one_run:
        h, w = (int(v) for v in args.sizes[0].lower().split("x"))
        run((h, w), 5, args.seed, 10**6)  # warm up: imports, font loading, caches
        print(json.dumps(run((h, w), args.n, args.seed)))
        return 0
    info = {
        "cpu": cpu_name(), "logical_cpus": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "pillow": PIL.__version__, "load_before": os.getloadavg(), "tune_malloc": tuned,
        "commit": git_commit(ROOT),
    }  # fmt: skip
    if args.baseline:
        info["baseline_commit"] = git_commit(args.baseline.resolve())
    print(f"{info['cpu']}, {info['logical_cpus']} logical CPUs; python {info['python']}, "
          f"numpy {info['numpy']}, pillow {info['pillow']}; load average {info['load_before'][0]:.2f}"
          f"{'; allocator tuned' if tuned else ''}")  # fmt: skip
    results, baseline = [], []
    for text in args.sizes:
        h, w = (int(v) for v in text.lower().split("x"))
        run((h, w), 5, args.seed, 10**6)  # warm up: imports, font loading, caches
        runs, base_runs = [], []
        for _ in range(args.repeat):
            runs.append(run((h, w), args.n, args.seed))
            if args.baseline:
                base_runs.append(_baseline_run(args.baseline, text, args.n, args.seed, tuned))
        row = _row(text, args.n, runs)
        line = (f"{text}: {row['per_core_samples_per_s']:.1f} samples per core-second ({row['cpu_ms_per_sample']:.1f} CPU ms/sample), "
                f"{row['wall_samples_per_s']:.1f} samples/s wall; best of {args.repeat} x {args.n}")  # fmt: skip
        if args.trainer_view:
            view = _row(text, args.n, [run((h, w), args.n, args.seed, garment_worn=False) for _ in range(args.repeat)])
            row["without_garment_worn"] = view
            line += f"; {view['per_core_samples_per_s']:.1f} without garment_worn"
        if args.processes > 1:
            k = args.processes
            jobs = [((h, w), args.n, args.seed, i * args.n) for i in range(k)]
            with ProcessPoolExecutor(k, initializer=tune_allocator if tuned else None) as pool:
                list(pool.map(_chunk, [((h, w), 3, args.seed, 10**6 + i * 3) for i in range(k)]))  # warm up
                t = time.perf_counter()
                list(pool.map(_chunk, jobs))
                wall = time.perf_counter() - t
            row[f"samples_per_s_{k}_processes"] = k * args.n / wall
            line += f"; {k * args.n / wall:.1f} samples/s with {k} processes"
        print(line, flush=True)
        if args.stages:
            row["stages_cpu_ms"] = st = stages((h, w), args.n, args.seed)
            rest = st["total"] - sum(v for k, v in st.items() if k != "total")
            print("  " + "; ".join(f"{STAGES[k]} {v:.2f}" for k, v in st.items() if k != "total")
                  + f"; the rest {rest:.2f}; total {st['total']:.2f} CPU ms", flush=True)  # fmt: skip
        results.append(row)
        if args.baseline:
            b = _row(text, args.n, base_runs)
            baseline.append(b)
            print(f"{text} baseline: {b['per_core_samples_per_s']:.1f} samples per core-second "
                  f"({b['cpu_ms_per_sample']:.1f} CPU ms/sample)", flush=True)  # fmt: skip
    info["load_after"] = os.getloadavg()
    print(f"load average after: {info['load_after'][0]:.2f}")
    if args.json:
        out = {"command": "python benchmarks/synth_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "machine": info, "results": results}  # fmt: skip
        if args.baseline:
            out["baseline"] = baseline
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
