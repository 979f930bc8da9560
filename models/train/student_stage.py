"""Stage 3: the student (GarmentNet + TryonNet + Light-Adapter) by FGA distillation.

Losses (DESIGN §6, the paper's weights by default)::

    TryonNet (+ Light-Adapter):  L_T = L_diff + l1 * L_featureT + l3 * L_GAN
    GarmentNet (+ TCG head):     L_G = l1 * L_featureG + l2 * L_cons

Each network's loss reaches only its own parameters: two backward passes over one
forward (``backward(inputs=...)``), two optimisers, clipping per network.

- ``L_diff``: x0 reconstruction of the ground-truth try-on (with LC the target is
  ``stack_h(z_target, z_garment)``) from the student's input at a sampler sigma.
- ``L_feature`` (DMD2): the fake score (a copy of the teacher, trained online with the flow
  loss on detached student outputs) and the frozen teacher give ``x0_fake``, ``x0_real`` at
  ``sigma ~ U[0.02, 0.98]``; ``g = (x0_fake - x0_real) / mean|x - x0_real|``;
  ``L = 0.5 ||x - sg(x - g)||^2``. Through the features GarmentNet hands TryonNet, the
  same loss gives ``L_featureG``.
- ``L_GAN``: a conv head on the fake score's middle-block features tells re-noised ground
  truth from re-noised student output (softplus losses; the head and the fake-score
  backbone learn it with weight ``critic_gan_weight``).
- ``L_cons`` (TCG): ``GarmentNet.reconstruct`` of the clean garment latent from features at
  a random sigma.

Two time scales: the fake score updates every step, the generator every ``ratio`` steps.
The generator's input at sampler step ``k`` (k uniform) is DMD2's backward simulation —
``k`` student steps from pure noise without gradient, re-noising as the sampler does —
with probability ``backsim_prob``, else the forward-noised ground truth.

Warm-up: the first ``regression_steps`` steps train with L_diff + L_cons only (generator
every step); FGA takes over afterwards.

Ablations: ``distill: false`` (L_diff + L_cons only), ``tcg: false`` (l2 = 0),
``latent_concat: false`` (no LC; the student's x covers the person only).

Checkpoint: ``models.checkpoint.save_student`` format (EMA weights in
``student.safetensors``), so ``vton bundle export --checkpoint`` reads it directly.
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from pathlib import Path

import torch

from engine.errors import InputError

from ..checkpoint import load_student, read_checkpoint_config, save_student
from ..eval.metrics import image_metrics, psnr, ssim
from ..nets import build_student, get_config
from ..sampler import TorchSampler, add_noise
from .config import ConfigError
from .data import Batch, held_out_batch
from .ema import EMA
from .fake_score import FakeScore
from .losses import (
    correspondence_loss,
    dmd_gradient,
    dmd_loss,
    flow_loss,
    gan_discriminator_loss,
    gan_generator_loss,
    region_weights,
    sample_sigma,
    tcg_loss,
    weighted_x0_loss,
    x0_loss,
)
from .pool import flow_tokens
from .teacher_stage import TRANSFORMER_BLOCKS, require
from .teachers import Cond, check_teacher_path, file_digest, load_teacher, teacher_sample
from .trainer import Stage, StepRandom
from .vae_stage import WEIGHTS as VAE_WEIGHTS
from .vae_stage import check_vae_folder, encode_batch, load_vae, pool_encoder

UNET_BLOCKS = ("ResBlock", "SpatialTransformer")  # compiled one by one (Env.optimize)
ADAPTER_BLOCKS = ("Dinov2Layer", "PerceiverLayer")


class StudentStage(Stage):
    name = "student"

    @property
    def square(self) -> int:
        return get_config(self.run.student.preset).adapter.dino.image_size

    def check(self) -> None:
        check_vae_folder(require(self.env.resolve(self.run.init.vae), "vae", "train one with 'vton train vae'"))
        if self.run.init.student is not None:
            read_checkpoint_config(require(self.env.resolve(self.run.init.student), "student",
                                           "the student checkpoint to start from"))
        if self.run.student.distill:
            check_teacher_path(require(self.env.resolve(self.run.init.teacher), "teacher",
                                       "train one with 'vton train teacher', or pass --no-distill"))

    def build(self) -> None:
        c = self.run.student
        if self.run.data.adapter_size and self.run.data.adapter_size != self.square:
            raise ConfigError(f"data.adapter_size {self.run.data.adapter_size} != the adapter's {self.square}")
        vae_dir = require(self.env.resolve(self.run.init.vae), "vae", "train one with 'vton train vae'")
        vae, vae_meta = load_vae(vae_dir, self.device)
        vae_digest = file_digest(vae_dir / VAE_WEIGHTS)
        cfg = get_config(c.preset).replace(vae=vae.cfg, latent_concat=c.latent_concat)
        if c.top_attention is not None:
            cfg = cfg.replace(unet=dataclasses.replace(cfg.unet, top_attention=c.top_attention))
        step = 8 * cfg.unet.downsample_factor
        for phase in self.run.all_phases():
            H, W = self.run.data_for(phase).size
            if H % step or W % step:
                raise ConfigError(f"data size {H}x{W} is not a multiple of {step} for the {c.preset} student")
        if c.lambda_corr > 0:
            missing = [what for what, ok in (("data.flow: true", all(self.run.data_for(p).flow for p in self.run.all_phases())),
                                             ("latent concatenation", cfg.latent_concat),
                                             ("the top-level garment attention", cfg.unet.top_attention)) if not ok]
            if missing:
                raise ConfigError(f"student.lambda_corr needs {', '.join(missing)}")
        self.cfg = cfg
        self.student = build_student(cfg, self.device)
        self.student.vae.load_state_dict(vae.state_dict())
        self.student.vae.requires_grad_(False).eval()
        if self.run.init.student is not None:
            self.start_from(self.env.resolve(self.run.init.student), vae_digest)
        if not c.train_dino:
            self.student.adapter.dino.requires_grad_(False)
        tcg = c.tcg and c.lambda_cons > 0
        if not tcg:
            self.student.garment_net.tcg_head.requires_grad_(False)
        self.lambda_cons = c.lambda_cons if tcg else 0.0
        s = self.student
        self.params_t = [p for m in (s.tryon_net, s.adapter) for p in m.parameters() if p.requires_grad]
        self.params_g = [p for p in s.garment_net.parameters() if p.requires_grad]
        self.opt_t = self.adamw(self.params_t, self.run.train.lr)
        self.opt_g = self.adamw(self.params_g, self.run.train.lr)
        self.ema = EMA(self.student, self.run.train.ema_decay)
        self.sampler = TorchSampler(tuple(cfg.sigmas))
        self.env.notes.update({
            "vae_checkpoint": str(vae_dir), "vae_sha256": vae_digest,
            "latent_space": vae_meta.get("latent_space", "light"),
            "ablation": {"distill": c.distill, "tcg": tcg, "latent_concat": c.latent_concat,
                         "top_attention": cfg.unet.top_attention, "correspondence_loss": c.lambda_corr > 0},
        })

        self.teacher = self.fake = None
        self.gate = None  # the FGA gate's decision (fga_gate), made when regression ends
        if c.distill:
            tdir = require(self.env.resolve(self.run.init.teacher), "teacher",
                           "train one with 'vton train teacher', or pass --no-distill")
            self.teacher, tmeta = load_teacher(tdir, self.device, c.teacher_kind, guidance=c.sd35_guidance,
                                               prompt=c.sd35_prompt)
            if self.teacher.kind == "dit" and tmeta.get("vae_sha256") not in (None, vae_digest):
                raise InputError(tdir, "the teacher was trained on another VAE's latents "
                                       f"(its VAE: {tmeta.get('vae_checkpoint')}); use the same init.vae")
            if self.teacher.kind == "sd35" and not str(vae_meta.get("latent_space", "")).startswith("sd35"):
                self.env.log("warning: the sd35 teacher needs a VAE trained with vae.align_to (SD3.5 latents)")
            self.fake = FakeScore(self.teacher, c.gan_head_channels).to(self.device)
            self.params_f = [p for p in self.fake.parameters() if p.requires_grad]
            self.opt_f = self.adamw(self.params_f, c.fake_lr or self.run.train.lr)
            self.env.notes["teacher"] = {"kind": self.teacher.kind, "checkpoint": str(tdir)}
            # after FakeScore's deepcopy: a compiled module must not be copied
            self.env.optimize(self.teacher.transformer, TRANSFORMER_BLOCKS)
            self.env.optimize(self.fake.net.transformer, TRANSFORMER_BLOCKS)
            self.env.optimize(self.fake.head)
        self.env.optimize(s.vae.encoder)
        self.env.optimize(s.tryon_net, UNET_BLOCKS)
        self.env.optimize(s.garment_net, UNET_BLOCKS)
        self.env.optimize(s.adapter, ADAPTER_BLOCKS)
        counts = s.parameter_counts()
        self.env.log(f"student '{cfg.name}': {counts['student'] / 1e6:.2f}M (+ DINO {counts['dinov2'] / 1e6:.2f}M); "
                     f"distill={c.distill} tcg={tcg} lc={c.latent_concat}")

    def start_from(self, folder: Path, vae_digest: str) -> None:
        """Load a finished student's weights (all but its VAE, which ``init.vae`` gave)."""
        _, meta = read_checkpoint_config(folder)
        if meta.get("vae_sha256") not in (None, vae_digest):
            raise InputError(folder, "this student was trained on another VAE's latents "
                                     f"(its VAE: {meta.get('vae_checkpoint')}); use the same init.vae")
        source, _ = load_student(folder, self.device)  # names a missing or damaged weights file
        state = {k: v for k, v in source.state_dict().items() if not k.startswith("vae.")}
        try:
            self.student.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # another preset: the shapes differ
            raise InputError(folder, f"does not fit the '{self.cfg.name}' student ({str(exc).splitlines()[0]})") from None
        if set(state) != {k for k in self.student.state_dict() if not k.startswith("vae.")}:
            raise InputError(folder, f"does not fit the '{self.cfg.name}' student (other weights)")
        self.env.notes["init_student"] = {"checkpoint": str(folder), "step": meta.get("step")}
        self.env.log(f"student starts from {folder} (step {meta.get('step')})")

    def modules(self):
        return {"student": self.student, **({"fake": self.fake} if self.fake is not None else {})}

    def extra_state(self) -> dict:
        return {"fga_gate": self.gate}

    def load_extra_state(self, state: dict) -> None:
        self.gate = state.get("fga_gate")

    def fga_gate(self, step: int) -> None:
        """When regression ends: FGA starts only if the teacher beats the student's
        regression-only score (``student.fga_gate``); both scores go to the log and to an
        ``fga gate`` event, and the decision into the checkpoints."""
        c = self.run.student
        if c.fga_gate == "off":
            self.gate = {"step": step, "metric": "off", "fga": True}
            return
        data = self.run.data_for(self.run.all_phases()[-1])
        batch = held_out_batch(data, self.square, c.gate_samples, self.device)
        with self.env.eager(), torch.no_grad():
            student = image_metrics(self.generate(batch), batch.target, batch.target_mask, batch.person_mask)
            z_p, z_g, _ = encode_batch(self.student.vae, batch, self.env)
            self.teacher.eval()
            z = teacher_sample(self.teacher, Cond(z_p, z_g, batch.category), c.gate_teacher_steps, self.env.autocast)
            with self.env.autocast():
                result = self.student.vae.decode(z).float()
            teacher = image_metrics(result, batch.target, batch.target_mask, batch.person_mask)
        passed = teacher[c.fga_gate] > student[c.fga_gate] + c.gate_margin
        self.gate = {"step": step, "metric": c.fga_gate, "margin": c.gate_margin, "samples": batch.size,
                     "size": list(data.size), "teacher_steps": c.gate_teacher_steps,
                     "student": {k: round(v, 5) for k, v in student.items()},
                     "teacher": {k: round(v, 5) for k, v in teacher.items()}, "fga": bool(passed)}
        self.env.notes["fga_gate"] = self.gate
        self.env.log(f"FGA gate at step {step}: teacher {c.fga_gate} {teacher[c.fga_gate]:.4f} vs student "
                     f"{student[c.fga_gate]:.4f} (+{c.gate_margin:g}): "
                     + ("FGA starts" if passed else "the teacher is not better; the student stays on regression"))
        self.env.event("fga gate", **self.gate)

    def pool_encoder(self):
        return pool_encoder(self.student.vae, self.env)

    def optimizers(self):
        opts = {"tryon": self.opt_t, "garment": self.opt_g}
        if self.fake is not None:
            opts["fake"] = self.opt_f
        return opts

    def emas(self):
        return {"student": (self.ema, self.student)}

    # -- the student as a few-step generator ----------------------------------------
    def garment_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        if self.run.student.garment_sigma == "first":
            return torch.full_like(sigma, self.sampler.sigmas[0])
        return sigma

    def student_x0(self, x, sigma: float, z_p, z_g, category, tokens) -> torch.Tensor:
        s = self.student
        sig = torch.full((x.shape[0],), float(sigma), device=self.device)
        with self.env.autocast():
            feats = s.garment_net(z_g, self.garment_sigma(sig), category)
            v = s.tryon_net(x, z_p, z_g, sig, category, tokens, feats)
        return x.float() - float(sigma) * v.float()

    def generator_input(self, x0_gt, z_p, z_g, category, tokens, rnd: StepRandom) -> tuple[torch.Tensor, float]:
        sigmas = self.sampler.sigmas
        k = rnd.randint(len(sigmas))
        noise = rnd.randn_like(x0_gt)
        if k == 0 or not rnd.coin(self.run.student.backsim_prob):
            if k == 0:
                return noise, sigmas[0]
            return add_noise(x0_gt, noise, torch.full((x0_gt.shape[0],), sigmas[k], device=self.device)), sigmas[k]
        x = noise
        with torch.no_grad():
            for i in range(k):
                x0 = self.student_x0(x, sigmas[i], z_p, z_g, category, tokens.detach())
                x = (1.0 - sigmas[i + 1]) * x0 + sigmas[i + 1] * rnd.randn_like(x0)
        return x, sigmas[k]

    def diff_loss(self, x0: torch.Tensor, x0_gt: torch.Tensor, batch: Batch, z_t: torch.Tensor) -> torch.Tensor:
        """L_diff, optionally weighted up inside the old and new garment regions of the target."""
        weight = self.run.student.region_weight
        if weight <= 0:
            return x0_loss(x0, x0_gt)
        w = region_weights(torch.cat([batch.target_mask, batch.person_mask], dim=1), tuple(z_t.shape[-2:]), weight)
        if x0_gt.shape[2] != z_t.shape[2]:  # latent concatenation: the garment half weighs 1
            w = torch.cat([w, torch.ones_like(w[:, :, : x0_gt.shape[2] - z_t.shape[2]])], dim=2)
        return weighted_x0_loss(x0, x0_gt, w)

    def correspondence_loss(self, recorded, batch: Batch, latent_hw: tuple[int, int], rnd: StepRandom) -> torch.Tensor:
        """The correspondence loss (``student.lambda_corr``) on the top-level garment attention's
        inputs: the target's garment flow, as garment latent cells."""
        tokens = batch.garment_tokens if batch.garment_tokens is not None else flow_tokens(batch.target_flow, latent_hw)
        attn = self.student.tryon_net.unet.garment_attn.attn
        q, kv = recorded
        with self.env.autocast():
            return correspondence_loss(attn.to_q, attn.to_k, attn.heads, q, kv, tokens,
                                       self.run.student.corr_queries, rnd.dev)

    def to_teacher(self, x: torch.Tensor, z_g: torch.Tensor) -> torch.Tensor:
        return self.teacher.layout_of(x, self.cfg.latent_concat, z_g)

    # -- one step ---------------------------------------------------------------------
    def train_step(self, batch: Batch, step: int, rnd: StepRandom) -> dict[str, torch.Tensor]:
        c = self.run.student
        s = self.student
        z_p, z_g, z_t = encode_batch(s.vae, batch, self.env)
        x0_gt = torch.cat([z_t, z_g], dim=2) if self.cfg.latent_concat else z_t
        cond = Cond(z_p, z_g, batch.category)
        b = z_p.shape[0]
        logs: dict[str, torch.Tensor] = {}
        if self.fake is not None and step >= c.regression_steps and self.gate is None:
            self.fga_gate(step)
        distill = self.fake is not None and step >= c.regression_steps and self.gate["fga"]
        fake_input = None

        if not distill or step % max(1, c.ratio) == 0:  # generator turn
            with self.env.autocast():
                tokens = s.adapter(batch.garment_square)
            x_in, sigma = self.generator_input(x0_gt, z_p, z_g, batch.category, tokens, rnd)
            record = s.tryon_net.unet.garment_attn.recording() if c.lambda_corr > 0 else nullcontext([])
            with record as recorded:
                x0 = self.student_x0(x_in, sigma, z_p, z_g, batch.category, tokens)
            l_diff = self.diff_loss(x0, x0_gt, batch, z_t)
            loss_t, loss_g = l_diff, None
            if recorded:
                l_corr = self.correspondence_loss(recorded[-1], batch, tuple(z_t.shape[-2:]), rnd)
                loss_t = loss_t + c.lambda_corr * l_corr
                logs["loss_corr"] = l_corr.detach()
            if c.garment_diff:
                loss_g = l_diff
            logs["loss_diff"] = l_diff.detach()
            if distill:
                xt = self.to_teacher(x0, z_g)
                sig = sample_sigma("uniform", b, rnd.dev, self.device, *c.dmd_sigma)
                noisy = add_noise(xt.detach(), rnd.randn_like(xt), sig)
                with torch.no_grad(), self.env.autocast():
                    x0_real = self.teacher.predict_x0(noisy, sig, cond)
                    x0_fake = self.fake.predict_x0(noisy, sig, cond)
                g = dmd_gradient(xt, x0_real, x0_fake)
                l_feat = dmd_loss(xt, g)
                loss_t = loss_t + c.lambda_feature * l_feat
                loss_g = c.lambda_feature * l_feat if loss_g is None else loss_g + c.lambda_feature * l_feat
                logs["loss_feature"] = l_feat.detach()
                logs["dmd_grad_abs"] = g.abs().mean()
                if c.lambda_gan > 0:
                    sig2 = sample_sigma("uniform", b, rnd.dev, self.device, *c.dmd_sigma)
                    with self.env.autocast():
                        _, logit = self.fake(add_noise(xt, rnd.randn_like(xt), sig2), sig2, cond)
                    l_gan = gan_generator_loss(logit)
                    loss_t = loss_t + c.lambda_gan * l_gan
                    if c.garment_diff:
                        loss_g = loss_g + c.lambda_gan * l_gan
                    logs["loss_gan"] = l_gan.detach()
                fake_input = xt.detach()
            if self.lambda_cons > 0:
                sig_r = rnd.rand(b)
                h, w = z_g.shape[-2:]
                with self.env.autocast():
                    rec = s.garment_net.reconstruct(s.garment_net(z_g, sig_r, batch.category), h, w)
                l_cons = tcg_loss(rec, z_g)
                loss_g = self.lambda_cons * l_cons if loss_g is None else loss_g + self.lambda_cons * l_cons
                logs["loss_cons"] = l_cons.detach()
            # each network's own loss, to its own parameters only
            loss_t.backward(inputs=self.params_t, retain_graph=loss_g is not None)
            if loss_g is not None:
                loss_g.backward(inputs=self.params_g)
            logs["grad_norm_tryon"] = self.optimizer_step(self.opt_t, self.params_t)
            logs["grad_norm_garment"] = self.optimizer_step(self.opt_g, self.params_g)
            self.ema.update(s)
            logs["loss_tryon"] = loss_t.detach()

        if distill:  # fake-score (+ GAN head) turn, every step
            if fake_input is None:
                with torch.no_grad():
                    with self.env.autocast():
                        tokens = s.adapter(batch.garment_square)
                    x_in, sigma = self.generator_input(x0_gt, z_p, z_g, batch.category, tokens, rnd)
                    fake_input = self.to_teacher(self.student_x0(x_in, sigma, z_p, z_g, batch.category, tokens), z_g)
            sig = sample_sigma("uniform", b, rnd.dev, self.device, *c.dmd_sigma)
            noise = rnd.randn_like(fake_input)
            with self.env.autocast():
                v, logit_fake = self.fake(add_noise(fake_input, noise, sig), sig, cond)
            l_fake = flow_loss(v, fake_input, noise)
            loss_f = l_fake
            logs["loss_fake"] = l_fake.detach()
            if c.lambda_gan > 0:
                real = self.to_teacher(x0_gt, z_g)
                with self.env.autocast():
                    _, logit_real = self.fake(add_noise(real, rnd.randn_like(real), sig), sig, cond)
                l_disc = gan_discriminator_loss(logit_real, logit_fake)
                loss_f = loss_f + c.critic_gan_weight * l_disc
                logs["loss_disc"] = l_disc.detach()
                logs["logit_real"] = logit_real.detach().float().mean()
                logs["logit_fake"] = logit_fake.detach().float().mean()
            loss_f.backward(inputs=self.params_f)
            logs["grad_norm_fake"] = self.optimizer_step(self.opt_f, self.params_f)
        return logs

    # -- checkpoints, grids, quick metrics --------------------------------------------
    def save_weights(self, folder: Path, meta: dict) -> None:
        with self.ema.applied(self.student):
            save_student(self.student, folder, meta)

    @torch.no_grad()
    def generate(self, batch: Batch, seed: int = 1234, use_ema: bool = True) -> torch.Tensor:
        """The few-step sampler of the engine (renoise over cfg.sigmas), decoded top half."""
        s = self.student
        z_p, z_g, _ = encode_batch(s.vae, batch, self.env)
        b, ch, h, w = z_p.shape
        xh = 2 * h if self.cfg.latent_concat else h
        g = torch.Generator(device=self.device).manual_seed(seed)
        noise = torch.randn((b, ch, xh, w), generator=g, device=self.device)
        fresh = [torch.randn((b, ch, xh, w), generator=g, device=self.device) for _ in self.sampler.sigmas]
        ctx = self.ema.applied(s) if use_ema else nullcontext()
        with ctx:
            s.eval()
            with self.env.autocast():
                tokens = s.adapter(batch.garment_square)
            cached = None
            if self.run.student.garment_sigma == "first":
                with self.env.autocast():
                    sig0 = torch.full((b,), self.sampler.sigmas[0], device=self.device)
                    cached = s.garment_net(z_g, sig0, batch.category)

            def velocity(x, sigma, i):
                sig = torch.full((b,), sigma, device=self.device)
                with self.env.autocast():
                    feats = cached if cached is not None else s.garment_net(z_g, sig, batch.category)
                    return s.tryon_net(x, z_p, z_g, sig, batch.category, tokens, feats).float()

            x0 = self.sampler.sample(velocity, noise, fresh)
            s.train()
            s.vae.eval()
        with self.env.autocast():
            return s.vae.decode(x0[:, :, :h]).float()

    def samples(self, batch: Batch):
        result = self.generate(batch)
        m = image_metrics(result, batch.target, batch.target_mask, batch.person_mask)
        m["identity_psnr"] = float(psnr(batch.person, batch.target).mean())
        return [batch.person, batch.garment, result, batch.target], m

    def evaluate(self, batch: Batch) -> dict[str, float]:
        result = self.generate(batch)
        m = image_metrics(result, batch.target, batch.target_mask, batch.person_mask)
        base = image_metrics(batch.person, batch.target, batch.target_mask, batch.person_mask)
        m.update({f"identity_{k}": v for k, v in base.items()})
        with self.env.autocast(), torch.no_grad():
            ceiling = self.student.vae.decode(self.student.vae.encode(batch.target)).float()
        # what the raw output reaches at best: the VAE's round trip of the ground truth
        m["vae_ceiling_psnr"] = float(psnr(ceiling, batch.target).mean())
        m["vae_ceiling_ssim"] = float(ssim(ceiling, batch.target).mean())
        return m

