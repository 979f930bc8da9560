"""Train one stage: the one entry point that ``vton train``, the recipe and the studio's
developer tabs all call (DESIGN §6).

    from models.train import Budget, train
    train("tiny_student", "runs/tiny/student", overlays=["no-tcg"], budget=Budget(steps=20))

A run is (config, overlays, budget): a config is a bundled name (``small_student``), a
YAML path, a dict or a ``RunConfig``; overlays are named files in
``models/train/configs/overlays`` (ablations, refine stages) or paths, applied in order;
the budget sets the run's limits. Everything else the config says. Progress is the run
folder's ``metrics.jsonl`` (train, sample, eval and event lines; models/train/trainer.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError, RunConfig, bundled_config, load_run_config
from .trainer import Stage, Trainer


@dataclass(frozen=True)
class Budget:
    """A run's limits; None keeps the config's. ``session_minutes`` pauses this invocation
    (a resumable checkpoint) without changing the run, for leases of short commands."""

    minutes: float | None = None
    steps: int | None = None
    session_minutes: float | None = None

    def overrides(self) -> dict:
        keys = {"minutes": "train.max_minutes", "steps": "train.max_steps", "session_minutes": "train.session_minutes"}
        return {keys[k]: v for k, v in self.__dict__.items() if v is not None}


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


def resolve(config: str | Path | RunConfig | dict, overlays=(), budget: Budget | None = None,
            overrides: dict | None = None) -> RunConfig:
    """The run config of (config, overlays, budget, overrides), read by the one strict loader."""
    extra = {**(budget.overrides() if budget else {}), **(overrides or {})}
    if isinstance(config, RunConfig):
        if not overlays and not extra:
            return config
        return load_run_config(data=config.to_dict(), overlays=overlays, overrides=extra)
    if isinstance(config, dict):
        return load_run_config(data=config, overlays=overlays, overrides=extra)
    path = Path(config)
    if not path.suffix and not path.exists():  # a bundled name: small_student
        path = bundled_config(str(config))
    return load_run_config(path, overlays=overlays, overrides=extra)


def train(
    config: str | Path | RunConfig | dict,
    out: str | Path,
    *,
    overlays=(),
    budget: Budget | None = None,
    overrides: dict | None = None,
    stage: str | None = None,
    resume: str | Path | None = None,
    log=None,
    progress: bool = True,
) -> Path | None:
    """Train one stage; returns the final checkpoint folder (``<out>/final``), or None when
    ``session_minutes`` paused it or a stop was asked for (resume from ``<out>``).

    ``overrides`` are dotted keys (``{"train.lr": 1e-4}``), applied last; ``stage``, when
    given, must match the config's.
    """
    run = resolve(config, overlays, budget, overrides)
    if stage is not None and run.stage != stage:
        raise ConfigError(f"the config is for the '{run.stage}' stage, not '{stage}'")
    return Trainer(stage_class(run.stage), run, out, resume=resume, log=log, progress=progress).fit()
