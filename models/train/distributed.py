"""Data-parallel training across processes: ``torchrun`` sets RANK/WORLD_SIZE/LOCAL_RANK.

NCCL on GPUs, gloo on CPU (so it is testable here). Gradients are averaged by one
all-reduce of a flat buffer per optimiser step, which also works with the per-network
backward passes of the student stage (DistributedDataParallel's hooks would not).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def pick_device(pref: str, local_rank: int = 0) -> torch.device:
    if pref == "auto":
        pref = "cuda" if torch.cuda.is_available() else "cpu"
    if pref == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device cuda was asked for but no CUDA GPU is available")
        return torch.device("cuda", local_rank)
    return torch.device(pref)


def init_distributed(device_pref: str) -> tuple[DistInfo, torch.device, bool]:
    """Join the process group torchrun describes (if any). Returns (info, device, whether
    this call created the group, and so should destroy it)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_pref, local)
    created = False
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
        created = True
    return DistInfo(rank, world, local), device, created


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def broadcast_module(module: nn.Module, info: DistInfo) -> None:
    """Make every rank start from rank 0's weights."""
    if not info.enabled:
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def all_reduce_grads(params: list[nn.Parameter], info: DistInfo, check: bool = True) -> None:
    """Average the gradients of ``params`` over ranks (parameters without a gradient are skipped).

    ``check`` first makes sure every rank has the same gradients to send; it waits for
    the GPU, so the trainer asks for it once per optimiser, not every step.
    """
    if not info.enabled or not params:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if check:
        count = torch.tensor([len(grads)], dtype=torch.int64, device=params[0].device)
        low = count.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        if int(low) != int(count):
            raise RuntimeError("ranks disagree on which parameters received gradients")
    if not grads:
        return
    flat = torch._utils._flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= info.world_size
    for g, synced in zip(grads, torch._utils._unflatten_dense_tensors(flat, grads), strict=True):
        g.copy_(synced)


def mean_over_ranks(values: dict[str, float], info: DistInfo, device: torch.device) -> dict[str, float]:
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= info.world_size
    return dict(zip(keys, t.tolist(), strict=True))


def any_rank(flag: bool, info: DistInfo, device: torch.device) -> bool:
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def ranks_in_sync(modules: list[nn.Module], info: DistInfo, device: torch.device) -> bool:
    """Whether every rank holds the same weights (a float64 checksum compared by min and max)."""
    if not info.enabled:
        return True
    with torch.no_grad():
        total = sum((p.detach().double() * (1.0 + (i % 7))).sum() for m in modules
                    for i, p in enumerate(m.parameters()))
    t = torch.as_tensor(total, dtype=torch.float64, device=device).reshape(1)
    lo, hi = t.clone(), t.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    return bool(lo.item() == hi.item())
