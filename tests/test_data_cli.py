"""`vton data synth` and `vton data check`: byte-identical output, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_synth_then_check(tmp_path, capsys):
    out = tmp_path / "D"
    assert main(["data", "synth", "--n", "4", "--size", "128x96", "--seed", "7", "--out", str(out)]) == 0
    assert (out / "test_pairs.txt").read_text().splitlines()[0] == "000000.png 000000_b.png upper"
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["seed"] == 7 and meta["size"] == [128, 96] and meta["splits"] == {"test": {"n": 4, "start": 0}}
    assert len(list((out / "test" / "image_gt").glob("*.png"))) == 4
    capsys.readouterr()
    assert main(["data", "check", str(out)]) == 0
    report = capsys.readouterr().out
    assert "test (unpaired): 4 samples (upper 2, lower 1, dress 1); 4 with ground truth" in report
    assert "no problems found" in report


def test_same_seed_gives_byte_identical_files(tmp_path):
    args = ["data", "synth", "--n", "3", "--size", "128x96", "--seed", "5"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--workers", "2"]) == 0  # parallel: same bytes
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(a) == 3 * 6 + 2 and a == b
    assert main([*args[:-1], "6", "--out", str(tmp_path / "c")]) == 0
    assert _files(tmp_path / "c")["test/image/000000.png"] != a["test/image/000000.png"]


def test_splits_share_a_folder_and_start_offsets_the_ids(tmp_path):
    out = str(tmp_path / "D")
    assert main(["data", "synth", "--n", "2", "--size", "128x96", "--out", out]) == 0
    assert main(["data", "synth", "--n", "2", "--size", "128x96", "--out", out, "--split", "train", "--start", "100"]) == 0
    assert (tmp_path / "D" / "train_pairs.txt").read_text().startswith("000100.png 000100_b.png")
    assert main(["data", "check", out]) == 0
    # the same split twice, or another world into the same folder, is refused (exit 2)
    assert main(["data", "synth", "--n", "2", "--size", "128x96", "--out", out]) == 2
    assert main(["data", "synth", "--n", "2", "--size", "128x96", "--seed", "1", "--out", out, "--split", "train"]) == 2


def test_check_exit_codes(tmp_path, capsys):
    out = tmp_path / "D"
    main(["data", "synth", "--n", "2", "--size", "128x96", "--out", str(out)])
    (out / "test" / "image" / "000001.png").write_bytes(b"not a png")
    capsys.readouterr()
    assert main(["data", "check", str(out)]) == 1
    text = capsys.readouterr().out
    assert "test/image/000001.png" in text and "problems (1):" in text
    (tmp_path / "empty").mkdir()
    assert main(["data", "check", str(tmp_path / "empty")]) == 2
    assert "not a dataset" in capsys.readouterr().err
    assert main(["data", "check", str(tmp_path / "nowhere")]) == 2


def test_synth_refuses_bad_input(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    assert main(["data", "synth", "--n", "2", "--size", "128x96", "--out", str(tmp_path / "full")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["data", "synth", "--n", "2", "--size", "96x128", "--out", str(tmp_path / "wide")]) == 2
    with pytest.raises(SystemExit):
        main(["data", "synth", "--n", "2", "--size", "big", "--out", str(tmp_path / "x")])


def test_sheet_command(tmp_path):
    out = tmp_path / "D"
    main(["data", "synth", "--n", "3", "--size", "128x96", "--out", str(out), "--sheet", str(tmp_path / "s1.png")])
    assert (tmp_path / "s1.png").stat().st_size > 1000
    assert main(["data", "sheet", str(out), "--out", str(tmp_path / "s2.png"), "--tile-height", "64"]) == 0
    from PIL import Image

    assert Image.open(tmp_path / "s2.png").size[1] == 2 * 64 + 4


def test_data_commands_do_not_load_torch():
    code = "from app.cli import main; main(['data', 'check', '--help'])"
    proc = subprocess.run([sys.executable, "-c", code + "\n"], cwd=ROOT, capture_output=True, text=True)
    code = "import sys, models.data; print('torch' in sys.modules, 'PySide6' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "False"]
