"""The render pool on the training device, and each step's batch made there (issue 13).

The pool (``data.build_pool``: rendered once, by all CPU cores, before the budget clock
starts) is copied to the device as uint8. A step's batch is a gather of the indices
``StepSampler`` gives, then augmentation on the device, so the GPU never waits for a
DataLoader and a pool of N renders yields far more than N distinct samples:

- ``swap``: the reverse try-on, exact because the world renders both directions
  (person wearing A, flat B -> person wearing B) becomes (person wearing B, flat A ->
  person wearing A); masks swap with them;
- ``flip``: the whole sample mirrored;
- ``zoom``: person and target reframed alike (zoom in at a random offset);
- ``light``: exposure, white balance, contrast and gamma, one draw for the portrait and
  its target (one photo), another for the product shot (another photo);
- ``crop``: random crops (the VAE stage only: it is fully convolutional).

Everything random comes from a generator seeded by (seed, rank, step), so a batch is a
pure function of the step and a resumed run reads exactly what an uninterrupted one
would (exact resume).

Frozen-VAE stages may also encode the pool once per phase (``data.encode: pool``):
``pool_views`` augmented views of every sample become latents on the device, and a step
gathers latents (with ``swap`` still exact) instead of encoding its batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .config import AugmentConfig, DataConfig
from .data import Batch, StepSampler

IMAGES = ("person", "garment", "target", "garment_worn", "garment_square", "worn_square")
MASKS = ("target_mask", "person_mask")
FLOWS = ("target_flow", "person_flow")  # data.flow: (B, 2, H, W) pixel (x, y) in the product photo, NaN: none
# what the reverse direction exchanges
SWAP = (("person", "target"), ("garment", "garment_worn"), ("garment_square", "worn_square"),
        ("target_mask", "person_mask"), ("target_flow", "person_flow"), ("tokens_target", "tokens_person"))


def step_generator(seed: int, rank: int, step: int, device: torch.device, salt: int = 0) -> torch.Generator:
    s = (((seed * 1_000_003 + step) * 4_099 + rank) * 31 + salt + 17) % (2**63 - 1)
    return torch.Generator(device=device).manual_seed(s)


def _where(cond: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(cond.view(-1, *([1] * (a.dim() - 1))), a, b)


def swap_directions(d: dict[str, torch.Tensor], chosen: torch.Tensor) -> dict[str, torch.Tensor]:
    """Exchange the two directions of the samples where ``chosen`` (B,) is true."""
    out = dict(d)
    for a, b in SWAP:
        if a in d and b in d:
            out[a], out[b] = _where(chosen, d[b], d[a]), _where(chosen, d[a], d[b])
    return out


def flip(d: dict[str, torch.Tensor], chosen: torch.Tensor, keys) -> dict[str, torch.Tensor]:
    """Mirror the ``chosen`` samples; a flow is mirrored and points into the mirrored
    product photo (x -> W - x: pixel centres sit at +0.5)."""
    out = dict(d)
    for k in d.keys() & set(keys):
        m = d[k].flip(-1)
        if k in FLOWS:
            m = torch.stack([m.shape[-1] - m[:, 0], m[:, 1]], dim=1)
        out[k] = _where(chosen, m, d[k])
    return out


def flow_tokens(flow: torch.Tensor, latent_hw: tuple[int, int]) -> torch.Tensor:
    """(B, h*w) int64: for each latent cell of the portrait (its centre pixel), the index of
    the garment latent cell whose pixels its fabric comes from; -1 where the flow is undefined."""
    b, _, H, W = flow.shape
    h, w = latent_hw
    fy, fx = H // h, W // w
    c = flow[:, :, fy // 2 :: fy, fx // 2 :: fx][:, :, :h, :w].float()
    ok = ~torch.isnan(c[:, 0]) & ~torch.isnan(c[:, 1])
    col = (torch.nan_to_num(c[:, 0]) / fx).floor().clamp(0, w - 1)
    row = (torch.nan_to_num(c[:, 1]) / fy).floor().clamp(0, h - 1)
    idx = (row * w + col).long()
    return torch.where(ok, idx, torch.full_like(idx, -1)).flatten(1)


def zoom_grid(u: torch.Tensor, strength: float, size: tuple[int, int]) -> torch.Tensor:
    """Sampling grids (B, H, W, 2) that zoom in by 1 + strength * u[:, 0] at offsets u[:, 1:3]."""
    scale = 1.0 / (1.0 + strength * u[:, 0])
    room = 1.0 - scale
    theta = torch.zeros(u.shape[0], 2, 3, device=u.device)
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale
    theta[:, 0, 2] = room * (2 * u[:, 1] - 1)
    theta[:, 1, 2] = room * (2 * u[:, 2] - 1)
    return F.affine_grid(theta, [u.shape[0], 1, *size], align_corners=False)


def light(x: torch.Tensor, u: torch.Tensor, strength: float) -> torch.Tensor:
    """Photo jitter of [0, 1] images: exposure, white balance, contrast, gamma (u: (B, 6) in [0, 1])."""
    s = (2 * u - 1) * strength
    gain = torch.exp(s[:, 0:1, None, None] + 0.5 * s[:, 1:4, None, None])  # exposure x white balance
    x = x * gain
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * (1 + s[:, 4, None, None, None]) + mean
    return x.clamp(0, 1).pow(torch.exp(s[:, 5, None, None, None]))


def to_unit(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255.0)


def from_unit(x: torch.Tensor) -> torch.Tensor:
    return x.mul(2.0).sub_(1.0)


def augment(d: dict[str, torch.Tensor], aug: AugmentConfig, gen: torch.Generator,
            crop: bool = False, apply=None) -> dict[str, torch.Tensor]:
    """Augment a gathered uint8 batch; returns float images in [-1, 1] and 0/1 float masks.

    The random draws happen here; ``apply`` (``augment_with``, or a compiled copy of it:
    a few fused kernels instead of a hundred small launches) does the rest.
    """
    first = next(iter(d.values()))
    b, device = first.shape[0], first.device
    r = torch.rand((b, 16), generator=gen, device=device)
    offsets = None
    if crop and aug.crop:
        H, W = first.shape[-2:]
        ch, cw = aug.crop
        if ch > H or cw > W:
            raise ValueError(f"data.augment.crop {ch}x{cw} is larger than the images ({H}x{W})")
        offsets = (torch.randint(0, H - ch + 1, (b,), generator=gen, device=device),
                   torch.randint(0, W - cw + 1, (b,), generator=gen, device=device))
    return (apply or augment_with)(d, r, aug, offsets)


def augment_with(d: dict[str, torch.Tensor], r: torch.Tensor, aug: AugmentConfig,
                 offsets: tuple[torch.Tensor, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """``augment`` given its draws: ``r`` (B, 16) uniform, ``offsets`` the crop corners."""
    if aug.swap > 0 and "garment_worn" in d:
        d = swap_directions(d, (r[:, 0] < aug.swap) & d["swappable"].bool())
    keep = ("person", "garment", "target", "garment_square", *MASKS, "target_flow")
    if offsets is not None:  # crops (the VAE stage) cut the portrait, not the product photo a flow points into
        keep = keep[:-1]
    d = {k: v for k, v in d.items() if k in keep}
    if aug.flip > 0:
        d = flip(d, r[:, 1] < aug.flip, d.keys())
    f = {k: (v.float() if k in MASKS or k in FLOWS else to_unit(v)) for k, v in d.items()}
    if aug.zoom > 0:
        size = tuple(f["person"].shape[-2:])
        grid = zoom_grid(r[:, 2:5], aug.zoom, size)
        for k in ("person", "target"):
            f[k] = F.grid_sample(f[k], grid, mode="bilinear", padding_mode="border", align_corners=False)
        for k in MASKS:
            f[k] = (F.grid_sample(f[k], grid, mode="bilinear", padding_mode="border", align_corners=False) > 0.5).float()
        if "target_flow" in f:  # the portrait reframed, the product photo it points into not
            f["target_flow"] = F.grid_sample(f["target_flow"], grid, mode="nearest", padding_mode="border",
                                             align_corners=False)
    if aug.light > 0:
        for k in ("person", "target"):
            f[k] = light(f[k], r[:, 5:11], aug.light)
        for k in ("garment", "garment_square"):
            f[k] = light(f[k], r[:, 10:16], aug.light)
    out = {k: (v if k in MASKS or k in FLOWS else from_unit(v)) for k, v in f.items()}
    if offsets is not None:
        out = crop_at(out, aug.crop, *offsets)
    return out


def random_crops(d: dict[str, torch.Tensor], size: tuple[int, int], gen: torch.Generator) -> dict[str, torch.Tensor]:
    """The same random (h, w) window of every full-size image of a sample."""
    b, _, H, W = d["person"].shape
    y0 = torch.randint(0, H - size[0] + 1, (b,), generator=gen, device=d["person"].device)
    x0 = torch.randint(0, W - size[1] + 1, (b,), generator=gen, device=d["person"].device)
    return crop_at(d, size, y0, x0)


def crop_at(d: dict[str, torch.Tensor], size: tuple[int, int], y0: torch.Tensor, x0: torch.Tensor):
    """The (h, w) window at (y0, x0) of every full-size image of each sample, one gather."""
    ch, cw = size
    ref = d["person"]
    b, _, H, W = ref.shape
    rows = (y0[:, None] + torch.arange(ch, device=ref.device))[:, None, :, None]
    cols = (x0[:, None] + torch.arange(cw, device=ref.device))[:, None, None, :]
    bi = torch.arange(b, device=ref.device)[:, None, None, None]
    out = dict(d)
    for k, v in d.items():
        if v.dim() == 4 and tuple(v.shape[-2:]) == (H, W):
            ci = torch.arange(v.shape[1], device=ref.device)[None, :, None, None]
            out[k] = v[bi, ci, rows, cols]
    return out


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A (memory-mapped, read-only) pool array as a tensor without a copy: never written to."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.as_tensor(np.asarray(array))


def _to_batch(f: dict[str, torch.Tensor], category: torch.Tensor, channels_last: bool) -> Batch:
    def img(x):
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    flow = f.get("target_flow")
    return Batch(person=img(f["person"]), garment=img(f["garment"]), target=img(f["target"]),
                 garment_square=img(f["garment_square"]), target_mask=f["target_mask"],
                 person_mask=f["person_mask"], category=category, target_flow=flow)


class DevicePool:
    """A rendered pool as uint8 tensors on the training device; ``batch(b, step)`` makes
    global batch ``b`` of the phase (this rank's share), augmented."""

    def __init__(self, arrays: dict[str, np.ndarray], cfg: DataConfig, device: torch.device, batch_size: int,
                 rank: int, world_size: int, seed: int, crop: bool = False, channels_last: bool = False,
                 compile: bool = False):
        self.cfg = cfg
        self.device = device
        self.crop = crop
        self.channels_last = channels_last
        self.apply = torch.compile(augment_with, dynamic=False) if compile else augment_with
        self.data = {k: _tensor(v).to(device) for k, v in arrays.items()}
        self.n = int(self.data["category"].shape[0])
        self.sampler = StepSampler(self.n, batch_size, rank, world_size, seed)
        self.seed, self.rank = seed, rank
        self._perm: dict = {}

    def indices(self, b: int) -> torch.Tensor:
        """This rank's pool indices of global batch ``b``, made on the device: the epoch
        permutations travel once per epoch, so no step waits for a host-to-device copy."""
        s = self.sampler
        base = b * s.batch_size * s.world_size + s.rank * s.batch_size
        pos = base + torch.arange(s.batch_size, device=self.device)
        e0, e1 = divmod(base, self.n)[0], divmod(base + s.batch_size - 1, self.n)[0]
        perms = [self._epoch_perm(e) for e in range(e0, e1 + 1)]
        if len(perms) == 1:
            return perms[0][pos - e0 * self.n]
        epoch = torch.div(pos, self.n, rounding_mode="floor")
        return torch.stack(perms)[epoch - e0, pos % self.n]

    def _epoch_perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perm:
            while len(self._perm) >= 2:
                self._perm.pop(min(self._perm))
            perm = self.sampler.epoch_order(epoch)
            if self.device.type == "cuda":
                perm = perm.pin_memory()
            self._perm[epoch] = perm.to(self.device, non_blocking=True)
        return self._perm[epoch]

    def batch(self, b: int, step: int) -> Batch:
        idx = self.indices(b)
        gen = step_generator(self.seed, self.rank, step, self.device)
        d = {k: v.index_select(0, idx) for k, v in self.data.items() if k != "category"}
        f = augment(d, self.cfg.augment, gen, crop=self.crop, apply=self.apply)
        return _to_batch(f, self.data["category"].index_select(0, idx), self.channels_last)

    def nbytes(self) -> int:
        return sum(v.numel() * v.element_size() for v in self.data.values())


class LatentPool(DevicePool):
    """``pool_views`` augmented views of every pooled sample, encoded once by the frozen VAE.

    View 0 is the sample as rendered; view v >= 1 is mirrored when v is odd and gets the
    config's zoom and light jitter (seeded by the run seed and v). Both directions are
    encoded, so ``swap`` stays exact at gather time. A step gathers (sample, view) pairs.
    """

    def __init__(self, arrays: dict[str, np.ndarray], cfg: DataConfig, device: torch.device, batch_size: int,
                 rank: int, world_size: int, seed: int, encode: Callable[[torch.Tensor], torch.Tensor],
                 latent_hw: tuple[int, int], chunk: int = 64, channels_last: bool = False):
        self.cfg = cfg
        self.device = device
        self.channels_last = channels_last
        self.seed, self.rank = seed, rank
        self.views = cfg.pool_views
        pixels = {k: _tensor(v) for k, v in arrays.items()}
        self.n = int(pixels["category"].shape[0])
        self.sampler = StepSampler(self.n, batch_size, rank, world_size, seed)
        self._perm = {}
        store: dict[str, list[torch.Tensor]] = {}
        quiet = AugmentConfig(swap=0.0, flip=0.0, zoom=cfg.augment.zoom, light=cfg.augment.light)
        with torch.no_grad():
            for off in range(0, self.n, chunk):
                part = {k: v[off: off + chunk].to(device) for k, v in pixels.items() if k != "category"}
                b = part["person"].shape[0]
                for v in range(self.views):
                    if v == 0:
                        f = {k: (x.float() if k in MASKS or k in FLOWS else from_unit(to_unit(x)))
                             for k, x in part.items() if k != "swappable"}
                    else:
                        gen = step_generator(seed, 0, off, device, salt=v)
                        mirrored = flip(part, torch.full((b,), v % 2 == 1, device=device), IMAGES + MASKS + FLOWS)
                        f = self._augment_both(mirrored, quiet, gen)
                    views = self._encode_view(f, encode, latent_hw)
                    for k, x in views.items():
                        store.setdefault(k, []).append(x)
        # (N, views, ...) -> flat index n * views + v
        self.data = {}
        for k, parts in store.items():
            per_view = [torch.cat(parts[v::self.views]) for v in range(self.views)]
            self.data[k] = torch.stack(per_view, dim=1).flatten(0, 1)
        self.data["category"] = pixels["category"].to(device)
        self.data["swappable"] = pixels["swappable"].to(device)

    @staticmethod
    def _augment_both(d, aug: AugmentConfig, gen) -> dict[str, torch.Tensor]:
        """The view's zoom/light for both directions at once (the worn garment lit like the garment)."""
        twin = torch.Generator(device=gen.device)
        twin.set_state(gen.get_state())  # the same draws for both directions
        fwd = augment(dict(d), aug, gen)
        rev = augment(swap_directions(d, torch.ones_like(d["swappable"], dtype=torch.bool)), aug, twin)
        out = {**fwd, "garment_worn": rev["garment"], "worn_square": rev["garment_square"]}
        if "target_flow" in rev:
            out["person_flow"] = rev["target_flow"]
        return out

    @staticmethod
    def _encode_view(f: dict[str, torch.Tensor], encode, latent_hw) -> dict[str, torch.Tensor]:
        z = encode(torch.cat([f["person"], f["garment"], f["target"], f["garment_worn"]])).to(torch.bfloat16)
        zp, zg, zt, zw = z.chunk(4)
        sq = lambda x: ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)  # noqa: E731
        masks = {k: F.adaptive_max_pool2d(f[k], latent_hw).to(torch.uint8) for k in MASKS}
        tokens = {}
        if "target_flow" in f:  # int16: at most 32767 latent cells (1024x768 has 12288)
            tokens = {"tokens_target": flow_tokens(f["target_flow"], latent_hw).to(torch.int16),
                      "tokens_person": flow_tokens(f["person_flow"], latent_hw).to(torch.int16)}
        return {"z_person": zp, "z_garment": zg, "z_target": zt, "z_worn": zw,
                "garment_square": sq(f["garment_square"]), "worn_square": sq(f["worn_square"]), **masks, **tokens}

    def batch(self, b: int, step: int) -> Batch:
        idx = self.indices(b)
        gen = step_generator(self.seed, self.rank, step, self.device)
        r = torch.rand((idx.shape[0], 2), generator=gen, device=self.device)
        view = (r[:, 0] * self.views).long().clamp_(max=self.views - 1)
        flat = idx * self.views + view
        d = {k: v.index_select(0, flat) for k, v in self.data.items() if k not in ("category", "swappable")}
        if self.cfg.augment.swap > 0:
            chosen = (r[:, 1] < self.cfg.augment.swap) & self.data["swappable"].index_select(0, idx).bool()
            d = swap_directions({**d, "person": d.pop("z_person"), "target": d.pop("z_target"),
                                 "garment": d.pop("z_garment"), "garment_worn": d.pop("z_worn")}, chosen)
            d["z_person"], d["z_target"], d["z_garment"] = d.pop("person"), d.pop("target"), d.pop("garment")
        square = from_unit(to_unit(d["garment_square"]))
        if self.channels_last:
            square = square.contiguous(memory_format=torch.channels_last)
        tokens = d["tokens_target"].long() if "tokens_target" in d else None
        return Batch(person=None, garment=None, target=None, garment_square=square,
                     target_mask=d["target_mask"].float(), person_mask=d["person_mask"].float(),
                     category=self.data["category"].index_select(0, idx),
                     latents=(d["z_person"].float(), d["z_garment"].float(), d["z_target"].float()),
                     garment_tokens=tokens)


