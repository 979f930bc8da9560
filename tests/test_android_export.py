"""Android target of the export module and the contract of the Android app (issue 7).

A real tiny INT8 desktop bundle (the ``tiny_bundle`` fixture) is converted to an Android
bundle once per module; the tests check what the conversion wrote, run the ``.ort`` graphs
through the real engine against the desktop bundle, and check the names the Kotlin app
relies on against the exported manifest.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from engine import bundle as engine_bundle
from engine import sampler as engine_sampler
from engine.bundle import open_bundle, sha256_file
from engine.errors import BundleError, InputError
from engine.pipeline import TryOnPipeline
from engine.request import TryOnRequest
from models.export.android import (
    OPERATORS_CONFIG,
    SECTION,
    SOURCE_MANIFEST,
    USABILITY_JSON,
    USABILITY_TEXT,
    convert_to_android,
    ort_model_ops,
    ort_name,
    read_operators_config,
)

ROOT = Path(__file__).resolve().parent.parent
ANDROID = ROOT / "packaging" / "android"
KOTLIN_MAIN = ANDROID / "app" / "src" / "main" / "java" / "org" / "mobilevton" / "studio"
CONTRACT = KOTLIN_MAIN / "BundleContract.kt"
INT8_KERNELS = {"QLinearConv", "QLinearMatMul", "QGemm", "QLinearAdd", "MatMulIntegerToFloat"}


@pytest.fixture(scope="module")
def android_bundle(tiny_bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("android") / "tiny-android"
    convert_to_android(tiny_bundle, out, log=lambda m: None)
    return out


@pytest.fixture(scope="module")
def manifests(tiny_bundle, android_bundle):
    return open_bundle(tiny_bundle).manifest, open_bundle(android_bundle).manifest  # both verify every hash


# -- what the conversion writes ----------------------------------------------------------------
def test_android_bundle_has_ort_graphs_config_report_and_same_contract(android_bundle, manifests):
    desktop, android = manifests
    assert android.target == "android" and desktop.target == "desktop"
    assert set(android.files) == {ort_name(f) for f in desktop.files}
    for rel in android.files:
        data = (android_bundle / rel).read_bytes()
        assert rel.endswith(".ort") and data[4:8] == b"ORTM", f"{rel} is not an ORT-format flatbuffer"
    # everything the pipeline reads is unchanged; only the graph files point at .ort
    for size, per_size in desktop.graphs.items():
        for name, spec in per_size.items():
            a = android.graphs[size][name]
            assert a.file == ort_name(spec.file)
            assert (a.precision, a.inputs, a.outputs) == (spec.precision, spec.inputs, spec.outputs)
    for field in ("resolutions", "sampler", "garment_features", "preprocess", "categories", "config", "parity"):
        assert getattr(android, field) == getattr(desktop, field), field

    assert (android_bundle / OPERATORS_CONFIG).is_file()
    report = (android_bundle / USABILITY_TEXT).read_text()
    assert "Checking NNAPI" in report and "CoreML" in report
    assert "vton-android-" not in report, "temporary paths leaked into the report"
    summary = json.loads((android_bundle / USABILITY_JSON).read_text())
    assert set(summary) == set(desktop.files)
    for item in summary.values():
        assert set(item["suitability"]) >= {"NNAPI", "CoreML MLProgram"}
    section = android.extra[SECTION]
    assert section["usability_report"]["summary"] == summary
    assert section["required_operators"]["sha256"] == sha256_file(android_bundle / OPERATORS_CONFIG)


def test_manifest_records_the_desktop_graph_hashes(tiny_bundle, android_bundle, manifests):
    desktop, android = manifests
    section = android.extra[SECTION]
    # the proof that both targets run the same graphs: the desktop manifest's own hashes
    assert section["source_graphs"] == {f: e.sha256 for f, e in desktop.files.items()}
    assert section["source_graphs"] == {f: sha256_file(tiny_bundle / f) for f in desktop.files}
    assert section["converted_from"] == {ort_name(f): f for f in desktop.files}
    assert (android_bundle / SOURCE_MANIFEST).read_bytes() == (tiny_bundle / "manifest.json").read_bytes()
    assert section["source"]["manifest_sha256"] == sha256_file(tiny_bundle / "manifest.json")
    assert section["ort_format"]["onnxruntime"] == ort.__version__
    assert section["optimization"]["style"] == "Fixed"


def test_int8_graphs_stay_int8_and_match_their_source(android_bundle, manifests):
    desktop, android = manifests
    section = android.extra[SECTION]
    for rel in android.files:
        ops = {op for _, op, _ in ort_model_ops(android_bundle / rel)}
        assert ops & INT8_KERNELS, f"{rel} runs no INT8 kernel: {sorted(ops)}"
        # same inputs, same session options as the conversion: the conversion itself is lossless
        parity = section["parity_vs_source"][rel]
        assert parity["max_abs_diff"] <= 1e-6 * parity["max_abs_ref"], (rel, parity)
    assert {s.precision for per in android.graphs.values() for s in per.values()} == {"int8"}


def test_required_operators_config_covers_every_op_of_every_graph(android_bundle, manifests):
    _, android = manifests
    config = read_operators_config(android_bundle / OPERATORS_CONFIG)
    used = set()
    for rel in android.files:
        ops = set(ort_model_ops(android_bundle / rel))  # read straight from the flatbuffer
        missing = ops - config
        assert not missing, f"{rel} needs operators the reduced build would lack: {sorted(missing)}"
        used |= ops
    assert config == used, f"config lists operators no graph uses: {sorted(config - used)}"


def test_conversion_refuses_bad_sources_and_targets(tiny_bundle, android_bundle, tmp_path):
    with pytest.raises(BundleError, match="android"):
        convert_to_android(android_bundle, tmp_path / "again", log=lambda m: None)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        convert_to_android(tiny_bundle, taken, log=lambda m: None)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_bundle, broken)
    (broken / "adapter.onnx").write_bytes(b"tampered")
    with pytest.raises(BundleError, match="adapter.onnx"):
        convert_to_android(broken, tmp_path / "out", log=lambda m: None)


def test_cli_converts_an_existing_desktop_bundle(tiny_bundle, tmp_path, capsys):
    """`vton bundle android DESKTOP --out A` (the CLI path of the same converter)."""
    from app.cli import main

    assert main(["bundle", "android", str(tiny_bundle), "--out", str(tmp_path / "A")]) == 0
    android = open_bundle(tmp_path / "A").manifest
    assert android.target == "android"
    assert android.extra[SECTION]["source_graphs"] == {f: e.sha256 for f, e in open_bundle(tiny_bundle).manifest.files.items()}


# -- the .ort bundle through the real engine ------------------------------------------------------
class ConvertedStylePipeline(TryOnPipeline):
    """The engine, but creating sessions with the options the Android conversion baked in."""

    def _session(self, size, graph):
        path = self.bundle.file(size, graph)
        if path not in self._sessions:
            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.intra_op_num_threads = 1
            opts.log_severity_level = 3
            opts.add_session_config_entry("session.qdqisint8allowed", "1")
            self._sessions[path] = ort.InferenceSession(
                str(path), opts, providers=["CPUExecutionProvider"], disabled_optimizers=["NchwcTransformer"])
        return self._sessions[path]


def test_ort_bundle_runs_in_the_engine_and_matches_the_desktop_bundle(tiny_bundle, android_bundle, record_property):
    """Same inputs, seed and noise through engine.pipeline.TryOnPipeline (which loads .ort files as is).

    Two comparisons:
    - against the desktop bundle run with the session options the conversion used: the same
      kernels on the same graphs, so the result must be identical, bit for bit;
    - against the desktop bundle as the desktop app runs it on this x86 machine: ONNX Runtime
      picks some different fused INT8 kernels there (no int8 QDQ fusion on x86), so where a value
      sits on a requantisation rounding boundary one uint8 activation moves by one step and the
      sampler carries it on. Measured: most runs bit-identical, the rest at most 2 of 255 levels
      in a few percent of pixels (~62 dB PSNR). Asserted: <= 4 levels and >= 50 dB, twice the
      measured margin yet far below what a wrong graph, swapped input or different sampler gives
      (tens of levels, 10-20 dB).
    """
    rng = np.random.default_rng(0)
    person = (rng.random((301, 207, 3)) * 255).astype(np.uint8)
    garment = (rng.random((180, 160, 3)) * 255).astype(np.uint8)
    android = TryOnPipeline(android_bundle, threads=1)
    desktop = TryOnPipeline(tiny_bundle, threads=1)
    desktop_converted_style = ConvertedStylePipeline(tiny_bundle)
    size = android.manifest.default_size
    assert all(android.bundle.file(size, g).suffix == ".ort" for g in engine_bundle.GRAPH_NAMES)
    worst, psnrs, identical = 0, [], 0
    for category, seed, mode in (("upper", 0, "cached"), ("lower", 1, "per_step"), ("dress", 3, "cached")):
        req = TryOnRequest(person="p.png", garment="g.png", category=category, seed=seed, garment_features=mode)
        b = android.run(req, person=person, garment=garment).image
        same = desktop_converted_style.run(req, person=person, garment=garment).image
        np.testing.assert_array_equal(b, same, err_msg=f"{category}/{seed}/{mode}: conversion changed the result")
        a = desktop.run(req, person=person, garment=garment).image
        assert a.shape == b.shape == person.shape
        diff = np.abs(a.astype(np.float64) - b)
        worst = max(worst, int(diff.max()))
        mse = float(np.mean(diff**2))
        psnrs.append(float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse))
        identical += int(mse == 0)
    record_property("ort_vs_desktop_max_abs_diff_levels", worst)
    record_property("ort_vs_desktop_min_psnr_db", min(psnrs))
    print(f"\n.ort vs desktop: max |diff| = {worst}/255, min PSNR = {min(psnrs):.1f} dB, "
          f"{identical}/{len(psnrs)} runs bit-identical")
    assert worst <= 4
    assert min(psnrs) >= 50.0


# -- the Kotlin app's contract --------------------------------------------------------------------
def _kotlin_objects(path: Path) -> dict[str, dict[str, str | int]]:
    """`object Name { const val KEY = "value" ... }` -> {Name: {KEY: value}} (top-level objects only)."""
    out: dict[str, dict[str, str | int]] = {}
    for m in re.finditer(r"^object (\w+) \{\n(.*?)^\}", path.read_text(), re.S | re.M):
        consts = {}
        for c in re.finditer(r'const val (\w+) = (?:"((?:[^"\\]|\\.)*)"|(\d+))', m.group(2)):
            consts[c.group(1)] = c.group(2) if c.group(2) is not None else int(c.group(3))
        out[m.group(1)] = consts
    return out


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_kotlin_contract_names_exist_in_an_exported_manifest(android_bundle):
    data = json.loads((android_bundle / "manifest.json").read_text())
    objects = _kotlin_objects(CONTRACT)
    graphs = [g for per_size in data["graphs"].values() for g in per_size.values()]
    tensors = [t for g in graphs for t in (*g["inputs"], *g["outputs"])]
    places = {
        "ManifestKeys": [data],
        "PreprocessKeys": [data["preprocess"]],
        "SamplerKeys": [data["sampler"]],
        "GraphKeys": graphs,
        "TensorKeys": tensors,
        "FileKeys": list(data["files"].values()),
        "AndroidKeys": [data["android"]],
        "AndroidSourceKeys": [data["android"]["source"]],
        "OrtFormatKeys": [data["android"]["ort_format"]],
    }
    checked = set()
    for obj, dicts in places.items():
        assert objects.get(obj), f"BundleContract.kt has no object {obj}"
        for const, key in objects[obj].items():
            for d in dicts:
                assert key in d, f"{obj}.{const} = {key!r} is not a key of the exported manifest there"
        checked.add(obj)

    fmt = objects["BundleFormat"]
    assert fmt["FORMAT"] == engine_bundle.FORMAT == data["format"]
    assert fmt["FORMAT_VERSION"] == engine_bundle.FORMAT_VERSION
    assert fmt["TARGET_ANDROID"] == data["target"] == "android"
    assert fmt["MANIFEST_FILE"] == engine_bundle.MANIFEST
    assert set(objects["SamplerKinds"].values()) == set(engine_sampler.KINDS)
    assert data["sampler"]["kind"] in objects["SamplerKinds"].values()
    assert set(objects["GarmentFeatureModes"].values()) == set(engine_bundle.GARMENT_FEATURE_MODES)
    assert data["garment_features"] in objects["GarmentFeatureModes"].values()
    checked |= {"BundleFormat", "SamplerKinds", "GarmentFeatureModes"}

    names = set(objects["GraphNames"].values())
    assert names == set(engine_bundle.GRAPH_NAMES)
    for per_size in data["graphs"].values():
        assert set(per_size) == names
    checked.add("GraphNames")

    io_objects = {o for o in objects if o.endswith("IO")}
    assert {_snake(o[:-2]) for o in io_objects} == names, "one <Graph>IO object per graph"
    for obj in io_objects:
        graph = _snake(obj[:-2])
        for per_size in data["graphs"].values():
            spec = per_size[graph]
            for side, key in (("IN_", "inputs"), ("OUT_", "outputs")):
                actual = [t["name"] for t in spec[key]]
                exact = {v for k, v in objects[obj].items() if k.startswith(side) and not k.endswith("_PREFIX")}
                prefixes = {v for k, v in objects[obj].items() if k.startswith(side) and k.endswith("_PREFIX")}
                assert exact <= set(actual), f"{obj}: {sorted(exact - set(actual))} not {key} of {graph}"
                for p in prefixes:
                    assert any(n.startswith(p) for n in actual), f"{obj}: no {key} of {graph} start with {p!r}"
                unfed = [n for n in actual if n not in exact and not any(n.startswith(p) for p in prefixes)]
                assert not unfed, f"the app does not handle {graph} {key} {unfed}"
    checked |= io_objects
    assert checked == set(objects), f"objects in BundleContract.kt that no test checks: {set(objects) - checked}"


def _kotlin_literals(code: str) -> list[str]:
    """Plain string literals of Kotlin code (comments skipped; templated strings left out)."""
    found: list[str] = []

    def string(i: int) -> int:  # code[i] is the opening quote; returns the index after the closing one
        raw = code.startswith('"""', i)
        j, buf, templated = i + (3 if raw else 1), [], False
        while j < len(code):
            if raw and code.startswith('"""', j):
                j += 3
                break
            if not raw and code[j] == '"':
                j += 1
                break
            if not raw and code[j] == "\\":
                buf.append(code[j:j + 2])
                j += 2
            elif code.startswith("${", j):
                templated, depth, j = True, 1, j + 2
                while depth:
                    if code[j] == '"':
                        j = string(j)
                        continue
                    depth += {"{": 1, "}": -1}.get(code[j], 0)
                    j += 1
            elif code[j] == "$" and j + 1 < len(code) and (code[j + 1].isalpha() or code[j + 1] == "_"):
                templated, j = True, j + 1
            else:
                buf.append(code[j])
                j += 1
        if not templated:
            found.append("".join(buf))
        return j

    i = 0
    while i < len(code):
        if code.startswith("//", i):
            i = code.find("\n", i) % (len(code) + 1)
        elif code.startswith("/*", i):
            i = code.index("*/", i) + 2
        elif code[i] == '"':
            i = string(i)
        elif code[i] == "'":
            i = code.index("'", i + 2 if code[i + 1] == "\\" else i + 1) + 1
        else:
            i += 1
    return found


