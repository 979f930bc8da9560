"""Training and FGA distillation (DESIGN §6): VAE, teacher and student stages, one trainer.

    from models.train import Budget, train
    train("tiny_vae", "runs/tiny/vae")
    train("tiny_teacher", "runs/tiny/teacher")                       # init.vae: ../vae/final
    train("tiny_student", "runs/tiny/student", overlays=["no-tcg"], budget=Budget(steps=20))

The one entry point of the command line (``vton train vae|teacher|student --config FILE``),
the recipe (``python -m models.recipes.default``) and the studio's developer tabs.
"""

from .config import RunConfig, bundled_config, load_run_config
from .runner import Budget, resolve, stage_class, train

__all__ = ["Budget", "RunConfig", "bundled_config", "load_run_config", "resolve", "stage_class", "train"]
