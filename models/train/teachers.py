"""Teachers behind one interface: ``predict_x0(x_sigma, sigma, cond)`` (DESIGN §6).

``dit``  — a try-on MMDiT built from diffusers' ``SD3Transformer2DModel``, trained here by
           flow matching on the student's own conditioning: the noisy latent covers the
           person-over-garment canvas (LC layout, 2h x w), the condition
           ``stack_h(z_person, z_garment)`` is channel-concatenated, and garment tokens plus
           learned category tokens are its ``encoder_hidden_states`` (pooled: their mean).
``sd35`` — Stable Diffusion 3.5 from a local diffusers folder, frozen, prompt-conditioned by
           category. It sees the person half only (it knows nothing of try-on layouts) and
           needs latents in its own space: train the LightVAE with ``vae.align_to``.

Both share the flow-matching convention of the student: ``x_s = (1-s) x0 + s eps``,
``v = eps - x0`` (diffusers' timestep is ``1000 s``). Both expose the hidden state after
their middle transformer block, which the fake-score network's GAN head reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from engine.errors import InputError

from ..data.sample import CATEGORIES
from .config import DiTConfig, from_dict

WEIGHTS = "teacher.safetensors"
CONFIG = "config.json"


@dataclass
class Cond:
    """What every teacher may look at: the person and garment latents and the category."""

    z_person: torch.Tensor  # (B, C, h, w)
    z_garment: torch.Tensor  # (B, C, h, w)
    category: torch.Tensor  # (B,) long

    def repeat(self, n: int) -> Cond:
        return Cond(self.z_person.repeat(n, 1, 1, 1), self.z_garment.repeat(n, 1, 1, 1), self.category.repeat(n))


class Teacher(nn.Module):
    """Interface. ``layout`` says which latent the teacher denoises:

    ``canvas`` — the LC canvas ``stack_h(person_result, garment)`` (2h x w);
    ``person`` — the try-on result alone (h x w).
    """

    kind = "?"
    layout = "canvas"
    transformer: nn.Module

    def predict_v(self, x: torch.Tensor, sigma: torch.Tensor, cond: Cond) -> torch.Tensor:
        raise NotImplementedError

    def predict_x0(self, x: torch.Tensor, sigma: torch.Tensor, cond: Cond) -> torch.Tensor:
        v = self.predict_v(x, sigma, cond).float()
        return x.float() - sigma.float().view(-1, 1, 1, 1) * v

    def forward(self, x, sigma, cond):  # nn.Module convention
        return self.predict_v(x, sigma, cond)

    # -- the hidden state after the middle block (the "bottleneck" the GAN head reads) --
    @property
    def feature_dim(self) -> int:
        return self.transformer.inner_dim

    def predict_v_and_features(self, x, sigma, cond) -> tuple[torch.Tensor, torch.Tensor]:
        """``v`` and the middle block's image tokens as a (B, D, H/p, W/p) map."""
        store = self.__dict__.get("_features")
        if store is None:  # one hook for good: adding and removing it per call would recompile
            store = self.__dict__["_features"] = {}
            blocks = self.transformer.transformer_blocks
            blocks[len(blocks) // 2].register_forward_hook(lambda m, i, o: store.__setitem__("mid", o[1]))
        v = self.predict_v(x, sigma, cond)
        feats = store.pop("mid")
        p = self.transformer.config.patch_size
        b, n, d = feats.shape
        h, w = x.shape[-2] // p, x.shape[-1] // p
        return v, feats.transpose(1, 2).reshape(b, d, h, w)

    def layout_of(self, x_canvas_or_person: torch.Tensor, latent_concat: bool, z_garment: torch.Tensor) -> torch.Tensor:
        """Map a student-layout latent (LC canvas or person) into this teacher's layout."""
        h = z_garment.shape[-2]
        if self.layout == "canvas":
            return x_canvas_or_person if latent_concat else torch.cat([x_canvas_or_person, z_garment], dim=2)
        return x_canvas_or_person[:, :, :h] if latent_concat else x_canvas_or_person


@torch.no_grad()
def teacher_sample(teacher: Teacher, cond: Cond, steps: int, autocast, seed: int = 1234) -> torch.Tensor:
    """Euler sampling in the teacher's own layout from a seeded noise; returns the clean
    person-half latent (B, C, h, w) the VAE decodes into the try-on."""
    from ..sampler import TorchSampler

    z = cond.z_person
    b, c, h, w = z.shape
    rows = 2 * h if teacher.layout == "canvas" else h
    g = torch.Generator(device=z.device).manual_seed(seed)
    noise = torch.randn((b, c, rows, w), generator=g, device=z.device)

    def velocity(x, s, i):
        sig = torch.full((b,), s, device=z.device)
        with autocast():
            return teacher.predict_v(x, sig, cond).float()

    return TorchSampler.with_steps(steps, "euler").sample(velocity, noise)[:, :, :h]


def sincos_2d(h: int, w: int, dim: int, device) -> torch.Tensor:
    """Fixed 2-D sine/cosine positions (h*w, dim) for the garment tokens."""
    quarter = dim // 4
    freqs = torch.exp(-math.log(10000.0) * torch.arange(quarter, device=device, dtype=torch.float32) / quarter)
    ys = torch.arange(h, device=device, dtype=torch.float32)[:, None] * freqs[None]
    xs = torch.arange(w, device=device, dtype=torch.float32)[:, None] * freqs[None]
    ey = torch.cat([ys.sin(), ys.cos()], -1)[:, None, :].expand(h, w, 2 * quarter)
    ex = torch.cat([xs.sin(), xs.cos()], -1)[None, :, :].expand(h, w, 2 * quarter)
    out = torch.cat([ey, ex], -1).reshape(h * w, 4 * quarter)
    return nn.functional.pad(out, (0, dim - 4 * quarter))


class GarmentTokens(nn.Module):
    """Garment latent -> patch tokens (+ positions) after learned category tokens; pooled = mean."""

    def __init__(self, cfg: DiTConfig, categories: int = len(CATEGORIES)):
        super().__init__()
        d = cfg.context_dim
        self.patch = nn.Conv2d(cfg.latent_channels, d, cfg.garment_patch, stride=cfg.garment_patch)
        self.norm = nn.LayerNorm(d)
        self.category = nn.Parameter(torch.randn(categories, cfg.category_tokens, d) * 0.02)
        self.pool = nn.Linear(d, d)

    def forward(self, z_garment: torch.Tensor, category: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.patch(z_garment)
        b, d, h, w = t.shape
        t = t.flatten(2).transpose(1, 2) + sincos_2d(h, w, d, t.device).to(t.dtype)
        tokens = torch.cat([self.category[category].to(t.dtype), self.norm(t)], dim=1)
        return tokens, self.pool(tokens.mean(dim=1))


class DiTTeacher(Teacher):
    kind = "dit"
    layout = "canvas"

    def __init__(self, cfg: DiTConfig, categories: int = len(CATEGORIES)):
        super().__init__()
        from diffusers import SD3Transformer2DModel

        self.cfg = cfg
        c = cfg.latent_channels
        self.transformer = SD3Transformer2DModel(
            sample_size=cfg.max_latent_size, patch_size=cfg.patch_size, in_channels=2 * c,
            num_layers=cfg.num_layers, attention_head_dim=cfg.head_dim, num_attention_heads=cfg.num_heads,
            joint_attention_dim=cfg.context_dim, caption_projection_dim=cfg.num_heads * cfg.head_dim,
            pooled_projection_dim=cfg.context_dim, out_channels=c,
            pos_embed_max_size=cfg.max_latent_size // cfg.patch_size, qk_norm=cfg.qk_norm,
        )
        self.garment_tokens = GarmentTokens(cfg, categories)

    def predict_v(self, x: torch.Tensor, sigma: torch.Tensor, cond: Cond) -> torch.Tensor:
        condition = torch.cat([cond.z_person, cond.z_garment], dim=2)
        inp = torch.cat([x, condition.to(x.dtype)], dim=1)
        tokens, pooled = self.garment_tokens(cond.z_garment, cond.category)
        return self.transformer(
            hidden_states=inp, encoder_hidden_states=tokens, pooled_projections=pooled,
            timestep=sigma.float() * 1000.0, return_dict=False,
        )[0]


class SD35Teacher(Teacher):
    """Frozen SD3.5 from a local diffusers folder, conditioned by a per-category prompt.

    The prompts are encoded once at load (CLIP-L, CLIP-G and, if present, T5, exactly as the
    diffusers pipeline does) and the text encoders are dropped. ``guidance`` > 1 adds
    classifier-free guidance with the empty prompt.
    """

    kind = "sd35"
    layout = "person"

    def __init__(self, folder: str | Path, categories=CATEGORIES, guidance: float = 1.0,
                 prompt: str = "a photo of a person wearing a {category} garment", dtype=torch.float32):
        super().__init__()
        from diffusers import SD3Transformer2DModel

        folder = Path(folder)
        if not (folder / "transformer" / "config.json").is_file():
            raise InputError(folder, "not an SD3.5 diffusers folder (no transformer/config.json)")
        self.folder = folder
        self.guidance = float(guidance)
        self.transformer = SD3Transformer2DModel.from_pretrained(
            folder, subfolder="transformer", local_files_only=True, torch_dtype=dtype
        )
        prompts = [prompt.format(category=c) for c in categories]
        embeds, pooled, neg, neg_pooled = encode_sd3_prompts(folder, self.transformer, prompts, self.guidance > 1.0)
        self.register_buffer("prompt_embeds", embeds.to(dtype), persistent=False)
        self.register_buffer("pooled_embeds", pooled.to(dtype), persistent=False)
        self.register_buffer("negative_embeds", neg.to(dtype), persistent=False)
        self.register_buffer("negative_pooled", neg_pooled.to(dtype), persistent=False)

    def predict_v(self, x: torch.Tensor, sigma: torch.Tensor, cond: Cond) -> torch.Tensor:
        t = sigma.float() * 1000.0
        ctx, pooled = self.prompt_embeds[cond.category], self.pooled_embeds[cond.category]
        if self.guidance <= 1.0:
            return self.transformer(hidden_states=x, encoder_hidden_states=ctx, pooled_projections=pooled,
                                    timestep=t, return_dict=False)[0]
        b = x.shape[0]
        neg = self.negative_embeds.expand(b, -1, -1)
        neg_pooled = self.negative_pooled.expand(b, -1)
        v = self.transformer(
            hidden_states=torch.cat([x, x]), encoder_hidden_states=torch.cat([neg, ctx]),
            pooled_projections=torch.cat([neg_pooled, pooled]), timestep=torch.cat([t, t]), return_dict=False,
        )[0]
        v_uncond, v_cond = v.chunk(2)
        return v_uncond + self.guidance * (v_cond - v_uncond)


def encode_sd3_prompts(folder: Path, transformer, prompts: list[str], negative: bool):
    """Prompt embeddings through the diffusers SD3 pipeline's own ``encode_prompt`` (local files only)."""
    from diffusers import StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection, CLIPTokenizer

    def sub(name: str) -> Path | None:
        path = folder / name
        return path if (path / "config.json").is_file() or (path / "tokenizer_config.json").is_file() else None

    parts = {}
    for suffix in ("", "_2"):
        enc, tok = sub(f"text_encoder{suffix}"), sub(f"tokenizer{suffix}")
        if enc is None or tok is None:
            raise InputError(folder / f"text_encoder{suffix}", "missing: SD3.5 needs both CLIP text encoders")
        parts[f"text_encoder{suffix}"] = CLIPTextModelWithProjection.from_pretrained(enc, local_files_only=True)
        parts[f"tokenizer{suffix}"] = CLIPTokenizer.from_pretrained(tok, local_files_only=True)
    parts["text_encoder_3"] = parts["tokenizer_3"] = None
    if sub("text_encoder_3") is not None and sub("tokenizer_3") is not None:
        from transformers import T5EncoderModel, T5TokenizerFast

        parts["text_encoder_3"] = T5EncoderModel.from_pretrained(folder / "text_encoder_3", local_files_only=True)
        parts["tokenizer_3"] = T5TokenizerFast.from_pretrained(folder / "tokenizer_3", local_files_only=True)
    pipe = StableDiffusion3Pipeline(transformer=transformer, scheduler=None, vae=None, **parts)
    with torch.no_grad():
        embeds, neg, pooled, neg_pooled = pipe.encode_prompt(
            prompt=prompts, prompt_2=None, prompt_3=None, device=torch.device("cpu"),
            do_classifier_free_guidance=negative, negative_prompt=[""] * len(prompts) if negative else None,
        )
    if not negative:
        neg, neg_pooled = torch.zeros_like(embeds[:1]), torch.zeros_like(pooled[:1])
    else:
        neg, neg_pooled = neg[:1], neg_pooled[:1]
    return embeds.float(), pooled.float(), neg.float(), neg_pooled.float()


# -- dit checkpoints ----------------------------------------------------------------------


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_dit_teacher(state: dict[str, torch.Tensor], cfg: DiTConfig, folder: str | Path, meta: dict) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(folder / WEIGHTS))
    info = dict(meta)
    info["teacher"] = {"kind": "dit", **dataclasses.asdict(cfg)}
    (folder / CONFIG).write_text(json.dumps(info, indent=2) + "\n")
    return folder


def is_sd35_folder(path: str | Path) -> bool:
    path = Path(path)
    return (path / "transformer" / "config.json").is_file() and not (path / WEIGHTS).is_file()


def read_teacher_meta(folder: str | Path) -> dict:
    folder = Path(folder)
    path = folder / CONFIG
    if not path.is_file():
        raise InputError(folder, "not a teacher checkpoint (no config.json); train one with 'vton train teacher'")
    try:
        meta = json.loads(path.read_text())
        meta["teacher"]["kind"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(path, f"not a valid teacher config ({exc})") from None
    return meta


def check_teacher_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "teacher not found; train one with 'vton train teacher' or give an SD3.5 folder")
    if not is_sd35_folder(path):
        read_teacher_meta(path)
        if not (path / WEIGHTS).is_file():
            raise InputError(path / WEIGHTS, "missing: the teacher checkpoint has no weights")
    return path


def load_teacher(path: str | Path, device="cpu", kind: str = "auto", **sd35_options) -> tuple[Teacher, dict]:
    """A frozen teacher from a dit checkpoint folder or an SD3.5 diffusers folder."""
    path = check_teacher_path(path)
    if kind == "sd35" or (kind == "auto" and is_sd35_folder(path)):
        teacher: Teacher = SD35Teacher(path, **sd35_options)
        meta = {"teacher": {"kind": "sd35", "folder": str(path)}}
    else:
        meta = read_teacher_meta(path)
        tcfg = dict(meta["teacher"])
        tcfg.pop("kind")
        cfg = from_dict(DiTConfig, tcfg, "teacher")
        teacher = DiTTeacher(cfg)
        weights = path / WEIGHTS
        if not weights.is_file():
            raise InputError(weights, "missing: the teacher checkpoint has no weights")
        try:
            state = load_file(str(weights))
        except Exception as exc:  # safetensors raises its own error types
            raise InputError(weights, f"cannot be read as safetensors ({exc})") from None
        missing, unexpected = teacher.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise InputError(weights, f"weights do not match the config: {len(missing)} missing, "
                                      f"{len(unexpected)} unexpected")
    teacher.to(device).eval().requires_grad_(False)
    return teacher, meta