def test_kotlin_reads_every_manifest_name_through_the_contract(android_bundle):
    """Outside BundleContract.kt no Kotlin source spells a manifest key, graph or tensor name."""
    data = json.loads((android_bundle / "manifest.json").read_text())
    names = set()

    def collect(node):
        if isinstance(node, dict):
            for k, v in node.items():
                names.add(k)
                collect(v)
        elif isinstance(node, list):
            for v in node:
                collect(v)

    collect({k: v for k, v in data.items() if k not in ("config", "provenance", "parity")})
    names |= {t["name"] for per in data["graphs"].values() for g in per.values() for t in (*g["inputs"], *g["outputs"])}
    # progress stage names mirror engine.request.Progress ("garment", "decode" are also manifest names)
    names -= {"load", "encode", "garment", "denoise", "decode", "done"}
    sources = [p for p in KOTLIN_MAIN.glob("*.kt") if p != CONTRACT]
    assert len(sources) >= 5, KOTLIN_MAIN
    assert "image_tokens" in _kotlin_literals(CONTRACT.read_text())  # the scanner sees literals
    for path in sources:
        code = path.read_text()
        spelled = sorted(set(_kotlin_literals(code)) & names)
        assert not spelled, f"{path.name} spells manifest names {spelled}: use BundleContract.kt"
        json_access = re.findall(
            r'\.(?:opt|get|has|put|remove)(?:String|Int|Long|Double|Boolean|JSONObject|JSONArray)?\(\s*"', code)
        assert not json_access, f"{path.name} reads JSON with a literal key: {json_access}"


