"""Offline and private: no command opens a socket at all (DESIGN §9).

Two independent proofs, over ``vton tryon``, the studio (offscreen, a real try-on),
``vton eval`` and ``vton bundle verify``/``export``: a Python audit hook that fails on any
socket use, and (where strace exists; CI installs it) the kernel's view of every
socket-related system call of the process and its children.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GUARD = """
import runpy, sys
def guard(event, args):
    if event.startswith("socket.") or event in ("urllib.Request", "http.client.connect"):
        raise RuntimeError(f"network use: {event} {args!r}")
sys.addaudithook(guard)
module = sys.argv[1]
sys.argv = [module] + sys.argv[2:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def guarded(module: str, *args) -> list[str]:
    """The command line that runs ``python -m module args`` under the socket audit hook."""
    return [sys.executable, "-c", GUARD, module, *map(str, args)]


def commands(tiny_bundle, images, out: Path) -> dict[str, tuple[str, list]]:
    return {
        "tryon": ("app.cli", ["tryon", "--bundle", tiny_bundle, "--person", images["person"], "--garment",
                              images["garment"], "-o", out / "o.png", "-q"]),
        "studio": ("app.studio", ["--screenshot", out / "shot.png", "--data-dir", out / "home", "--bundle",
                                  tiny_bundle, "--person", images["person"], "--garment", images["garment"],
                                  "--run", "--timeout", "120"]),
        "eval": ("app.cli", ["eval", tiny_bundle, "--n", "2", "--restore", "on"]),
        "bundle verify": ("app.cli", ["bundle", "verify", tiny_bundle]),
    }


NAMES = ["tryon", "studio", "eval", "bundle verify"]


@pytest.mark.parametrize("name", NAMES)
def test_no_socket_by_audit_hook(name, tiny_bundle, images, tmp_path):
    module, args = commands(tiny_bundle, images, tmp_path)[name]
    proc = subprocess.run(guarded(module, *args), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "network use" not in proc.stderr


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
@pytest.mark.parametrize("name", NAMES)
def test_no_socket_syscalls(name, tiny_bundle, images, tmp_path):
    module, args = commands(tiny_bundle, images, tmp_path)[name]
    log = tmp_path / "strace.log"
    cmd = ["strace", "-f", "-qq", "-e", "trace=socket,connect,bind,sendto,listen", "-o", str(log),
           sys.executable, "-m", module, *map(str, args)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "ptrace" in proc.stderr:
        pytest.skip("ptrace is not permitted here")
    assert proc.returncode == 0, proc.stderr[-2000:]
    calls = [line for line in log.read_text().splitlines() if "(" in line and "exited" not in line]
    assert calls == [], "\n".join(calls[:20])


LINGER = """
import sys, time
from app.cli import main  # the entry point's import order
code = main(sys.argv[1:])
time.sleep(float(__import__("os").environ.get("VTON_LINGER", "15")))
sys.exit(code)
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_no_telemetry_from_onnx_runtime(tiny_bundle, images, tmp_path):
    """ONNX Runtime 1.32 carries Microsoft's telemetry client, which looks up
    mobile.events.data.microsoft.com about ten seconds after the first session (found by
    the eval run above, which lasts long enough). The process stays alive 15 s here."""
    log = tmp_path / "strace.log"
    argv = ["tryon", "--bundle", tiny_bundle, "--person", images["person"], "--garment", images["garment"],
            "-o", tmp_path / "o.png", "-q"]
    cmd = ["strace", "-f", "-qq", "-e", "trace=socket,connect,bind,sendto,listen", "-o", str(log),
           sys.executable, "-c", LINGER, *map(str, argv)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "ptrace" in proc.stderr:
        pytest.skip("ptrace is not permitted here")
    assert proc.returncode == 0, proc.stderr[-2000:]
    calls = [line for line in log.read_text().splitlines() if "(" in line and "exited" not in line]
    assert calls == [], "\n".join(calls[:20])
