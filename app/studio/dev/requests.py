"""One frozen request per kind of developer job, and the exact ``vton`` command it runs.

A request holds everything that determines the job's result (STYLE: one request object);
:meth:`argv` is the command line after ``python -m app.cli``. The studio runs the same
command a developer would type, so a tab, ``vton train`` and the recipe train the same
checkpoint for the same config, overlays, seed and budget.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

CATEGORIES = ("upper", "lower", "dress")
STAGES = ("vae", "teacher", "student")
ABLATIONS = ("no-distill", "no-tcg", "no-lc")  # overlay files in models/train/configs/overlays


def command_text(argv: list[str] | tuple[str, ...]) -> str:
    """``vton ...`` as a developer would type it (quoted for a POSIX shell)."""
    return "vton " + " ".join(shlex.quote(str(a)) for a in argv)


def size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def parse_size(text: str) -> tuple[int, int]:
    """``"512x384"`` -> (512, 384); ValueError with a plain message otherwise."""
    try:
        h, w = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise ValueError(f"{text!r} is not a size: write height x width, e.g. 512x384") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"{text!r}: height and width must be positive")
    return h, w


def parse_sizes(text: str) -> tuple[tuple[int, int], ...]:
    """``"128x96, 256x192"`` -> sizes; empty text -> () (the model's own)."""
    return tuple(parse_size(p) for p in text.replace(";", ",").split(",") if p.strip())


@dataclass(frozen=True)
class SynthRequest:
    """``vton data synth``: render a synthetic try-on set (VITON-HD layout + ground truth)."""

    out: Path
    n: int = 64
    size: tuple[int, int] = (256, 192)
    seed: int = 0
    categories: tuple[str, ...] = CATEGORIES
    split: str = "train"
    sheet: Path | None = None

    def argv(self) -> list[str]:
        args = ["data", "synth", "--n", str(self.n), "--size", size_text(self.size), "--seed", str(self.seed),
                "--split", self.split, "--out", str(self.out)]
        if tuple(self.categories) != CATEGORIES:
            args += ["--categories", ",".join(self.categories)]
        if self.sheet is not None:
            args += ["--sheet", str(self.sheet)]
        return args


@dataclass(frozen=True)
class CheckRequest:
    """``vton data check`` (exit 1 = problems found, still a report)."""

    folder: Path

    def argv(self) -> list[str]:
        return ["data", "check", str(self.folder)]


@dataclass(frozen=True)
class SheetRequest:
    """``vton data sheet``: a contact sheet (person | garment | target) of a dataset folder."""

    folder: Path
    out: Path
    split: str = "test"
    n: int = 16

    def argv(self) -> list[str]:
        return ["data", "sheet", str(self.folder), "--out", str(self.out), "--split", self.split, "--n", str(self.n)]


@dataclass(frozen=True)
class TrainRequest:
    """``vton train STAGE``: one training run (config + overlays + budget + overrides)."""

    stage: str
    config: Path
    out: Path
    overlays: tuple[str, ...] = ()
    sets: tuple[tuple[str, str], ...] = ()  # (dotted key, value as typed), applied last
    max_steps: int | None = None
    max_minutes: float | None = None
    device: str = "auto"  # auto | cpu | cuda
    seed: int | None = None
    vae: Path | None = None  # teacher, student
    teacher: Path | None = None  # student: a teacher checkpoint or an SD3.5 folder
    resume: bool = False

    def argv(self) -> list[str]:
        args = ["train", self.stage, "--config", str(self.config), "--out", str(self.out)]
        for name in self.overlays:
            args += ["--overlay", name]
        if self.vae is not None:
            args += ["--vae", str(self.vae)]
        if self.teacher is not None:
            args += ["--teacher", str(self.teacher)]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        if self.device != "auto":
            args += ["--device", self.device]
        if self.max_steps is not None:
            args += ["--max-steps", str(self.max_steps)]
        if self.max_minutes is not None:
            args += ["--max-minutes", f"{self.max_minutes:g}"]
        for key, value in self.sets:
            args += ["--set", f"{key}={value}"]
        if self.resume:
            args += ["--resume", str(self.out)]
        return [*args, "-q"]

    def resumed(self) -> TrainRequest:
        from dataclasses import replace

        return replace(self, resume=True)

    def print_config_argv(self) -> list[str]:
        """The same command with ``--print-config``: the resolved run config, or the one-line error."""
        args = [a for a in self.argv() if a != "-q"]
        if self.resume:
            args = args[:-2]
        return [*args, "--print-config"]


@dataclass(frozen=True)
class ExportRequest:
    """``vton bundle export``: a student checkpoint -> a bundle (parity in its manifest)."""

    checkpoint: Path
    out: Path
    int8: bool = True
    sizes: tuple[tuple[int, int], ...] = ()
    target: str = "desktop"
    name: str = ""
    calibration_samples: int = 16
    parity_samples: int = 4

    def argv(self) -> list[str]:
        args = ["bundle", "export", "--checkpoint", str(self.checkpoint)]
        if self.int8:
            args.append("--int8")
        for s in self.sizes:
            args += ["--size", size_text(s)]
        args += ["--target", self.target]
        if self.name:
            args += ["--name", self.name]
        if self.int8:
            args += ["--calibration-samples", str(self.calibration_samples),
                     "--parity-samples", str(self.parity_samples)]
        return [*args, "--out", str(self.out)]


@dataclass(frozen=True)
class EvalRequest:
    """``vton eval``: bundles on a held-out synthetic test set, scored against ground truth."""

    bundles: tuple[Path, ...]
    out: Path  # folder for scores.json and grid.png
    n: int = 64
    seed: int | None = None  # None = the report's own test seed
    baselines: bool = True
    steps: int = 4
    size: tuple[int, int] | None = None
    labels: tuple[str, ...] = field(default=())  # shown in the tab (bundle names)

    @property
    def scores(self) -> Path:
        return self.out / "scores.json"

    @property
    def grid(self) -> Path:
        return self.out / "grid.png"

    def argv(self) -> list[str]:
        args = ["eval", *map(str, self.bundles), "--n", str(self.n), "--steps", str(self.steps)]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        if self.size is not None:
            args += ["--size", size_text(self.size)]
        if self.baselines:
            args.append("--baselines")
        return [*args, "--json", str(self.scores), "--grid", str(self.grid)]
