"""Building blocks shared by GarmentNet and TryonNet (DESIGN §2, §3).

Plain PyTorch, written to export cleanly to ONNX (opset 18-20): no data-dependent control
flow, attention through ``scaled_dot_product_attention``.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with the largest of 32/16/8/4/2/1 groups that divides ``channels``."""
    for groups in (32, 16, 8, 4, 2, 1):
        if channels % groups == 0:
            return nn.GroupNorm(groups, channels, eps=1e-5)
    raise AssertionError("unreachable")


def conv3x3(cin: int, cout: int, separable: bool = False, stride: int = 1) -> nn.Module:
    """A 3x3 convolution; ``separable`` swaps it for depthwise 3x3 + pointwise 1x1."""
    if not separable:
        return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin),
        nn.Conv2d(cin, cout, 1),
    )


def sigma_embedding(sigma: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of the noise level ``sigma`` in [0, 1] (scaled to 0..1000)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=sigma.device) / half)
    args = (sigma.float() * 1000.0)[:, None] * freqs[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class SigmaEmbedding(nn.Module):
    """sigma -> sinusoid -> MLP, the time embedding added inside every ResBlock."""

    def __init__(self, base: int, dim: int):
        super().__init__()
        self.base = base
        self.linear_1 = nn.Linear(base, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(sigma_embedding(sigma, self.base))))


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, temb_dim: int, separable: bool = False):
        super().__init__()
        self.norm1 = group_norm(cin)
        self.conv1 = conv3x3(cin, cout, separable)
        self.temb_proj = nn.Linear(temb_dim, cout)
        self.norm2 = group_norm(cout)
        self.conv2 = conv3x3(cout, cout, separable)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Downsample(nn.Module):
    def __init__(self, channels: int, separable: bool = False):
        super().__init__()
        self.conv = conv3x3(channels, channels, separable, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels: int, separable: bool = False):
        super().__init__()
        self.conv = conv3x3(channels, channels, separable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, ort_kernel: bool = False) -> torch.Tensor:
    """Multi-head scaled dot-product attention over tokens: q (B, Sq, C), k and v (B, Sk, C).

    ``ort_kernel`` (export only, :func:`use_ort_attention`) writes the whole attention as one
    ONNX Runtime ``com.microsoft.MultiHeadAttention`` node: on a CPU its kernel works through
    the keys block by block and never holds the (heads x queries x keys) score matrix, which
    at 1024x768 is gigabytes per layer as separate MatMul/Softmax/MatMul nodes, and it is
    faster than those nodes (benchmarks/engine_profile.py, docs/benchmarks.md).
    """
    if ort_kernel and torch.onnx.is_in_onnx_export():
        return torch.onnx.ops.symbolic("com.microsoft::MultiHeadAttention", (q, k, v), {"num_heads": heads},
                                       dtype=q.dtype, shape=q.shape, version=1)
    return _merge(F.scaled_dot_product_attention(_heads(q, heads), _heads(k, heads), _heads(v, heads)))


def use_ort_attention(module: nn.Module, on: bool) -> None:
    """Export every attention layer in ``module`` as ONNX Runtime's fused attention node (or not)."""
    for m in module.modules():
        if isinstance(m, (Attention, DecoupledCrossAttention)):
            m.ort_kernel = on


