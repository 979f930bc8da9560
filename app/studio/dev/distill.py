"""The Distill tab's behaviour: the student from a chosen teacher run by FGA distillation,
the FGA switches and weights, and one-click ablations at equal budget.

The switches name the recipe's ablation overlays (``no-distill``, ``no-tcg``, ``no-lc``,
as ``vton train student --no-tcg`` does); the weights are ``--set student.KEY=VALUE``.
"Run ablations" queues the student as set and one run per ablation, with the same config,
knobs and budget, as one group whose end-of-run scores the tab puts side by side.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from .jobs import JobRecord
from .progress import read_progress
from .requests import ABLATIONS
from .train import TrainController, TrainForm

# the FGA weights: label, config key, type (docs/training.md, "What each stage optimises")
FGA_KNOBS = {
    "region_weight": ("Region weight", "student.region_weight", float),
    "ratio": ("Ratio", "student.ratio", int),  # the generator updates every `ratio` steps
    "lambda_feature": ("λ1 feature", "student.lambda_feature", float),
    "lambda_cons": ("λ2 TCG", "student.lambda_cons", float),
    "lambda_gan": ("λ3 GAN", "student.lambda_gan", float),
    # > 0 also renders the garment flows and turns the top-level garment attention on (its needs)
    "lambda_corr": ("λ correspondence", "student.lambda_corr", float),
}
CORRESPONDENCE_NEEDS = (("data.flow", "true"), ("student.top_attention", "true"))
# switch -> (label, the config key, the overlay that turns it off)
SWITCHES = {
    "distill": ("Distillation (DMD2 + GAN)", "student.distill", "no-distill"),
    "tcg": ("TCG consistency", "student.tcg", "no-tcg"),
    "lc": ("Latent concat. (LC)", "student.latent_concat", "no-lc"),
}
ABLATION_TEXT = {"no-distill": "no distillation", "no-tcg": "no TCG", "no-lc": "no LC"}


@dataclass(frozen=True)
class FGASettings:
    """The switches (True = on) and the weights as typed (blank = the config's)."""

    switches: dict = field(default_factory=lambda: {k: True for k in SWITCHES})
    knobs: dict = field(default_factory=dict)

    def overlays(self) -> tuple[str, ...]:
        return tuple(SWITCHES[k][2] for k in SWITCHES if not self.switches.get(k, True))

    def sets(self, config: dict | None = None) -> tuple[tuple[str, str], ...]:
        """``--set`` pairs; ValueError naming the weight for text that is not a number."""
        out = []
        for key, (label, cfg_key, kind) in FGA_KNOBS.items():
            text = str(self.knobs.get(key, "")).strip()
            if not text:
                continue
            try:
                value = kind(text)
            except ValueError:
                raise ValueError(f"{label}: {text!r} is not {'a whole number' if kind is int else 'a number'}") from None
            if value < 0 or (key == "ratio" and value < 1):
                raise ValueError(f"{label}: must be {'at least 1' if key == 'ratio' else 'positive'}")
            out.append((cfg_key, str(value)))
            if key == "lambda_corr" and value > 0:
                out.extend(CORRESPONDENCE_NEEDS)
        if config is not None:  # a switch turned on where the config has it off
            from .probes import config_value

            for key, (_, cfg_key, _) in SWITCHES.items():
                if self.switches.get(key, True) and config_value(config, cfg_key) is False:
                    out.append((cfg_key, "true"))
        return tuple(out)


class DistillController(TrainController):
    kind_title = "Distill"

    def teachers(self) -> list[tuple[str, Path]]:
        return self.finished("teacher")

    def vae_of_teacher(self, teacher: Path) -> Path | None:
        """The VAE a teacher run was trained on (the student must share its latent space)."""
        teacher = Path(teacher)
        for r in self.runs("teacher"):
            if r.out_path / "final" == teacher:
                if r.meta.get("vae"):
                    return Path(r.meta["vae"])
                return (r.out_path.parent / "vae" / "final").resolve()  # the config's ../vae/final
        sibling = (teacher.parent.parent / "vae" / "final")
        return sibling if sibling.is_dir() else None

    def form(self, base: TrainForm, fga: FGASettings) -> TrainForm:
        """The student form with the FGA switches and weights applied."""
        return replace(base, stage="student", overlays=tuple(base.overlays) + fga.overlays(),
                       sets=tuple(base.sets) + fga.sets(self.config))

    def problem(self, form: TrainForm) -> str | None:
        if form.stage == "student" and form.teacher is None and "no-distill" not in form.overlays:
            return "choose a teacher run (or turn distillation off)"
        return super().problem(form)

    def start_student(self, base: TrainForm, fga: FGASettings) -> JobRecord | None:
        try:
            form = self.form(base, fga)
        except ValueError as exc:
            self.message.emit("error", f"The run cannot start: {exc}", "")
            return None
        return self.start(form)

    def start_ablations(self, base: TrainForm, fga: FGASettings, names: list[str]) -> list[JobRecord]:
        """The student as set plus one run per ablation in ``names``, at the same budget."""
        try:
            full = self.form(base, fga)
        except ValueError as exc:
            self.message.emit("error", f"The ablations cannot start: {exc}", "")
            return []
        names = [n for n in names if n in ABLATIONS and n not in full.overlays]
        if not names:
            self.message.emit("warning", "Choose at least one ablation that is not already off.", "")
            return []
        problem = self.problem(full)
        if problem:
            self.message.emit("error", f"The ablations cannot start: {problem}", "")
            return []
        if not (full.knobs.get("steps") or full.knobs.get("minutes")):
            self.message.emit("info", "The runs share the config's own budget.", "")
        group = "ablations-" + uuid.uuid4().hex[:8]
        stem = full.name.strip() or "student"
        started = []
        for name in [None, *names]:
            form = full if name is None else replace(full, overlays=(*full.overlays, name), name=f"{stem}-{name}")
            record = self.start(form, group=group)
            if record is not None:
                started.append(record)
        return started

    def groups(self) -> list[str]:
        """Ablation groups, newest first."""
        seen: dict[str, float] = {}
        for r in self.jobs.records("train"):
            if r.group.startswith("ablations-"):
                seen[r.group] = max(seen.get(r.group, 0.0), r.created)
        return sorted(seen, key=seen.get, reverse=True)

    def ablation_table(self, group: str) -> list[dict]:
        """One row per run of the group: what was off, its state, its held-out scores at the end."""
        rows = []
        for r in sorted((r for r in self.jobs.records("train") if r.group == group), key=lambda r: r.created):
            off = [o for o in r.meta.get("overlays", []) if o in ABLATIONS]
            progress = read_progress(r.out_path)
            rows.append({"id": r.id, "run": r.out_path.name,
                         "ablation": ", ".join(ABLATION_TEXT.get(o, o) for o in off) or "full FGA",
                         "state": r.state_text, "step": progress.step, **progress.summary()})
        return rows
