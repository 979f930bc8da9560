"""The engine's memory settings (issue 17): ONNX Runtime's buffer reuse off and the C heap
trimmed after a released session change where tensors live, never the result."""

from __future__ import annotations

import numpy as np
import pytest

import engine.pipeline
from engine.pipeline import TryOnPipeline, release_free_memory
from engine.request import TryOnRequest


def test_the_unets_run_without_buffer_reuse_the_vae_with_it(tiny_bundle):
    pipe = TryOnPipeline(tiny_bundle, threads=1)
    size = pipe.manifest.default_size
    assert engine.pipeline.MEM_REUSE is False and engine.pipeline.TRIM_HEAP is True
    for graph, reuse in [("tryon_net", False), ("garment_net", False), ("vae_decoder", True), ("vae_encoder", True)]:
        options = pipe._session(size, graph).get_session_options()
        assert options.enable_mem_reuse is reuse, graph
        assert options.enable_mem_pattern is False and options.enable_cpu_mem_arena is False


@pytest.mark.parametrize("keep", [True, False])
def test_the_image_is_the_same_with_or_without_buffer_reuse_and_trimming(tiny_bundle, images, monkeypatch, keep):
    def run(reuse: bool) -> np.ndarray:  # the settings before issue 17: reuse on, no trimming
        monkeypatch.setattr(engine.pipeline, "MEM_REUSE", reuse)
        monkeypatch.setattr(engine.pipeline, "TRIM_HEAP", not reuse)
        pipe = TryOnPipeline(tiny_bundle, threads=1, keep_sessions=keep)
        req = TryOnRequest(person=images["person"], garment=images["garment"], seed=7)
        return pipe.run(req).image

    np.testing.assert_array_equal(run(False), run(True))


def test_trimming_the_heap_is_safe_to_call_anywhere():
    release_free_memory()  # glibc: malloc_trim(0); elsewhere nothing
    release_free_memory()
