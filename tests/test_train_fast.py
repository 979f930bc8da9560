"""The trainer's fast path (issue 13) changes speed, never the maths: the same losses as
the plain eager path, batches that are a pure function of the step, augmentations that keep
person and target consistent, and a latent pool that holds the VAE's own latents."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from models.train.config import CONFIG_DIR, AugmentConfig, DataConfig  # noqa: E402


@pytest.fixture(scope="module")
def inits(tmp_path_factory) -> Path:
    """A tiny VAE and dit teacher, two steps each (weights only matter for being real)."""
    from models.train import train

    out = tmp_path_factory.mktemp("fast")
    common = {"train.max_steps": 2, "data.num_samples": 8, "data.cache_dir": str(out / "cache"),
              "train.eval_samples": 0, "vae.stats_samples": 4}
    train(CONFIG_DIR / "tiny_vae.yaml", out / "vae", progress=False, overrides=common)
    train(CONFIG_DIR / "tiny_teacher.yaml", out / "teacher", progress=False,
          overrides={**common, "init.vae": str(out / "vae" / "final"), "train.eval_samples": 0})
    return out


def _stage(inits: Path, tmp: Path, fast: bool):
    from models.train.config import load_run_config
    from models.train.distributed import init_distributed
    from models.train.runner import stage_class
    from models.train.trainer import Trainer

    run = load_run_config(CONFIG_DIR / "tiny_student.yaml", overrides={
        "init.vae": str(inits / "vae" / "final"), "init.teacher": str(inits / "teacher" / "final"),
        "data.num_samples": 8, "data.cache_dir": str(inits / "cache"), "student.ratio": 2,
        "train.compile": fast, "train.channels_last": fast, "data.on_device": fast,
        # the graphs torch.compile captures (hooks, side effects, layouts), run without code
        # generation: inductor's C++ build of them takes minutes on a 2-core CI machine
        "train.compile_backend": "aot_eager",
    })
    trainer = Trainer(stage_class("student"), run, tmp, progress=False, log=lambda m: None)
    trainer.info, device, _ = init_distributed("cpu")
    stage = trainer.setup(device)
    source = trainer._source(stage, run.data_for(run.all_phases()[0]), 4, 0, device)
    return run, stage, source


def test_fast_path_computes_the_same_losses_as_the_eager_path(inits, tmp_path):
    """torch.compile (the captured graphs, aot_eager backend) + channels-last + batches made
    on the device, against eager NCHW with a DataLoader: two FGA steps (generator and fake
    score, then the fake score alone) from the same seed give the same losses within 1e-4
    relative (float32 on the CPU; decomposed ops may sum in another order). On the GPU,
    ``benchmarks/train_speed.py --check`` compares the inductor-compiled bf16 step too."""
    from models.train.trainer import StepRandom

    results = []
    for fast in (False, True):
        run, stage, source = _stage(inits, tmp_path / f"fast-{fast}", fast)
        logs = []
        for step in range(2):
            out = stage.train_step(source.get(step), step, StepRandom.for_step(run.seed, 0, step, stage.device))
            logs.append({k: float(v) for k, v in out.items() if k.startswith("loss")})
        results.append(logs)
    eager, fast = results
    assert set(eager[0]) >= {"loss_diff", "loss_feature", "loss_gan", "loss_cons", "loss_fake", "loss_disc"}
    for a, b in zip(eager, fast, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert b[k] == pytest.approx(a[k], rel=1e-4, abs=1e-6), (k, a[k], b[k])


def _pool(n: int = 6, size=(64, 64)):
    from models.train.data import build_pool

    return build_pool(DataConfig(size=size, num_samples=n, world_seed=5), 28, None, 1, log=lambda m: None)


def test_device_batches_are_a_pure_function_of_the_step():
    from models.train.pool import DevicePool

    arrays = _pool()
    cfg = DataConfig(size=(64, 64), num_samples=6)
    a = DevicePool(arrays, cfg, torch.device("cpu"), 4, 0, 1, seed=3)
    b = DevicePool(arrays, cfg, torch.device("cpu"), 4, 0, 1, seed=3)
    later, first = b.batch(7, 7), a.batch(2, 2)  # any order
    again = b.batch(2, 2)
    for k in ("person", "garment", "target", "garment_square", "target_mask", "person_mask", "category"):
        assert torch.equal(getattr(first, k), getattr(again, k)), k
    assert not torch.equal(first.person, later.person)
    # a batch across the epoch boundary (6 samples, batches of 4): the second epoch's order
    idx = a.indices(1)
    assert idx.tolist()[:2] == a.sampler.epoch_order(0)[4:].tolist()
    assert idx.tolist()[2:] == a.sampler.epoch_order(1)[:2].tolist()


def test_augmentations_keep_person_and_target_one_photo():
    """Swap exchanges the two directions exactly; flip, zoom and light change person and
    target alike (here person = target, so they must stay equal) and the garment apart."""
    from models.train.pool import augment

    arrays = _pool()
    d = {k: torch.as_tensor(v[:4].copy()) for k, v in arrays.items() if k != "category"}
    gen = torch.Generator().manual_seed(0)
    swapped = augment(d, AugmentConfig(swap=1.0, flip=0, zoom=0, light=0), gen)
    assert torch.equal(swapped["person"], d["target"].float() / 255 * 2 - 1)
    assert torch.equal(swapped["garment"], d["garment_worn"].float() / 255 * 2 - 1)
    assert torch.equal(swapped["target_mask"], d["person_mask"].float())

    same = {**d, "target": d["person"].clone(), "target_mask": d["person_mask"].clone()}
    out = augment(same, AugmentConfig(swap=0, flip=1.0, zoom=0.3, light=0.3), torch.Generator().manual_seed(1))
    assert torch.equal(out["person"], out["target"])
    assert torch.equal(out["person_mask"], out["target_mask"])
    plain = same["person"].float() / 255 * 2 - 1
    assert (out["person"] - plain.flip(-1)).abs().mean() > 0.01  # zoomed and relit, not just mirrored
    assert out["person"].min() >= -1 and out["person"].max() <= 1


def test_vae_crops_take_one_window_of_every_image():
    from models.train.pool import random_crops

    x = torch.arange(2 * 3 * 8 * 6, dtype=torch.float32).reshape(2, 3, 8, 6)
    out = random_crops({"person": x, "target": x + 1, "garment_square": torch.zeros(2, 3, 4, 4)}, (4, 3),
                       torch.Generator().manual_seed(0))
    assert out["person"].shape == (2, 3, 4, 3) and out["garment_square"].shape == (2, 3, 4, 4)
    assert torch.equal(out["target"], out["person"] + 1)
    for i in range(2):  # a contiguous window of the original
        y0, x0 = [int(v) for v in torch.nonzero(x[i, 0] == out["person"][i, 0, 0, 0])[0]]
        assert torch.equal(out["person"][i], x[i, :, y0:y0 + 4, x0:x0 + 3])


def test_latent_pool_holds_the_vae_latents_of_each_view(inits):
    from models.train.data import StepSampler
    from models.train.pool import LatentPool
    from models.train.vae_stage import load_vae

    vae, _ = load_vae(inits / "vae" / "final")
    arrays = _pool(4)
    cfg = DataConfig(size=(64, 64), num_samples=4, encode="pool", pool_views=2,
                     augment=AugmentConfig(swap=0.0, light=0.2, zoom=0.1))
    pool = LatentPool(arrays, cfg, torch.device("cpu"), 4, 0, 1, seed=0,
                      encode=lambda x: vae.encode(x).float(), latent_hw=(8, 8))
    assert pool.data["z_person"].shape == (8, 16, 8, 8)  # 4 samples x 2 views
    images = torch.as_tensor(arrays["person"][:4]).float() / 255 * 2 - 1
    with torch.no_grad():
        z = vae.encode(images)
    view0 = pool.data["z_person"][0::2].float()
    torch.testing.assert_close(view0, z, rtol=0, atol=0.05)  # stored in bf16
    assert (pool.data["z_person"][1::2].float() - view0).abs().mean() > 0.01  # view 1: mirrored and relit
    # a batch: latents of the sampled (sample, view) pairs, directions swapped where chosen
    batch = pool.batch(0, 0)
    zp, zg, zt = batch.latents
    assert zp.shape == (4, 16, 8, 8) and batch.person is None and batch.target_mask.shape == (4, 1, 8, 8)
    order = StepSampler(4, 4, 0, 1, 0).epoch_order(0)
    stored = {k: pool.data[k].float() for k in ("z_person", "z_target")}
    for i, n in enumerate(order.tolist()):
        rows = [stored["z_person"][2 * n + v] for v in range(2)] + [stored["z_target"][2 * n + v] for v in range(2)]
        assert any(torch.equal(zp[i], r) for r in rows)
