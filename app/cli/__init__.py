"""``vton``: the command line. Each command group lives in its own module with a ``register``.

Inference commands use the engine only; commands that need PyTorch (export, data, train)
import ``models`` inside their handlers, so ``vton tryon`` never loads torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import VtonError

COMMAND_MODULES = ("tryon", "bundle", "info", "data", "train", "eval")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vton", description="Private, offline virtual try-on.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except VtonError as exc:
        print(f"vton: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vton: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
