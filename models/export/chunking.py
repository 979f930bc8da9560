"""Export only: the transformer feed-forward (GEGLU) written in slices of its hidden units.

``GEGLU`` computes ``out(a * gelu(gate))`` with ``a, gate = proj(x).chunk(2)``: at 1024x768
the level-1 layers of ``full`` (6,144 tokens, 448 channels) make an 88 MiB ``proj`` output,
then 44 MiB each for ``a``, ``gate``, ``gelu(gate)`` and the product, several of them alive
at once, and most of TryonNet's transient memory grows there (docs/benchmarks.md, issue 17).
The exported graph instead works through the hidden units in slices::

    out(x) = sum_k  (x Wa_k + ba_k) * gelu(x Wg_k + bg_k)  Wout_k^T   (+ bout)

Each slice's tensors are ``tokens x slice`` wide, so the whole 4x-wide hidden activation
never exists. The weight slices are constants folded at export (``optimize_graph``), each
one an initializer of its own: no weight is stored twice (slicing over tokens instead
shares one weight among several int8 MatMuls, and ORT pre-packs it more than once: a toy
graph's session doubled). The
result is the same sum in another order (float rounding only, tests/test_export_chunking.py).

Nothing here changes training: :func:`chunked_feed_forward` swaps the class of every
``GEGLU`` in a module for the length of an export and puts it back after.

Off by default (``export_bundle(ffn_slice_bytes=None)``): measured on ``full`` INT8 at
1024x768, the slices lower TryonNet's peak only while ONNX Runtime reuses buffers, which
the engine no longer lets it do; without reuse the slices' many 10 MiB tensors stay on
glibc's heap where the whole layer's 44-88 MiB ones were mapped and unmapped, and the
peak is no lower (docs/benchmarks.md, issue 17).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..nets.layers import GEGLU

# A slice size to try (``--ffn-slice-mib 12``): about as large as the other tensors of a
# level-1 layer at 1024x768 (6,144 x 448 floats = 10.5 MiB). Where the hidden activation fits
# whole (512x384 and below, every `small` layer), the graph is the same as without slices.
FFN_SLICE_BYTES = 12 * 2**20


def hidden_slices(tokens: int, hidden: int, max_bytes: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each slice of ``hidden`` units: as few slices as keep one
    ``tokens x slice`` float32 tensor within ``max_bytes``, of near-equal widths."""
    n = max(1, min(hidden, math.ceil(tokens * hidden * 4 / max_bytes)))
    width = math.ceil(hidden / n)
    return [(s, min(s + width, hidden)) for s in range(0, hidden, width)]


class SlicedGEGLU(GEGLU):
    """``GEGLU`` with the forward above; the same parameters (its class is swapped in)."""

    slice_bytes: int = FFN_SLICE_BYTES

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.out.in_features
        slices = hidden_slices(x.shape[-2], hidden, self.slice_bytes)
        if len(slices) == 1:
            return super().forward(x)
        w, b = self.proj.weight, self.proj.bias
        out = None
        for i, (s, e) in enumerate(slices):
            a = F.linear(x, w[s:e], b[s:e])
            gate = F.linear(x, w[hidden + s:hidden + e], b[hidden + s:hidden + e])
            last = i == len(slices) - 1
            part = F.linear(a * F.gelu(gate), self.out.weight[:, s:e], self.out.bias if last else None)
            out = part if out is None else out + part
        return out


@contextlib.contextmanager
def chunked_feed_forward(module: nn.Module, slice_bytes: int | None = FFN_SLICE_BYTES) -> Iterator[None]:
    """Within the block, every ``GEGLU`` in ``module`` runs (and exports) in hidden-unit slices
    of at most ``slice_bytes`` per activation; ``None`` leaves them whole. Restored after."""
    swapped = []
    if slice_bytes is not None:
        for m in module.modules():
            if type(m) is GEGLU:
                m.__class__ = SlicedGEGLU
                m.slice_bytes = slice_bytes
                swapped.append(m)
    try:
        yield
    finally:
        for m in swapped:
            m.__class__ = GEGLU
            del m.slice_bytes