def test_gradle_bundle_check_reads_existing_keys(android_bundle):
    data = json.loads((android_bundle / "manifest.json").read_text())
    script = (ANDROID / "app" / "build.gradle.kts").read_text()
    keys = set(re.findall(r'\["(\w+)"\]|\.get\("(\w+)"\)', script))
    keys = {a or b for a, b in keys}
    assert {"target", "files", "sha256", "android", "ort_format", "onnxruntime", "name"} <= keys
    present = set(data) | set(data["android"]) | set(data["android"]["ort_format"]) | {"sha256"}
    assert keys <= present, f"build.gradle.kts reads keys the manifest lacks: {keys - present}"


def test_kotlin_golden_fixture_is_current():
    """GoldenTest.kt checks ImageOps/Sampler against golden.txt; it must match today's engine."""
    spec = importlib.util.spec_from_file_location("make_golden", ANDROID / "scripts" / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.FIXTURE.read_text() == module.build_fixture(), (
        "packaging/android/app/src/test/resources/golden.txt is stale: "
        "run python packaging/android/scripts/make_golden.py"
    )


def test_replay_recorder_writes_every_graph_call(android_bundle, tmp_path):
    """The fixture of PipelineReplayTest.kt (made in CI from the exported bundle) records each call in order."""
    spec = importlib.util.spec_from_file_location("make_golden", ANDROID / "scripts" / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.write_replay(android_bundle, tmp_path / "replay")
    lines = (out / "replay.txt").read_text().splitlines()
    manifest = open_bundle(android_bundle).manifest
    steps = len(manifest.sampler["sigmas"])
    runs = [i for i, line in enumerate(lines) if line.startswith("run ")]
    assert len(runs) == 2
    for start, end, mode in ((runs[0], runs[1], "cached"), (runs[1], len(lines), "per_step")):
        assert lines[start].split()[3] == mode
        calls = [line.split()[1] for line in lines[start:end] if line.startswith("call ")]
        graph = {spec.file: name for name, spec in manifest.graphs[next(iter(manifest.graphs))].items()}
        names = [graph[c] for c in calls]
        assert names[:3] == ["vae_encoder", "vae_encoder", "adapter"] and names[-1] == "vae_decoder"
        assert names.count("tryon_net") == steps
        assert names.count("garment_net") == (1 if mode == "cached" else steps)
        assert sum(line.startswith("noise ") for line in lines[start:end]) == steps  # start + one per renoise step
    assert (out / "manifest.json").read_bytes() == (android_bundle / "manifest.json").read_bytes()
