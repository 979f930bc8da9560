"""The fake-score network of FGA distillation and its GAN head (DESIGN §6, DMD2).

``FakeScore`` starts as a copy of the teacher and is trained online, with the flow loss,
on the student's detached outputs: it tracks the score of the student's distribution,
while the frozen teacher gives the real score. A small conv head on the hidden state
after its middle transformer block classifies re-noised latents as real (ground truth)
or fake (student); both the head and the backbone learn from that loss.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .teachers import Cond, Teacher


class GANHead(nn.Module):
    """(B, D, h, w) features -> one logit per sample (patch logits averaged)."""

    def __init__(self, dim: int, hidden: int = 64):
        super().__init__()
        self.norm = nn.GroupNorm(1, dim)
        self.body = nn.Sequential(
            nn.Conv2d(dim, hidden, 3, padding=1), nn.SiLU(),
            nn.Conv2d(hidden, hidden, 4, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(hidden, 1, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.body(self.norm(features.float())).mean(dim=(1, 2, 3))


class FakeScore(nn.Module):
    def __init__(self, teacher: Teacher, head_channels: int = 64):
        super().__init__()
        self.net = copy.deepcopy(teacher)
        self.net.requires_grad_(True)
        self.net.train()
        self.head = GANHead(teacher.feature_dim, head_channels)

    @property
    def layout(self) -> str:
        return self.net.layout

    def predict_v(self, x: torch.Tensor, sigma: torch.Tensor, cond: Cond) -> torch.Tensor:
        return self.net.predict_v(x, sigma, cond)

    def predict_x0(self, x: torch.Tensor, sigma: torch.Tensor, cond: Cond) -> torch.Tensor:
        return self.net.predict_x0(x, sigma, cond)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond: Cond) -> tuple[torch.Tensor, torch.Tensor]:
        """``(v, logit)`` for a noisy latent in the teacher's layout."""
        v, features = self.net.predict_v_and_features(x, sigma, cond)
        return v, self.head(features)
