"""The correspondence loss (issue 14): garment flows carried through the device pool's
augmentations and latent pools, turned into garment latent cells, and the loss on the
top-level garment attention."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from models.train import losses  # noqa: E402
from models.train.config import AugmentConfig, ConfigError, DataConfig  # noqa: E402
from models.train.data import make_world, render_item  # noqa: E402
from models.train.pool import augment, flow_tokens, step_generator  # noqa: E402

SIZE = (128, 96)


@pytest.fixture(scope="module")
def arrays():
    cfg = DataConfig(size=SIZE, num_samples=8, flow=True)
    world = make_world(cfg)
    items = [render_item(world, i, 32) for i in range(8)]
    return {k: np.stack([it[k] for it in items]) for k in items[0]}


def _warp(garment: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``garment`` (B, 3, H, W) sampled at ``flow`` (pixel centres at +0.5)."""
    H, W = garment.shape[-2:]
    gx = torch.nan_to_num(flow[:, 0]) / W * 2 - 1
    gy = torch.nan_to_num(flow[:, 1]) / H * 2 - 1
    return F.grid_sample(garment, torch.stack([gx, gy], dim=-1), mode="bilinear", align_corners=False)


def _errors(out: dict) -> tuple[float, float]:
    """Mean |warped garment - target| on the flow's pixels, with the flow and shifted by 4 px."""
    flow = out["target_flow"]
    ok = ~torch.isnan(flow[:, :1]).expand(-1, 3, -1, -1)
    right = (_warp(out["garment"], flow) - out["target"]).abs()[ok].mean()
    wrong = (_warp(out["garment"], flow + 4) - out["target"]).abs()[ok].mean()
    return float(right), float(wrong)


@pytest.mark.parametrize("aug", [AugmentConfig(swap=0.0, flip=0.0, zoom=0.0, light=0.0),
                                 AugmentConfig(swap=1.0, flip=1.0, zoom=0.0, light=0.0),
                                 AugmentConfig(swap=0.5, flip=0.5, zoom=0.3, light=0.2)])
def test_flows_follow_every_augmentation(arrays, aug):
    d = {k: torch.as_tensor(v) for k, v in arrays.items() if k != "category"}
    out = augment(d, aug, step_generator(0, 0, 3, torch.device("cpu")))
    assert out["target_flow"].shape == (8, 2, *SIZE)
    right, wrong = _errors(out)
    assert right < 0.8 * wrong, (right, wrong)


def test_flow_tokens_are_garment_cells_row_major():
    flow = torch.full((1, 2, 16, 16), float("nan"))
    flow[0, :, 4, 4] = torch.tensor([13.0, 2.5])  # the cell (0, 0)'s centre pixel points at x 13, y 2.5
    flow[0, :, 12, 4] = torch.tensor([0.5, 15.5])  # cell (1, 0) -> garment cell (1, 0)
    tokens = flow_tokens(flow, (2, 2))
    assert tokens.tolist() == [[1, -1, 2, -1]]


def test_latent_pool_tokens_follow_views_and_swaps(arrays):
    """With an "encoder" that averages 8x8 pixels, a target cell's latent is close to the
    garment latent cell its tokens name, in every view and either direction."""
    from models.train.pool import LatentPool

    cfg = DataConfig(size=SIZE, num_samples=8, encode="pool", pool_views=2, flow=True,
                     augment=AugmentConfig(swap=0.5, light=0.0, zoom=0.2))
    pool = LatentPool(arrays, cfg, torch.device("cpu"), 8, 0, 1, seed=0,
                      encode=lambda x: F.avg_pool2d(x, 8), latent_hw=(16, 12))
    right = wrong = 0.0
    for step in range(4):
        batch = pool.batch(step, step)
        zp, zg, zt = batch.latents
        tok = batch.garment_tokens
        assert tok.shape == (8, 16 * 12) and tok.dtype == torch.int64
        ok = tok >= 0
        g = zg.flatten(2).transpose(1, 2)  # (B, cells, 3)
        t = zt.flatten(2).transpose(1, 2)
        picked = g.gather(1, tok.clamp_min(0)[..., None].expand(-1, -1, 3))
        shuffled = g.gather(1, tok.clamp_min(0).roll(1, dims=1)[..., None].expand(-1, -1, 3))
        right += float((picked - t).abs()[ok].mean())
        wrong += float((shuffled - t).abs()[ok].mean())
    assert right < 0.8 * wrong, (right, wrong)


def test_correspondence_loss_is_small_when_attention_points_at_the_source():
    torch.manual_seed(0)
    b, n, heads = 2, 12, 2
    c = heads * n
    eye = torch.nn.Identity()
    kv = torch.eye(n).repeat(1, heads).expand(b, n, c)  # key j: one-hot j in every head
    tokens = torch.randint(0, n, (b, n))
    tokens[0, :3] = -1
    gen = torch.Generator().manual_seed(0)
    q = kv.gather(1, tokens.clamp_min(0)[..., None].expand(-1, -1, c)) * 40  # each query: its target key, scaled
    sharp = losses.correspondence_loss(eye, eye, heads, q, kv, tokens, 6, gen)
    blind = losses.correspondence_loss(eye, eye, heads, torch.zeros(b, n, c), kv, tokens, 6, gen)
    assert float(sharp) < 0.05
    assert float(blind) == pytest.approx(np.log(n), abs=1e-5)  # uniform attention
    none = losses.correspondence_loss(eye, eye, heads, q, kv, torch.full((b, n), -1), 6, gen)
    assert float(none) == 0.0
    q = torch.randn(b, n, c, requires_grad=True)
    losses.correspondence_loss(eye, eye, heads, q, kv, tokens, 6, gen).backward()
    assert q.grad.abs().sum() > 0


def test_a_student_trains_with_the_loss_and_refuses_it_without_flows(tmp_path):
    import json

    from models.train import train
    from models.train.config import CONFIG_DIR

    common = {"train.max_steps": 4, "data.num_samples": 8, "data.cache_dir": str(tmp_path / "cache"),
              "train.eval_samples": 0, "vae.stats_samples": 4}
    train(CONFIG_DIR / "tiny_vae.yaml", tmp_path / "vae", progress=False, overrides={**common, "train.max_steps": 2})
    student = {**common, "init.vae": str(tmp_path / "vae" / "final"), "student.distill": False,
               "student.top_attention": True, "student.lambda_corr": 0.5, "train.log_every": 1}
    with pytest.raises(ConfigError, match="data.flow"):
        train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "s0", progress=False, overrides=student)
    with pytest.raises(ConfigError, match="top-level garment attention"):
        train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "s1", progress=False,
              overrides={**student, "data.flow": True, "student.top_attention": False})
    train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "s2", progress=False, overrides={**student, "data.flow": True})
    rows = [json.loads(line) for line in (tmp_path / "s2" / "metrics.jsonl").read_text().splitlines()]
    corr = [r["loss_corr"] for r in rows if r.get("kind") == "train"]
    assert len(corr) == 4 and all(0 < v < 10 for v in corr)
    with pytest.raises(ConfigError, match="data.flow"):
        DataConfig(source=str(tmp_path), flow=True)
