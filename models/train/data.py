"""Synthetic try-on data -> training batches (DESIGN §7).

Each item is one ``TryOnSample`` of the synthetic world, rendered on the fly (in
DataLoader workers) or once into a pool that every stage of a run reuses (``cache``).
Images travel as uint8 and become [-1, 1] floats on the training device.

``StepSampler`` is a deterministic, rank-sharded, infinite index stream: global batch
``b`` is a fixed slice of a seeded permutation, and rank ``r`` takes its share of it. It
starts at any batch, so a resumed run reads exactly the samples an uninterrupted one
would have read (exact resume), and it shards like ``DistributedSampler``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing as mp
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from engine.errors import InputError
from engine.images import resize_square

from ..data.sample import CATEGORIES
from .config import ConfigError, DataConfig

FIELDS = ("person", "garment", "target", "garment_square", "target_mask", "person_mask",
          "garment_worn", "worn_square", "swappable")
FLOWS = ("target_flow", "person_flow")  # with data.flow: float16 (2, H, W), NaN where undefined


def fields(cfg: DataConfig) -> tuple[str, ...]:
    return FIELDS + FLOWS if cfg.flow else FIELDS


def render_item(world, index: int, square: int) -> dict[str, np.ndarray]:
    """One sample as uint8 arrays: CHW images, the adapter's letterboxed garment, the masks.

    ``garment_worn`` (the flat garment the person wears, with its square) makes the reverse
    try-on a sample too (``swappable``); where it is unknown it repeats ``garment`` and
    ``swappable`` is 0. Paired data (the person already wears the garment) is its own reverse.
    """
    s = world.sample(index) if hasattr(world, "sample") else world[index]
    if s.target is None:
        raise ConfigError(f"sample {s.id} has no ground truth: train on paired data (data.mode: paired) "
                          "or on a set with targets (synthetic, pseudo-triplets)")
    empty = np.zeros(s.target.shape[:2], bool)
    mask = s.target_mask if s.target_mask is not None else empty
    person_mask = s.person_mask if s.person_mask is not None else empty
    known = s.garment_worn is not None and s.garment_worn.shape == s.garment.shape
    worn = s.garment_worn if known else s.garment

    def chw(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a.transpose(2, 0, 1))

    flows = {}
    if s.target_flow is not None:  # the reverse try-on's flow is the person's
        back = s.person_flow if known and s.person_flow is not None else np.full_like(s.target_flow, np.nan)
        flows = {"target_flow": chw(s.target_flow).astype(np.float16), "person_flow": chw(back).astype(np.float16)}
    return {
        "person": chw(s.person),
        "garment": chw(s.garment),
        "target": chw(s.target),
        "garment_square": chw(resize_square(s.garment, square)),
        "target_mask": mask[None].astype(np.uint8),
        "person_mask": person_mask[None].astype(np.uint8),
        "garment_worn": chw(worn),
        "worn_square": chw(resize_square(worn, square)),
        "swappable": np.uint8(known and not s.paired),
        "category": np.int64(CATEGORIES.index(s.category)),
        **flows,
    }


def make_world(cfg: DataConfig, seed: int | None = None, n: int | None = None, split: str | None = None):
    """The sample source: the synthetic world, or a dataset folder opened by ``models.data``."""
    if cfg.source != "synthetic":
        from ..data.datasets import open_dataset

        return open_dataset(Path(cfg.source).expanduser(), split=split or cfg.split, mode=cfg.mode,
                            size=tuple(cfg.size), categories=cfg.categories)
    from ..data.synthetic import SyntheticWorld

    return SyntheticWorld(
        seed=cfg.world_seed if seed is None else seed, size=tuple(cfg.size),
        n=max(1, n if n is not None else cfg.num_samples or 1), categories=cfg.categories, flow=cfg.flow,
    )


def source_size(cfg: DataConfig) -> int:
    """Distinct samples: ``num_samples`` (0 for synthetic = unbounded), at most a folder's length."""
    if cfg.source == "synthetic":
        return cfg.num_samples
    n = len(make_world(cfg))
    return min(n, cfg.num_samples) if cfg.num_samples > 0 else n


_POOL_WORLD = None


def _pool_init(cfg: DataConfig, square: int) -> None:
    global _POOL_WORLD
    torch.set_num_threads(1)
    if cfg.source == "synthetic":  # a process that only renders: keep freed memory for reuse (docs/data.md)
        from ..data.synthetic import tune_allocator

        tune_allocator()
    _POOL_WORLD = (make_world(cfg), square)


