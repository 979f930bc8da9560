"""Run configs, the resumable data stream and checkpoint plumbing (no training)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from models.train.config import (  # noqa: E402
    CONFIG_DIR,
    ConfigError,
    load_run_config,
    parse_override,
)
from models.train.data import StepSampler  # noqa: E402


def test_every_bundled_config_loads():
    names = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    for preset in ("tiny", "small"):
        for stage in ("vae", "teacher", "student"):
            assert f"{preset}_{stage}" in names
    for p in CONFIG_DIR.glob("*.yaml"):
        run = load_run_config(p)
        assert run.stage in p.stem


@pytest.mark.parametrize("text, message", [
    ("stage: vae\ntrain: {batch_sise: 4}\n", "train.batch_sise: unknown key"),
    ("stage: vae\ntrain: {batch_size: many}\n", "train.batch_size: expected an integer"),
    ("stage: painter\n", "stage"),
    ("stage: [vae\n", "not valid YAML"),
])
def test_unknown_keys_and_bad_values_are_named(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_run_config(bad)


def test_a_missing_config_is_named(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_run_config(tmp_path / "missing.yaml")


def test_overrides_and_phases():
    assert parse_override("train.lr=1e-4") == ("train.lr", 1e-4)
    assert parse_override("student.distill=false") == ("student.distill", False)
    run = load_run_config(CONFIG_DIR / "tiny_student.yaml",
                          overrides={"train.lr": "5e-4", "student.distill": False, "train.max_steps": 7})
    assert run.train.lr == 5e-4 and not run.student.distill and run.total_steps() == 7
    # step phases: the first ends after its steps, the last never does
    assert run.phase_ends(0, run.phases[0].steps, 0.0)
    assert not run.phase_ends(0, run.phases[0].steps - 1, 0.0)
    assert not run.phase_ends(len(run.phases) - 1, 10**9, 10**9)
    assert run.data_for(run.phases[1]).categories == ("upper", "dress")
    # time phases share the budget
    small = load_run_config(CONFIG_DIR / "small_student.yaml")
    budget = small.train.max_minutes * 60
    assert not small.phase_ends(0, 10**6, 0.69 * budget) and small.phase_ends(0, 1, 0.71 * budget)
    assert small.data_for(small.phases[1]).size == (512, 384)


def test_step_sampler_shards_ranks_and_resumes_at_any_batch():
    def take(sampler, n):
        it = iter(sampler)
        return [next(it) for _ in range(n)]

    n, b = 10, 2
    r0 = take(StepSampler(n, b, rank=0, world_size=2, seed=3), 10)
    r1 = take(StepSampler(n, b, rank=1, world_size=2, seed=3), 10)
    whole = take(StepSampler(n, 2 * b, rank=0, world_size=1, seed=3), 20)
    # global batch k = rank 0's share then rank 1's share of the single-process stream
    merged = [x for k in range(5) for x in r0[2 * k : 2 * k + 2] + r1[2 * k : 2 * k + 2]]
    assert merged == whole
    assert sorted(whole[:10]) == list(range(10))  # one epoch is a permutation
    assert whole[:10] != whole[10:20]  # and the next epoch another
    later = take(StepSampler(n, b, rank=1, world_size=2, seed=3, start_batch=3), 4)
    assert later == r1[6:10]
    fresh = take(StepSampler(0, 2, rank=1, world_size=2, start_batch=1), 4)
    assert fresh == [6, 7, 10, 11]  # no pool: every position is a new sample


def test_optimizer_state_round_trips_through_safetensors(tmp_path):
    from safetensors.torch import load_file, save_file

    from models.train.trainer import load_optimizer, optimizer_tensors

    torch.manual_seed(0)
    m = torch.nn.Linear(4, 3)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
    for _ in range(3):
        m(torch.randn(5, 4)).square().mean().backward()
        opt.step()
        opt.zero_grad()
    tensors, groups = optimizer_tensors(opt, "optim.x.")
    save_file(tensors, str(tmp_path / "o.safetensors"))
    m2 = torch.nn.Linear(4, 3)
    m2.load_state_dict(m.state_dict())
    opt2 = torch.optim.AdamW(m2.parameters(), lr=1.0)
    load_optimizer(opt2, load_file(str(tmp_path / "o.safetensors")), "optim.x.", groups)
    x = torch.randn(5, 4)
    for mm, oo in ((m, opt), (m2, opt2)):
        mm(x).square().mean().backward()
        oo.step()
    torch.testing.assert_close(m.weight, m2.weight, rtol=0, atol=0)


def test_pool_and_dataset_give_the_world_samples(tmp_path):
    from models.train.config import DataConfig
    from models.train.data import Batch, TryOnDataset, build_pool, make_loader

    cfg = DataConfig(size=(64, 64), num_samples=6, world_seed=5)
    pool = build_pool(cfg, 28, tmp_path, workers=1, log=lambda m: None)
    again = build_pool(cfg, 28, tmp_path, workers=1, log=lambda m: None)  # read back, memory-mapped
    live = TryOnDataset(cfg, 28)[4]
    cached = TryOnDataset(cfg, 28, again)[4]
    for k in live:
        assert torch.equal(live[k], cached[k]), k
    assert pool["person"].shape == (6, 3, 64, 64) and pool["garment_square"].shape == (6, 3, 28, 28)
    loader = make_loader(cfg, 28, 3, 0, 1, 0, 0, again, pin_memory=False)
    batch = Batch.from_items(next(iter(loader)), torch.device("cpu"))
    assert batch.person.shape == (3, 3, 64, 64) and batch.person.min() >= -1 and batch.person.max() <= 1
    assert batch.category.dtype == torch.int64


def test_trains_from_a_dataset_folder(tmp_path):
    """``data.source`` may be a folder in a layout models.data reads (here: the synthetic
    world written as VITON-HD), which is how the real datasets are used."""
    from models.data.writer import write_synthetic
    from models.train import train

    folder = tmp_path / "set"
    write_synthetic(folder, n=6, size=(64, 64), seed=3, split="train")
    final = train(CONFIG_DIR / "tiny_vae.yaml", tmp_path / "vae", progress=False, overrides={
        "data.source": str(folder), "data.mode": "unpaired", "data.num_samples": 0, "train.max_steps": 2,
        "data.cache_dir": str(tmp_path / "cache"), "vae.stats_samples": 4,
    })
    assert (final / "vae.safetensors").is_file()
    assert (tmp_path / "vae" / "samples" / "step_000002.png").is_file()


def test_recipe_budget_parsing():
    from models.recipes.default import parse_map

    assert parse_map("vae=2,teacher=4.5", "minutes") == {"vae": 2.0, "teacher": 4.5}
    assert parse_map("3", "minutes") == {s: 3.0 for s in ("vae", "teacher", "student", "ablations", "refine")}
    with pytest.raises(SystemExit):
        parse_map("painter=2", "minutes")


def test_the_recipe_exports_the_best_student_on_the_validation_seed(tmp_path):
    """``pick_checkpoint``: the finished student runs compete on their last validation score
    (never a test seed); runs scored on other samples, or not finished, do not."""
    from models.recipes.default import pick_checkpoint

    def run(name: str, finished: bool = True) -> None:
        (tmp_path / name / "final").mkdir(parents=True)
        if finished:
            (tmp_path / name / "final" / "config.json").write_text("{}")

    def ev(step: int, psnr: float, leak: float, seed: int = 30000) -> dict:
        return {"kind": "eval", "step": step, "world_seed": seed, "samples": 64, "size": [512, 384],
                "psnr": psnr, "leak_error": leak}

    for name in ("student", "student-no-tcg", "student-no-lc", "refine", "teacher"):
        run(name, finished=name != "student-no-lc")
    stages = {
        "teacher": {"steps": 10, "eval": [ev(10, 99.0, 0.0)]},  # not a student: never exported
        "student": {"steps": 100, "eval": [ev(50, 30.0, 9.0), ev(100, 20.0, 30.0)]},  # the last one counts
        "student-no-tcg": {"steps": 100, "eval": [ev(100, 21.0, 40.0)]},
        "student-no-lc": {"steps": 100, "eval": [ev(100, 25.0, 1.0)]},  # no final checkpoint
        "refine": {"steps": 20, "eval": [ev(20, 24.0, 35.0, seed=40000)]},  # other samples: left out
    }
    name, sel = pick_checkpoint(tmp_path, stages, "psnr")
    assert name == "student-no-tcg" and sel["scores"] == {"student": 20.0, "student-no-tcg": 21.0}
    assert sel["world_seed"] == 30000 and sel["picked"] == "student-no-tcg"
    assert pick_checkpoint(tmp_path, stages, "leak_error")[0] == "student"  # lower is better
    assert pick_checkpoint(tmp_path, stages, "none") == ("refine", None)
    # no scores at all: the refine run if it finished, else the student, as before
    bare = {k: {"steps": v["steps"]} for k, v in stages.items()}
    assert pick_checkpoint(tmp_path, bare, "psnr") == ("refine", None)
    assert pick_checkpoint(tmp_path, {"student": {}, "student-no-tcg": {}}, "psnr") == ("student", None)
    # only an ablation ran (``--stages ablations``): that is what there is to export
    assert pick_checkpoint(tmp_path, {"student-no-tcg": {}}, "psnr") == ("student-no-tcg", None)
