"""Run one training stage from a config file: what ``vton train`` and the recipes call."""

from __future__ import annotations

from pathlib import Path

from .config import ConfigError, RunConfig, load_run_config
from .trainer import Stage, Trainer


def stage_class(name: str) -> type[Stage]:
    if name == "vae":
        from .vae_stage import VAEStage

        return VAEStage
    if name == "teacher":
        from .teacher_stage import TeacherStage

        return TeacherStage
    if name == "student":
        from .student_stage import StudentStage

        return StudentStage
    raise ValueError(f"unknown stage {name!r}")


def train(
    config: str | Path | RunConfig | dict,
    out: str | Path,
    *,
    stage: str | None = None,
    resume: str | Path | None = None,
    overrides: dict | None = None,
    log=None,
    progress: bool = True,
) -> Path | None:
    """Train one stage; returns the final checkpoint folder (``<out>/final``), or None when
    ``train.session_minutes`` paused it (resume from ``<out>``).

    ``config`` is a YAML path, a dict or a ``RunConfig``; ``overrides`` are dotted keys
    (``{"train.max_steps": 20, "student.distill": False}``); ``stage`` must match the
    config's stage when given.
    """
    if isinstance(config, RunConfig):
        run = load_run_config(data=config.to_dict(), overrides=overrides)
    elif isinstance(config, dict):
        run = load_run_config(data=config, overrides=overrides)
    else:
        run = load_run_config(config, overrides=overrides)
    if stage is not None and run.stage != stage:
        raise ConfigError(f"the config is for the '{run.stage}' stage, not '{stage}'")
    return Trainer(stage_class(run.stage), run, out, resume=resume, log=log, progress=progress).fit()