def render_flows(world, index: int) -> dict[str, np.ndarray]:
    """One synthetic sample's garment flows alone, as ``render_item`` gives them (no image is drawn)."""
    from ..data.synthetic.correspondence import garment_flow

    spec = world.spec(index)
    return {k: np.ascontiguousarray(garment_flow(spec, world.size, which).transpose(2, 0, 1)).astype(np.float16)
            for k, which in (("target_flow", "b"), ("person_flow", "a"))}


def _pool_render(index: int) -> dict[str, np.ndarray]:
    world, square = _POOL_WORLD
    return render_item(world, index, square)


def _pool_render_flows(index: int) -> dict[str, np.ndarray]:
    return render_flows(_POOL_WORLD[0], index)


def pool_key(cfg: DataConfig, square: int) -> str:
    text = json.dumps([fields(cfg), cfg.source, cfg.split, cfg.mode, cfg.world_seed, list(cfg.size), list(cfg.categories),
                       cfg.num_samples, square])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def build_pool(cfg: DataConfig, square: int, folder: Path | None, workers: int, log=print) -> dict[str, np.ndarray]:
    """Render ``cfg.num_samples`` samples once (in ``workers`` processes).

    With ``folder`` the pool is kept as ``.npy`` files (memory-mapped when read back), so
    later stages and other ranks reuse it; a ``done.json`` marks it complete. With
    ``data.flow`` the garment flows are a pool of their own beside it, so the images
    rendered for an earlier stage (the VAE's) are reused and only the flows are drawn.
    """
    if cfg.flow:
        images = build_pool(dataclasses.replace(cfg, flow=False), square, folder, workers, log)
        return {**images, **_build(cfg, square, folder, workers, log, "flows", FLOWS, render_flows,
                                   _pool_render_flows)}
    return _build(cfg, square, folder, workers, log, "pool", (*FIELDS, "category"),
                  lambda world, i: render_item(world, i, square), _pool_render)


def _build(cfg: DataConfig, square: int, folder: Path | None, workers: int, log, kind: str, names, render, worker):
    """One pool of ``kind`` (its arrays ``names``): sample i is ``render(world, i)`` here, or
    ``worker(i)`` in each of ``workers`` processes (their world from ``_pool_init``)."""
    n = source_size(cfg)
    if folder is not None:
        folder = Path(folder) / f"{kind}-{cfg.size[0]}x{cfg.size[1]}-{pool_key(cfg, square)}"
        if (folder / "done.json").is_file():
            return {f: np.load(folder / f"{f}.npy", mmap_mode="r") for f in names}
    images = dataclasses.replace(cfg, flow=False)  # flows come from their own pool
    world = make_world(images)
    first = render(world, 0)
    arrays = {k: np.empty((n, *np.shape(v)), dtype=np.asarray(v).dtype) for k, v in first.items()}
    what = f"the garment flows of {n} samples" if kind == "flows" else f"a pool of {n} synthetic samples"
    log(f"rendering {what} at {cfg.size[0]}x{cfg.size[1]} ({max(1, workers)} processes)")
    if workers > 1 and n > 32:
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        with ctx.Pool(workers, initializer=_pool_init, initargs=(images, square)) as pool:
            for i, item in enumerate(pool.imap(worker, range(n), chunksize=8)):
                for k, v in item.items():
                    arrays[k][i] = v
    else:
        for i in range(n):
            item = first if i == 0 else render(world, i)
            for k, v in item.items():
                arrays[k][i] = v
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for k, v in arrays.items():
            np.save(folder / f"{k}.npy", v)
        (folder / "done.json").write_text(json.dumps({"samples": n, "size": list(cfg.size)}) + "\n")
        return {f: np.load(folder / f"{f}.npy", mmap_mode="r") for f in arrays}
    return arrays


class TryOnDataset(Dataset):
    """Synthetic try-on samples as dicts of uint8 tensors (CHW) and a category index."""

    def __init__(self, cfg: DataConfig, square: int, pool: dict[str, np.ndarray] | None = None):
        self.cfg = cfg
        self.square = square
        self.pool = pool
        self.world = None if pool is not None else make_world(cfg)
        self.n = len(pool["category"]) if pool is not None else source_size(cfg)

    def __len__(self) -> int:
        return self.n if self.n > 0 else 2**62

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self.pool is not None:
            item = {k: np.asarray(v[index]) for k, v in self.pool.items()}
        else:
            item = render_item(self.world, int(index), self.square)
        return {k: torch.as_tensor(np.array(v, copy=True)) for k, v in item.items()}