def _heads(x: torch.Tensor, n: int) -> torch.Tensor:
    b, t, c = x.shape
    return x.reshape(b, t, n, c // n).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    b, n, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, n * d)


class Attention(nn.Module):
    """Multi-head attention; ``kv_extra`` tokens are appended to the keys/values.

    The appended tokens are how GarmentNet's hidden states enter TryonNet's
    self-attention (multi-scale fusion, reference-net style).
    """

    def __init__(self, dim: int, heads: int, kv_dim: int | None = None):
        super().__init__()
        kv_dim = kv_dim or dim
        self.heads = heads
        self.ort_kernel = False  # export only: see use_ort_attention
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(kv_dim, dim, bias=False)
        self.to_v = nn.Linear(kv_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        context = x if context is None else context
        out = attention(self.to_q(x), self.to_k(context), self.to_v(context), self.heads, self.ort_kernel)
        return self.to_out(out)


class DecoupledCrossAttention(nn.Module):
    """``attn(q, K_cat, V_cat) + scale * attn(q, K_img, V_img)`` (IP-Adapter style).

    The category tokens replace text; the image tokens come from the Light-Adapter.
    """

    def __init__(self, dim: int, heads: int, context_dim: int, image_scale: float = 1.0):
        super().__init__()
        self.heads = heads
        self.image_scale = image_scale
        self.ort_kernel = False  # export only: see use_ort_attention
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_k_img = nn.Linear(context_dim, dim, bias=False)
        self.to_v_img = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, category_ctx: torch.Tensor, image_tokens: torch.Tensor) -> torch.Tensor:
        q, h, ort_kernel = self.to_q(x), self.heads, self.ort_kernel
        out = attention(q, self.to_k(category_ctx), self.to_v(category_ctx), h, ort_kernel)
        img = attention(q, self.to_k_img(image_tokens), self.to_v_img(image_tokens), h, ort_kernel)
        return self.to_out(out + self.image_scale * img)


class GEGLU(nn.Module):
    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        self.proj = nn.Linear(dim, dim * mult * 2)
        self.out = nn.Linear(dim * mult, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, gate = self.proj(x).chunk(2, dim=-1)
        return self.out(a * F.gelu(gate))


class TransformerBlock(nn.Module):
    """Self-attention (+ garment K/V) -> decoupled cross-attention -> GEGLU feed-forward."""

    def __init__(self, dim: int, heads: int, context_dim: int, image_scale: float, image_attention: bool):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.image_attention = image_attention
        if image_attention:
            self.attn2 = DecoupledCrossAttention(dim, heads, context_dim, image_scale)
        else:
            self.attn2 = Attention(dim, heads, kv_dim=context_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = GEGLU(dim)

    def forward(
        self,
        x: torch.Tensor,
        category_ctx: torch.Tensor,
        image_tokens: torch.Tensor | None,
        garment_feature: torch.Tensor | None,
        capture: list[torch.Tensor] | None,
    ) -> torch.Tensor:
        n = self.norm1(x)
        if capture is not None:  # GarmentNet: hand the self-attention input to TryonNet
            capture.append(n)
        kv = n if garment_feature is None else torch.cat([n, garment_feature], dim=1)
        x = x + self.attn1(n, kv)
        n = self.norm2(x)
        if self.image_attention:
            x = x + self.attn2(n, category_ctx, image_tokens)
        else:
            x = x + self.attn2(n, category_ctx)
        return x + self.ff(self.norm3(x))


class SpatialTransformer(nn.Module):
    """GroupNorm -> proj_in -> TransformerBlock -> proj_out, residual (SD-style)."""

    def __init__(self, channels: int, head_dim: int, context_dim: int, image_scale: float, image_attention: bool):
        super().__init__()
        self.norm = group_norm(channels)
        self.proj_in = nn.Linear(channels, channels)
        self.block = TransformerBlock(channels, channels // head_dim, context_dim, image_scale, image_attention)
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x, category_ctx, image_tokens=None, garment_feature=None, capture=None):
        b, c, h, w = x.shape
        # tokens through NHWC: a view, no copy, when training runs channels-last
        t = self.proj_in(self.norm(x).permute(0, 2, 3, 1).reshape(b, h * w, c))
        t = self.block(t, category_ctx, image_tokens, garment_feature, capture)
        return x + self.proj_out(t).reshape(b, h, w, c).permute(0, 3, 1, 2)


class GarmentAttention(nn.Module):
    """The person half of the LC canvas attends to its garment half (rows ``person_rows:``).

    Queries are the person's tokens, keys and values the garment's, all at the top latent
    level; the result is added to the person half only. The output projection starts at
    zero, so a new layer begins as the identity. It exports as ONNX Runtime's fused
    attention like every other attention layer.
    """

    def __init__(self, channels: int, head_dim: int):
        super().__init__()
        if channels % head_dim:
            head_dim = next(d for d in (32, 16, 8, 4, 2, 1) if channels % d == 0)
        self.norm = group_norm(channels)
        self.attn = Attention(channels, channels // head_dim)
        nn.init.zeros_(self.attn.to_out.weight)
        nn.init.zeros_(self.attn.to_out.bias)
        self.record: list | None = None  # training only (``recording``): each call's (query, key/value) tokens

    @contextlib.contextmanager
    def recording(self):
        """Within the block, each call appends its normalised (query, key/value) tokens to the
        yielded list (the correspondence loss reads them)."""
        self.record = []
        try:
            yield self.record
        finally:
            self.record = None

    def forward(self, h: torch.Tensor, person_rows: int) -> torch.Tensor:
        b, c, rows, w = h.shape
        n = self.norm(h).permute(0, 2, 3, 1)
        q = n[:, :person_rows].reshape(b, person_rows * w, c)
        kv = n[:, person_rows:].reshape(b, (rows - person_rows) * w, c)
        if self.record is not None:
            self.record.append((q, kv))
        out = self.attn(q, kv).reshape(b, person_rows, w, c).permute(0, 3, 1, 2)
        return torch.cat([h[:, :, :person_rows] + out, h[:, :, person_rows:]], dim=2)
