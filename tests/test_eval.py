"""The quality report's scoring and baselines (issue 6)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from models.eval.baselines import identity, paste
from models.eval.quality import comparison_grid, held_out_samples, score


@pytest.fixture(scope="module")
def samples():
    return held_out_samples(4, (128, 96))


def test_ground_truth_scores_perfectly(samples):
    s = score([x.target for x in samples], samples).summary()
    assert s["ssim"] == pytest.approx(1.0) and s["garment_colour_error"] == pytest.approx(0.0, abs=1e-4)


def test_baselines_are_worse_than_ground_truth(samples):
    ident = score([identity(x) for x in samples], samples).summary()
    assert ident["ssim"] < 0.999 and ident["garment_colour_error"] > 1.0


def test_paste_changes_only_the_worn_garments_box(samples):
    for s in samples:
        out = paste(s)
        ys, xs = np.nonzero(s.person_mask)
        outside = np.ones(s.person_mask.shape, bool)
        outside[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = False
        assert np.array_equal(out[outside], s.person[outside])
        assert not np.array_equal(out, s.person)


def test_comparison_grid_has_four_columns(samples):
    g = comparison_grid(samples, [x.person for x in samples], rows=2, tile_height=64)
    assert g.shape[0] == 2 * (64 + 4) and g.shape[2] == 3


def test_vton_eval_scores_a_bundle_and_baselines(tiny_bundle, tmp_path, capsys):
    out = tmp_path / "scores.json"
    assert main(["eval", str(tiny_bundle), "--n", "2", "--baselines", "--json", str(out),
                 "--grid", str(tmp_path / "grid.png")]) == 0
    data = json.loads(out.read_text())
    assert set(data["results"]) == {"tiny-int8", "tiny-int8 raw", "baseline: identity", "baseline: paste"}
    assert data["results"]["tiny-int8"]["restore"] is True and data["results"]["tiny-int8 raw"]["restore"] is False
    beats = data["results"]["tiny-int8"]["beats"]
    assert set(beats) == {"identity", "paste"} and all(0.0 <= v <= 1.0 for v in beats["paste"].values())
    assert (tmp_path / "grid.png").is_file()


def test_vton_eval_keeps_bundles_of_one_name_apart(tiny_bundle, tmp_path):
    import shutil

    twin = tmp_path / "twin"
    shutil.copytree(tiny_bundle, twin)
    out = tmp_path / "scores.json"
    assert main(["eval", str(tiny_bundle), str(twin), "--n", "1", "--restore", "off", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert sorted(r["bundle"] for r in rows.values()) == sorted([str(tiny_bundle), str(twin)])
    assert set(rows) == {f"tiny-int8 {tiny_bundle} raw", f"tiny-int8 {twin} raw"}


def test_win_rates_are_paired_per_sample_shares():
    from models.eval.quality import Scores, win_rates

    nan = float("nan")
    ours = Scores(psnr=[20, 21, 22, 23], ssim=[0.9, 0.8, 0.95, 0.7], garment_colour_error=[10, 50, 20, 5],
                  garment_ssim=[0.5, 0.6, 0.7, 0.8], garment_edges=[0.4, 0.4, 0.4, 0.4], leak_error=[5, nan, 50, 1])
    base = Scores(psnr=[25, 20, 21, 30], ssim=[0.85, 0.85, 0.9, 0.9], garment_colour_error=[30, 40, 30, 30],
                  garment_ssim=[0.4, 0.7, 0.8, 0.9], garment_edges=[0.1, 0.2, 0.3, 0.5], leak_error=[40, nan, 40, 40])
    assert win_rates(ours, base) == {"ssim": 0.5, "psnr": 0.5, "garment_colour_error": 0.75, "garment_ssim": 0.25,
                                     "garment_edges": 0.75, "leak_error": 2 / 3,  # leak: 3 defined pairs
                                     "face_error": pytest.approx(float("nan"), nan_ok=True)}  # no faces given
    assert ours.summary()["leak_error"] == pytest.approx(56 / 3) and ours.summary()["leak_samples"] == 3


def test_framing_picks_the_first_landscape_or_portrait_samples():
    from models.data.synthetic import SyntheticWorld
    from models.eval.quality import TEST_SEED

    world = SyntheticWorld(seed=TEST_SEED, size=(128, 96))
    landscape = held_out_samples(3, (128, 96), framing="landscape")
    portrait = held_out_samples(3, (128, 96), framing="portrait")
    first = [i for i in range(200) if world.spec(i).landscape is not None][:3]
    assert [s.id for s in landscape] == [f"synth-{TEST_SEED}-{i:06d}" for i in first]
    assert all(world.spec(int(s.id.rsplit("-", 1)[1])).landscape is None for s in portrait)
    assert all(s.person.shape == (128, 96, 3) for s in landscape)  # fitted into the portrait canvas
    with pytest.raises(ValueError, match="framing"):
        held_out_samples(1, (128, 96), framing="square")


def test_vton_eval_ceiling_scores_each_bundles_vae_round_trip_of_the_ground_truth(tiny_bundle, tmp_path):
    from engine.pipeline import TryOnPipeline

    out = tmp_path / "scores.json"
    assert main(["eval", str(tiny_bundle), "--n", "2", "--restore", "off", "--baselines", "--ceiling",
                 "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert set(rows) == {"tiny-int8 raw", "tiny-int8 VAE ceiling", "baseline: identity", "baseline: paste"}
    assert set(rows["tiny-int8 VAE ceiling"]["beats"]) == {"identity", "paste"}
    # the row is the bundle's own encoder + decoder on the targets, nothing else
    samples = held_out_samples(2, (128, 96))
    pipe = TryOnPipeline(tiny_bundle)
    trips = [pipe.round_trip(s.target) for s in samples]
    assert all(t.shape == s.target.shape and not np.array_equal(t, s.target) for t, s in zip(trips, samples, strict=True))
    assert score(trips, samples).summary()["psnr"] == pytest.approx(rows["tiny-int8 VAE ceiling"]["psnr"])
    big = np.repeat(np.repeat(samples[0].target, 2, axis=0), 2, axis=1)  # a photo larger than the model size
    assert pipe.round_trip(big).shape == big.shape


def test_face_error_sees_a_garment_painted_over_the_face(samples):
    """The synthetic samples carry the face's mask; the unchanged portrait keeps the face (a
    near-zero face error), a result with the new garment's colour over the face does not."""
    for s in samples:
        assert s.face_mask is not None and s.face_mask.shape == s.person.shape[:2] and s.face_mask.any()
        assert not (s.face_mask & s.target_mask).any()  # the garment never covers the face
    ident = score([identity(x) for x in samples], samples)
    assert max(ident.face_error) < 3.0
    painted = []
    for s in samples:
        img = s.person.copy()
        img[s.face_mask] = s.target[s.target_mask].mean(axis=0).astype(np.uint8)
        painted.append(img)
    bad = score(painted, samples).summary()
    assert bad["face_error"] > 20.0 and bad["face_error_max"] >= bad["face_error"]
    assert all(b > a + 10 for a, b in zip(ident.face_error, score(painted, samples).face_error, strict=True))
