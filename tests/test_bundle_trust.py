"""Issue 16: a bundle is a trust boundary. Forged manifests, out-of-range values, swapped
graphs, symlinks, hostile zips and hostile JSON are refused with one line naming the file,
through the real engine, CLI and studio stores; a tamper suite mutates every field."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.studio import bundles as studio_bundles
from engine.bundle import MANIFEST, open_bundle, parse_manifest_bytes, sha256_file
from engine.errors import BundleError, VtonError
from engine.paths import DEFAULT_BUNDLE, bundles_dir, cache_dir
from engine.pipeline import TryOnPipeline
from engine.request import TryOnRequest


# -- helpers ---------------------------------------------------------------------------------------
def copy_bundle(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def edit_manifest(b: Path, change) -> dict:
    data = json.loads((b / MANIFEST).read_text())
    change(data)
    (b / MANIFEST).write_text(json.dumps(data))
    return data


def rehash(b: Path, data: dict | None = None) -> None:
    """Make the manifest's file entries match the files again (what a forger does)."""
    data = data or json.loads((b / MANIFEST).read_text())
    for rel, entry in data["files"].items():
        entry["sha256"] = sha256_file(b / rel)
        entry["bytes"] = (b / rel).stat().st_size
    (b / MANIFEST).write_text(json.dumps(data))


def flip_byte(path: Path, offset: int = 200) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def tryon(capsys, bundle, images, tmp_path) -> tuple[int, str]:
    code = main(["tryon", "--bundle", str(bundle), "--person", str(images["person"]), "--garment",
                 str(images["garment"]), "-o", str(tmp_path / "out.png"), "-q"])
    err = capsys.readouterr().err
    if code != 0:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return code, err


# -- forged manifests -----------------------------------------------------------------------------
def test_an_installed_bundle_edited_with_matching_hashes_is_refused(tiny_bundle, images, tmp_path, capsys):
    """Editing a graph and its sha in the manifest used to 'verify'. The manifest digest
    recorded at import catches it."""
    installed = studio_bundles.import_bundle(tiny_bundle)
    pins = json.loads((bundles_dir() / "pins.json").read_text())
    assert pins[installed.name] == hashlib.sha256((installed / MANIFEST).read_bytes()).hexdigest()
    flip_byte(installed / "adapter.onnx")
    rehash(installed)
    with pytest.raises(BundleError, match="changed after the bundle was imported"):
        open_bundle(installed)
    code, err = tryon(capsys, installed, images, tmp_path)
    assert code == 2 and "changed after the bundle was imported" in err
    listed = {b.path.name: b for b in studio_bundles.list_bundles()}
    assert listed[installed.name].manifest is None and "changed after" in listed[installed.name].error


def test_signatures_cover_the_manifest(tiny_bundle, images, tmp_path, capsys):
    pytest.importorskip("cryptography")
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    assert main(["bundle", "keygen", "--out", str(tmp_path / "me")]) == 0
    assert oct((tmp_path / "me.key").stat().st_mode & 0o777) == "0o600"
    assert main(["bundle", "sign", str(b), "--key", str(tmp_path / "me.key")]) == 0
    unsigned = copy_bundle(tiny_bundle, tmp_path / "unsigned")
    assert open_bundle(unsigned)  # no key trusted yet: signatures are not required
    assert main(["bundle", "trust", str(tmp_path / "me.pub")]) == 0
    capsys.readouterr()
    assert "signed by" in open_bundle(b).trust
    code, err = tryon(capsys, unsigned, images, tmp_path)
    assert code == 2 and "manifest.sig: missing" in err
    # a forger who rewrites a graph and its hash cannot re-sign
    flip_byte(b / "adapter.onnx")
    rehash(b)
    code, err = tryon(capsys, b, images, tmp_path)
    assert code == 2 and "does not match manifest.json" in err
    assert main(["bundle", "verify", str(b)]) == 2
    # the app's own embedded model needs no signature
    assert "embedded" in open_bundle(DEFAULT_BUNDLE).trust


# -- manifest values out of range: refused before any session ---------------------------------------
def _sigmas(v):
    return lambda d: d["sampler"].__setitem__("sigmas", v)


