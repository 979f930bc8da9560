"""Offline and private: a try-on opens no socket at all (DESIGN §9).

Two independent proofs: a Python audit hook that fails on any socket use, and (where strace
exists; CI installs it) the kernel's view of every socket-related system call.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GUARD = """
import sys
def guard(event, args):
    if event.startswith("socket.") or event in ("urllib.Request", "http.client.connect"):
        raise RuntimeError(f"network use: {event} {args!r}")
sys.addaudithook(guard)
from app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _argv(tiny_bundle, images, out):
    return ["tryon", "--bundle", str(tiny_bundle), "--person", str(images["person"]),
            "--garment", str(images["garment"]), "-o", str(out), "-q"]


def test_tryon_with_socket_audit_hook(tiny_bundle, images, tmp_path):
    proc = subprocess.run([sys.executable, "-c", GUARD, *_argv(tiny_bundle, images, tmp_path / "o.png")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "network use" not in proc.stderr


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_tryon_makes_no_socket_syscalls(tiny_bundle, images, tmp_path):
    log = tmp_path / "strace.log"
    cmd = ["strace", "-f", "-qq", "-e", "trace=socket,connect,bind,sendto,listen", "-o", str(log),
           sys.executable, "-m", "app.cli", *_argv(tiny_bundle, images, tmp_path / "o.png")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0 and "ptrace" in proc.stderr:
        pytest.skip("ptrace is not permitted here")
    assert proc.returncode == 0, proc.stderr
    calls = [line for line in log.read_text().splitlines() if "(" in line and "exited" not in line]
    assert calls == [], "\n".join(calls[:20])
