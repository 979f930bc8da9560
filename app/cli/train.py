"""``vton train vae|teacher|student``: train one stage from a run config (DESIGN §6).

PyTorch is imported inside the handler only, so the inference commands never load it.
Under ``torchrun`` (``python -m torch.distributed.run --nproc_per_node N -m app.cli train ...``)
every process trains its share of each batch (NCCL on GPUs, gloo on CPU).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.errors import InputError

STAGES = ("vae", "teacher", "student")
ABLATIONS = ("no-distill", "no-tcg", "no-lc")  # student flags that name overlay files


def register(sub) -> None:
    p = sub.add_parser("train", help="train the VAE, the dit teacher or the student (FGA distillation)")
    tsub = p.add_subparsers(dest="train_stage", required=True, metavar="STAGE")
    for stage in STAGES:
        s = tsub.add_parser(stage, help=f"train the {stage}", description=_DESCRIPTIONS[stage])
        s.add_argument("--config", required=True, type=Path,
                       help=f"run config YAML (see models/train/configs/, e.g. tiny_{stage}.yaml)")
        s.add_argument("--out", type=Path, help="run folder (default: runs/<preset>/<stage>, e.g. runs/tiny/vae)")
        s.add_argument("--resume", type=Path, metavar="CKPT",
                       help="checkpoint folder, or a run folder (its newest checkpoint)")
        s.add_argument("--max-steps", type=int, help="stop after this many steps (the schedule is the config's)")
        s.add_argument("--max-minutes", type=float, help="wall-clock budget; saves a checkpoint when it runs out")
        s.add_argument("--session-minutes", type=float,
                       help="pause after this many minutes (a resumable checkpoint; budget and phases unchanged)")
        s.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: the config's (auto)")
        s.add_argument("--seed", type=int, help="override the config's seed")
        if stage in ("teacher", "student"):
            s.add_argument("--vae", type=Path, help="VAE checkpoint (overrides init.vae)")
        s.add_argument("--overlay", action="append", default=[], metavar="NAME|FILE",
                       help="apply an overlay after the config (a name from models/train/configs/overlays, "
                            "e.g. no-tcg or small-refine, or a YAML file; repeatable, in order)")
        if stage == "student":
            s.add_argument("--teacher", type=Path, help="teacher checkpoint or SD3.5 folder (overrides init.teacher)")
            for name in ABLATIONS:
                s.add_argument(f"--{name}", dest="overlay", action="append_const", const=name,
                               help=f"ablation: the '{name}' overlay (models/train/configs/overlays/{name}.yaml)")
        s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override any config key, e.g. --set train.lr=5e-5 (repeatable, applied last)")
        s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        s.add_argument("--print-config", action="store_true",
                       help="print the run config this command would train (JSON, every key) and exit; "
                            "a bad config exits 2 naming the file and the key")
        s.set_defaults(func=run, train_stage=stage)


_DESCRIPTIONS = {
    "vae": "Train the LightVAE (reconstruction losses; latent scale/shift saved with it).",
    "teacher": "Train the dit teacher (flow matching on the student's conditioning) on the trained VAE's latents.",
    "student": "Train the student by FGA distillation (DMD2 score matching + GAN + TCG) from the teacher.",
}


def overrides_from(args) -> dict:
    from models.train.config import ConfigError, parse_override

    out: dict = {}
    for text in args.set:
        try:
            key, value = parse_override(text)
        except ConfigError as exc:
            raise InputError("--set", str(exc)) from None
        out[key] = value
    if args.device is not None:
        out["train.device"] = args.device
    if args.seed is not None:
        out["seed"] = args.seed
    if getattr(args, "vae", None) is not None:
        out["init.vae"] = str(args.vae.resolve())
    if getattr(args, "teacher", None) is not None:
        out["init.teacher"] = str(args.teacher.resolve())
    return out


def default_out(name: str, stage: str) -> Path:
    """``tiny-vae`` -> ``runs/tiny/vae``: the stages of one preset share a parent folder,
    where the configs' ``init: {vae: ../vae/final}`` paths find each other."""
    for sep in ("-", "_"):
        if name.endswith(f"{sep}{stage}"):
            return Path("runs") / name[: -len(stage) - 1] / stage
    return Path("runs") / name / stage


def run(args) -> int:
    from models.train import Budget, resolve
    from models.train.config import ConfigError

    if not args.config.is_file():
        raise InputError(args.config, "config file not found")
    budget = Budget(minutes=args.max_minutes, steps=args.max_steps, session_minutes=args.session_minutes)
    try:
        cfg = resolve(args.config, args.overlay, budget, overrides_from(args))
    except ConfigError as exc:
        raise InputError(args.config, str(exc)) from None
    if cfg.stage != args.train_stage:
        raise InputError(args.config, f"is a '{cfg.stage}' config, not '{args.train_stage}'")
    if args.print_config:  # what a front end shows before it starts a run (the studio's Train tab)
        print(json.dumps(cfg.to_dict(), indent=2))
        return 0
    out = args.out or default_out(cfg.name or args.config.stem, cfg.stage)
    resume = args.resume
    if resume is not None and not resume.exists():
        raise InputError(resume, "checkpoint not found")
    started = (out / "final").exists() or any((out / "checkpoints").glob("step_*"))
    if resume is None and started:
        raise InputError(out, "already holds a training run; pass --resume "
                              f"{out} to continue it, or choose another --out")

    from models.train.runner import train

    try:
        final = train(cfg, out, resume=resume, progress=not args.quiet)
    except FileNotFoundError as exc:
        raise InputError(resume or out, str(exc)) from None
    except ConfigError as exc:
        raise InputError(args.config, str(exc)) from None
    if final is None:
        print(f"paused; continue with: vton train {args.train_stage} --config {args.config} --out {out} --resume {out}"
              + "".join(f" --overlay {o}" for o in args.overlay), file=sys.stderr)
        return 0
    print(final)
    return 0
