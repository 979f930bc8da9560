"""The Qt-free, torch-free engine on a real (tiny, INT8) bundle."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from engine.bundle import open_bundle
from engine.errors import BundleError, Cancelled
from engine.images import fit_image, unfit_image
from engine.pipeline import TryOnPipeline
from engine.request import CancelToken, TryOnRequest
from engine.runner import JobState, TryOnRunner


@pytest.fixture(scope="module")
def pipeline(tiny_bundle):
    return TryOnPipeline(tiny_bundle, threads=1)


def request(images, **kw):
    return TryOnRequest(person=images["person"], garment=images["garment"], **kw)


def test_result_has_the_portraits_size_and_timings(pipeline, images):
    stages = []
    result = pipeline.run(request(images), progress=lambda p: stages.append((p.stage, p.step)))
    assert result.image.shape == (301, 207, 3) and result.image.dtype == np.uint8
    for key in ("load", "encode", "adapter", "garment", "denoise", "decode", "total"):
        assert key in result.timings
    assert ("denoise", 4) in stages and stages[-1] == ("done", 4)
    assert [s for s in stages if s[0] == "denoise"] == [("denoise", i) for i in range(5)]


def test_same_seed_same_image_other_seed_other_image(pipeline, images):
    a = pipeline.run(request(images, seed=3)).image
    b = pipeline.run(request(images, seed=3)).image
    c = pipeline.run(request(images, seed=4)).image
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("mode", ["cached", "per_step"])
def test_sessions_released_in_pipeline_order_give_the_same_image(pipeline, tiny_bundle, images, mode):
    """vton tryon's mode: each graph's session lives only while the pipeline needs it."""
    one_shot = TryOnPipeline(tiny_bundle, threads=1, keep_sessions=False)
    seen = []
    real_session = one_shot._session

    def session(size, graph):  # how many sessions exist whenever one is asked for
        seen.append((graph, len(one_shot._sessions)))
        return real_session(size, graph)

    one_shot._session = session
    a = one_shot.run(request(images, seed=5, garment_features=mode)).image
    b = pipeline.run(request(images, seed=5, garment_features=mode)).image
    np.testing.assert_array_equal(a, b)
    assert not one_shot._sessions  # all released at the end
    held = max(n for _, n in seen)
    assert held <= (1 if mode == "cached" else 2)  # per step: GarmentNet and TryonNet together


@pytest.mark.parametrize("mode", ["cached", "per_step"])
@pytest.mark.parametrize("steps", [1, 2, 4])
def test_steps_and_garment_feature_modes(pipeline, images, mode, steps):
    result = pipeline.run(request(images, steps=steps, garment_features=mode))
    assert result.timings["steps"] == steps


def test_cancel_between_steps(pipeline, images):
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p.step)
        if p.stage == "denoise" and p.step == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        pipeline.run(request(images), progress=progress, cancel=token)
    assert max(seen) == 2  # stopped at the step boundary


def test_fit_and_unfit_round_trip():
    img = (np.random.default_rng(0).random((300, 500, 3)) * 255).astype(np.uint8)
    canvas, fit = fit_image(img, (128, 96))
    assert canvas.shape == (128, 96, 3)
    back = unfit_image(canvas, fit)
    assert back.shape == img.shape


def test_a_changed_byte_is_refused_naming_the_file(tiny_bundle, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(tiny_bundle, b)
    victim = b / "128x96" / "tryon_net.onnx"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    with pytest.raises(BundleError) as err:
        open_bundle(b)
    assert str(victim) in str(err.value) and "sha256" in str(err.value)


def test_zip_bundle_opens(tiny_bundle, tmp_path, private_home):
    archive = shutil.make_archive(str(tmp_path / "tiny"), "zip", root_dir=tiny_bundle.parent, base_dir=tiny_bundle.name)
    b = open_bundle(archive)
    assert b.manifest.name == "tiny-int8" and (b.path / "manifest.json").is_file()
    assert str(private_home) in str(b.path)  # unpacked into the user's cache, not next to the zip


# -- the background runner -----------------------------------------------------------------------

def test_runner_runs_supersedes_and_reports(tiny_bundle, images):
    states = []
    runner = TryOnRunner(tiny_bundle, threads=1, on_state=lambda j: states.append((j.id, j.state)))
    try:
        first = runner.submit(request(images, seed=1), tag="ws")
        queued = [runner.submit(request(images, seed=s), tag="ws", supersede=False) for s in (2, 3)]
        last = runner.submit(request(images, seed=4), tag="ws")  # supersedes the queued ones
        assert runner.wait_until_idle(60)
        assert last.state is JobState.FINISHED and last.result.image.shape == (301, 207, 3)
        assert all(j.state is JobState.CANCELLED for j in queued)
        assert first.state in (JobState.FINISHED, JobState.CANCELLED)
        assert (last.id, JobState.FINISHED) in states
    finally:
        runner.shutdown()


def test_runner_survives_a_failing_request(tiny_bundle, images, tmp_path):
    runner = TryOnRunner(tiny_bundle, threads=1)
    try:
        bad = runner.submit(TryOnRequest(person=tmp_path / "missing.png", garment=images["garment"]))
        good = runner.submit(request(images), supersede=False)
        assert runner.wait_until_idle(60)
        assert bad.state is JobState.FAILED and "missing.png" in bad.error and "not found" in bad.error
        assert good.state is JobState.FINISHED
    finally:
        runner.shutdown()


def test_runner_cancel_running_job(tiny_bundle, images):
    runner = TryOnRunner(tiny_bundle, threads=1)
    try:
        job = runner.submit(request(images, steps=16))
        runner.cancel(job)
        assert runner.wait_until_idle(60)
        assert job.state is JobState.CANCELLED
    finally:
        runner.shutdown()
