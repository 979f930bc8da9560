"""The try-on pipeline on ONNX Runtime (DESIGN §2): no torch, no Qt.

portrait, garment -> fit -> vae_encoder -> z_p, z_g; garment -> adapter -> tokens;
z_g -> garment_net -> per-layer features (once, or once per step); noise -> few-step
sampler over tryon_net -> top half of x0 -> vae_decoder -> un-fit -> result.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort

try:
    import fcntl
except ImportError:  # Windows: no memfd either, graph_source hands ORT the bytes
    fcntl = None

from .bundle import Bundle, check_session_io, open_bundle, read_verified, size_key
from .errors import BundleError, Cancelled, VtonError
from .images import (
    crop_fit,
    fit_image,
    from_model,
    load_garment,
    load_image,
    resize_square,
    to_model,
    unfit_image,
)
from .request import CancelToken, Progress, TryOnRequest, TryOnResult
from .restore import keep_unchanged
from .sampler import Sampler, noise_source

ProgressFn = Callable[[Progress], None]

# Issue 17's two memory settings, as module switches so that the memory and speed benchmarks
# can put each back (--mem-reuse, --no-trim) and measure what it does: ONNX Runtime's buffer
# reuse between the tensors of a run, off in the UNets (NO_REUSE_GRAPHS, see
# TryOnPipeline._session; MEM_REUSE=True: on everywhere, as before), and the C heap trimmed
# whenever a released session goes (release_free_memory).
NO_REUSE_GRAPHS = frozenset({"garment_net", "tryon_net"})
MEM_REUSE = False
TRIM_HEAP = True


@contextlib.contextmanager
def graph_source(data: bytes) -> Iterator[str | bytes]:
    """What ONNX Runtime loads a verified graph from: on Linux a sealed in-memory file holding
    ``data`` (``/proc/self/fd/N``: nothing can change it, and ORT loads a graph from a path
    with one copy of its weights where from bytes it keeps two); elsewhere the bytes
    themselves. Either way
    ORT refuses graphs whose weights sit in "external data" files (tests/test_bundle_trust.py)."""
    create = getattr(os, "memfd_create", None)
    if create is None:
        yield data
        return
    fd = create("vton-graph", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        data = view = None  # the memfd holds them now; the caller may drop its copy
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                    fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


@functools.cache
def _malloc_trim():
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc
    except (OSError, AttributeError, TypeError):  # another C library (musl, macOS, Windows): nothing to do
        return None
    trim.argtypes = [ctypes.c_size_t]
    return trim


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``); the pipeline
    calls it when it releases a session. A released session's weights and a finished run's
    smaller tensors come back as free heap that glibc keeps resident; the next graph's large
    tensors (the VAE decoder's 192 MiB ones at 1024x768) are mapped afresh on top of it, so
    without this the try-on's peak is that leftover plus the decoder's own. Not done while
    sessions are kept (the studio): there every try-on would fault those pages in again
    (docs/benchmarks.md, issue 17)."""
    trim = _malloc_trim() if TRIM_HEAP else None
    if trim is not None:
        trim(0)


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
    if "CUDAExecutionProvider" not in available:
        return ["CPUExecutionProvider"]
    _load_cuda_libraries()
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


