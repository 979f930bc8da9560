"""Run configs: one YAML file per run, loaded into frozen dataclasses (DESIGN §6).

A run config names its stage (``vae``, ``teacher`` or ``student``) and holds the shared
sections (``data``, ``train``, ``phases``, ``init``) plus the section of its stage. Unknown
keys are errors, so a typo never silently falls back to a default. Paths under ``init``
are relative to the run's output folder, so a recipe's stages find each other
(``init: {vae: ../vae/final}``).

The two ``phases`` are the paper's two training stages: merged data first, then a
fine-tune subset. For the synthetic world the fine-tune phase usually moves to the target
resolution or a narrower category mix, at a lower learning rate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..config_io import ConfigError, from_dict  # the one strict loader (also used for network configs)

STAGES = ("vae", "teacher", "student")


@dataclass(frozen=True)
class AugmentConfig:
    """Per-step augmentation of pooled samples, made on the training device (models/train/pool.py).

    Each is a probability or a strength; 0 turns it off. Person and target always get the
    same geometric and photometric change (one photo), the product shot its own lighting.
    """

    swap: float = 0.5  # train the reverse direction too: (target, flat A) -> person (exact)
    flip: float = 0.5  # mirror the whole sample left-right
    zoom: float = 0.1  # reframe person and target: zoom in by up to this much at a random offset
    light: float = 0.1  # exposure, white balance, contrast and gamma jitter of each photo
    crop: tuple[int, int] | None = None  # VAE only: train on random (H, W) crops of the images


@dataclass(frozen=True)
class DataConfig:
    source: str = "synthetic"  # or a dataset folder (VITON-HD, DressCode, pseudo-triplets; models.data)
    split: str = "train"  # dataset folders: the split to train on (held-out grids use "test")
    mode: str = "paired"  # dataset folders: paired (target = the person) or unpaired (needs ground truth)
    world_seed: int = 1  # synthetic-world seed for training (export uses 10000/20000)
    size: tuple[int, int] = (256, 192)  # (H, W) of the images
    categories: tuple[str, ...] = ("upper", "lower", "dress")
    num_samples: int = 0  # distinct samples (0 = a fresh sample every time, no cache)
    cache: bool = True  # render the num_samples pool once up front (parallel), then reuse
    cache_dir: str | None = None  # where the pool is kept (default: <out>/cache); relative to out
    num_workers: int = 0  # DataLoader workers (render / decode in parallel)
    adapter_size: int = 0  # side of the adapter's garment square (0 = what the stage needs)
    eval_world_seed: int = 30_000  # held-out samples for grids and quick metrics (never trained on)
    # Keep the rendered pool on the training device as uint8 and make each step's batch
    # there (gather + augment): the GPU never waits for a DataLoader. Needs cache: true.
    on_device: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # Frozen-VAE stages (teacher, student): "step" encodes each augmented batch; "pool"
    # encodes `pool_views` augmented views of the pool once per phase, so a step only gathers.
    encode: str = "step"
    pool_views: int = 2
    # Synthetic world only: also render each sample's garment flows (where every worn garment
    # pixel is in its product photo; models/data/synthetic/correspondence.py) for the
    # student's correspondence loss (student.lambda_corr). About half again the rendering time.
    flow: bool = False

    def __post_init__(self):
        if self.flow and self.source != "synthetic":
            raise ConfigError("data.flow: garment flows come from the synthetic world (data.source: synthetic)")
        if self.encode not in ("step", "pool"):
            raise ConfigError(f"data.encode: {self.encode!r} is not step or pool")
        if self.pool_views < 1:
            raise ConfigError("data.pool_views: at least 1")


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 8  # per process
    max_steps: int = 0  # 0 = the sum of the phases' steps
    max_minutes: float = 0.0  # wall-clock budget; 0 = none. Checked every step; saves at the end
    # Pause this invocation after N minutes (0 = never): a resumable checkpoint, no `final`.
    # Splits one run over several commands (a GPU lease's 10-minute calls) without
    # changing its budget or where its phases start, so the run is the same as in one go.
    session_minutes: float = 0.0
    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.99)
    warmup_steps: int = 0
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    precision: str = "auto"  # auto (bf16 autocast on CUDA, fp32 on CPU) | bf16 | fp32
    device: str = "auto"  # auto | cpu | cuda
    cpu_threads: int = 0  # torch threads on CPU (0 = torch's default; 1 is fastest for tiny nets)
    log_every: int = 10
    sample_every: int = 0  # PNG grid every N steps (0 = only at the end)
    sample_count: int = 4
    checkpoint_every: int = 0  # 0 = only at the end
    keep_checkpoints: int = 2
    eval_samples: int = 0  # held-out samples scored at the end (student/teacher): PSNR, SSIM, colour
    eval_at_minutes: tuple[float, ...] = ()  # also score them when the run has trained this long
    # Speed (docs/training.md "Throughput"); None = on for CUDA, off on CPU. Neither changes
    # the maths: tests/test_train_fast.py compares the losses with the plain eager path.
    compile: bool | None = None  # torch.compile the networks (off: plain eager PyTorch)
    channels_last: bool | None = None  # NHWC convolutions (tensor-core friendly)
    cuda_graphs: bool = False  # compile with CUDA graphs (mode reduce-overhead): static shapes only
    compile_backend: str = "inductor"  # torch.compile backend (aot_eager: graphs captured, no code generated)


@dataclass(frozen=True)
class PhaseConfig:
    name: str = "main"
    steps: int = 0  # phase length in steps (0 = not limited by steps)
    fraction: float = 0.0  # or: share of the wall-clock budget (train.max_minutes) for this phase
    lr: float | None = None  # main learning rate in this phase (others scale with it)
    batch_size: int | None = None
    data: dict = field(default_factory=dict)  # DataConfig overrides (size, categories, ...)


@dataclass(frozen=True)
class InitConfig:
    vae: str | None = None  # VAE checkpoint folder (teacher and student stages)
    teacher: str | None = None  # dit checkpoint folder or an SD3.5 diffusers folder (student stage)
    # A student checkpoint to start from (student stage): fine-tuning, or continuing a finished
    # run with a new budget or schedule. Weights only: optimisers, EMA and step start afresh.
    student: str | None = None


@dataclass(frozen=True)
class VAEStageConfig:
    preset: str = "tiny"  # the student preset whose VAE layout is trained
    width: int | None = None
    blocks_per_stage: int | None = None
    shortcut: bool | None = None  # the mean-colour shortcut (models/nets/vae.py); None: the preset's
    l1: float = 1.0
    mse: float = 1.0
    edge: float = 0.5  # L1 between image gradients (sharp edges without a pretrained net)
    multiscale: float = 0.5  # L1 at 1/2 and 1/4 scale (colour and layout)
    latent_reg: float = 1e-4  # keeps raw latents in the decoder's soft-clamp range
    latent_noise: float = 0.0  # decoder robustness: noise added to latents while training
    gan: float = 0.0  # patch discriminator weight (0 = off)
    gan_start: int = 0  # step at which the discriminator loss starts
    stats_samples: int = 64  # images used for the latent scale/shift
    align_to: str | None = None  # SD3.5 diffusers folder: train the encoder into its latent space


@dataclass(frozen=True)
class DiTConfig:
    """A try-on MMDiT (diffusers ``SD3Transformer2DModel``) and its garment tokenizer."""

    latent_channels: int = 16
    patch_size: int = 2
    num_layers: int = 8
    num_heads: int = 4
    head_dim: int = 64
    context_dim: int = 256
    garment_patch: int = 4  # garment latent patch per context token
    category_tokens: int = 4
    max_latent_size: int = 128  # largest latent side (the LC canvas is 2h tall)
    qk_norm: str | None = "rms_norm"


@dataclass(frozen=True)
class TeacherStageConfig:
    kind: str = "dit"  # only dit is trained here; sd35 is loaded frozen by the student stage
    dit: DiTConfig = field(default_factory=DiTConfig)
    sigma_sampling: str = "logit_normal"  # logit_normal (SD3) | uniform
    sample_steps: int = 16  # Euler steps for the grids


@dataclass(frozen=True)
class StudentStageConfig:
    preset: str = "tiny"
    latent_concat: bool = True  # LC; False = the no-LC ablation
    top_attention: bool | None = None  # garment attention at the top latent level (None: the preset's)
    train_dino: bool = True  # the Light-Adapter's DINOv2 is random-init here, so it learns too
    garment_sigma: str = "step"  # GarmentNet sigma: step (per-step features) | first (cached mode)
    distill: bool = True  # False = the no-distillation ablation (L_diff + L_cons only)
    tcg: bool = True  # False = the no-TCG ablation (lambda_cons = 0)
    lambda_feature: float = 1e-2  # lambda1
    lambda_cons: float = 0.5  # lambda2
    lambda_gan: float = 5e-3  # lambda3
    garment_diff: bool = False  # also give GarmentNet L_diff + lambda3 L_GAN (not the paper's loss)
    ratio: int = 5  # generator update every `ratio` steps; fake score every step (DMD2: 5-10)
    # Steps of plain regression (L_diff + L_cons, generator every step, no fake score) before
    # FGA starts. DMD2 starts its generator from the teacher; ours starts from scratch, and a
    # random generator's outputs give the fake score nothing useful to learn from.
    regression_steps: int = 0
    # L_diff weight inside the garment regions (old and new garment, dilated) is 1 + this.
    # Training-only: the masks come from the data, the model stays mask-free. Most pixels of
    # a try-on are unchanged, so an unweighted MSE spends most of a short run on copying them.
    region_weight: float = 0.0
    # The correspondence loss (needs data.flow, latent concatenation and the top-level garment
    # attention): at corr_queries random target cells per sample that show the new garment's
    # fabric, -log of the attention (mean over heads) the top-level garment attention pays
    # to the garment cell that fabric comes from. Training-only; 0 turns it off.
    lambda_corr: float = 0.0
    corr_queries: int = 128
    # The FGA quality gate: when regression ends, FGA starts only if the teacher (Euler,
    # gate_teacher_steps) beats the student by more than gate_margin in this metric on
    # gate_samples held-out samples at the last phase's size; both scores are logged.
    # off | psnr | ssim | garment_ssim | garment_edges (higher is better)
    fga_gate: str = "off"
    gate_margin: float = 0.0
    gate_samples: int = 32
    gate_teacher_steps: int = 16
    fake_lr: float | None = None  # default: train.lr
    gan_head_channels: int = 64
    critic_gan_weight: float = 1e-2  # weight of the discriminator loss in the fake-score update
    dmd_sigma: tuple[float, float] = (0.02, 0.98)
    backsim_prob: float = 0.5  # generator input: backward simulation, else forward-noised truth
    teacher_kind: str = "auto"  # auto | dit | sd35
    sd35_guidance: float = 1.0  # CFG scale of the SD3.5 real score (1 = none)
    sd35_prompt: str = "a photo of a person wearing a {category} garment"


@dataclass(frozen=True)
class RunConfig:
    stage: str
    seed: int = 0
    name: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    phases: tuple[PhaseConfig, ...] = ()
    init: InitConfig = field(default_factory=InitConfig)
    vae: VAEStageConfig = field(default_factory=VAEStageConfig)
    teacher: TeacherStageConfig = field(default_factory=TeacherStageConfig)
    student: StudentStageConfig = field(default_factory=StudentStageConfig)

    def __post_init__(self):
        if self.stage not in STAGES:
            raise ConfigError(f"stage: {self.stage!r} is not one of {', '.join(STAGES)}")

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def total_steps(self) -> int:
        """The step limit: ``train.max_steps``, else the phases' steps (0 = only the time budget)."""
        if self.train.max_steps > 0:
            return self.train.max_steps
        if any(p.steps <= 0 for p in self.all_phases()):
            return 0
        return sum(p.steps for p in self.all_phases())

    def all_phases(self) -> tuple[PhaseConfig, ...]:
        return self.phases or (PhaseConfig(),)

    def phase_ends(self, index: int, steps_in_phase: int, elapsed_s: float) -> bool:
        """Whether phase ``index`` is over (the last phase never ends: the run's limits stop it)."""
        phases = self.all_phases()
        if index >= len(phases) - 1:
            return False
        p = phases[index]
        if p.steps > 0 and steps_in_phase >= p.steps:
            return True
        budget = self.train.max_minutes * 60.0
        if p.fraction > 0 and budget > 0:
            return elapsed_s >= budget * sum(q.fraction for q in phases[: index + 1])
        return False

    def data_for(self, phase: PhaseConfig) -> DataConfig:
        if not phase.data:
            return self.data
        merged = _deep_merge(_plain(dataclasses.asdict(self.data)), phase.data)
        return from_dict(DataConfig, merged, "phases.data")


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def set_dotted(data: dict, dotted: str, value) -> None:
    """``set_dotted(d, "train.lr", 1e-4)``: set a nested key, creating mappings on the way."""
    parts = dotted.split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: {p} is not a mapping")
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, object]:
    """``"train.lr=1e-4"`` -> ("train.lr", 0.0001); the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"{text!r}: an override is KEY=VALUE, e.g. train.lr=1e-4")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
        try:
            value = float(value)
        except ValueError:
            pass
    return key.strip(), value


def load_config_dict(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a run config is a YAML mapping")
    return data


def load_run_config(path: str | Path | None = None, data: dict | None = None,
                    overrides: dict | None = None, overlays: tuple | list = ()) -> RunConfig:
    """The one way a run config is read: a YAML file and/or a dict, then each overlay file in
    order (``overlay_file``: a name such as ``no-distill`` or a path; nested mappings merge,
    anything else replaces), then ``overrides`` (dotted keys). Unknown keys are errors."""
    merged: dict = {}
    if path is not None:
        merged = load_config_dict(path)
    if data:
        merged = _deep_merge(merged, data)
    for overlay in overlays:
        merged = _deep_merge(merged, load_config_dict(overlay_file(overlay)))
    for key, value in (overrides or {}).items():
        set_dotted(merged, key, value)
    if "stage" not in merged:
        raise ConfigError("stage: missing (vae, teacher or student)")
    return from_dict(RunConfig, merged)


def _deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


CONFIG_DIR = Path(__file__).resolve().parent / "configs"


OVERLAY_DIR = CONFIG_DIR / "overlays"


def overlay_file(name: str | Path) -> Path:
    """An overlay: a name from ``models/train/configs/overlays`` (``no-distill``,
    ``small-refine`` ...) or a path to a YAML file of the same form."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        if not path.is_file():
            raise ConfigError(f"{path}: overlay file not found")
        return path
    path = OVERLAY_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in OVERLAY_DIR.glob("*.yaml")))
        raise ConfigError(f"{name}: no such overlay (known: {known})")
    return path


def bundled_config(name: str) -> Path:
    """Path of a config shipped in ``models/train/configs`` (``tiny_vae``, ``small_student`` ...)."""
    path = CONFIG_DIR / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
        raise ConfigError(f"{path}: no such bundled config (known: {known})")
    return path
