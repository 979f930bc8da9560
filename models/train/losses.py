"""The training losses, each a small function with its maths in the docstring (DESIGN §6).

Flow matching: ``x_s = (1 - s) x0 + s eps``, ``v = eps - x0``, ``x0 = x_s - s v``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bshape(sigma: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return sigma.float().reshape(-1, *([1] * (like.dim() - 1)))


def flow_loss(v_pred: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Flow matching: ``mean (v_pred - (eps - x0))^2``."""
    return F.mse_loss(v_pred.float(), (noise - x0).float())


def x0_loss(x0_pred: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """x0 reconstruction: ``mean (x0_pred - x0)^2``."""
    return F.mse_loss(x0_pred.float(), x0.float())


def region_weights(masks: torch.Tensor, latent_hw: tuple[int, int], weight: float, dilate: int = 1) -> torch.Tensor:
    """Per-latent-pixel loss weights ``1 + weight * region``: ``masks`` (B, k, H, W) 0/1 image
    masks, their union max-pooled to the latent grid and dilated by ``dilate`` latent pixels."""
    region = masks.float().amax(dim=1, keepdim=True)
    region = F.adaptive_max_pool2d(region, latent_hw)
    if dilate > 0:
        region = F.max_pool2d(region, 2 * dilate + 1, stride=1, padding=dilate)
    return 1.0 + weight * region


def weighted_x0_loss(x0_pred: torch.Tensor, x0: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``sum w (x0_pred - x0)^2 / sum w`` (weights broadcast over channels): equals
    :func:`x0_loss` for uniform weights."""
    w = weights.float().expand_as(x0)
    return (w * (x0_pred.float() - x0.float()) ** 2).sum() / w.sum()


def dmd_gradient(x: torch.Tensor, x0_real: torch.Tensor, x0_fake: torch.Tensor) -> torch.Tensor:
    """DMD2's normalised score difference ``g = (x0_fake - x0_real) / mean|x - x0_real|``.

    The mean is per sample (over C, H, W). ``-g`` points from what the student makes
    (fake score) towards what the teacher would make (real score).
    """
    x, x0_real, x0_fake = x.detach().float(), x0_real.detach().float(), x0_fake.detach().float()
    norm = (x - x0_real).abs().mean(dim=tuple(range(1, x.dim())), keepdim=True)
    return torch.nan_to_num((x0_fake - x0_real) / norm.clamp_min(1e-8))


def dmd_loss(x: torch.Tensor, g: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``0.5 ||x - sg(x - g)||^2``: its gradient w.r.t. ``x`` is exactly ``g`` (``sum``),
    or ``g / x.numel()`` with the ``mean`` reduction DMD2 uses."""
    target = (x.detach().float() - g.float()).detach()
    return 0.5 * F.mse_loss(x.float(), target, reduction=reduction)


def gan_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``mean softplus(-D(fake))`` (= -log sigmoid D(fake))."""
    return F.softplus(-fake_logits.float()).mean()


def gan_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``mean softplus(-D(real)) + mean softplus(D(fake))``: real pushed up, fake pushed down."""
    return F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()


def tcg_loss(reconstruction: torch.Tensor, z_garment: torch.Tensor) -> torch.Tensor:
    """TCG ``L_cons``: ``mean (GarmentNet.reconstruct(features at any sigma) - z_garment)^2``."""
    return F.mse_loss(reconstruction.float(), z_garment.detach().float())


def correspondence_loss(to_q: torch.nn.Module, to_k: torch.nn.Module, heads: int, q: torch.Tensor,
                        kv: torch.Tensor, tokens: torch.Tensor, queries: int, generator: torch.Generator) -> torch.Tensor:
    """The correspondence loss: ``mean -log (1/H sum_h softmax(q_h k_h^T / sqrt d)[target])`` over up to
    ``queries`` random query tokens per sample whose ``tokens`` (B, Nq) target is known
    (>= 0): each supervised person cell should attend, in the heads' mean, to the garment
    cell its fabric comes from. ``q`` (B, Nq, C) and ``kv`` (B, Nk, C) are the attention's
    normalised inputs; ``to_q``/``to_k`` its projections (only the chosen queries are
    projected, so the score matrix is (B, H, queries, Nk))."""
    b, nq, c = q.shape
    valid = tokens >= 0
    k = min(queries, nq)
    score = torch.rand((b, nq), generator=generator, device=q.device) + valid.float() * 2  # known ones first
    pick = score.topk(k, dim=1).indices
    known = valid.gather(1, pick)
    if not known.any():
        return q.new_zeros((), dtype=torch.float32)
    qs = to_q(q.gather(1, pick[..., None].expand(b, k, c)))
    keys = to_k(kv)
    d = c // heads
    qh = qs.float().reshape(b, k, heads, d).transpose(1, 2)
    kh = keys.float().reshape(b, -1, heads, d).transpose(1, 2)
    logp = torch.log_softmax(qh @ kh.transpose(-1, -2) * d**-0.5, dim=-1)  # (B, H, k, Nk)
    target = tokens.gather(1, pick).clamp_min(0)
    lp = logp.gather(-1, target[:, None, :, None].expand(b, heads, k, 1))[..., 0]  # (B, H, k)
    mean_p = torch.logsumexp(lp, dim=1) - math.log(heads)
    return -(mean_p * known).sum() / known.sum()


def image_gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]


def edge_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between horizontal and vertical image differences (sharp edges, no pretrained net)."""
    py, px = image_gradients(pred.float())
    ty, tx = image_gradients(target.float())
    return F.l1_loss(py, ty) + F.l1_loss(px, tx)


def multiscale_l1(pred: torch.Tensor, target: torch.Tensor, scales=(2, 4)) -> torch.Tensor:
    """L1 at coarser scales (average-pooled): colour and layout, not noise."""
    loss = pred.new_zeros((), dtype=torch.float32)
    for s in scales:
        loss = loss + F.l1_loss(F.avg_pool2d(pred.float(), s), F.avg_pool2d(target.float(), s))
    return loss / len(scales)


def sample_sigma(kind: str, n: int, generator: torch.Generator, device, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """Noise levels: ``uniform`` on [lo, hi] or SD3's ``logit_normal`` (m=0, s=1) squeezed into it."""
    if kind == "uniform":
        u = torch.rand(n, generator=generator, device=device)
    elif kind == "logit_normal":
        u = torch.sigmoid(torch.randn(n, generator=generator, device=device))
    else:
        raise ValueError(f"unknown sigma sampling {kind!r}")
    return lo + (hi - lo) * u
