"""Stage 1: the LightVAE that teacher and student share (DESIGN §3, §6).

Reconstruction losses that need no pretrained network: L1 + MSE + an edge term (L1 of
image gradients) + multi-scale L1, a small latent penalty, optionally latent noise (a
decoder that tolerates the student's imperfect latents) and a patch discriminator.
With ``align_to`` (an SD3.5 diffusers folder) the encoder is also trained to output
SD3.5's scaled latents, so the ``sd35`` teacher shares the latent space.

When a checkpoint is written, the latent statistics of a fixed set of training images
set ``VAEConfig.shift_factor`` / ``scaling_factor``, per channel (``channel_shift`` /
``channel_scale``) for a VAE with the colour shortcut (scaled latents ~ zero mean, unit
variance, as flow matching wants); the config saved with the weights carries them.

Checkpoint: ``vae.safetensors`` (EMA weights of ``LightVAE``) + ``config.json``
(``{"vae": VAEConfig, "latent_space": ..., "stats": ...}``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from engine.errors import InputError

from ..eval.metrics import image_metrics
from ..nets import LightVAE, VAEConfig, get_config
from .config import from_dict
from .data import Batch, make_world, render_item, source_size
from .ema import EMA
from .losses import edge_loss, gan_discriminator_loss, gan_generator_loss, multiscale_l1
from .trainer import Stage, StepRandom

WEIGHTS = "vae.safetensors"
CONFIG = "config.json"


def save_vae(state: dict[str, torch.Tensor], cfg: VAEConfig, folder: str | Path, meta: dict) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(folder / WEIGHTS))
    (folder / CONFIG).write_text(json.dumps({**meta, "vae": dataclasses.asdict(cfg)}, indent=2) + "\n")
    return folder


def check_vae_folder(folder: str | Path) -> Path:
    folder = Path(folder)
    if not (folder / CONFIG).is_file() or not (folder / WEIGHTS).is_file():
        raise InputError(folder, "not a VAE checkpoint (needs config.json and vae.safetensors); "
                                 "train one with 'vton train vae'")
    return folder


def load_vae(folder: str | Path, device="cpu") -> tuple[LightVAE, dict]:
    """A frozen LightVAE from a VAE checkpoint folder (scale and shift from its config)."""
    folder = check_vae_folder(folder)
    path, weights = folder / CONFIG, folder / WEIGHTS
    try:
        meta = json.loads(path.read_text())
        cfg = from_dict(VAEConfig, meta["vae"], "vae")
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(path, f"not a valid VAE config ({exc})") from None
    vae = LightVAE(cfg)
    try:
        vae.load_state_dict(load_file(str(weights)))
    except Exception as exc:  # safetensors or shape errors
        raise InputError(weights, f"cannot be loaded ({str(exc).splitlines()[0]})") from None
    vae.to(device).eval().requires_grad_(False)
    return vae, meta


def encode_batch(vae: LightVAE, batch: Batch, env) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scaled latents of person, garment and target (one encoder call, no grad), fp32;
    a latent pool's batch brings them along."""
    if batch.latents is not None:
        return batch.latents
    with torch.no_grad(), env.autocast():
        z = vae.encode(torch.cat([batch.person, batch.garment, batch.target]))
    return tuple(t.float() for t in z.chunk(3))


def pool_encoder(vae: LightVAE, env):
    """What ``data.encode: pool`` encodes the pool with: the frozen VAE, fp32 latents."""

    @torch.no_grad()
    def encode(images: torch.Tensor) -> torch.Tensor:
        with env.autocast():
            return vae.encode(images).float()

    return encode