@functools.cache
def _load_cuda_libraries() -> None:
    """onnxruntime-gpu installed with its ``[cuda,cudnn]`` extras (``./run.sh --gpu``) finds the
    CUDA and cuDNN libraries in the NVIDIA pip packages only once they are preloaded (once per
    process); a system CUDA install needs nothing. Best effort: without them ONNX Runtime falls
    back to the CPU."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    try:
        preload(directory="")  # "": the NVIDIA site packages first, then the default search path
    except Exception:  # noqa: BLE001 - a missing library only means the CPU runs it
        pass


class TryOnPipeline:
    """Owns the ONNX Runtime sessions of one bundle. Not thread-safe: use one per thread."""

    def __init__(self, bundle: Bundle | str | Path, threads: int | None = None, providers: list[str] | None = None,
                 keep_sessions: bool = True):
        """``keep_sessions=False`` creates each graph's session when the pipeline reaches it and
        releases it when done, so the graphs' memory never adds up (a one-shot ``vton tryon``:
        nothing to lose; repeated try-ons pay the session creation each time)."""
        self.bundle = bundle if isinstance(bundle, Bundle) else open_bundle(bundle)
        self.manifest = self.bundle.manifest
        self.threads = threads
        self.keep_sessions = keep_sessions
        self.providers = choose_providers(providers)
        self._sessions: dict[Path, ort.InferenceSession] = {}
        self._run_options: ort.RunOptions | None = None  # the current run's (cancel sets terminate)

    # -- sessions -----------------------------------------------------------------------
    def _session(self, size: tuple[int, int], graph: str) -> ort.InferenceSession:
        path = self.bundle.file(size, graph)
        if path not in self._sessions:
            spec = self.manifest.graph(size, graph)
            # the session is made from the very bytes whose sha256 was just checked, so the
            # file cannot be swapped between the check and the load (graph_source)
            data = read_verified(self.bundle, spec.file)
            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.intra_op_num_threads = self.threads or 0
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            # No arena and no memory patterns: ORT's arena keeps each graph's peak
            # activations for the session's life (full INT8 at 1024x768: 7.0 GiB peak RSS
            # with them, 2.1 GiB without; measured 2026-11-27), for no measurable speed gain.
            opts.enable_cpu_mem_arena = False
            opts.enable_mem_pattern = False
            # No buffer reuse in the UNets either: a freed buffer that ORT's planner gives to a
            # later tensor of the same size stays allocated until then, and in a UNet the down
            # path's feed-forward buffers wait that way for the up path's (full INT8 at
            # 1024x768: most of TryonNet's peak). The VAE graphs keep it: there it costs no
            # memory and saves mapping fresh pages for every full-size tensor (their runs are
            # faster with it; docs/benchmarks.md, issue 17).
            opts.enable_mem_reuse = MEM_REUSE or graph not in NO_REUSE_GRAPHS
            if spec.file.endswith(".ort"):  # ORT tells the formats apart by the name, and a memfd has none
                opts.add_session_config_entry("session.load_model_format", "ORT")
            try:
                with graph_source(data) as source:
                    del data
                    session = ort.InferenceSession(source, opts, providers=self.providers)
            except Exception as exc:  # ORT raises its own exception types for broken graphs
                raise BundleError(path, f"cannot be loaded by ONNX Runtime ({_one_line(exc)})") from None
            check_session_io(path, spec, session)  # a swapped or foreign graph is refused here
            self._sessions[path] = session
        return self._sessions[path]

    def warm_up(self, size: tuple[int, int] | None = None) -> None:
        """Create every session for ``size`` now (the studio does this in its worker thread);
        nothing to do when sessions are made as the pipeline reaches them."""
        if not self.keep_sessions:
            return
        size = size or self.manifest.default_size
        for name in self.manifest.graphs[size_key(size)]:
            self._session(size, name)

    def _done_with(self, size, graph: str) -> None:
        """This try-on needs ``graph`` no more: release its session (and give the freed heap
        back, release_free_memory) unless sessions are kept."""
        if not self.keep_sessions and self._sessions.pop(self.bundle.file(size, graph), None) is not None:
            release_free_memory()

    def _run(self, size, graph: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        session = self._session(size, graph)
        options = self._run_options
        try:
            return session.run(None, feeds, options)
        except Exception as exc:
            if options is not None and options.terminate:
                raise Cancelled() from None
            path = self.bundle.file(size, graph)
            raise BundleError(path, f"ONNX Runtime failed to run it ({_one_line(exc)})") from None

    # -- the pipeline -------------------------------------------------------------------
    def resolve_size(self, size: tuple[int, int] | None) -> tuple[int, int]:
        if size is None:
            return self.manifest.default_size
        if tuple(size) not in self.manifest.resolutions:
            avail = ", ".join(size_key(r) for r in self.manifest.resolutions)
            raise VtonError(f"size {size_key(size)} is not in bundle '{self.manifest.name}' (available: {avail})")
        return tuple(size)

    def sampler_for(self, steps: int) -> Sampler:
        spec = self.manifest.sampler  # checked when the manifest was read (engine.bundle)
        sigmas = tuple(float(s) for s in spec["sigmas"])
        if steps == len(sigmas):
            return Sampler(sigmas, spec["kind"])
        return Sampler.with_steps(steps, spec["kind"])

    def run(
        self,
        request: TryOnRequest,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        person: np.ndarray | None = None,
        garment: np.ndarray | None = None,
    ) -> TryOnResult:
        """Run one try-on. ``person``/``garment`` arrays skip reading the request's files.

        ``cancel`` is honoured at every stage: between stages, steps and restore bands, and
        inside a running graph (ONNX Runtime's terminate flag); it raises ``Cancelled``.
        """
        cancel = cancel or CancelToken()
        options = ort.RunOptions()
        options.log_severity_level = 3
        cancel.on_cancel(lambda: setattr(options, "terminate", True))
        self._run_options = options
        try:
            return self._run_once(request, progress, cancel, person, garment)
        finally:
            self._run_options = None

    def round_trip(self, image: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """``image`` through the bundle's VAE encoder and decoder alone, fitted to ``size`` and
        back: what the model's raw output could be at best if it predicted the latent of
        ``image`` exactly (``vton eval --ceiling`` scores it on the ground truth)."""
        size = self.resolve_size(size)
        fitted, fit = fit_image(image, size)
        z = self._run(size, "vae_encoder", {"image": to_model(fitted)})[0]
        decoded = self._run(size, "vae_decoder", {"latent": z})[0]
        self._done_with(size, "vae_encoder")
        self._done_with(size, "vae_decoder")
        return unfit_image(from_model(decoded), fit)

    def _run_once(self, request, progress, cancel, person, garment) -> TryOnResult:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        if request.category not in self.manifest.categories:
            raise VtonError(f"model '{self.manifest.name}' has no category '{request.category}' "
                            f"(it knows {', '.join(self.manifest.categories)})")
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
        cancel.check()
        if garment is None:
            garment = load_garment(request.garment)
        cancel.check()
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
        cancel.check()
        z_g = self._run(size, "vae_encoder", {"image": to_model(garment_fit)})[0]
        self._done_with(size, "vae_encoder")
        t = lap("encode", t)
        tokens = self._run(size, "adapter", {"garment": to_model(adapter_in)})[0]
        self._done_with(size, "adapter")
        t = lap("adapter", t)
        cancel.check()

        category = np.array([self.manifest.categories.index(request.category)], dtype=np.int64)
        mode = request.garment_features or self.manifest.garment_features

        def garment_features(sigma: float) -> list[np.ndarray]:
            feeds = {"z_garment": z_g, "sigma": np.array([sigma], np.float32), "category": category}
            return self._run(size, "garment_net", feeds)

        report("garment")
        cached = garment_features(sampler.sigmas[0]) if mode == "cached" else None
        if cached is not None:
            self._done_with(size, "garment_net")
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

        self._done_with(size, "tryon_net")
        self._done_with(size, "garment_net")
        report("decode", steps)
        h = z_p.shape[2]
        image = self._run(size, "vae_decoder", {"latent": np.ascontiguousarray(x0[:, :, :h])})[0]
        self._done_with(size, "vae_decoder")
        cancel.check()
        if request.restore:
            # the model-size crop is upscaled band by band inside the composite: a large photo
            # never gets a full-size float copy (docs/reliability.md)
            crop = crop_fit(from_model(image), fit)
            t = lap("decode", t)
            result = keep_unchanged(crop, person, check=cancel.check)
            t = lap("restore", t)
        else:
            result = unfit_image(from_model(image), fit)
            t = lap("decode", t)
        cancel.check()
        timings["total"] = time.perf_counter() - t0
        timings["steps"] = steps
        report("done", steps, 0.0)
        return TryOnResult(result, request, size, self.manifest.name, timings)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__
