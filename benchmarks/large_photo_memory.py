"""Peak memory of one try-on of an 80 MP photo, in the CLI and in the studio (docs/reliability.md).

Makes the issue's case (a 10000x8000 portrait that is a ~260 KB PNG), then runs

- ``vton tryon`` with the embedded default model, writing a 10000x8000 JPEG, and
- ``vton-studio --screenshot ... --run`` (offscreen: the real window, the engine thread,
  history written),

each as a child of a small wrapper process that reports the child's peak RSS (Linux keeps
a process's peak across exec, so the child must not be started from a big process).

    python benchmarks/large_photo_memory.py --json docs/reliability_memory.json
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRAPPER = ("import resource, subprocess, sys, time\n"
           "t = time.time()\n"
           "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
           "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.time() - t)\n"
           "sys.stderr.write(p.stderr[-2000:])\n")


def make_photo(path: Path, size=(10_000, 8_000)) -> Path:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, (205, 190, 170))
    d = ImageDraw.Draw(img)
    w, h = size
    d.ellipse((int(0.3 * w), int(0.1 * h), int(0.7 * w), int(0.65 * h)), fill=(120, 80, 60))
    d.rectangle((int(0.25 * w), int(0.5 * h), int(0.75 * w), h), fill=(40, 60, 140))
    img.save(path)
    return path


def peak(argv: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *argv], cwd=ROOT, capture_output=True, text=True)
    code, rss_kib, seconds = proc.stdout.split()
    return {"exit_code": int(code), "peak_rss_mib": round(int(rss_kib) / 1024, 1), "wall_seconds": round(float(seconds), 1),
            "stderr_tail": proc.stderr.strip()[-300:]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--garment", type=Path, default=ROOT / "assets" / "examples" / "garment_upper_tshirt.png")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="vton-80mp-") as tmp:
        tmp = Path(tmp)
        photo = make_photo(tmp / "portrait-80mp.png")
        results = {
            "photo": {"pixels": "10000x8000", "file_bytes": photo.stat().st_size},
            "cli": peak([sys.executable, "-m", "app.cli", "tryon", "--person", str(photo), "--garment",
                         str(args.garment), "-o", str(tmp / "out.jpg"), "-q"]),
            "studio": peak([sys.executable, "-m", "app.studio", "--screenshot", str(tmp / "shot.png"), "--data-dir",
                            str(tmp / "home"), "--person", str(photo), "--garment", str(args.garment), "--run",
                            "--timeout", "600"]),
        }
    results["model"] = "embedded default (small, INT8, 512x384)"
    results["command"] = "python benchmarks/large_photo_memory.py " + " ".join(sys.argv[1:])
    results["machine"] = {"platform": platform.platform(), "python": platform.python_version()}
    results["measured"] = time.strftime("%Y-%m-%d")
    text = json.dumps(results, indent=2) + "\n"
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0 if results["cli"]["exit_code"] == results["studio"]["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
