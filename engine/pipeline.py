"""The try-on pipeline on ONNX Runtime (DESIGN §2): no torch, no Qt.

portrait, garment -> fit -> vae_encoder -> z_p, z_g; garment -> adapter -> tokens;
z_g -> garment_net -> per-layer features (once, or once per step); noise -> few-step
sampler over tryon_net -> top half of x0 -> vae_decoder -> un-fit -> result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .bundle import Bundle, open_bundle, size_key
from .errors import VtonError
from .images import fit_image, from_model, load_image, resize_square, to_model, unfit_image
from .request import CancelToken, Progress, TryOnRequest, TryOnResult
from .restore import keep_unchanged
from .sampler import Sampler, noise_source

ProgressFn = Callable[[Progress], None]


def choose_providers(preferred: list[str] | None = None) -> list[str]:
    """CUDA when this onnxruntime build has it, else CPU (override with ``preferred``)."""
    available = ort.get_available_providers()
    if preferred:
        missing = [p for p in preferred if p not in available]
        if missing:
            raise VtonError(f"execution provider(s) not available: {', '.join(missing)}")
        return preferred
    env = os.environ.get("MOBILE_VTON_PROVIDER")
    if env:
        return choose_providers([p.strip() for p in env.split(",")])
    return ["CUDAExecutionProvider", "CPUExecutionProvider"] if "CUDAExecutionProvider" in available else [
        "CPUExecutionProvider"
    ]


class TryOnPipeline:
    """Owns the ONNX Runtime sessions of one bundle. Not thread-safe: use one per thread."""

    def __init__(self, bundle: Bundle | str | Path, threads: int | None = None, providers: list[str] | None = None):
        self.bundle = bundle if isinstance(bundle, Bundle) else open_bundle(bundle)
        self.manifest = self.bundle.manifest
        self.threads = threads
        self.providers = choose_providers(providers)
        self._sessions: dict[Path, ort.InferenceSession] = {}

    # -- sessions -----------------------------------------------------------------------
    def _session(self, size: tuple[int, int], graph: str) -> ort.InferenceSession:
        path = self.bundle.file(size, graph)
        if path not in self._sessions:
            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.intra_op_num_threads = self.threads or 0
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            # No arena and no memory patterns: ORT's arena keeps each graph's peak
            # activations for the session's life (full INT8 at 1024x768: 7.0 GiB peak RSS
            # with them, 2.1 GiB without; docs/benchmarks.md), for no measurable speed gain.
            opts.enable_cpu_mem_arena = False
            opts.enable_mem_pattern = False
            try:
                self._sessions[path] = ort.InferenceSession(str(path), opts, providers=self.providers)
            except Exception as exc:  # ORT raises its own exception types for broken graphs
                raise VtonError(f"{path}: cannot be loaded by ONNX Runtime ({exc})") from None
        return self._sessions[path]

    def warm_up(self, size: tuple[int, int] | None = None) -> None:
        """Create every session for ``size`` now (the studio does this in its worker thread)."""
        size = size or self.manifest.default_size
        for name in self.manifest.graphs[size_key(size)]:
            self._session(size, name)

    def _run(self, size, graph: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._session(size, graph).run(None, feeds)

    # -- the pipeline -------------------------------------------------------------------
    def resolve_size(self, size: tuple[int, int] | None) -> tuple[int, int]:
        if size is None:
            return self.manifest.default_size
        if tuple(size) not in self.manifest.resolutions:
            avail = ", ".join(size_key(r) for r in self.manifest.resolutions)
            raise VtonError(f"size {size_key(size)} is not in bundle '{self.manifest.name}' (available: {avail})")
        return tuple(size)

    def sampler_for(self, steps: int) -> Sampler:
        spec = self.manifest.sampler
        sigmas = tuple(float(s) for s in spec["sigmas"])
        if steps == len(sigmas):
            return Sampler(sigmas, spec.get("kind", "renoise"))
        return Sampler.with_steps(steps, spec.get("kind", "renoise"))

    def run(
        self,
        request: TryOnRequest,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        person: np.ndarray | None = None,
        garment: np.ndarray | None = None,
    ) -> TryOnResult:
        """Run one try-on. ``person``/``garment`` arrays skip reading the request's files."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        cancel = cancel or CancelToken()
        sampler = self.sampler_for(request.steps)
        steps = sampler.steps

        def report(stage: str, step: int = 0, eta: float | None = None) -> None:
            if progress is not None:
                progress(Progress(stage, step, steps, time.perf_counter() - t0, eta))

        def lap(name: str, since: float) -> float:
            now = time.perf_counter()
            timings[name] = timings.get(name, 0.0) + now - since
            return now

        report("load")
        size = self.resolve_size(request.size)
        if person is None:
            person = load_image(request.person)
        if garment is None:
            garment = load_image(request.garment)
        pre = self.manifest.preprocess
        person_fit, fit = fit_image(person, size)
        garment_fit, _ = fit_image(garment, size)
        adapter_in = resize_square(garment, int(pre["adapter_size"]))
        t = lap("load", t0)
        self.warm_up(size)  # no-op once the sessions exist
        t = lap("sessions", t)
        cancel.check()

        report("encode")
        z_p = self._run(size, "vae_encoder", {"image": to_model(person_fit)})[0]
        z_g = self._run(size, "vae_encoder", {"image": to_model(garment_fit)})[0]
        t = lap("encode", t)
        tokens = self._run(size, "adapter", {"garment": to_model(adapter_in)})[0]
        t = lap("adapter", t)
        cancel.check()

        category = np.array([self.manifest.categories.index(request.category)], dtype=np.int64)
        mode = request.garment_features or self.manifest.garment_features

        def garment_features(sigma: float) -> list[np.ndarray]:
            feeds = {"z_garment": z_g, "sigma": np.array([sigma], np.float32), "category": category}
            return self._run(size, "garment_net", feeds)

        report("garment")
        cached = garment_features(sampler.sigmas[0]) if mode == "cached" else None
        t = lap("garment", t)
        cancel.check()

        tryon = self.manifest.graph(size, "tryon_net")
        x_shape = next(s.shape for s in tryon.inputs if s.name == "x")
        feature_names = [s.name for s in tryon.inputs if s.name.startswith("garment_feature_")]
        noise, step_noise = noise_source(request.seed, x_shape)
        step_times: list[float] = []
        step_start = t

        def velocity(x: np.ndarray, sigma: float, i: int) -> np.ndarray:
            nonlocal t, step_start
            step_start = time.perf_counter()
            feats = cached
            if feats is None:
                feats = garment_features(sigma)
                t = lap("garment", t)
            feeds = {
                "x": x,
                "z_person": z_p,
                "z_garment": z_g,
                "sigma": np.array([sigma], np.float32),
                "category": category,
                "image_tokens": tokens,
            }
            feeds.update(zip(feature_names, feats, strict=True))
            return self._run(size, "tryon_net", feeds)[0]

        def on_step(i: int) -> None:
            nonlocal t
            step_times.append(time.perf_counter() - step_start)
            t = lap("denoise", t)
            eta = (steps - i - 1) * float(np.mean(step_times))
            report("denoise", i + 1, eta)
            cancel.check()

        report("denoise", 0)
        x0 = sampler.sample(velocity, noise, step_noise, on_step)

        report("decode", steps)
        h = z_p.shape[2]
        image = self._run(size, "vae_decoder", {"latent": np.ascontiguousarray(x0[:, :, :h])})[0]
        result = unfit_image(from_model(image), fit)
        t = lap("decode", t)
        if request.restore:
            result = keep_unchanged(result, person)
            t = lap("restore", t)
        timings["total"] = time.perf_counter() - t0
        timings["steps"] = steps
        report("done", steps, 0.0)
        return TryOnResult(result, request, size, self.manifest.name, timings)
