"""Model bundles: a folder (or .zip of one) with ``manifest.json`` and ONNX graphs (DESIGN §4).

The manifest is the single contract between the export module (which writes it), the
engine, the studio and the Android app (which read it). Every graph file's sha256 is
checked before a session is created; a bundle that does not verify is refused, naming
the file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BundleError
from .paths import cache_dir

FORMAT = "mobile-vton-bundle"
FORMAT_VERSION = 1
GRAPH_NAMES = ("vae_encoder", "garment_net", "adapter", "tryon_net", "vae_decoder")
MANIFEST = "manifest.json"
GARMENT_FEATURE_MODES = ("cached", "per_step")
TARGETS = ("desktop", "android")


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

    @property
    def default_size(self) -> tuple[int, int]:
        return self.resolutions[0]

    def graph(self, size: tuple[int, int], name: str) -> GraphSpec:
        return self.graphs[size_key(size)][name]

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
        path = Path(directory) / MANIFEST
        tmp = path.with_suffix(".json.part")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def from_json(cls, data: Any, path: Path) -> Manifest:
        return _parse_manifest(data, path)


class _Reader:
    """Pulls typed fields out of manifest JSON with errors that name the field."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, problem: str) -> BundleError:
        return BundleError(self.path, f"bad manifest: {problem}")

    def get(self, data: dict, key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
        if not isinstance(data, dict) or key not in data:
            raise self.fail(f"missing field '{where}{key}'")
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(f"field '{where}{key}' should be {names}, not {type(value).__name__}")
        return value

    def tensors(self, items: Any, where: str) -> tuple[TensorSpec, ...]:
        if not isinstance(items, list):
            raise self.fail(f"field '{where}' should be a list")
        specs = []
        for i, t in enumerate(items):
            w = f"{where}[{i}]."
            shape = self.get(t, "shape", list, w)
            if not all(isinstance(d, int) and d > 0 for d in shape):
                raise self.fail(f"field '{w}shape' must hold positive integers")
            specs.append(TensorSpec(self.get(t, "name", str, w), tuple(shape), t.get("dtype", "float32")))
        return tuple(specs)


def _parse_manifest(data: Any, path: Path) -> Manifest:
    r = _Reader(path)
    if not isinstance(data, dict):
        raise r.fail("the top level should be a JSON object")
    if data.get("format") != FORMAT:
        raise r.fail(f"'format' should be {FORMAT!r}: this is not a Mobile-VTON bundle")
    version = r.get(data, "format_version", int)
    if version > FORMAT_VERSION:
        raise r.fail(f"format_version {version} is newer than this app understands ({FORMAT_VERSION}); update the app")
    resolutions = []
    for item in r.get(data, "resolutions", list):
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(v, int) and v > 0 for v in item)):
            raise r.fail("'resolutions' should be a list of [height, width] pairs")
        resolutions.append((item[0], item[1]))
    if not resolutions:
        raise r.fail("'resolutions' is empty")

    files = {}
    for rel, entry in r.get(data, "files", dict).items():
        sha = r.get(entry, "sha256", str, f"files.{rel}.")
        nbytes = r.get(entry, "bytes", int, f"files.{rel}.")
        if len(sha) != 64 or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise r.fail(f"bad entry for file {rel!r}")
        files[rel] = FileEntry(sha, nbytes)

    graphs: dict[str, dict[str, GraphSpec]] = {}
    raw_graphs = r.get(data, "graphs", dict)
    for res in resolutions:
        key = size_key(res)
        per_size = r.get(raw_graphs, key, dict, "graphs.")
        graphs[key] = {}
        for name in GRAPH_NAMES:
            g = r.get(per_size, name, dict, f"graphs.{key}.")
            w = f"graphs.{key}.{name}."
            file = r.get(g, "file", str, w)
            if file not in files:
                raise r.fail(f"graph file {file!r} is not listed under 'files'")
            graphs[key][name] = GraphSpec(
                file=file,
                precision=r.get(g, "precision", str, w),
                inputs=r.tensors(r.get(g, "inputs", list, w), w + "inputs"),
                outputs=r.tensors(r.get(g, "outputs", list, w), w + "outputs"),
            )

    sampler = r.get(data, "sampler", dict)
    sigmas = r.get(sampler, "sigmas", list, "sampler.")
    if not sigmas or not all(isinstance(s, int | float) for s in sigmas):
        raise r.fail("'sampler.sigmas' should be a list of numbers")
    r.get(sampler, "kind", str, "sampler.")
    mode = r.get(data, "garment_features", str)
    if mode not in GARMENT_FEATURE_MODES:
        raise r.fail(f"'garment_features' should be one of {GARMENT_FEATURE_MODES}")
    target = data.get("target", "desktop")
    if target not in TARGETS:
        raise r.fail(f"'target' should be one of {TARGETS}")
    preprocess = r.get(data, "preprocess", dict)
    for key in ("adapter_size", "vae_factor", "latent_channels"):
        r.get(preprocess, key, int, "preprocess.")
    r.get(preprocess, "latent_concat", bool, "preprocess.")
    categories = tuple(r.get(data, "categories", list))
    known = {
        "format", "format_version", "name", "config_name", "trained", "target", "resolutions", "sampler",
        "garment_features", "preprocess", "categories", "graphs", "files", "parity", "provenance", "license",
        "config",
    }
    return Manifest(
        name=r.get(data, "name", str),
        config_name=r.get(data, "config_name", str),
        config=data.get("config", {}),
        trained=r.get(data, "trained", bool),
        target=target,
        resolutions=tuple(resolutions),
        graphs=graphs,
        files=files,
        sampler=sampler,
        garment_features=mode,
        preprocess=preprocess,
        categories=categories,
        parity=data.get("parity", {}),
        provenance=data.get("provenance", {}),
        license=data.get("license", ""),
        extra={k: v for k, v in data.items() if k not in known},
    )