class BatchSource:
    """A phase's batches, by step: from a pool on the device, or from a DataLoader (uint8
    to the device, then the same augmentation there)."""

    def __init__(self, phase_start: int, pool: DevicePool | None = None, loader_factory=None,
                 cfg: DataConfig | None = None, crop: bool = False, device: torch.device | None = None,
                 seed: int = 0, rank: int = 0, channels_last: bool = False):
        self.phase_start = phase_start
        self.pool = pool
        self.loader_factory = loader_factory
        self.cfg, self.crop, self.device = cfg, crop, device
        self.seed, self.rank, self.channels_last = seed, rank, channels_last
        self._it = None

    def get(self, step: int) -> Batch:
        b = step - self.phase_start
        if self.pool is not None:
            return self.pool.batch(b, step)
        if self._it is None:  # a resumed run starts mid-phase: the loader starts at that batch
            self._it = iter(self.loader_factory(b))
        items = next(self._it)
        d = {k: v.to(self.device, non_blocking=True) for k, v in items.items()}
        category = d.pop("category").long()
        f = augment(d, self.cfg.augment, step_generator(self.seed, self.rank, step, self.device), crop=self.crop)
        return _to_batch(f, category, self.channels_last)

    def describe(self) -> str:
        if isinstance(self.pool, LatentPool):
            return (f"latent pool of {self.pool.n} samples x {self.pool.views} views on {self.pool.device} "
                    f"({self.pool.nbytes() / 2**30:.2f} GiB)")
        if self.pool is not None:
            return f"pool of {self.pool.n} samples on {self.pool.device} ({self.pool.nbytes() / 2**30:.2f} GiB)"
        return "DataLoader"
