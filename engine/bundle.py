"""Model bundles: a folder (or .zip of one) with ``manifest.json`` and ONNX graphs (DESIGN §4).

The manifest is the single contract between the export module (which writes it), the
engine, the studio and the Android app (which read it). A bundle is a trust boundary
(docs/bundles.md, "Trust"): before any session is created,

- ``manifest.json`` is read with limits (size, nesting, number sizes, no NaN) and every
  value is checked against its allowed range, including the graphs' tensor names and
  shapes against each other and against the pipeline's contract;
- every listed file must be a regular file inside the bundle (no symbolic links, no
  devices, no ``..``) whose size and sha256 match the manifest;
- the manifest's own sha256 must match the one recorded when the bundle was imported
  (``engine.trust``), and, where a signing key is configured, its Ed25519 signature;
- a .zip is unpacked entry by entry with limits (entries, sizes, compression ratio; only
  the files the manifest lists) into a temporary folder that is renamed into place.

Sessions are then created from the very bytes whose hash was checked (``read_verified``),
and each graph's inputs and outputs are checked against the manifest
(``check_session_io``). A bundle that fails any check is refused with a ``BundleError``
naming the file and the problem.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BundleError
from .paths import cache_dir, private_mkdir
from .request import CATEGORIES, MAX_STEPS
from .sampler import KINDS

FORMAT = "mobile-vton-bundle"
FORMAT_VERSION = 1
GRAPH_NAMES = ("vae_encoder", "garment_net", "adapter", "tryon_net", "vae_decoder")
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
GARMENT_FEATURE_MODES = ("cached", "per_step")
TARGETS = ("desktop", "android")
PRECISIONS = ("fp32", "int8", "fp16")
DTYPES = {"float32": "tensor(float)", "int64": "tensor(int64)", "float16": "tensor(float16)"}

# limits (docs/bundles.md)
MAX_MANIFEST_BYTES = 4 << 20
MAX_SIGNATURE_BYTES = 4096
MAX_FILES = 64
MAX_FILE_BYTES = 4 << 30
MAX_BUNDLE_BYTES = 12 << 30
MAX_RESOLUTIONS = 8
MIN_SIDE, MAX_SIDE = 32, 4096
MAX_TENSOR_ELEMENTS = 1 << 28
MAX_TENSORS = 256
MAX_NAME = 200
MAX_INT_DIGITS = 24
ZIP_MAX_ENTRIES = 256
ZIP_MAX_RATIO = 100  # uncompressed / compressed, per entry (graphs compress ~1.1x)
ZIP_CACHE_KEEP = 3  # unpacked .zip bundles kept in the cache


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def size_key(size: tuple[int, int]) -> str:
    """(1024, 768) -> '1024x768', the resolution key used in manifests and the CLI."""
    return f"{size[0]}x{size[1]}"


def parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size must look like 1024x768 (height x width), got {text!r}") from None
    if not (0 < h <= 65536 and 0 < w <= 65536):
        raise ValueError(f"size must be positive (height x width), got {text!r}")
    return h, w


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    def to_json(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class GraphSpec:
    file: str
    precision: str  # "fp32" | "int8"
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "precision": self.precision,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
        }


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Manifest:
    name: str
    config_name: str
    config: dict
    trained: bool
    target: str
    resolutions: tuple[tuple[int, int], ...]
    graphs: dict[str, dict[str, GraphSpec]]  # size key -> graph name -> spec
    files: dict[str, FileEntry]
    sampler: dict  # {"kind": "renoise", "sigmas": [...]}
    garment_features: str
    preprocess: dict
    categories: tuple[str, ...]
    parity: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    license: str = ""
    extra: dict = field(default_factory=dict)  # target-specific sections (e.g. android)
    digest: str = field(default="", compare=False)  # sha256 of the manifest.json bytes it was read from

    @property
    def default_size(self) -> tuple[int, int]:
        return self.resolutions[0]

    def graph(self, size: tuple[int, int], name: str) -> GraphSpec:
        return self.graphs[size_key(size)][name]

    @property
    def synthetic_only(self) -> bool:
        """Whether the provenance says the weights saw synthetic people only."""
        data = self.provenance.get("data") if isinstance(self.provenance, dict) else None
        text = json.dumps(data).lower() if data is not None else ""
        return "synthetic" in text and not any(w in text for w in ("viton", "dresscode", "dress code", "real"))

    @property
    def training_note(self) -> str:
        """What the user should know about the weights, in one plain sentence ('' if nothing)."""
        if not self.trained:
            return "untrained (random weights): its results are noise, for tests only"
        if self.synthetic_only:
            return "trained on synthetic people only: expect poor results on real photos"
        return ""

    def to_json(self) -> dict:
        out = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "config_name": self.config_name,
            "trained": self.trained,
            "target": self.target,
            "resolutions": [list(r) for r in self.resolutions],
            "sampler": self.sampler,
            "garment_features": self.garment_features,
            "preprocess": self.preprocess,
            "categories": list(self.categories),
            "graphs": {k: {n: g.to_json() for n, g in v.items()} for k, v in self.graphs.items()},
            "files": {k: {"sha256": f.sha256, "bytes": f.bytes} for k, f in sorted(self.files.items())},
            "parity": self.parity,
            "provenance": self.provenance,
            "license": self.license,
            "config": self.config,
        }
        out.update(self.extra)
        return out

    def write(self, directory: str | Path) -> Path:
        from .images import write_atomic  # a unique temp file, then a rename

        path = Path(directory) / MANIFEST
        return write_atomic(path, (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8"))

    @classmethod
    def from_json(cls, data: Any, path: Path) -> Manifest:
        return _parse_manifest(data, path)


# -- reading the manifest ---------------------------------------------------------------------------
def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError("a number is too large")
    return int(text)


def _finite_float(text: str) -> float:
    if len(text) > 64:
        raise ValueError("a number is too long")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number is too large")
    return value


def parse_manifest_bytes(data: bytes, path: Path) -> Manifest:
    """Parse and check manifest bytes (``path`` names it in errors). Raises ``BundleError``."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise BundleError(path, f"bad manifest: {len(data)} bytes; the limit is {MAX_MANIFEST_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(path, "bad manifest: not UTF-8 text") from None
    try:
        obj = json.loads(text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_reject_constant)
    except RecursionError:
        raise BundleError(path, "bad manifest: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BundleError(path, f"bad manifest: invalid JSON at line {exc.lineno}, column {exc.colno}") from None
    except ValueError as exc:  # our hooks: NaN, Infinity, huge numbers
        raise BundleError(path, f"bad manifest: {exc}") from None
    manifest = _parse_manifest(obj, path)
    return _with_digest(manifest, hashlib.sha256(data).hexdigest())


def _with_digest(manifest: Manifest, digest: str) -> Manifest:
    object.__setattr__(manifest, "digest", digest)
    return manifest


class _Reader:
    """Pulls typed, range-checked fields out of manifest JSON with errors that name the field."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, problem: str) -> BundleError:
        return BundleError(self.path, f"bad manifest: {problem}")

    def get(self, data: Any, key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
        if not isinstance(data, dict):
            raise self.fail(f"'{where.rstrip('.') or 'the top level'}' should be a JSON object")
        if key not in data:
            raise self.fail(f"missing field '{where}{key}'")
        value = data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            names = "/".join(k.__name__ for k in kinds)
            raise self.fail(f"field '{where}{key}' should be {names}, not {type(value).__name__}")
        return value

    def integer(self, data: Any, key: str, lo: int, hi: int, where: str = "") -> int:
        value = self.get(data, key, int, where)
        if not lo <= value <= hi:
            raise self.fail(f"field '{where}{key}' is {value}; allowed: {lo} to {hi}")
        return value

    def text(self, data: Any, key: str, where: str = "", limit: int = MAX_NAME, default: str | None = None) -> str:
        if default is not None and (not isinstance(data, dict) or key not in data):
            return default
        value = self.get(data, key, str, where)
        if len(value) > limit:
            raise self.fail(f"field '{where}{key}' is longer than {limit} characters")
        if any(ord(c) < 32 and c not in "\t" for c in value) and limit <= MAX_NAME:
            raise self.fail(f"field '{where}{key}' holds control characters")
        return value

    def tensors(self, items: Any, where: str) -> tuple[TensorSpec, ...]:
        if not isinstance(items, list):
            raise self.fail(f"field '{where}' should be a list")
        if len(items) > MAX_TENSORS:
            raise self.fail(f"field '{where}' lists more than {MAX_TENSORS} tensors")
        specs, names = [], set()
        for i, t in enumerate(items):
            w = f"{where}[{i}]."
            name = self.text(t, "name", w)
            if not name or name in names:
                raise self.fail(f"field '{w}name' is empty or repeated")
            names.add(name)
            shape = self.get(t, "shape", list, w)
            if not shape or len(shape) > 8 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                                      for d in shape):
                raise self.fail(f"field '{w}shape' must be 1 to 8 positive integers")
            if math.prod(shape) > MAX_TENSOR_ELEMENTS:
                raise self.fail(f"field '{w}shape' {shape} is too large")
            dtype = t.get("dtype", "float32")
            if not isinstance(dtype, str) or dtype not in DTYPES:
                raise self.fail(f"field '{w}dtype' should be one of {', '.join(DTYPES)}")
            specs.append(TensorSpec(name, tuple(shape), dtype))
        return tuple(specs)


def check_relative_path(rel: Any, r: _Reader) -> str:
    """A listed file name: a plain relative path inside the bundle, portable to every OS."""
    if not isinstance(rel, str) or not rel or len(rel) > 512:
        raise r.fail(f"bad file name {rel!r}")
    parts = rel.split("/")
    bad = (
        rel.startswith("/") or "\\" in rel or ":" in rel or len(parts) > 4
        or any(p in ("", ".", "..") or len(p.encode("utf-8", "surrogatepass")) > 255 for p in parts)
        or any(ord(c) < 32 or c in '<>"|?*' for c in rel)
        or rel in (MANIFEST, SIGNATURE)
    )
    if bad:
        raise r.fail(f"bad file name {rel!r}: files must be plain relative paths inside the bundle")
    return rel


def _parse_manifest(data: Any, path: Path) -> Manifest:
    r = _Reader(path)
    if not isinstance(data, dict):
        raise r.fail("the top level should be a JSON object")
    if data.get("format") != FORMAT:
        raise r.fail(f"'format' should be {FORMAT!r}: this is not a Mobile-VTON bundle")
    version = r.integer(data, "format_version", 1, 1_000_000)
    if version > FORMAT_VERSION:
        raise r.fail(f"format_version {version} is newer than this app understands ({FORMAT_VERSION}); update the app")
    name = r.text(data, "name")
    if not name.strip():
        raise r.fail("field 'name' is empty")
    config_name = r.text(data, "config_name")
    trained = r.get(data, "trained", bool)
    target = data.get("target", "desktop")
    if target not in TARGETS:
        raise r.fail(f"'target' should be one of {', '.join(TARGETS)}")

    # preprocessing: the numbers the pipeline uses to size its arrays
    preprocess = r.get(data, "preprocess", dict)
    adapter_size = r.integer(preprocess, "adapter_size", 8, 1024, "preprocess.")
    vae_factor = r.integer(preprocess, "vae_factor", 1, 64, "preprocess.")
    channels = r.integer(preprocess, "latent_channels", 1, 1024, "preprocess.")
    latent_concat = r.get(preprocess, "latent_concat", bool, "preprocess.")

    raw_res = r.get(data, "resolutions", list)
    if not raw_res:
        raise r.fail("'resolutions' is empty")
    if len(raw_res) > MAX_RESOLUTIONS:
        raise r.fail(f"'resolutions' lists more than {MAX_RESOLUTIONS} sizes")
    resolutions = []
    for item in raw_res:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                                  for v in item)):
            raise r.fail("'resolutions' should be a list of [height, width] pairs")
        h, w = item
        if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE) or h % vae_factor or w % vae_factor:
            raise r.fail(f"resolution {h}x{w} is out of range ({MIN_SIDE} to {MAX_SIDE}, "
                         f"multiples of vae_factor {vae_factor})")
        if (h, w) in resolutions:
            raise r.fail(f"resolution {h}x{w} is listed twice")
        resolutions.append((h, w))

    raw_files = r.get(data, "files", dict)
    if not raw_files or len(raw_files) > MAX_FILES:
        raise r.fail(f"'files' should list 1 to {MAX_FILES} files")
    files, folded, total = {}, set(), 0
    for rel, entry in raw_files.items():
        check_relative_path(rel, r)
        sha = r.get(entry, "sha256", str, f"files.{rel}.")
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise r.fail(f"field 'files.{rel}.sha256' is not a lowercase hex sha256")
        nbytes = r.integer(entry, "bytes", 1, MAX_FILE_BYTES, f"files.{rel}.")
        total += nbytes
        if rel.lower() in folded:
            raise r.fail(f"file {rel!r} is listed twice (names differ only in case)")
        folded.add(rel.lower())
        files[rel] = FileEntry(sha, nbytes)
    if total > MAX_BUNDLE_BYTES:
        raise r.fail(f"the files add up to {total / 2**30:.1f} GiB; the limit is {MAX_BUNDLE_BYTES >> 30} GiB")
    for rel in files:  # "a" and "a/b" cannot both be files
        parts = rel.lower().split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in folded:
                raise r.fail(f"file {rel!r} sits inside {'/'.join(rel.split('/')[:i])!r}, which is listed as a file")

    graphs: dict[str, dict[str, GraphSpec]] = {}
    raw_graphs = r.get(data, "graphs", dict)
    for res in resolutions:
        key = size_key(res)
        per_size = r.get(raw_graphs, key, dict, "graphs.")
        graphs[key] = {}
        for gname in GRAPH_NAMES:
            g = r.get(per_size, gname, dict, f"graphs.{key}.")
            w = f"graphs.{key}.{gname}."
            file = r.get(g, "file", str, w)
            if file not in files:
                raise r.fail(f"graph file {file!r} is not listed under 'files'")
            precision = r.get(g, "precision", str, w)
            if precision not in PRECISIONS:
                raise r.fail(f"field '{w}precision' should be one of {', '.join(PRECISIONS)}")
            graphs[key][gname] = GraphSpec(
                file=file,
                precision=precision,
                inputs=r.tensors(r.get(g, "inputs", list, w), w + "inputs"),
                outputs=r.tensors(r.get(g, "outputs", list, w), w + "outputs"),
            )
        _check_graph_contract(graphs[key], res, vae_factor, channels, adapter_size, latent_concat, key, r)
    for key, per_size in graphs.items():  # one file, one contract
        for gname, spec in per_size.items():
            for other_key, other in graphs.items():
                for other_name, other_spec in other.items():
                    if other_spec.file == spec.file and (other_name != gname or other_spec != spec):
                        raise r.fail(f"graph file {spec.file!r} is used as {key} {gname} and {other_key} {other_name}")

    sampler = r.get(data, "sampler", dict)
    kind = r.get(sampler, "kind", str, "sampler.")
    if kind not in KINDS:
        raise r.fail(f"'sampler.kind' is {kind[:40]!r}; allowed: {', '.join(KINDS)}")
    sigmas = r.get(sampler, "sigmas", list, "sampler.")
    if not 1 <= len(sigmas) <= MAX_STEPS:
        raise r.fail(f"'sampler.sigmas' should hold 1 to {MAX_STEPS} values")
    if not all(isinstance(s, int | float) and not isinstance(s, bool) and 0.0 < s <= 1.0 for s in sigmas):
        raise r.fail("'sampler.sigmas' should be numbers in (0, 1]")
    if any(b >= a for a, b in zip(sigmas, sigmas[1:], strict=False)):
        raise r.fail("'sampler.sigmas' should be strictly decreasing")
    mode = r.get(data, "garment_features", str)
    if mode not in GARMENT_FEATURE_MODES:
        raise r.fail(f"'garment_features' should be one of {', '.join(GARMENT_FEATURE_MODES)}")
    categories = r.get(data, "categories", list)
    if not categories or len(categories) > len(CATEGORIES) or len(set(map(str, categories))) != len(categories) \
            or not all(isinstance(c, str) and c in CATEGORIES for c in categories):
        raise r.fail(f"'categories' should list some of {', '.join(CATEGORIES)}, each once")
    for key in ("parity", "provenance", "config"):
        if key in data and not isinstance(data[key], dict):
            raise r.fail(f"field '{key}' should be a JSON object")
    license_ = r.text(data, "license", limit=10_000, default="")
    known = {
        "format", "format_version", "name", "config_name", "trained", "target", "resolutions", "sampler",
        "garment_features", "preprocess", "categories", "graphs", "files", "parity", "provenance", "license",
        "config",
    }
    return Manifest(
        name=name,
        config_name=config_name,
        config=data.get("config", {}),
        trained=trained,
        target=target,
        resolutions=tuple(resolutions),
        graphs=graphs,
        files=files,
        sampler={"kind": kind, "sigmas": [float(s) for s in sigmas]},
        garment_features=mode,
        preprocess=preprocess,
        categories=tuple(categories),
        parity=data.get("parity", {}),
        provenance=data.get("provenance", {}),
        license=license_,
        extra={k: v for k, v in data.items() if k not in known},
    )


def _check_graph_contract(g: dict[str, GraphSpec], res, factor, channels, adapter_size, concat, key, r) -> None:
    """The five graphs' tensors fit each other and what the pipeline feeds them."""
    H, W = res
    h, w = H // factor, W // factor
    latent = (1, channels, h, w)

    def inputs(name: str) -> dict[str, TensorSpec]:
        return {t.name: t for t in g[name].inputs}

    def expect(name: str, tensor: str, shape, dtype: str = "float32", where: str = "inputs") -> None:
        specs = inputs(name) if where == "inputs" else {t.name: t for t in g[name].outputs}
        t = specs.get(tensor)
        if t is None:
            raise r.fail(f"graphs.{key}.{name} has no {where[:-1]} '{tensor}'")
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise r.fail(f"graphs.{key}.{name} {where[:-1]} '{tensor}' has shape {list(t.shape)}, "
                         f"expected {list(shape)}")
        if t.dtype != dtype:
            raise r.fail(f"graphs.{key}.{name} {where[:-1]} '{tensor}' is {t.dtype}, expected {dtype}")

    def one_output(name: str, shape=None) -> TensorSpec:
        outs = g[name].outputs
        if len(outs) != 1:
            raise r.fail(f"graphs.{key}.{name} should have one output, not {len(outs)}")
        if shape is not None and tuple(outs[0].shape) != tuple(shape):
            raise r.fail(f"graphs.{key}.{name} output has shape {list(outs[0].shape)}, expected {list(shape)}")
        return outs[0]

    def exactly(name: str, names: set[str]) -> None:
        have = set(inputs(name))
        if have != names:
            raise r.fail(f"graphs.{key}.{name} inputs are {sorted(have)}, expected {sorted(names)}")

    exactly("vae_encoder", {"image"})
    expect("vae_encoder", "image", (1, 3, H, W))
    one_output("vae_encoder", latent)
    exactly("adapter", {"garment"})
    expect("adapter", "garment", (1, 3, adapter_size, adapter_size))
    tokens = one_output("adapter")
    exactly("vae_decoder", {"latent"})
    expect("vae_decoder", "latent", latent)
    one_output("vae_decoder", (1, 3, H, W))
    exactly("garment_net", {"z_garment", "sigma", "category"})
    expect("garment_net", "z_garment", latent)
    expect("garment_net", "sigma", (1,))
    expect("garment_net", "category", (1,), "int64")
    features = g["garment_net"].outputs
    feature_inputs = sorted(n for n in inputs("tryon_net") if n.startswith("garment_feature_"))
    exactly("tryon_net", {"x", "z_person", "z_garment", "sigma", "category", "image_tokens", *feature_inputs})
    x_shape = (1, channels, 2 * h if concat else h, w)
    expect("tryon_net", "x", x_shape)
    expect("tryon_net", "z_person", latent)
    expect("tryon_net", "z_garment", latent)
    expect("tryon_net", "sigma", (1,))
    expect("tryon_net", "category", (1,), "int64")
    expect("tryon_net", "image_tokens", tokens.shape)
    one_output("tryon_net", x_shape)
    ordered = [t.name for t in g["tryon_net"].inputs if t.name.startswith("garment_feature_")]
    if len(ordered) != len(features):
        raise r.fail(f"graphs.{key}: garment_net has {len(features)} outputs but tryon_net takes "
                     f"{len(ordered)} garment features")
    for out, name in zip(features, ordered, strict=True):
        expect("tryon_net", name, out.shape)


# -- files on disk -----------------------------------------------------------------------------------
def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BundleError(path, f"cannot be read ({exc.strerror or exc})") from None


def check_regular(directory: Path, rel: str) -> Path:
    """``directory/rel`` as a regular file reached through real folders only (no links)."""
    path = directory
    parts = rel.split("/")
    for i, part in enumerate(parts):
        path = path / part
        st = _lstat(path)
        if st is None:
            raise BundleError(path, "missing from the bundle")
        if stat.S_ISLNK(st.st_mode):
            raise BundleError(path, "is a symbolic link: a bundle may hold regular files only")
        last = i == len(parts) - 1
        if last and not stat.S_ISREG(st.st_mode):
            raise BundleError(path, "is not a regular file")
        if not last and not stat.S_ISDIR(st.st_mode):
            raise BundleError(path, "is not a folder")
    return path


def _open_nofollow(path: Path):
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BundleError(path, "is a symbolic link: a bundle may hold regular files only") from None
        raise BundleError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BundleError(path, "is not a regular file")
    return os.fdopen(fd, "rb")


def _read_small(path: Path, limit: int, what: str) -> bytes:
    with _open_nofollow(path) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BundleError(path, f"{what} is larger than the limit of {limit} bytes")
    return data


def read_manifest(directory: str | Path) -> Manifest:
    """Read and check ``directory/manifest.json`` (no file hashing)."""
    directory = Path(directory)
    path = directory / MANIFEST
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        raise BundleError(directory, "bundle not found") from None
    except OSError as exc:
        raise BundleError(directory, f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise BundleError(directory, "not a bundle folder or .zip")
    st = _lstat(path)
    if st is None:
        raise BundleError(path, "missing: this folder is not a model bundle")
    if stat.S_ISLNK(st.st_mode):
        raise BundleError(path, "is a symbolic link: a bundle may hold regular files only")
    if not stat.S_ISREG(st.st_mode):
        raise BundleError(path, "is not a regular file")
    return parse_manifest_bytes(_read_small(path, MAX_MANIFEST_BYTES, "the manifest"), path)


def verify_files(directory: str | Path, manifest: Manifest) -> list[BundleError]:
    """Check every listed file: a regular file, its size and its sha256. One error per bad file."""
    directory = Path(directory)
    problems = []
    for rel, entry in sorted(manifest.files.items()):
        try:
            path = check_regular(directory, rel)
            size = os.lstat(path).st_size
            if size != entry.bytes:
                raise BundleError(path, f"size is {size} bytes, manifest says {entry.bytes}")
            digest = hashlib.sha256()
            with _open_nofollow(path) as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
            if digest.hexdigest() != entry.sha256:
                raise BundleError(path, "sha256 does not match the manifest: the file was changed or corrupted")
        except BundleError as exc:
            problems.append(exc)
    return problems


def read_verified(bundle: Bundle, rel: str) -> bytes:
    """A listed file's bytes, checked against the manifest on the very bytes returned."""
    entry = bundle.manifest.files[rel]
    path = check_regular(bundle.path, rel)
    with _open_nofollow(path) as fh:
        data = fh.read(entry.bytes + 1)
    if len(data) != entry.bytes:
        raise BundleError(path, f"size is {len(data)} bytes, manifest says {entry.bytes}")
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        raise BundleError(path, "sha256 does not match the manifest: the file was changed or corrupted")
    return data


def check_session_io(path: Path, spec: GraphSpec, session) -> None:
    """An ONNX Runtime session's inputs and outputs against the manifest's spec for that graph."""

    def check(kind: str, have, want: tuple[TensorSpec, ...]) -> None:
        names = [t.name for t in have]
        if sorted(names) != sorted(t.name for t in want):
            raise BundleError(path, f"the graph's {kind} are {names[:6]}, the manifest says "
                                    f"{[t.name for t in want][:6]}: the file does not fit this bundle")
        by_name = {t.name: t for t in have}
        for t in want:
            actual = by_name[t.name]
            shape = list(actual.shape)
            if len(shape) != len(t.shape) or any(isinstance(a, int) and a != b for a, b in zip(shape, t.shape,
                                                                                           strict=False)):
                raise BundleError(path, f"the graph's {kind[:-1]} '{t.name}' has shape {shape}, the manifest "
                                        f"says {list(t.shape)}")
            if actual.type != DTYPES[t.dtype]:
                raise BundleError(path, f"the graph's {kind[:-1]} '{t.name}' is {actual.type}, the manifest "
                                        f"says {t.dtype}")

    check("inputs", session.get_inputs(), spec.inputs)
    check("outputs", session.get_outputs(), spec.outputs)


# -- bundles -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bundle:
    """A verified bundle on disk."""

    path: Path  # the folder (a .zip is unpacked into the cache first)
    manifest: Manifest
    source: Path  # what the user pointed at (folder or .zip)
    trust: str = ""  # how the manifest is vouched for (engine.trust.check_trust)

    @property
    def name(self) -> str:
        return self.manifest.name

    def file(self, size: tuple[int, int], graph: str) -> Path:
        return self.path / self.manifest.graph(size, graph).file


_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def _zip_problem(info: zipfile.ZipInfo) -> str | None:
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.compress_type not in _ZIP_METHODS:
        return f"uses compression method {info.compress_type}, which this app cannot read"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link"
    return None


def _copy_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, out: Path, entry: FileEntry, label: Path) -> None:
    """Extract one entry to ``out``, stopping at the manifest's size and checking its sha256."""
    digest = hashlib.sha256()
    written = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    with zf.open(info) as src, os.fdopen(os.open(out, flags, 0o600), "wb") as dst:
        while block := src.read(1 << 20):
            written += len(block)
            if written > entry.bytes:
                raise BundleError(label, f"unpacks to more than the {entry.bytes} bytes the manifest lists")
            digest.update(block)
            dst.write(block)
    if written != entry.bytes:
        raise BundleError(label, f"unpacks to {written} bytes, manifest says {entry.bytes}")
    if digest.hexdigest() != entry.sha256:
        raise BundleError(label, "sha256 does not match the manifest: the file was changed or corrupted")


def _unpack_zip(path: Path, into: Path | None = None) -> Path:
    """Unpack a bundle .zip (only what its manifest lists) and return the folder.

    ``into``: a fresh folder to create; default: the cache, keyed by the zip's sha256.
    """
    from .trust import sweep_stale

    try:
        st = os.stat(path)
    except OSError as exc:
        raise BundleError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise BundleError(path, "is not a regular file")
    root = cache_dir() / "bundles"
    private_mkdir(root)
    sweep_stale(root)
    if into is None:
        digest = sha256_file(path)[:16]
        stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in path.stem)[:40].strip(".") or "bundle"
        target = root / f"{stem}-{digest}"
        if (target / MANIFEST).is_file():
            os.utime(target)  # most recently used: kept by the cache eviction
            return target
    else:
        target = into
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=root))
    try:
        _extract(path, tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if into is None and (target / MANIFEST).is_file():  # another process unpacked it meanwhile
                shutil.rmtree(tmp, ignore_errors=True)
                return target
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if into is None:
        _evict_cache(root, keep=target)
    return target


def _extract(path: Path, tmp: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > ZIP_MAX_ENTRIES:
                raise BundleError(path, f"holds {len(infos)} entries; a bundle has at most {ZIP_MAX_ENTRIES}")
            by_name: dict[str, zipfile.ZipInfo] = {}
            for info in infos:
                if info.filename in by_name:
                    raise BundleError(path, f"holds two entries named {info.filename!r}")
                by_name[info.filename] = info
            # A zip of a folder holds "folder/manifest.json"; a zip of its contents holds "manifest.json".
            prefix = ""
            if MANIFEST not in by_name:
                roots = {n.split("/")[0] for n in by_name if n.strip("/")}
                if len(roots) == 1 and f"{next(iter(roots))}/{MANIFEST}" in by_name:
                    prefix = next(iter(roots)) + "/"
            minfo = by_name.get(prefix + MANIFEST)
            if minfo is None:
                raise BundleError(path, "no manifest.json inside: this zip is not a model bundle")
            label = Path(f"{path}!{prefix}{MANIFEST}")
            problem = _zip_problem(minfo)
            if problem:
                raise BundleError(label, problem)
            if minfo.file_size > MAX_MANIFEST_BYTES:
                raise BundleError(label, f"bad manifest: larger than {MAX_MANIFEST_BYTES} bytes")
            with zf.open(minfo) as fh:
                data = fh.read(MAX_MANIFEST_BYTES + 1)
            manifest = parse_manifest_bytes(data, label)
            for rel, entry in sorted(manifest.files.items()):
                info = by_name.get(prefix + rel)
                elabel = Path(f"{path}!{prefix}{rel}")
                if info is None:
                    raise BundleError(elabel, "missing from the bundle")
                problem = _zip_problem(info)
                if problem:
                    raise BundleError(elabel, problem)
                if info.file_size != entry.bytes:
                    raise BundleError(elabel, f"size is {info.file_size} bytes, manifest says {entry.bytes}")
                if info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1) and info.file_size > (1 << 20):
                    raise BundleError(elabel, f"compresses {info.file_size // max(info.compress_size, 1)}:1, "
                                              f"more than {ZIP_MAX_RATIO}:1 (a zip bomb?)")
            (tmp / MANIFEST).write_bytes(data)
            sig = by_name.get(prefix + SIGNATURE)
            if sig is not None and _zip_problem(sig) is None and sig.file_size <= MAX_SIGNATURE_BYTES:
                with zf.open(sig) as fh:
                    (tmp / SIGNATURE).write_bytes(fh.read(MAX_SIGNATURE_BYTES + 1)[:MAX_SIGNATURE_BYTES])
            for rel, entry in sorted(manifest.files.items()):
                out = tmp / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                _copy_entry(zf, by_name[prefix + rel], out, entry, Path(f"{path}!{prefix}{rel}"))
    except BundleError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, RuntimeError, NotImplementedError,
            KeyError, OverflowError) as exc:
        raise BundleError(path, f"not a valid .zip file ({' '.join(str(exc).split())[:120]})") from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
            raise BundleError(path, f"cannot be unpacked ({exc.strerror})") from None
        raise BundleError(path, f"not a valid .zip file ({exc.strerror or exc})") from None
    except Exception as exc:  # zlib.error, lzma.LZMAError, bz2 errors: damaged compressed data
        raise BundleError(path, f"damaged compressed data ({type(exc).__name__})") from None


def _evict_cache(root: Path, keep: Path) -> None:
    """Keep the ``ZIP_CACHE_KEEP`` most recently used unpacked bundles; remove older ones."""
    try:
        folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep]
        folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in folders[ZIP_CACHE_KEEP - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def open_bundle(path: str | Path, verify: bool = True, unpack_into: Path | None = None) -> Bundle:
    """Open a bundle folder or .zip, check its manifest and (by default) every file and its trust.

    ``unpack_into`` unpacks a .zip into that new folder instead of the cache.
    """
    from .trust import check_trust

    source = Path(path)
    try:
        is_zip = source.suffix.lower() == ".zip" and source.is_file()
    except OSError as exc:
        raise BundleError(source, f"cannot be read ({exc.strerror or exc})") from None
    folder = _unpack_zip(source, unpack_into) if is_zip else source
    manifest = read_manifest(folder)
    trust = ""
    if verify:
        problems = verify_files(folder, manifest)
        if problems:
            raise problems[0]
        trust = check_trust(folder, manifest)
    return Bundle(folder, manifest, source, trust)
