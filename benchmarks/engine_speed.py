"""Engine speed and memory on this machine's CPU (a benchmark, never a test).

Exports each config at each resolution (fp32 and INT8), then runs the engine in a fresh
process per (bundle, size) so peak RSS is that run's own: session creation, one warm-up
try-on, then N timed try-ons (4 steps, cached garment features). Reports per-stage and
end-to-end medians, peak RSS and bundle bytes; writes JSON and a markdown table.

    python benchmarks/engine_speed.py --configs full small --work /tmp/vton-bench \
        --json docs/benchmarks.json --markdown docs/benchmarks.md

Exported bundles are kept in --work and reused on the next run (delete them to re-export).
Random-init weights: latency and memory do not depend on the weight values.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("sessions", "load", "encode", "adapter", "garment", "denoise", "decode", "restore", "total")
# issue 17's targets for `full` INT8 on a 2-core CPU: seconds end to end per size, peak RSS
TARGETS = {"1024x768": 20.0, "512x384": 4.0}
TARGET_RSS_MIB = 1229  # 1.2 GB


def export(config: str, precision: str, sizes: list[tuple[int, int]], out: Path, calib: int,
           top_attention: bool | None = None, ffn_slice_mib: float | None = None) -> None:
    if (out / "manifest.json").is_file():
        return
    from models.export.bundle import export_checkpoint

    slices = int(ffn_slice_mib * 2**20) if ffn_slice_mib else None
    t = time.perf_counter()
    export_checkpoint(None, out, config=config, sizes=sizes, int8=precision == "int8", calibration_samples=calib,
                      parity_samples=1, top_attention=top_attention, ffn_slice_bytes=slices, log=lambda m: print(f"  [{config}/{precision}] {m}", file=sys.stderr, flush=True))
    print(f"  exported {out} in {time.perf_counter() - t:.0f}s", file=sys.stderr)


def measure(bundle: Path, size: tuple[int, int], repeats: int, threads: int | None, release: bool = False,
            mem_reuse: bool = False, trim: bool = True) -> dict:
    """Runs in a child process: one warm-up run, then ``repeats`` timed runs."""
    import numpy as np

    import engine.pipeline

    engine.pipeline.MEM_REUSE = mem_reuse
    engine.pipeline.TRIM_HEAP = trim
    from engine.pipeline import TryOnPipeline
    from engine.request import TryOnRequest

    rng = np.random.default_rng(0)
    person = (rng.random((size[0], size[1], 3)) * 255).astype(np.uint8)
    garment = (rng.random((size[0], size[1], 3)) * 255).astype(np.uint8)
    t = time.perf_counter()
    pipe = TryOnPipeline(bundle, threads=threads, providers=["CPUExecutionProvider"], keep_sessions=not release)
    verify_s = time.perf_counter() - t
    runs, cpu = [], []
    for i in range(repeats + 1):
        req = TryOnRequest(person="bench", garment="bench", steps=4, seed=i, size=size)
        c = time.process_time()
        runs.append(pipe.run(req, person=person, garment=garment).timings)
        cpu.append(time.process_time() - c)
    first, timed = runs[0], runs[1:]
    out = {s: statistics.median(r.get(s, 0.0) for r in timed) for s in STAGES}
    # CPU seconds of the whole process (all threads) per try-on: on a shared machine, less
    # swayed than the wall clock by other people's work
    out["cpu_s"] = statistics.median(cpu[1:])
    out["first_run_total"] = first["total"]
    out["session_creation"] = first.get("sessions", 0.0)
    out["verify_bundle"] = verify_s
    out["per_step"] = out["denoise"] / 4
    from engine_memory import peak_mib

    out["peak_rss_mib"] = float(peak_mib())
    out["repeats"] = repeats
    return out


def bundle_bytes(bundle: Path, size: tuple[int, int]) -> int:
    manifest = json.loads((bundle / "manifest.json").read_text())
    files = {g["file"] for g in manifest["graphs"][f"{size[0]}x{size[1]}"].values()}
    return sum((bundle / f).stat().st_size for f in files)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", nargs="+", default=["full", "small"])
    ap.add_argument("--precisions", nargs="+", default=["int8", "fp32"])
    ap.add_argument("--sizes", nargs="+", default=None, help="HxW (default: each config's presets)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--release-sessions", action="store_true",
                    help="as vton tryon runs: each session created when needed and released after (every run "
                         "pays the session creation, the graphs' memory never adds up)")
    ap.add_argument("--mem-reuse", action="store_true",
                    help="ONNX Runtime's buffer reuse in every graph, as before issue 17 (the engine turns it off in the UNets)")
    ap.add_argument("--no-trim", action="store_true",
                    help="no malloc_trim after a released session, as before issue 17")
    ap.add_argument("--calibration-samples", type=int, default=2)
    ap.add_argument("--export-only", action="store_true", help="export the bundles, measure nothing")
    ap.add_argument("--top-attention", choices=("on", "off"),
                    help="the students' top-level garment attention (default: each preset's); rows say config+top or config-no-top")
    ap.add_argument("--ffn-slice-mib", type=float,
                    help="export the feed-forward layers in hidden-unit slices of at most this many MiB per "
                         "activation (models/export/chunking.py; default: whole)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vton-bench"))
    ap.add_argument("--json", type=Path, default=ROOT / "docs" / "benchmarks.json")
    ap.add_argument("--markdown", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--child", nargs=3, metavar=("BUNDLE", "SIZE", "REPEATS"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        bundle, size, repeats = Path(args.child[0]), tuple(int(v) for v in args.child[1].split("x")), int(args.child[2])
        print(json.dumps(measure(bundle, size, repeats, args.threads, args.release_sessions, args.mem_reuse,
                                   not args.no_trim)))
        return 0

    from roofline import cpu_peaks, graph_flops, roofline

    from models.nets import get_config

    results = []
    peaks = None if args.export_only else cpu_peaks(args.threads)
    for config in args.configs:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes] if args.sizes else list(
            get_config(config).resolutions
        )
        top = None if args.top_attention is None else args.top_attention == "on"
        label = config + ("+top" if top else "-no-top" if top is False else "")
        for precision in args.precisions:
            bundle = args.work / f"{label}-{precision}"
            export(config, precision, sizes, bundle, args.calibration_samples, top, args.ffn_slice_mib)
            if args.export_only:
                continue
            for size in sizes:
                cmd = [sys.executable, __file__, "--child", str(bundle), f"{size[0]}x{size[1]}", str(args.repeats)]
                if args.threads:
                    cmd += ["--threads", str(args.threads)]
                if args.release_sessions:
                    cmd += ["--release-sessions"]
                if args.mem_reuse:
                    cmd += ["--mem-reuse"]
                if args.no_trim:
                    cmd += ["--no-trim"]
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                if proc.returncode != 0:
                    print(proc.stderr, file=sys.stderr)
                    raise SystemExit(f"measurement failed for {bundle} at {size}")
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                row.update(config=label, precision=precision, size=f"{size[0]}x{size[1]}",
                           bundle_mib=bundle_bytes(bundle, size) / 2**20)
                # the denoise step against this CPU's ceilings (benchmarks/roofline.py)
                from engine.bundle import open_bundle

                flops = graph_flops(open_bundle(bundle).file(size, "tryon_net"))
                row["roofline"] = roofline(flops, peaks, row["per_step"])
                results.append(row)
                rl = row["roofline"]
                print(f"{label:>9} {precision:>4} {row['size']:>8}: total {row['total']:6.2f}s "
                      f"(denoise {row['denoise']:6.2f}s = {row['per_step']:.2f}s/step) "
                      f"peak RSS {row['peak_rss_mib']:.0f} MiB, bundle {row['bundle_mib']:.0f} MiB; "
                      f"step: {rl['gflop_int8']:.0f} GFLOP int8 + {rl['gflop_float']:.0f} float, "
                      f"{rl['seconds_at_peak']:.2f}s at peak, achieved/peak {rl['achieved_over_peak']:.0%}",
                      flush=True)

    if args.export_only:
        return 0
    import onnxruntime

    machine = {
        "cpu": cpu_name(), "cores": os.cpu_count(), "threads": args.threads or "all",
        "peak_gflops_ort": {k: round(v, 1) for k, v in peaks.items()},
        "sessions": "released after use (as vton tryon)" if args.release_sessions else "kept (as the studio)",
        "mem_reuse": args.mem_reuse, "trim_heap": not args.no_trim,
        "python": platform.python_version(), "onnxruntime": onnxruntime.__version__, "os": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
    }
    command = "python benchmarks/engine_speed.py " + " ".join(sys.argv[1:])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "command": command, "results": results}, indent=2) + "\n")
    args.markdown.write_text(render_markdown(machine, command, results))
    print(f"wrote {args.json} and {args.markdown}")
    return 0


def render_markdown(machine: dict, command: str, results: list[dict]) -> str:
    lines = [
        "# Engine benchmarks",
        "",
        f"Measured on {machine['cpu']}, {machine['cores']} cores ({machine['threads']} threads), "
        f"onnxruntime {machine['onnxruntime']}, Python {machine['python']}, {machine['date']}. "
        f"Peak through ONNX Runtime's own kernels on these threads (`benchmarks/roofline.py`): fp32 "
        f"{machine['peak_gflops_ort']['fp32']:.0f} GFLOP/s (a 2048^3 MatMul), int8 "
        f"{machine['peak_gflops_ort']['int8']:.0f} GOP/s (MatMulInteger, u8 x s8).",
        "",
        f"Command: `{command}`",
        "",
        "4 denoising steps, cached garment features, random-init weights (speed does not depend on "
        "the values), medians over the timed runs after one warm-up run. Peak RSS is the whole "
        f"process (sessions + the try-ons). Sessions: {machine['sessions']}. \"step at peak\" is the denoise "
        "step's int8 and float FLOPs at the peak rates above; achieved / peak is that over the measured step.",
        "",
        "| config | precision | size | end to end (s) | encode | adapter | garment | denoise (4 steps) | "
        "per step | decode | restore | session creation | peak RSS (MiB) | graphs (MiB) "
        "| step GFLOP int8 / float | step at peak (s) | achieved / peak |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rl = r.get("roofline")
        roof = (f"{rl['gflop_int8']:.0f} / {rl['gflop_float']:.0f} | {rl['seconds_at_peak']:.2f} | "
                f"{100 * rl['achieved_over_peak']:.0f}%") if rl else "— | — | —"
        lines.append(
            f"| {r['config']} | {r['precision']} | {r['size']} | {r['total']:.2f} | {r['encode']:.2f} | "
            f"{r['adapter']:.2f} | {r['garment']:.2f} | {r['denoise']:.2f} | {r['per_step']:.2f} | "
            f"{r['decode']:.2f} | {r.get('restore', 0.0):.2f} | {r['session_creation']:.1f} | "
            f"{r['peak_rss_mib']:.0f} | {r['bundle_mib']:.0f} | {roof} |"
        )
    targets = [r for r in results if r["config"] == "full" and r["precision"] == "int8" and r["size"] in TARGETS]
    if targets:
        lines += ["", f"## `full` INT8 against the targets (≤ {', '.join(f'{v:g} s at {k}' for k, v in TARGETS.items())}, "
                  f"peak RSS ≤ {TARGET_RSS_MIB} MiB)", ""]
        for r in targets:
            parts = {s: r.get(s, 0.0) for s in ("encode", "adapter", "garment", "denoise", "decode", "restore")}
            top = max(parts, key=parts.get)
            speed = "meets" if r["total"] <= TARGETS[r["size"]] else "misses"
            rss = "meets" if r["peak_rss_mib"] <= TARGET_RSS_MIB else "misses"
            lines.append(
                f"- {r['size']}: {r['total']:.1f} s end to end ({speed} {TARGETS[r['size']]:g} s); peak RSS "
                f"{r['peak_rss_mib']:.0f} MiB ({rss} {TARGET_RSS_MIB} MiB). {top} dominates: "
                f"{parts[top]:.1f} s, {100 * parts[top] / r['total']:.0f}% of the time."
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