def read_manifest(directory: str | Path) -> Manifest:
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.exists():
        raise BundleError(directory, "bundle not found")
    if not directory.is_dir():
        raise BundleError(directory, "not a bundle folder or .zip")
    if not path.is_file():
        raise BundleError(path, "missing: this folder is not a model bundle")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BundleError(path, "bad manifest: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BundleError(path, f"bad manifest: invalid JSON at line {exc.lineno}, column {exc.colno}") from None
    return Manifest.from_json(data, path)


def verify_files(directory: str | Path, manifest: Manifest) -> list[BundleError]:
    """Check every listed file's size and sha256. Returns one error per bad file."""
    directory = Path(directory)
    problems = []
    for rel, entry in sorted(manifest.files.items()):
        path = directory / rel
        if not path.is_file():
            problems.append(BundleError(path, "missing from the bundle"))
        elif path.stat().st_size != entry.bytes:
            problems.append(BundleError(path, f"size is {path.stat().st_size} bytes, manifest says {entry.bytes}"))
        elif sha256_file(path) != entry.sha256:
            problems.append(BundleError(path, "sha256 does not match the manifest: the file was changed or corrupted"))
    return problems


@dataclass(frozen=True)
class Bundle:
    """A verified bundle on disk."""

    path: Path  # the folder (a .zip is unpacked into the cache first)
    manifest: Manifest
    source: Path  # what the user pointed at (folder or .zip)

    @property
    def name(self) -> str:
        return self.manifest.name

    def file(self, size: tuple[int, int], graph: str) -> Path:
        return self.path / self.manifest.graph(size, graph).file


def _unpack_zip(path: Path) -> Path:
    digest = sha256_file(path)[:16]
    target = cache_dir() / "bundles" / f"{path.stem}-{digest}"
    if (target / MANIFEST).is_file():
        return target
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            for n in names:
                if Path(n).is_absolute() or ".." in Path(n).parts:
                    raise BundleError(path, f"unsafe path inside the zip: {n!r}")
            # A zip of a folder holds "folder/manifest.json"; a zip of its contents holds "manifest.json".
            roots = {Path(n).parts[0] for n in names if n.strip("/")}
            prefix = ""
            if MANIFEST not in names and len(roots) == 1 and f"{next(iter(roots))}/{MANIFEST}" in names:
                prefix = next(iter(roots)) + "/"
            if prefix + MANIFEST not in names:
                raise BundleError(path, "no manifest.json inside: this zip is not a model bundle")
            tmp = target.with_name(target.name + ".part")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for n in names:
                if n.endswith("/") or not n.startswith(prefix):
                    continue
                out = tmp / n[len(prefix) :]
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(n) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
    except zipfile.BadZipFile:
        raise BundleError(path, "not a valid .zip file") from None
    return target


def open_bundle(path: str | Path, verify: bool = True) -> Bundle:
    """Open a bundle folder or .zip, check its manifest and (by default) every file hash."""
    source = Path(path)
    if source.is_file() and source.suffix.lower() == ".zip":
        folder = _unpack_zip(source)
    else:
        folder = source
    manifest = read_manifest(folder)
    if verify:
        problems = verify_files(folder, manifest)
        if problems:
            raise problems[0]
    return Bundle(folder, manifest, source)