class StepSampler(Sampler[int]):
    """Infinite, seeded, rank-sharded index stream that can start at any global batch."""

    def __init__(self, num_samples: int, batch_size: int, rank: int = 0, world_size: int = 1,
                 seed: int = 0, start_batch: int = 0, shuffle: bool = True):
        self.n = num_samples  # 0 = unbounded: every position is a fresh sample
        self.batch_size = batch_size
        self.rank = rank
        self.world_size = world_size
        self.seed = seed
        self.start_batch = start_batch
        self.shuffle = shuffle

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The order in which epoch ``epoch`` visits the ``n`` samples (a seeded permutation)."""
        if not self.shuffle:
            return torch.arange(self.n)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def index_at(self, position: int, _cache: dict | None = None) -> int:
        if self.n <= 0:
            return position
        epoch, offset = divmod(position, self.n)
        cache = _cache if _cache is not None else {}
        if cache.get("epoch") != epoch:
            cache["epoch"], cache["perm"] = epoch, self.epoch_order(epoch).tolist()
        return cache["perm"][offset]

    def __iter__(self) -> Iterator[int]:
        cache: dict = {}
        b = self.start_batch
        global_batch = self.batch_size * self.world_size
        while True:
            base = b * global_batch + self.rank * self.batch_size
            for i in range(self.batch_size):
                yield self.index_at(base + i, cache)
            b += 1

    def __len__(self) -> int:  # DataLoader asks; the stream is endless
        return 2**62


@dataclass
class Batch:
    """A training batch on the device: images in [-1, 1] (B, 3, H, W), category (B,).

    Batches of a latent pool (``data.encode: pool``) carry the frozen VAE's latents
    ``(z_person, z_garment, z_target)`` instead of the three full-size images, and their
    masks at the latent grid.
    """

    person: torch.Tensor | None
    garment: torch.Tensor | None
    target: torch.Tensor | None
    garment_square: torch.Tensor
    target_mask: torch.Tensor  # (B, 1, H, W) float 0/1: the new garment on the target
    person_mask: torch.Tensor  # (B, 1, H, W) float 0/1: the old garment on the person
    category: torch.Tensor
    latents: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    # data.flow: where the target's garment fabric is in ``garment`` (B, 2, H, W) pixels, NaN
    # elsewhere; latent pools carry it as (B, h*w) garment latent cell indices (-1: none)
    target_flow: torch.Tensor | None = None
    garment_tokens: torch.Tensor | None = None

    @classmethod
    def from_items(cls, items: dict[str, torch.Tensor], device: torch.device) -> Batch:
        def img(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, non_blocking=True).float().div_(127.5).sub_(1.0)

        return cls(
            person=img(items["person"]), garment=img(items["garment"]), target=img(items["target"]),
            garment_square=img(items["garment_square"]),
            target_mask=items["target_mask"].to(device, non_blocking=True).float(),
            person_mask=items["person_mask"].to(device, non_blocking=True).float(),
            category=items["category"].to(device, non_blocking=True).long(),
        )

    @property
    def size(self) -> int:
        return self.category.shape[0]


def held_out_batch(cfg: DataConfig, square: int, count: int, device, offset: int = 0) -> Batch:
    """``count`` held-out samples (the world of ``eval_world_seed``, or a folder's test split)."""
    try:
        world = make_world(cfg, seed=cfg.eval_world_seed, n=offset + count, split="test")
    except (InputError, ValueError, OSError):  # a folder without a test split: its training split
        world = make_world(cfg)
    if not hasattr(world, "sample"):
        count = max(1, min(count, len(world) - offset))
    items = [render_item(world, offset + i, square) for i in range(count)]
    stacked = {k: torch.as_tensor(np.stack([it[k] for it in items])) for k in items[0]}
    return Batch.from_items(stacked, torch.device(device))


def make_loader(cfg: DataConfig, square: int, batch_size: int, rank: int, world_size: int, seed: int,
                start_batch: int, pool: dict | None, pin_memory: bool) -> DataLoader:
    dataset = TryOnDataset(cfg, square, pool)
    sampler = StepSampler(dataset.n, batch_size, rank, world_size, seed, start_batch)
    workers = cfg.num_workers
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, pin_memory=pin_memory,
        drop_last=True, persistent_workers=False, prefetch_factor=4 if workers > 0 else None,
        worker_init_fn=_worker_init if workers > 0 else None,
    )


def _worker_init(_: int) -> None:
    # rendering is numpy; one thread per worker keeps workers from fighting over cores
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