class PatchDiscriminator(nn.Module):
    """A small PatchGAN on images (optional; ``vae.gan`` > 0)."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.GroupNorm(8, 2 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1), nn.GroupNorm(8, 4 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * width, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).flatten(1)


class VAEStage(Stage):
    name = "vae"
    crops = True  # fully convolutional: data.augment.crop trains on windows of the images

    @property
    def square(self) -> int:
        return self.run.data.adapter_size or get_config(self.run.vae.preset).adapter.dino.image_size

    def build(self) -> None:
        c = self.run.vae
        base = get_config(c.preset).vae
        self.cfg = dataclasses.replace(
            base, width=c.width or base.width, blocks_per_stage=c.blocks_per_stage or base.blocks_per_stage,
            shortcut=base.shortcut if c.shortcut is None else c.shortcut, scaling_factor=1.0, shift_factor=0.0,
        )
        self.vae = LightVAE(self.cfg).to(self.device)
        self.env.optimize(self.vae.encoder)
        self.env.optimize(self.vae.decoder)
        self.params = list(self.vae.parameters())
        self.opt = self.adamw(self.params, self.run.train.lr)
        self.ema = EMA(self.vae, self.run.train.ema_decay)
        self.disc = None
        if c.gan > 0:
            self.disc = self.env.optimize(PatchDiscriminator().to(self.device))
            self.opt_d = self.adamw(self.disc.parameters(), self.run.train.lr)
        self.align = None
        if c.align_to:
            self.align, self.align_shift, self.align_scale = load_sd35_vae(self.env.resolve(c.align_to), self.device)
        self._stats: tuple[int, dict] | None = None

    def modules(self):
        return {"vae": self.vae, **({"disc": self.disc} if self.disc is not None else {})}

    def optimizers(self):
        return {"vae": self.opt, **({"disc": self.opt_d} if self.disc is not None else {})}

    def emas(self):
        return {"vae": (self.ema, self.vae)}

    def train_step(self, batch: Batch, step: int, rnd: StepRandom) -> dict[str, torch.Tensor]:
        c = self.run.vae
        images = torch.cat([batch.person, batch.garment, batch.target])
        logs = {}
        with self.env.autocast():
            z = self.vae.encode_raw(images)
            z_in = z + c.latent_noise * rnd.randn_like(z) if c.latent_noise > 0 else z
            rec = self.vae.decoder(z_in)
        rec, zf = rec.float(), z.float()
        loss = c.l1 * F.l1_loss(rec, images) + c.mse * F.mse_loss(rec, images)
        logs["loss_rec"] = F.l1_loss(rec.detach(), images)
        if c.edge > 0:
            loss = loss + c.edge * edge_loss(rec, images)
        if c.multiscale > 0:
            loss = loss + c.multiscale * multiscale_l1(rec, images)
        if c.latent_reg > 0:
            loss = loss + c.latent_reg * zf.pow(2).mean()
        logs["latent_std"] = zf.detach().std()
        if self.align is not None:
            with torch.no_grad():
                target = (self.align.encode(images).latent_dist.mean - self.align_shift) * self.align_scale
            la = F.mse_loss(zf, target.float())
            loss = loss + la
            logs["loss_align"] = la.detach()
        use_gan = self.disc is not None and step >= c.gan_start
        if use_gan:
            self.disc.requires_grad_(False)
            lg = gan_generator_loss(self.disc(rec))
            self.disc.requires_grad_(True)
            loss = loss + c.gan * lg
            logs["loss_gan"] = lg.detach()
        loss.backward()
        logs["grad_norm"] = self.optimizer_step(self.opt, self.params)
        self.ema.update(self.vae)
        if use_gan:
            ld = gan_discriminator_loss(self.disc(images), self.disc(rec.detach()))
            ld.backward()
            self.optimizer_step(self.opt_d, list(self.disc.parameters()))
            logs["loss_disc"] = ld.detach()
        logs["loss"] = loss.detach()
        return logs

    # .....................................................................................
    @torch.no_grad()
    def latent_stats(self) -> dict:
        """Mean and std of raw latents (EMA weights) over a fixed set of training images."""
        n = self.run.vae.stats_samples
        data = self.run.data_for(self.run.all_phases()[0])
        n = min(n, source_size(data) or n)
        world = make_world(data, n=n)
        images = []
        for i in range(n):
            item = render_item(world, i, 8)
            images += [item["person"], item["garment"], item["target"]]
        x = torch.as_tensor(torch.stack([torch.as_tensor(a) for a in images])).float().div(127.5).sub(1.0)
        zs = []
        with self.ema.applied(self.vae):
            for chunk in x.split(32):
                zs.append(self.vae.encode_raw(chunk.to(self.device)).float().cpu())
        z = torch.cat(zs)
        return {"mean": float(z.mean()), "std": float(z.std()), "samples": n,
                "channel_mean": [float(v) for v in z.mean(dim=(0, 2, 3))],
                "channel_std": [float(v) for v in z.std(dim=(0, 2, 3))]}

    def final_config(self) -> tuple[VAEConfig, dict]:
        if self.align is not None:  # the encoder already outputs SD3.5's scaled latents
            return self.cfg, {"mean": 0.0, "std": 1.0, "aligned": True}
        stats = self.latent_stats()
        if self.cfg.shortcut:  # per channel: the colour channels vary far more than the learned ones
            cfg = dataclasses.replace(self.cfg, channel_shift=tuple(stats["channel_mean"]),
                                      channel_scale=tuple(1.0 / max(v, 1e-6) for v in stats["channel_std"]))
        else:
            cfg = dataclasses.replace(self.cfg, shift_factor=stats["mean"],
                                      scaling_factor=1.0 / max(stats["std"], 1e-6))
        return cfg, stats

    def save_weights(self, folder: Path, meta: dict) -> None:
        cfg, stats = self.final_config()
        space = f"sd35:{self.run.vae.align_to}" if self.align is not None else "light"
        save_vae(self.ema.averaged_state(self.vae), cfg, folder,
                 {**meta, "preset": self.run.vae.preset, "latent_space": space, "stats": stats})

    @torch.no_grad()
    def samples(self, batch: Batch):
        with self.ema.applied(self.vae):
            self.vae.eval()
            rec_p = self.vae.decoder(self.vae.encode_raw(batch.person)).float()
            rec_g = self.vae.decoder(self.vae.encode_raw(batch.garment)).float()
            self.vae.train()
        m = image_metrics(torch.cat([rec_p, rec_g]), torch.cat([batch.person, batch.garment]))
        return [batch.person, rec_p, batch.garment, rec_g], m


def load_sd35_vae(folder: Path, device) -> tuple[nn.Module, float, float]:
    """SD3.5's AutoencoderKL (frozen) from ``<folder>/vae``: the latent space to align to."""
    from diffusers import AutoencoderKL

    if not (Path(folder) / "vae" / "config.json").is_file():
        raise InputError(folder, "not an SD3.5 diffusers folder (no vae/config.json)")
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", local_files_only=True)
    vae.to(device).eval().requires_grad_(False)
    shift = float(vae.config.shift_factor or 0.0)
    scale = float(vae.config.scaling_factor or 1.0)
    return vae, shift, scale
