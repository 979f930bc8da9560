"""Seeded fuzzing of the image loader and the ``vton tryon`` command (docs/reliability.md).

Every case is a file made deterministically from ``(seed, index)``: valid photos in every
mode and format the app reads, mutated ones (bit flips, truncation, splices, patched
dimensions, decompression bombs), photo-sized pictures (1-9 MP), files of other formats named like photos (PostScript
with an endless loop, PDF, SVG, XBM, ICO, JPEG 2000...), random bytes behind a photo's
magic number, and hostile names (a newline, a name over 255 bytes, a leading dash).

Each case runs through the real loader (``engine.images.load_image``) in a worker
process, so a crash, a hang or a memory blow-up of one case cannot hide the others. A
case passes when the loader returns an upright RGB uint8 image within the limits, or
raises ``InputError`` with a one-line message naming the file; anything else is a crash,
more than ``timeout`` seconds is a hang. Every ``tryon_every``-th case also goes through
``vton tryon`` with a tiny bundle: exit 0 and the result
written for a good input, exit 2 and exactly one stderr line naming the file for a bad
one, anything else is a wrong exit code.

    python tests/fuzz_images.py --cases 10000 --seed 1 --bundle BUNDLE --json docs/reliability.json

(``BUNDLE`` from ``vton bundle export --config tiny --int8 --out BUNDLE``.) The test
suite runs a few hundred cases (tests/test_fuzz.py) and the full run as a ``slow`` test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

PHOTO = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif", "GIF": ".gif"}
FOREIGN = ("PPM", "PCX", "TGA", "SGI", "ICO", "IM", "SPIDER", "XBM", "PDF", "EPS", "DDS", "QOI", "ICNS", "MSP",
           "PALM", "JPEG2000")
KINDS = ("valid", "valid", "flip", "flip", "truncate", "splice", "dims", "bomb", "foreign", "postscript",
         "svg", "magic_noise", "noise", "tiny", "large")


# -- making cases ---------------------------------------------------------------------------------
def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, index]))


def _picture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = np.stack([xx * 255 // max(w, 1), yy * 255 // max(h, 1), (xx + yy) * 127 // max(w + h, 1)], -1)
    noise = rng.integers(0, 256, (h, w, 3))
    return np.where(rng.random((h, w, 1)) < 0.3, noise, smooth).astype(np.uint8)


def _encode(rng: np.random.Generator, fmt: str, small: bool = False, large: bool = False) -> bytes:
    from PIL import Image

    side = (lambda: int(rng.integers(8, 48))) if small else (lambda: int(rng.integers(24, 160)))
    if large:  # a photo-sized picture (1-9 MP), mostly smooth so that it encodes quickly
        side = lambda: int(rng.integers(1000, 3000))  # noqa: E731
    h, w = side(), side()
    if large:  # gradients made by Pillow: no big numpy temporaries in the worker
        g = Image.linear_gradient("L")
        img = Image.merge("RGB", (g.resize((w, h)), g.rotate(90).resize((w, h)),
                                  Image.new("L", (w, h), int(rng.integers(256)))))
    else:
        img = Image.fromarray(_picture(rng, h, w))
    modes = {"PNG": ["RGB", "L", "RGBA", "P", "I;16", "LA", "1", "I"], "JPEG": ["RGB", "L", "CMYK"],
             "WEBP": ["RGB", "RGBA"], "BMP": ["RGB", "L", "P", "1"], "TIFF": ["RGB", "L", "RGBA", "CMYK", "I;16",
                                                                             "F", "I", "1", "P"],
             "GIF": ["P", "L", "RGB"]}[fmt]
    mode = modes[int(rng.integers(len(modes)))]
    if mode == "I;16":
        img = Image.fromarray((rng.random((h, w)) * 65535).astype(np.uint16))
    elif mode in ("F", "I"):
        img = img.convert("L").convert(mode)
    elif mode == "P":
        img = img.convert("P", palette=Image.Palette.ADAPTIVE)
    else:
        img = img.convert(mode)
    options: dict = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = int(rng.integers(30, 96))
    if fmt == "TIFF":
        options["compression"] = ["raw", "tiff_lzw", "tiff_deflate", "packbits"][int(rng.integers(4))]
    if fmt in ("JPEG", "PNG", "WEBP", "TIFF") and rng.random() < 0.5:
        exif = Image.Exif()
        exif[0x0112] = int(rng.integers(0, 10))  # orientation, including invalid values
        options["exif"] = exif.tobytes()
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt, **options)
    except Exception:  # noqa: BLE001 - a mode/option pair this encoder cannot write: write plain RGB
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format=fmt)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_bomb(rng: np.random.Generator) -> bytes:
    """A valid PNG header claiming a huge picture, with little data behind it."""
    w, h = int(rng.integers(9_000, 60_000)), int(rng.integers(9_000, 60_000))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + 3 * min(w, 4096)) * 8)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")


def _patch_dims(rng: np.random.Generator, fmt: str, data: bytes) -> bytes:
    b = bytearray(data)
    big = int(rng.choice([0, 1, 31, 65535, 2**31 - 1, 2**32 - 1, int(rng.integers(1, 100_000))]))
    if fmt == "PNG" and len(b) > 24:
        b[16:20] = struct.pack(">I", big)
        b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])) & 0xFFFFFFFF)
    elif fmt == "BMP" and len(b) > 26:
        b[18:22] = struct.pack("<i", big if big < 2**31 else -1)
    elif fmt == "GIF" and len(b) > 10:
        b[6:8] = struct.pack("<H", big & 0xFFFF)
    elif fmt == "JPEG":
        i = b.find(b"\xff\xc0")
        if i > 0 and i + 9 < len(b):
            b[i + 5:i + 7] = struct.pack(">H", big & 0xFFFF)
    elif len(b) > 40:
        pos = int(rng.integers(4, 40))
        b[pos:pos + 4] = struct.pack("<I", big)
    return bytes(b)


POSTSCRIPT = [
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{ } loop\n%%EOF\n",
    b"%!PS-Adobe-3.0\n%%BoundingBox: 0 0 50 50\n(/etc/passwd) (r) file\nshowpage\n",
    b"%!PS\n%%BoundingBox: 0 0 64 64\n0 0 moveto 64 64 lineto stroke showpage\n",
]


def make_case(seed: int, index: int) -> tuple[str, bytes, str]:
    """(kind, file bytes, suffix) for case ``index`` of run ``seed``."""
    from PIL import Image

    rng = _rng(seed, index)
    kind = KINDS[int(rng.integers(len(KINDS)))]
    fmt = PHOTO[int(rng.integers(len(PHOTO)))]
    suffix = SUFFIX[PHOTO[int(rng.integers(len(PHOTO)))]] if rng.random() < 0.3 else SUFFIX[fmt]
    if kind == "valid":
        return kind, _encode(rng, fmt), suffix
    if kind == "tiny":
        return kind, _encode(rng, fmt, small=True), suffix
    if kind == "large":
        b = bytearray(_encode(rng, PHOTO[int(rng.integers(3))], large=True))  # PNG, JPEG or WebP
        for _ in range(int(rng.integers(0, 4))):  # intact, or with a few flipped bits
            pos = int(rng.integers(len(b)))
            b[pos] ^= 1 << int(rng.integers(8))
        return kind, bytes(b), suffix
    if kind == "flip":
        b = bytearray(_encode(rng, fmt))
        for _ in range(int(rng.integers(1, 24))):
            pos = int(rng.integers(len(b)))
            b[pos] ^= 1 << int(rng.integers(8))
        return kind, bytes(b), suffix
    if kind == "truncate":
        data = _encode(rng, fmt)
        return kind, data[: int(rng.integers(1, max(2, len(data))))], suffix
    if kind == "splice":
        a, b = _encode(rng, fmt), _encode(rng, PHOTO[int(rng.integers(len(PHOTO)))])
        i, j = int(rng.integers(len(a))), int(rng.integers(len(b)))
        return kind, a[:i] + b[j:] + bytes(rng.integers(0, 256, int(rng.integers(0, 64)), dtype=np.uint8)), suffix
    if kind == "dims":
        return kind, _patch_dims(rng, fmt, _encode(rng, fmt)), suffix
    if kind == "bomb":
        return kind, _png_bomb(rng), suffix
    if kind == "foreign":
        other = FOREIGN[int(rng.integers(len(FOREIGN)))]
        img = Image.fromarray(_picture(rng, int(rng.integers(32, 96)), int(rng.integers(32, 96))))
        if other in ("XBM", "MSP", "PALM"):
            img = img.convert("1")
        elif other == "SPIDER":
            img = img.convert("F")
        buf = io.BytesIO()
        try:
            img.save(buf, format=other)
        except (OSError, ValueError, KeyError):
            return kind, POSTSCRIPT[0], suffix
        return kind, buf.getvalue(), suffix
    if kind == "postscript":
        return kind, POSTSCRIPT[int(rng.integers(len(POSTSCRIPT)))], suffix
    if kind == "svg":
        return kind, b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">' \
                     b'<image href="http://127.0.0.1:9/x.png"/></svg>', suffix
    if kind == "magic_noise":
        magic = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"RIFF\0\0\0\0WEBPVP8 ", b"BM", b"II*\0", b"MM\0*",
                 b"GIF89a"][int(rng.integers(7))]
        return kind, magic + bytes(rng.integers(0, 256, int(rng.integers(0, 4096)), dtype=np.uint8)), suffix
    # noise
    return kind, bytes(rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8)), suffix


def case_name(seed: int, index: int, suffix: str) -> str:
    """Mostly plain names; some hostile ones (control characters, non-UTF-8, long, a leading dash)."""
    rng = _rng(seed + 7_777_777, index)
    r = rng.random()
    if r < 0.05:
        return f"case {index}\nline two{suffix}"
    if r < 0.08:
        return f"-case{index}{suffix}"
    if r < 0.11:
        return f"case{index}-\udcff\udcfe-é-👕{suffix}"  # undecodable bytes (surrogateescape) and emoji
    if r < 0.13:
        return "x" * 300 + suffix  # over the 255-byte limit of a file name
    if r < 0.15:
        return f"case{index}\x1b[31mred{suffix}"
    return f"case{index}{suffix}"


# -- the worker (a separate process) ----------------------------------------------------------------
def _check_image(arr) -> str | None:
    from engine.images import MAX_PIXELS, MIN_SIDE

    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        return f"bad array {type(arr).__name__} {getattr(arr, 'dtype', '')} {getattr(arr, 'shape', '')}"
    h, w = arr.shape[:2]
    if h * w > MAX_PIXELS or min(h, w) < MIN_SIDE:
        return f"array {w}x{h} outside the limits"
    return None


def _write_case(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    try:
        with open(os.fsencode(path), "wb") as fh:
            fh.write(data)
    except OSError:  # the name is impossible on this file system: the loader still gets it
        pass
    return path


def _tryon(path: Path, good: Path, bundle: str, role: str, out: Path) -> dict:
    """One in-process ``vton tryon``; the exit code and what reached stderr."""
    from app.cli import main

    person, garment = (path, good) if role == "person" else (good, path)
    argv = ["tryon", f"--person={person}", f"--garment={garment}",
            "--bundle", bundle, "-o", str(out), "-q"]
    raw = io.BytesIO()
    err = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")  # stricter than a terminal
    old = sys.stderr
    sys.stderr = err
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception as exc:  # noqa: BLE001 - e.g. an unprintable message
        code = f"raised {type(exc).__name__}: {exc}"[:200]
    finally:
        sys.stderr = old
        err.flush()
    return {"code": code, "stderr": raw.getvalue().decode("utf-8", "replace")}


def worker(bundle: str | None) -> None:
    """Read ``seed index tryon`` lines on stdin, answer one JSON line per case on stdout."""
    from engine.errors import InputError
    from engine.images import load_image

    folder = Path(tempfile.mkdtemp(prefix="vton-fuzz-"))
    good = folder / "good.png"
    from PIL import Image

    Image.fromarray(_picture(np.random.default_rng(0), 96, 72)).save(good)
    for line in sys.stdin:
        seed, index, tryon = (int(v) for v in line.split())
        try:
            kind, data, suffix = make_case(seed, index)
        except Exception as exc:  # noqa: BLE001 - a bug of this harness, not of the app: said apart
            sys.stdout.write(json.dumps({"index": index, "kind": "?", "outcome": "harness_error", "seconds": 0,
                                         "detail": f"{type(exc).__name__}: {exc}"[:300], "maxrss_mib": 0}) + "\n")
            sys.stdout.flush()
            continue
        name = case_name(seed, index, suffix)
        path = _write_case(folder, name, data)
        result: dict = {"index": index, "kind": kind, "bytes": len(data)}
        t0 = time.perf_counter()
        try:
            arr = load_image(path)
            problem = _check_image(arr)
            result["outcome"] = "bad" if problem else "ok"
            if problem:
                result["detail"] = problem
        except InputError as exc:
            msg = str(exc)
            result["outcome"] = "refused"
            if "\n" in exc.problem or not exc.problem:
                result["outcome"], result["detail"] = "bad", f"message {msg!r}"
        except Exception as exc:  # noqa: BLE001 - the point: anything else is a crash
            result["outcome"], result["detail"] = "crash", f"{type(exc).__name__}: {exc}"[:300]
        result["seconds"] = round(time.perf_counter() - t0, 4)
        if bundle and tryon and result["outcome"] in ("ok", "refused"):
            role = "person" if index % 2 == 0 else "garment"
            out = folder / "out.png"
            out.unlink(missing_ok=True)
            r = _tryon(path, good, bundle, role, out)
            lines = [x for x in r["stderr"].splitlines() if x.strip()]
            expected = 0 if result["outcome"] == "ok" else 2
            ok = r["code"] == expected and (
                (expected == 0 and out.is_file() and not lines)
                or (expected == 2 and len(lines) == 1 and "Traceback" not in r["stderr"]))
            result["tryon"] = {"code": r["code"], "lines": len(lines), "ok": ok}
            if not ok:
                result["tryon"]["stderr"] = r["stderr"][-400:]
        try:
            os.unlink(os.fsencode(path))
        except OSError:
            pass
        result["maxrss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


# -- the runner -----------------------------------------------------------------------------------
class _Worker:
    def __init__(self, bundle: str | None):
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"] + (["--bundle", bundle] if bundle else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=ROOT, env=env,
            text=True, start_new_session=True)

    def died(self) -> bool:
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return True

    def last_words(self) -> str:
        self.log.seek(0)
        return self.log.read()[-1500:].decode("utf-8", "replace")

    def ask(self, seed: int, index: int, tryon: bool, timeout: float) -> dict | None:
        """The worker's answer, or None when it did not answer in time (it is killed)."""
        try:
            self.proc.stdin.write(f"{seed} {index} {int(tryon)}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            return None
        return json.loads(line)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and anything it started
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


def run(cases: int, seed: int = 0, bundle: str | Path | None = None, tryon_every: int = 10,
        timeout: float = 60.0, start: int = 0) -> dict:
    """Run ``cases`` cases; returns the summary (and every failure)."""
    bundle = str(bundle) if bundle else None
    w = _Worker(bundle)
    counts, kinds, failures = Counter(), Counter(), []
    by_kind: dict[str, Counter] = {}
    tryons = Counter()
    peak = 0.0
    slowest = 0.0
    t0 = time.time()
    for index in range(start, start + cases):
        tryon = bundle is not None and index % tryon_every == 0
        answer = w.ask(seed, index, tryon, timeout)
        if answer is None:
            dead = w.died()
            words = w.last_words() if dead else ""
            w.kill()
            counts["crash" if dead else "hang"] += 1
            failures.append({"index": index, "outcome": "crash (worker died)" if dead else f"hang (> {timeout} s)",
                             "stderr": words})
            w = _Worker(bundle)
            continue
        counts[answer["outcome"]] += 1
        kinds[answer["kind"]] += 1
        by_kind.setdefault(answer["kind"], Counter())[answer["outcome"]] += 1
        peak = max(peak, answer["maxrss_mib"])
        slowest = max(slowest, answer["seconds"])
        if answer["outcome"] in ("crash", "bad", "harness_error"):
            failures.append(answer)
        if "tryon" in answer:
            tryons["runs"] += 1
            tryons["exit 0" if answer["tryon"]["code"] == 0 else f"exit {answer['tryon']['code']}"] += 1
            if not answer["tryon"]["ok"]:
                tryons["wrong"] += 1
                failures.append(answer)
    w.close()
    return {
        "cases": cases, "seed": seed, "first_case": start,
        "loaded": counts["ok"], "refused": counts["refused"],
        "crashes": counts["crash"] + counts["bad"], "hangs": counts["hang"],
        "harness_errors": counts["harness_error"],
        "tryon_runs": tryons["runs"], "tryon_exit_codes": {k: v for k, v in tryons.items() if k.startswith("exit")},
        "wrong_exit_codes": tryons["wrong"],
        "kinds": {k: dict(by_kind[k]) for k in sorted(kinds)},
        "peak_rss_mib_worker": peak, "slowest_case_seconds": slowest, "timeout_seconds": timeout,
        "wall_seconds": round(time.time() - t0, 1),
        "failures": failures[:50],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", type=int, default=0, help="index of the first case")
    p.add_argument("--bundle", help="a (tiny) bundle: every --tryon-every-th case also runs 'vton tryon'")
    p.add_argument("--tryon-every", type=int, default=10)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as a hang")
    p.add_argument("--json", type=Path, help="write the summary here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args.bundle)
        return 0
    summary = run(args.cases, args.seed, args.bundle, args.tryon_every, args.timeout, args.start)
    summary["command"] = "python tests/fuzz_images.py " + " ".join(
        a if a != args.bundle else "BUNDLE" for a in sys.argv[1:])
    summary["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count()}
    text = json.dumps(summary, indent=2) + "\n"
    if args.json:
        args.json.write_text(text)
    print(text)
    bad = summary["crashes"] + summary["hangs"] + summary["wrong_exit_codes"] + summary["harness_errors"]
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
