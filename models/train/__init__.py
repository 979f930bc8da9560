"""Training and FGA distillation (DESIGN §6): VAE, teacher and student stages, one trainer.

    from models.train import train
    train("models/train/configs/tiny_vae.yaml", "runs/tiny/vae")
    train("models/train/configs/tiny_teacher.yaml", "runs/tiny/teacher")   # init.vae: ../vae/final
    train("models/train/configs/tiny_student.yaml", "runs/tiny/student")   # + init.teacher

Command line: ``vton train vae|teacher|student --config FILE``; the whole default recipe:
``python -m models.recipes.default``.
"""

from .config import RunConfig, bundled_config, load_run_config
from .runner import stage_class, train

__all__ = ["RunConfig", "bundled_config", "load_run_config", "stage_class", "train"]
