"""The numpy sampler (engine) and its torch mirror (training) must agree exactly."""

import numpy as np
import pytest
import torch

from engine.sampler import Sampler, default_sigmas, noise_source
from models.sampler import TorchSampler, add_noise


def test_default_sigmas():
    assert default_sigmas(4) == (1.0, 0.75, 0.5, 0.25)
    assert default_sigmas(1) == (1.0,)
    with pytest.raises(ValueError):
        default_sigmas(0)


def _velocity_np(w):
    return lambda x, s, i: np.tanh(x * w) * (1.0 + s) - 0.1 * i


def _velocity_torch(w):
    w = torch.from_numpy(w)
    return lambda x, s, i: torch.tanh(x * w) * (1.0 + s) - 0.1 * i


@pytest.mark.parametrize("kind", ["renoise", "euler"])
@pytest.mark.parametrize("steps", [1, 2, 4, 7])
def test_numpy_and_torch_samplers_agree(kind, steps):
    shape = (1, 4, 6, 5)
    rng = np.random.default_rng(steps)
    w = rng.standard_normal(shape).astype(np.float32)
    start, step_noise = noise_source(123, shape)
    fresh = [step_noise(i) for i in range(steps)]
    a = Sampler.with_steps(steps, kind).sample(_velocity_np(w), start, fresh)
    b = TorchSampler.with_steps(steps, kind).sample(
        _velocity_torch(w), torch.from_numpy(start), [torch.from_numpy(f) for f in fresh]
    )
    np.testing.assert_allclose(a, b.numpy(), rtol=1e-6, atol=1e-6)


def test_exact_velocity_recovers_x0_in_one_step():
    x0 = np.random.default_rng(0).standard_normal((1, 2, 3, 3)).astype(np.float32)
    eps = np.random.default_rng(1).standard_normal(x0.shape).astype(np.float32)
    out = Sampler.with_steps(1).sample(lambda x, s, i: eps - x0, eps)
    np.testing.assert_allclose(out, x0, atol=1e-6)


def test_add_noise_matches_flow_matching_definition():
    x0 = torch.ones(2, 1, 2, 2)
    eps = torch.zeros(2, 1, 2, 2)
    out = add_noise(x0, eps, torch.tensor([0.25, 1.0]))
    assert torch.allclose(out[0], torch.full_like(out[0], 0.75))
    assert torch.allclose(out[1], torch.zeros_like(out[1]))


def test_noise_is_seeded_and_per_step_independent():
    a0, an = noise_source(5, (3, 4))
    b0, bn = noise_source(5, (3, 4))
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(an(2), bn(2))
    assert not np.array_equal(an(1), an(2))
    c0, _ = noise_source(6, (3, 4))
    assert not np.array_equal(a0, c0)


def test_sigmas_must_decrease():
    with pytest.raises(ValueError):
        Sampler((0.5, 0.75))
