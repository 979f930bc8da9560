"""Stage 2: the ``dit`` teacher, trained by flow matching on the student's conditioning.

The clean target is the LC canvas ``stack_h(z_target, z_garment)`` (the garment half is
given, so the teacher learns the layout the student uses); the condition is
``stack_h(z_person, z_garment)``; noise levels follow SD3's logit-normal. The frozen VAE
comes from ``init.vae``; its file digest is recorded so the student stage can check that
teacher and student share one latent space.

Checkpoint: ``teacher.safetensors`` (EMA) + ``config.json`` (``{"teacher": DiTConfig,
"vae": ..., "vae_sha256": ...}``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..eval.metrics import image_metrics
from ..nets import get_config
from ..sampler import add_noise
from .config import ConfigError
from .data import Batch
from .ema import EMA
from .losses import flow_loss, sample_sigma
from .teachers import Cond, DiTTeacher, file_digest, save_dit_teacher, teacher_sample
from .trainer import Stage, StepRandom
from .vae_stage import WEIGHTS as VAE_WEIGHTS
from .vae_stage import check_vae_folder, encode_batch, load_vae, pool_encoder

TRANSFORMER_BLOCKS = ("JointTransformerBlock",)  # the dit's blocks, compiled one by one (Env.optimize)


def require(path: Path | None, what: str, hint: str) -> Path:
    from engine.errors import InputError

    if path is None:
        raise InputError(f"init.{what}", f"missing: this stage needs a {what} checkpoint ({hint})")
    return path


class TeacherStage(Stage):
    name = "teacher"

    @property
    def square(self) -> int:
        return self.run.data.adapter_size or get_config("tiny").adapter.dino.image_size

    def check(self) -> None:
        check_vae_folder(require(self.env.resolve(self.run.init.vae), "vae", "train one with 'vton train vae'"))

    def build(self) -> None:
        vae_dir = require(self.env.resolve(self.run.init.vae), "vae", "train one with 'vton train vae'")
        self.vae, vae_meta = load_vae(vae_dir, self.device)
        self.env.notes.update({
            "vae_checkpoint": str(vae_dir), "vae_sha256": file_digest(vae_dir / VAE_WEIGHTS),
            "latent_space": vae_meta.get("latent_space", "light"),
        })
        cfg = self.run.teacher.dit
        if cfg.latent_channels != self.vae.cfg.latent_channels:
            raise ConfigError("teacher.dit.latent_channels differs from the VAE's")
        for phase in self.run.all_phases():
            h, w = (s // 8 for s in self.run.data_for(phase).size)
            if 2 * h > cfg.max_latent_size or w > cfg.max_latent_size:
                raise ConfigError(f"teacher.dit.max_latent_size {cfg.max_latent_size} < LC canvas {2 * h}x{w}")
        self.teacher = DiTTeacher(cfg).to(self.device)
        self.teacher.train()
        self.env.optimize(self.vae.encoder)
        self.env.optimize(self.teacher.transformer, TRANSFORMER_BLOCKS)
        self.params = [p for p in self.teacher.parameters() if p.requires_grad]
        self.opt = self.adamw(self.params, self.run.train.lr)
        self.ema = EMA(self.teacher, self.run.train.ema_decay)
        self.env.log(f"dit teacher: {sum(p.numel() for p in self.params) / 1e6:.2f}M parameters")

    def modules(self):
        return {"teacher": self.teacher}

    def pool_encoder(self):
        return pool_encoder(self.vae, self.env)

    def optimizers(self):
        return {"teacher": self.opt}

    def emas(self):
        return {"teacher": (self.ema, self.teacher)}

    def train_step(self, batch: Batch, step: int, rnd: StepRandom) -> dict[str, torch.Tensor]:
        z_p, z_g, z_t = encode_batch(self.vae, batch, self.env)
        x0 = torch.cat([z_t, z_g], dim=2)
        sigma = sample_sigma(self.run.teacher.sigma_sampling, x0.shape[0], rnd.dev, self.device)
        noise = rnd.randn_like(x0)
        with self.env.autocast():
            v = self.teacher.predict_v(add_noise(x0, noise, sigma), sigma, Cond(z_p, z_g, batch.category))
        loss = flow_loss(v, x0, noise)
        loss.backward()
        norm = self.optimizer_step(self.opt, self.params)
        self.ema.update(self.teacher)
        return {"loss_flow": loss.detach(), "grad_norm": norm}

    def save_weights(self, folder: Path, meta: dict) -> None:
        save_dit_teacher(self.ema.averaged_state(self.teacher), self.run.teacher.dit, folder,
                         {**meta, "vae": {"scaling_factor": self.vae.cfg.scaling_factor,
                                          "shift_factor": self.vae.cfg.shift_factor}})

    @torch.no_grad()
    def generate(self, batch: Batch, steps: int, seed: int = 1234) -> torch.Tensor:
        """Euler sampling of the LC canvas with the EMA teacher; returns the decoded try-on."""
        z_p, z_g, _ = encode_batch(self.vae, batch, self.env)
        with self.ema.applied(self.teacher):
            self.teacher.eval()
            z = teacher_sample(self.teacher, Cond(z_p, z_g, batch.category), steps, self.env.autocast, seed)
            self.teacher.train()
        with self.env.autocast():
            return self.vae.decode(z).float()

    def samples(self, batch: Batch):
        result = self.generate(batch, self.run.teacher.sample_steps)
        return [batch.person, batch.garment, result, batch.target], image_metrics(
            result, batch.target, batch.target_mask, batch.person_mask)

    def evaluate(self, batch: Batch) -> dict[str, float]:
        result = self.generate(batch, self.run.teacher.sample_steps)
        return image_metrics(result, batch.target, batch.target_mask, batch.person_mask)
