"""The synthetic world's garment flows: how much of each garment they cover, how well the
product photo warped by them matches the worn garment, and what they cost. Run::

    python benchmarks/flow_check.py --json docs/results/garment-flows.json

For ``--n`` samples of world ``--seed`` at ``--size``, both directions (target/garment and
person/garment_worn): the share of the garment mask the flow defines (and any pixel outside
it), the mean |warped product photo - portrait| (0-255) on the flow's pixels, the same with
the flow moved by ``--shift`` pixels, and the CPU milliseconds per sample of the two flows
alone and of the sample itself (``time.process_time``; best of ``--repeat``). Not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from models.data.synthetic.correspondence import flow_mask, garment_flow, warp
from models.data.synthetic.world import SyntheticWorld


def cpu_ms(fn, n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for i in range(n):
            fn(i)
        best = min(best, (time.process_time() - t) / n * 1000)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--size", default="256x192")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--shift", type=float, default=4.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json")
    args = p.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    world = SyntheticWorld(seed=args.seed, size=size, n=args.n, flow=True)
    cover, outside, right, shifted = [], [], [], []
    for s in world:
        for flow, photo, portrait, mask in ((s.target_flow, s.garment, s.target, s.target_mask),
                                            (s.person_flow, s.garment_worn, s.person, s.person_mask)):
            m = flow_mask(flow)
            cover.append(m.sum() / max(mask.sum(), 1))
            outside.append(int((m & ~mask).sum()))
            if m.sum() < 50:
                continue
            right.append(np.abs(warp(photo, flow)[m].astype(float) - portrait[m]).mean())
            shifted.append(np.abs(warp(photo, flow + args.shift)[m].astype(float) - portrait[m]).mean())
    plain = SyntheticWorld(seed=args.seed, size=size, n=args.n)
    specs = [plain.spec(i) for i in range(args.n)]
    flows_ms = cpu_ms(lambda i: (garment_flow(specs[i], size, "b"), garment_flow(specs[i], size, "a")), args.n, args.repeat)
    sample_ms = cpu_ms(plain.sample, args.n, args.repeat)
    out = {
        "command": "python benchmarks/flow_check.py " + " ".join(
            f"--{k} {v}" for k, v in (("seed", args.seed), ("size", args.size), ("n", args.n), ("shift", args.shift),
                                      ("repeat", args.repeat))),
        "machine": platform.processor() or platform.machine(),
        "samples": args.n, "directions": len(cover), "size": list(size),
        "mask_covered_mean": float(np.mean(cover)), "pixels_outside_mask": int(sum(outside)),
        "warp_error_mean": float(np.mean(right)), "warp_error_shifted_mean": float(np.mean(shifted)),
        "warp_right_beats_shifted": float(np.mean(np.array(right) < np.array(shifted))),
        "cpu_ms_both_flows_per_sample": flows_ms, "cpu_ms_sample": sample_ms,
    }
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