BAD_VALUES = {
    "NaN sigma": ('"sigmas": [1.0, NaN, 0.5, 0.25]', "NaN is not allowed"),
    "infinite sigma": ('"sigmas": [1e999, 0.75, 0.5, 0.25]', "too large"),
    "huge integer": ('"vae_factor": ' + "9" * 5000, "too large"),
    "rising sigmas": (_sigmas([0.25, 0.5, 0.75, 1.0]), "strictly decreasing"),
    "sigma above 1": (_sigmas([2.0, 1.0]), "in (0, 1]"),
    "too many sigmas": (_sigmas([1 - i / 40 for i in range(20)]), "1 to 16"),
    "magic sampler": (lambda d: d["sampler"].__setitem__("kind", "magic"), "sampler.kind"),
    "no categories": (lambda d: d.__setitem__("categories", []), "categories"),
    "unknown category": (lambda d: d.__setitem__("categories", ["upper", "shoes"]), "categories"),
    "huge adapter": (lambda d: d["preprocess"].__setitem__("adapter_size", 100_000), "adapter_size"),
    "adapter size not the graph's": (lambda d: d["preprocess"].__setitem__("adapter_size", 56), "expected [1, 3, 56"),
    "huge resolution": (lambda d: d.__setitem__("resolutions", [[100_000, 96]]), "out of range"),
    "file outside": (lambda d: d["files"].__setitem__("../../etc/passwd", {"sha256": "0" * 64, "bytes": 5}),
                     "bad file name"),
    "file and folder clash": (lambda d: d["files"].__setitem__("128x96/tryon_net.onnx/x",
                                                                 {"sha256": "0" * 64, "bytes": 5}), "sits inside"),
    "negative bytes": (lambda d: next(iter(d["files"].values())).__setitem__("bytes", -1), "bytes"),
    "wrong dtype": (lambda d: d["graphs"]["128x96"]["garment_net"]["inputs"][2].__setitem__("dtype", "float32"),
                    "expected int64"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_out_of_range_manifest_values_are_refused(case, tiny_bundle, images, tmp_path, capsys):
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    change, words = BAD_VALUES[case]
    if isinstance(change, str):  # raw JSON text, which json.dumps cannot write
        text = (b / MANIFEST).read_text()
        key = change.split(":")[0]
        start = text.index(key)
        end = text.index("]", start) + 1 if "[" in change else text.index(",", start)
        (b / MANIFEST).write_text(text[:start] + change + text[end:])
    else:
        edit_manifest(b, change)
    code, err = tryon(capsys, b, images, tmp_path)
    assert code == 2 and "manifest.json" in err and words in err, err


@pytest.mark.parametrize("depth", [100_000])
def test_deeply_nested_json_is_refused(depth, tiny_bundle, tmp_path, capsys, images):
    b = tmp_path / "deep"
    b.mkdir()
    (b / MANIFEST).write_text("[" * depth + "]" * depth)
    code, err = tryon(capsys, b, images, tmp_path)
    assert code == 2 and "nested too deeply" in err
    assert main(["bundle", "verify", str(b)]) == 2


def test_a_huge_manifest_is_refused(tmp_path, capsys, images):
    b = tmp_path / "big"
    b.mkdir()
    (b / MANIFEST).write_text('{"format": "mobile-vton-bundle", "pad": "' + "x" * (5 << 20) + '"}')
    code, err = tryon(capsys, b, images, tmp_path)
    assert code == 2 and "limit" in err


def test_swapped_but_valid_graphs_are_refused_naming_the_file(tiny_bundle, images, tmp_path, capsys):
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    enc, dec = b / "128x96" / "vae_encoder.onnx", b / "128x96" / "vae_decoder.onnx"
    a, c = enc.read_bytes(), dec.read_bytes()
    enc.write_bytes(c)
    dec.write_bytes(a)
    rehash(b)  # every hash matches again
    code, err = tryon(capsys, b, images, tmp_path)
    assert code == 2 and "vae_encoder.onnx" in err and "the manifest says" in err


def test_a_graph_that_is_not_onnx_is_refused(tiny_bundle, images, tmp_path, capsys):
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    (b / "adapter.onnx").write_bytes(b"\x08\x07garbage" * 100)
    rehash(b)
    code, err = tryon(capsys, b, images, tmp_path)
    assert code == 2 and "adapter.onnx" in err and "cannot be loaded by ONNX Runtime" in err


@pytest.mark.parametrize("location", ["weights.bin", "../../../etc/hostname", "/etc/hostname"])
def test_a_graph_with_external_weights_is_refused(location, tiny_bundle, images, tmp_path, capsys):
    """Weights in an "external data" file (beside the graph, or a path out of the bundle) are
    never read: a session is made only from the verified graph bytes themselves."""
    import onnx

    b = copy_bundle(tiny_bundle, tmp_path / "b")
    graph = b / "128x96" / "vae_decoder.onnx"
    model = onnx.load(str(graph))
    onnx.save_model(model, str(graph), save_as_external_data=True, location="weights.bin", size_threshold=0)
    if location != "weights.bin":
        model = onnx.load(str(graph), load_external_data=False)
        for tensor in model.graph.initializer:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
        onnx.save_model(model, str(graph))
    rehash(b)
    code, err = tryon(capsys, b, images, tmp_path)
    assert code == 2 and "vae_decoder.onnx" in err and "cannot be loaded by ONNX Runtime" in err


# -- regular files only ---------------------------------------------------------------------------------
def test_a_symlinked_graph_is_refused_and_never_copied(tiny_bundle, images, tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:secret\n")
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    data = json.loads((b / MANIFEST).read_text())
    (b / "adapter.onnx").unlink()
    (b / "adapter.onnx").symlink_to(secret)
    data["files"]["adapter.onnx"] = {"sha256": sha256_file(secret), "bytes": secret.stat().st_size}
    (b / MANIFEST).write_text(json.dumps(data))
    code, err = tryon(capsys, b, images, tmp_path)
    assert code == 2 and "symbolic link" in err
    with pytest.raises(BundleError, match="symbolic link"):
        studio_bundles.import_bundle(b)
    copied = [p for p in bundles_dir().rglob("*") if p.is_file() and b"secret" in p.read_bytes()] \
        if bundles_dir().exists() else []
    assert copied == []


def test_a_symlinked_folder_and_manifest_are_refused(tiny_bundle, tmp_path):
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    shutil.move(b / "128x96", tmp_path / "elsewhere")
    (b / "128x96").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BundleError, match="symbolic link"):
        open_bundle(b)
    c = copy_bundle(tiny_bundle, tmp_path / "c")
    shutil.move(c / MANIFEST, tmp_path / "m.json")
    (c / MANIFEST).symlink_to(tmp_path / "m.json")
    with pytest.raises(BundleError, match="symbolic link"):
        open_bundle(c)


# -- zips --------------------------------------------------------------------------------------------------
def zip_bundle(src: Path, out: Path, extra=(), skip=()) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file() and p.name not in skip:
                zf.write(p, p.relative_to(src).as_posix())
        for name, data in extra:
            zf.writestr(name, data)
    return out


def _patch_central(path: Path, name: str, flag: int | None = None, method: int | None = None) -> None:
    """Rewrite an entry's flag bits / compression method in both of its headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    local = info.header_offset
    central = data.rfind(b"PK\x01\x02" + data[local + 4:local + 6])  # approximate: find by name below
    central = data.find(b"PK\x01\x02")
    while central != -1:
        n = struct.unpack("<H", data[central + 28:central + 30])[0]
        if data[central + 46:central + 46 + n] == name.encode():
            break
        central = data.find(b"PK\x01\x02", central + 4)
    if flag is not None:
        data[local + 6:local + 8] = struct.pack("<H", flag)
        data[central + 8:central + 10] = struct.pack("<H", flag)
    if method is not None:
        data[local + 8:local + 10] = struct.pack("<H", method)
        data[central + 10:central + 12] = struct.pack("<H", method)
    path.write_bytes(bytes(data))


def unpacked_leftovers() -> list[Path]:
    root = cache_dir() / "bundles"
    return sorted(p for p in root.iterdir()) if root.exists() else []


def test_an_encrypted_entry_is_refused(tiny_bundle, tmp_path, capsys, images):
    z = zip_bundle(tiny_bundle, tmp_path / "b.zip")
    _patch_central(z, "adapter.onnx", flag=0x1)
    code, err = tryon(capsys, z, images, tmp_path)
    assert code == 2 and "adapter.onnx" in err and "encrypted" in err
    assert unpacked_leftovers() == []


def test_an_unknown_compression_method_is_refused(tiny_bundle, tmp_path, capsys, images):
    z = zip_bundle(tiny_bundle, tmp_path / "b.zip")
    _patch_central(z, "adapter.onnx", method=99)
    code, err = tryon(capsys, z, images, tmp_path)
    assert code == 2 and "compression method 99" in err
    assert unpacked_leftovers() == []


def test_duplicate_entries_and_damaged_zips_are_refused(tiny_bundle, tmp_path, capsys, images):
    z = zip_bundle(tiny_bundle, tmp_path / "dup.zip")
    with zipfile.ZipFile(z, "a") as zf, pytest.warns(UserWarning):
        zf.writestr("adapter.onnx", b"second copy")
    code, err = tryon(capsys, z, images, tmp_path)
    assert code == 2 and "two entries" in err
    broken = tmp_path / "broken.zip"
    broken.write_bytes(zip_bundle(tiny_bundle, tmp_path / "ok.zip").read_bytes()[:5000])
    code, err = tryon(capsys, broken, images, tmp_path)
    assert code == 2 and "not a valid .zip" in err
    assert unpacked_leftovers() == []


def test_a_zip_bomb_is_refused_and_nothing_stays_in_the_cache(tiny_bundle, tmp_path, capsys, images):
    """A 64 MiB graph of zeros (a 65 KB entry) listed with its true hash: refused by ratio."""
    b = copy_bundle(tiny_bundle, tmp_path / "b")
    zeros = b"\0" * (64 << 20)
    (b / "adapter.onnx").write_bytes(zeros)
    rehash(b)
    z = zip_bundle(b, tmp_path / "bomb.zip")
    assert z.stat().st_size < 2 << 20
    code, err = tryon(capsys, z, images, tmp_path)
    assert code == 2 and "zip bomb" in err
    assert unpacked_leftovers() == []


def test_only_listed_files_are_unpacked(tiny_bundle, tmp_path, capsys, images):
    z = zip_bundle(tiny_bundle, tmp_path / "b.zip", extra=[("junk/huge.bin", b"\0" * (32 << 20)),
                                                          ("../escape.txt", b"x")])
    code, err = tryon(capsys, z, images, tmp_path)
    assert code == 0, err
    unpacked = [p for p in (cache_dir() / "bundles").rglob("*") if p.is_file()]
    assert {p.name for p in unpacked} == {"manifest.json", "adapter.onnx", "vae_encoder.onnx", "garment_net.onnx",
                                          "tryon_net.onnx", "vae_decoder.onnx"}
    assert not (tmp_path / "escape.txt").exists()


def test_verify_of_a_zip_leaves_nothing_and_the_cache_is_bounded(tiny_bundle, tmp_path, capsys, images):
    z = zip_bundle(tiny_bundle, tmp_path / "b.zip")
    assert main(["bundle", "verify", str(z)]) == 0
    assert unpacked_leftovers() == []
    for i in range(5):  # five different zips: at most three stay unpacked
        zi = zip_bundle(tiny_bundle, tmp_path / f"b{i}.zip", extra=[(f"note{i}.txt", b"x")])
        assert tryon(capsys, zi, images, tmp_path)[0] == 0
    assert len([p for p in unpacked_leftovers() if not p.name.startswith(".")]) <= 3


# -- a broken bundle never stops anything --------------------------------------------------------------------
def test_broken_installed_bundles_are_listed_not_fatal(tiny_bundle, tmp_path, capsys):
    root = bundles_dir()
    root.mkdir(parents=True)
    (root / "deep").mkdir()
    (root / "deep" / MANIFEST).write_text("[" * 200_000)
    (root / "bigint").mkdir()
    (root / "bigint" / MANIFEST).write_text('{"format": "mobile-vton-bundle", "format_version": ' + "9" * 6000 + "}")
    (root / "binary").mkdir()
    (root / "binary" / MANIFEST).write_bytes(b"\xff\xfe\x00garbage")
    listed = studio_bundles.list_bundles()
    broken = {b.path.name: b.error for b in listed if b.manifest is None}
    assert set(broken) == {"deep", "bigint", "binary"}
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.count("BROKEN") == 3


# -- the tamper suite: every manifest field ----------------------------------------------------------------
def _leaves(obj, path=()):
    """Every field worth mutating: every leaf of the structural sections, the roots of free-form ones."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = (*path, k)
            yield p
            if k in ("parity", "provenance", "config", "license") and len(path) == 0:
                continue
            yield from _leaves(v, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            p = (*path, i)
            yield p
            yield from _leaves(v, p)


def _set(obj, path, value, delete=False):
    for key in path[:-1]:
        obj = obj[key]
    if delete:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


MUTATIONS = {
    "delete": None, "null": None, "text": "x", "negative": -1, "zero": 0, "huge": 10**18, "float": 0.5,
    "list": [], "object": {}, "nested": [[[[[[[[[[[[]]]]]]]]]]]],
}


def test_tamper_suite_over_every_manifest_field(tiny_bundle, images, tmp_path):
    """Each mutation either is refused with a BundleError/VtonError naming the file, or the
    bundle still dresses the portrait correctly. Nothing else (no traceback, no junk image)."""
    original = json.loads((tiny_bundle / MANIFEST).read_text())
    label = tiny_bundle / MANIFEST
    cases = refused = ran = 0
    passed_paths = []
    for path in list(_leaves(original)):
        for name, value in MUTATIONS.items():
            data = copy.deepcopy(original)
            if name == "delete" and isinstance(path[-1], int):
                continue
            _set(data, path, value, delete=name == "delete")
            cases += 1
            try:
                manifest = parse_manifest_bytes(json.dumps(data).encode(), label)
            except BundleError as exc:
                assert str(label) in str(exc) and "\n" not in str(exc)
                refused += 1
                continue
            except Exception as exc:  # pragma: no cover - the failure this test exists for
                pytest.fail(f"{'.'.join(map(str, path))} = {name}: {type(exc).__name__}: {exc}")
            passed_paths.append((path, name))
            assert manifest.categories and manifest.sampler["sigmas"]
    # mutations the parser accepts must still run: try them through the real pipeline
    seen_shapes = set()
    for n, (path, name) in enumerate(passed_paths):
        key = (path[0], name)
        if key in seen_shapes:
            continue  # one run per (section, mutation) keeps this fast
        seen_shapes.add(key)
        b = tmp_path / f"b{n}"
        copy_bundle(tiny_bundle, b)
        data = copy.deepcopy(original)
        _set(data, path, MUTATIONS[name], delete=name == "delete")
        (b / MANIFEST).write_text(json.dumps(data))
        try:
            result = TryOnPipeline(b, threads=1).run(TryOnRequest(images["person"], images["garment"]))
        except VtonError as exc:
            assert "\n" not in str(exc)
            continue
        assert result.image.shape == (301, 207, 3) and result.image.dtype == np.uint8
        ran += 1
    assert cases > 1000 and refused > 0.8 * cases, (cases, refused)
    assert ran > 0  # harmless fields (provenance, license...) really do still run


def test_a_bundle_folder_given_as_a_file_or_missing(tmp_path, capsys, images):
    f = tmp_path / "file.bin"
    f.write_bytes(b"x")
    code, err = tryon(capsys, f, images, tmp_path)
    assert code == 2 and "not a bundle folder" in err
    code, err = tryon(capsys, tmp_path / "nope", images, tmp_path)
    assert code == 2 and "not found" in err
    os.mkfifo(tmp_path / "fifo.zip")
    code, err = tryon(capsys, tmp_path / "fifo.zip", images, tmp_path)
    assert code == 2
