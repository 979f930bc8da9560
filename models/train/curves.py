"""Loss curves from ``metrics.jsonl`` files as one PNG (PIL only, no plotting library)::

    python -m models.train.curves runs/g3/vae runs/g3/teacher runs/g3/student --out docs/images/curves.png

One panel per run folder (or metrics file); each panel draws the run's loss series
(``loss*`` keys of its ``train`` records, or ``--keys``) against the step on a log scale,
with dashed lines where a phase (e.g. 256x192 -> 512x384) starts.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
FONT = Path(__file__).resolve().parents[2] / "assets" / "fonts" / "DejaVuSans.ttf"


def read_series(path: Path, keys: list[str] | None = None) -> tuple[dict[str, list[tuple[int, float]]], list[int]]:
    """{key: [(step, value)]} of the train records, and the steps where a new phase starts."""
    series: dict[str, list[tuple[int, float]]] = {}
    phase_starts, last_phase = [], None
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("kind") != "train":
            continue
        if last_phase is not None and rec.get("phase") != last_phase:
            phase_starts.append(rec["step"])
        last_phase = rec.get("phase")
        for k, v in rec.items():
            if (k in keys if keys else k.startswith("loss")) and isinstance(v, (int, float)) and v > 0:
                series.setdefault(k, []).append((rec["step"], float(v)))
    return series, phase_starts


def _font(size: int):
    try:
        return ImageFont.truetype(str(FONT), size)
    except OSError:
        return ImageFont.load_default()


def draw_panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], title: str,
               series: dict[str, list[tuple[int, float]]], phase_starts: list[int]) -> None:
    x0, y0, x1, y1 = box
    font, small = _font(15), _font(12)
    draw.text((x0, y0 - 22), title, fill="black", font=font)
    left, bottom = x0 + 48, y1 - 20
    draw.rectangle((left, y0, x1, bottom), outline="#888888")
    points = [p for s in series.values() for p in s]
    if not points:
        draw.text((left + 10, y0 + 10), "no train records", fill="black", font=small)
        return
    smax = max(p[0] for p in points)
    lo = math.log10(min(p[1] for p in points))
    hi = math.log10(max(p[1] for p in points))
    lo, hi = math.floor(lo * 2) / 2, math.ceil(hi * 2) / 2
    hi = hi if hi > lo else lo + 0.5

    def xy(step: float, value: float) -> tuple[float, float]:
        x = left + (x1 - left) * step / max(smax, 1)
        y = bottom - (bottom - y0) * (math.log10(value) - lo) / (hi - lo)
        return x, y

    e = lo
    while e <= hi + 1e-9:  # grid lines at every half decade
        _, y = xy(0, 10**e)
        draw.line((left, y, x1, y), fill="#e4e4e4")
        draw.text((x0, y - 7), f"{10**e:.3g}", fill="#444444", font=small)
        e += 0.5
    for s in phase_starts:
        x, _ = xy(s, 10**lo)
        for yy in range(int(y0), int(bottom), 8):
            draw.line((x, yy, x, yy + 4), fill="#999999")
    draw.text((left, bottom + 3), "0", fill="#444444", font=small)
    draw.text((x1 - 60, bottom + 3), f"step {smax}", fill="#444444", font=small)
    for i, (name, pts) in enumerate(sorted(series.items())):
        colour = COLOURS[i % len(COLOURS)]
        draw.line([xy(s, v) for s, v in pts], fill=colour, width=2)
        draw.text((left + 8 + 150 * (i % 4), y0 + 4 + 15 * (i // 4)), name, fill=colour, font=small)


def plot(paths: list[Path], out: Path, keys: list[str] | None = None, titles: list[str] | None = None,
         width: int = 900, panel_height: int = 240) -> Path:
    img = Image.new("RGB", (width, 30 + len(paths) * (panel_height + 36)), "white")
    draw = ImageDraw.Draw(img)
    for i, p in enumerate(paths):
        metrics = p / "metrics.jsonl" if p.is_dir() else p
        series, starts = read_series(metrics, keys)
        top = 30 + i * (panel_height + 36)
        title = titles[i] if titles and i < len(titles) else str(p)
        draw_panel(draw, (10, top, width - 12, top + panel_height), title, series, starts)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.train.curves", description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run folders or metrics.jsonl files")
    ap.add_argument("--keys", nargs="+", help="series to draw (default: every loss*)")
    ap.add_argument("--titles", nargs="+", help="one title per run")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    print(plot(args.runs, args.out, args.keys, args.titles))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
