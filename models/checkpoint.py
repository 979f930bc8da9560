"""Student weights on disk: safetensors + config JSON, never pickle (DESIGN §9).

A checkpoint is a folder holding ``student.safetensors`` (the weights to ship; EMA
weights when training kept an EMA) and ``config.json`` (``{"student": StudentConfig,
"step": ..., ...}``). The trainer adds its own files (optimiser state, metrics) beside
them; ``vton bundle export --checkpoint`` needs only these two.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from engine.errors import InputError

from .nets.student import Student, StudentConfig, build_student

WEIGHTS = "student.safetensors"
CONFIG = "config.json"


def save_student(student: Student, folder: str | Path, meta: dict | None = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in student.state_dict().items()}
    save_file(state, str(folder / WEIGHTS))
    info = dict(meta or {})
    info["student"] = student.cfg.to_dict()
    (folder / CONFIG).write_text(json.dumps(info, indent=2) + "\n")
    return folder


def read_checkpoint_config(folder: str | Path) -> tuple[StudentConfig, dict]:
    folder = Path(folder)
    path = folder / CONFIG
    if not folder.is_dir():
        raise InputError(folder, "checkpoint folder not found")
    if not path.is_file():
        raise InputError(path, "missing: not a student checkpoint folder")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not a valid checkpoint config ({exc})") from None
    if not isinstance(meta, dict) or "student" not in meta:
        raise InputError(path, "not a student checkpoint (no 'student' section; a VAE or teacher checkpoint?)")
    try:
        cfg = StudentConfig.from_dict(meta["student"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(path, f"not a valid checkpoint config ({exc})") from None
    return cfg, meta


def load_student(folder: str | Path, device: str | torch.device = "cpu") -> tuple[Student, dict]:
    """Rebuild the student from a checkpoint folder; every weight must be present."""
    folder = Path(folder)
    cfg, meta = read_checkpoint_config(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise InputError(weights, "missing: the checkpoint has no student weights")
    student = build_student(cfg, device)
    try:
        state = load_file(str(weights), device=str(device))
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise InputError(weights, f"cannot be read as safetensors ({exc})") from None
    missing, unexpected = student.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InputError(
            weights, f"weights do not match the config: {len(missing)} missing, {len(unexpected)} unexpected"
        )
    return student, meta
