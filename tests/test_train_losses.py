"""The maths of the training losses, EMA and config plumbing, on small tensors (no training)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from models.train import losses  # noqa: E402
from models.train.ema import EMA  # noqa: E402


def test_dmd_loss_gradient_is_the_normalised_score_difference():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 6, 5, generator=g, requires_grad=True)
    x0_real = torch.randn(3, 4, 6, 5, generator=g)
    x0_fake = torch.randn(3, 4, 6, 5, generator=g)
    grad = losses.dmd_gradient(x, x0_real, x0_fake)
    # g = (x0_fake - x0_real) / mean|x - x0_real|, the mean taken per sample
    norm = (x.detach() - x0_real).abs().mean(dim=(1, 2, 3), keepdim=True)
    torch.testing.assert_close(grad, (x0_fake - x0_real) / norm)

    (dx,) = torch.autograd.grad(losses.dmd_loss(x, grad, reduction="sum"), x)
    torch.testing.assert_close(dx, grad)  # d/dx 0.5 ||x - sg(x - g)||^2 = g exactly
    (dx_mean,) = torch.autograd.grad(losses.dmd_loss(x, grad), x)
    torch.testing.assert_close(dx_mean, grad / x.numel())  # DMD2's mean reduction


def test_dmd_gradient_vanishes_when_fake_matches_real_and_descends_towards_real():
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    real = torch.randn(2, 3, 4, 4)
    assert losses.dmd_gradient(x, real, real).abs().max() == 0
    fake = real + 0.5  # the student's distribution sits above the teacher's
    g = losses.dmd_gradient(x, real, fake)
    assert (g > 0).all()  # gradient descent moves x down, towards the real score's x0
    loss = losses.dmd_loss(x, g, reduction="sum")
    loss.backward()
    assert (x.grad > 0).all()


def test_gan_losses_softplus_forms_and_gradient_signs():
    real = torch.tensor([2.0, -1.0], requires_grad=True)
    fake = torch.tensor([0.5, -3.0], requires_grad=True)
    d = losses.gan_discriminator_loss(real, fake)
    sp = torch.nn.functional.softplus
    expected = sp(-real.detach()).mean() + sp(fake.detach()).mean()
    torch.testing.assert_close(d, expected)
    d.backward()
    assert (real.grad < 0).all()  # the critic pushes real logits up ...
    assert (fake.grad > 0).all()  # ... and fake logits down

    fake2 = torch.tensor([0.5, -3.0], requires_grad=True)
    gl = losses.gan_generator_loss(fake2)
    torch.testing.assert_close(gl, -torch.log(torch.sigmoid(fake2.detach())).mean())  # non-saturating
    gl.backward()
    assert (fake2.grad < 0).all()  # the generator pushes its logits up
    # at D = 0 both players see log 2 per term
    zero = torch.zeros(4)
    torch.testing.assert_close(losses.gan_generator_loss(zero), torch.log(torch.tensor(2.0)))
    torch.testing.assert_close(losses.gan_discriminator_loss(zero, zero), 2 * torch.log(torch.tensor(2.0)))


def test_tcg_loss_is_mse_to_the_clean_garment_latent_and_only_trains_the_reconstruction():
    z = torch.randn(2, 16, 4, 3, requires_grad=True)
    rec = torch.randn(2, 16, 4, 3, requires_grad=True)
    loss = losses.tcg_loss(rec, z)
    torch.testing.assert_close(loss, ((rec - z) ** 2).mean())
    loss.backward()
    assert z.grad is None  # the target is the clean latent, not trained through
    torch.testing.assert_close(rec.grad, 2 * (rec.detach() - z.detach()) / rec.numel())
    assert losses.tcg_loss(z.detach(), z) == 0


def test_flow_loss_is_zero_for_the_true_velocity():
    x0, eps = torch.randn(2, 16, 4, 4), torch.randn(2, 16, 4, 4)
    assert losses.flow_loss(eps - x0, x0, eps) == 0
    s = torch.tensor([0.3, 0.8])
    from models.sampler import add_noise

    xs = add_noise(x0, eps, s)
    # x0 = x_s - s v recovers the clean latent
    torch.testing.assert_close(xs - s.view(-1, 1, 1, 1) * (eps - x0), x0)


def test_sigma_sampling_ranges():
    g = torch.Generator().manual_seed(0)
    u = losses.sample_sigma("uniform", 1000, g, "cpu", 0.02, 0.98)
    assert u.min() >= 0.02 and u.max() <= 0.98
    ln = losses.sample_sigma("logit_normal", 1000, g, "cpu")
    assert 0 < ln.min() and ln.max() < 1 and abs(float(ln.mean()) - 0.5) < 0.05
    with pytest.raises(ValueError):
        losses.sample_sigma("cosine", 2, g, "cpu")


def test_ema_update_follows_its_formula_and_applied_restores():
    m = torch.nn.Linear(3, 2)
    frozen = torch.nn.Parameter(torch.ones(1), requires_grad=False)
    m.register_parameter("frozen", frozen)
    ema = EMA(m, decay=0.9)
    assert "frozen" not in ema.shadow
    start = m.weight.detach().clone()
    with torch.no_grad():
        m.weight.add_(1.0)
    ema.update(m)  # first update: d = min(0.9, 1/10) = 0.1
    torch.testing.assert_close(ema.shadow["weight"], 0.1 * start + 0.9 * (start + 1.0))
    ema.updates = 1000
    before = ema.shadow["weight"].clone()
    with torch.no_grad():
        m.weight.add_(1.0)
    ema.update(m)  # warm: d = 0.9
    torch.testing.assert_close(ema.shadow["weight"], 0.9 * before + 0.1 * m.weight.detach())
    live = m.weight.detach().clone()
    with ema.applied(m):
        torch.testing.assert_close(m.weight.detach(), ema.shadow["weight"])
    torch.testing.assert_close(m.weight.detach(), live)
    state = ema.averaged_state(m)
    torch.testing.assert_close(state["weight"], ema.shadow["weight"])
    torch.testing.assert_close(state["frozen"], frozen.detach())


def test_image_metrics_basics():
    from models.eval.metrics import garment_colour_error, psnr, ssim

    x = torch.rand(2, 3, 32, 24) * 2 - 1
    assert torch.isinf(psnr(x, x)).all() or (psnr(x, x) > 90).all()
    torch.testing.assert_close(ssim(x, x), torch.ones(2))
    y = (x + 0.2).clamp(-1, 1)
    assert (ssim(y, x) < 1).all() and (psnr(y, x) < 30).all()
    mask = torch.zeros(2, 1, 32, 24)
    mask[:, :, 8:20, 6:18] = 1
    assert garment_colour_error(x, x, mask).abs().max() < 1e-4


def test_garment_measures_drop_when_a_pattern_is_smeared_and_catch_the_old_garment():
    """The issue-14 measures on a striped garment: a perfect result scores 1 / 1 / 0; the
    same stripes blurred to a colour blotch lose most of their edge F-score and garment
    SSIM; noise over the stripes loses edge precision; the old garment showing through
    where it should be gone gives a leak error."""
    import torch.nn.functional as F

    from models.eval.metrics import garment_edges, garment_ssim, image_metrics, leak_error

    h, w = 64, 48
    stripes = ((torch.arange(w) // 3) % 2).float().expand(1, 3, h, w) * 1.6 - 0.8
    target = torch.full((1, 3, h, w), 0.3)
    new = torch.zeros(1, 1, h, w)
    new[..., 16:48, 8:40] = 1
    target = torch.where(new.bool(), stripes, target)
    old = torch.zeros(1, 1, h, w)
    old[..., 16:56, 8:40] = 1  # the old garment was longer: rows 48..55 must become background

    assert float(garment_edges(target, target, new)) == pytest.approx(1.0)
    assert float(garment_ssim(target, target, new)) == pytest.approx(1.0)
    blur = F.avg_pool2d(F.pad(target, (3, 3, 3, 3), mode="replicate"), 7, stride=1)
    assert float(garment_edges(blur, target, new)) < 0.4
    assert float(garment_ssim(blur, target, new)) < 0.5
    noisy = (target + 0.5 * torch.randn(target.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    assert float(garment_edges(noisy, target, new)) < 0.9
    leaked = torch.where(old.bool(), torch.full_like(target, -0.9), target)  # the old dark garment still there
    assert float(leak_error(target, target, old, new)) == 0.0
    assert float(leak_error(leaked, target, old, new)) == pytest.approx(1.2 * 127.5, rel=1e-3)
    assert torch.isnan(leak_error(target, target, new, new)).all()  # no region: undefined, not 0
    m = image_metrics(leaked, target, new, old)
    assert set(m) >= {"garment_ssim", "garment_edges", "leak_error"} and m["leak_error"] > 100


def test_region_weights_cover_both_garments_on_the_latent_grid_dilated():
    masks = torch.zeros(1, 2, 32, 24)
    masks[0, 0, 8:16, 8:16] = 1  # new garment: latent rows/cols 1..1 at factor 8
    masks[0, 1, 24:32, 0:8] = 1  # old garment: latent (3, 0)
    w = losses.region_weights(masks, (4, 3), weight=4.0, dilate=0)
    expect = torch.ones(1, 1, 4, 3)
    expect[0, 0, 1, 1] = 5.0
    expect[0, 0, 3, 0] = 5.0
    torch.testing.assert_close(w, expect)
    dilated = losses.region_weights(masks, (4, 3), weight=4.0, dilate=1)
    assert dilated[0, 0, 0, 0] == 5.0 and dilated[0, 0, 2, 1] == 5.0  # neighbours of (1, 1) / (3, 0)


def test_weighted_x0_loss_is_a_normalised_weighted_mse():
    g = torch.Generator().manual_seed(1)
    pred, target = torch.randn(2, 4, 5, 3, generator=g), torch.randn(2, 4, 5, 3, generator=g)
    ones = torch.ones(2, 1, 5, 3)
    torch.testing.assert_close(losses.weighted_x0_loss(pred, target, ones), losses.x0_loss(pred, target))
    w = ones.clone()
    w[:, :, 0, 0] = 3.0
    sq = (pred - target) ** 2
    expect = (sq.sum() + 2 * sq[:, :, 0, 0].sum()) / (4 * (2 * 15 + 2 * 2))
    torch.testing.assert_close(losses.weighted_x0_loss(pred, target, w), expect)
