"""Where the engine's memory goes: RSS after creating the sessions, and the peak RSS
after each graph runs in one try-on (a benchmark, never a test)::

    python benchmarks/engine_memory.py /tmp/vton-bench/full-int8 --size 1024x768

The bundle comes from ``benchmarks/engine_speed.py`` (kept in its --work folder) or
``vton bundle export``. One process per call, so the peaks are this try-on's own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import engine.pipeline
from engine.bundle import parse_size
from engine.pipeline import TryOnPipeline
from engine.request import TryOnRequest


def status_mib(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (this process's peak) from /proc, in MiB. Unlike
    ``ru_maxrss``, ``VmHWM`` starts afresh at exec: a child never reports its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise KeyError(field)


def peak_mib() -> int:
    return status_mib("VmHWM")


def rss_mib() -> int:
    return status_mib("VmRSS")


class ProbedPipeline(TryOnPipeline):
    rows: list[dict]

    def _run(self, size, graph, feeds):
        row = {"graph": graph, "rss_before_mib": rss_mib(), "peak_before_mib": peak_mib()}
        out = super()._run(size, graph, feeds)
        row.update(rss_after_mib=rss_mib(), peak_after_mib=peak_mib())
        self.rows.append(row)
        print(f"  {graph:<12} RSS {row['rss_before_mib']:6d} -> {row['rss_after_mib']:6d} MiB, "
              f"peak {row['peak_before_mib']:6d} -> {row['peak_after_mib']:6d} MiB", flush=True)
        return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--size", type=parse_size, help="HxW (default: the bundle's default)")
    ap.add_argument("--steps", type=int, default=1, help="denoising steps (each repeats tryon_net's peak)")
    ap.add_argument("--release-sessions", action="store_true",
                    help="create each session when the pipeline reaches it and release it after (vton tryon)")
    ap.add_argument("--mem-reuse", action="store_true",
                    help="ONNX Runtime's buffer reuse in every graph, as before issue 17 (the engine turns it off in the UNets)")
    ap.add_argument("--no-trim", action="store_true",
                    help="no malloc_trim after a released session, as before issue 17")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    engine.pipeline.MEM_REUSE = args.mem_reuse
    engine.pipeline.TRIM_HEAP = not args.no_trim
    pipe = ProbedPipeline(args.bundle, keep_sessions=not args.release_sessions)
    pipe.rows = []
    size = args.size or pipe.manifest.default_size
    print(f"{args.bundle} at {size[0]}x{size[1]}: after import {peak_mib()} MiB")
    pipe.warm_up(size)
    if pipe.keep_sessions:
        print(f"sessions created: peak RSS {peak_mib()} MiB")
    image = np.full((*size, 3), 128, np.uint8)
    pipe.run(TryOnRequest(person="-", garment="-", size=size, steps=args.steps), person=image, garment=image)
    print(f"one try-on: peak RSS {peak_mib()} MiB")
    if args.json:
        args.json.write_text(json.dumps({
            "command": "python benchmarks/engine_memory.py " + " ".join(sys.argv[1:]),
            "bundle": args.bundle.name, "size": f"{size[0]}x{size[1]}", "steps": args.steps,
            "sessions": "released after use" if args.release_sessions else "kept",
            "mem_reuse": args.mem_reuse, "trim_heap": not args.no_trim,
            "graphs": pipe.rows, "peak_rss_mib": peak_mib()}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
