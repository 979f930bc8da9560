"""``vton``: the command line. Each command group lives in its own module with a ``register``.

Inference commands use the engine only; commands that need PyTorch (export, data, train)
import ``models`` inside their handlers, so ``vton tryon`` never loads torch.

Every refused input ends as exactly one line on stderr and exit code 2 (docs/reliability.md):
usage errors included, and whatever native libraries (libtiff, ONNX Runtime, torch's
exporter) print on the side is captured instead of reaching the terminal
(``VTON_DEBUG=1`` shows it, and tracebacks).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings

from engine.errors import VtonError

from ._quiet import NativeStderr, one_line

COMMAND_MODULES = ("tryon", "bundle", "info", "data", "train", "eval")
LOUD_COMMANDS = ("train",)  # long runs whose own logs (and torch's warnings) are the point
# modules of the `train` extra: the runtime install (./run.sh) has none of them
TRAIN_EXTRA = ("torch", "transformers", "diffusers", "onnx", "onnxscript", "safetensors", "yaml", "tqdm")


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (and the same class for every subcommand)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="vton", description="Private, offline virtual try-on.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = bool(os.environ.get("VTON_DEBUG"))
    if debug or args.command in LOUD_COMMANDS:
        return _run(args, debug=True)
    with warnings.catch_warnings(), NativeStderr() as native:
        warnings.simplefilter("ignore")
        code = _run(args, debug=False)
        if code == 1 and native.unexpected:  # a bug: what the libraries said may explain it
            native.replay()
        return code


def _run(args, debug: bool) -> int:
    try:
        return int(args.func(args) or 0)
    except VtonError as exc:
        print(f"vton: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vton: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("vton: error: out of memory", file=sys.stderr)
        return 2
    except Exception as exc:
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in TRAIN_EXTRA:
            print(f"vton: error: 'vton {args.command}' needs the PyTorch side, which is not installed "
                  f"(no module '{exc.name}'): pip install torch==2.13.0 && pip install -e '.[train]'",
                  file=sys.stderr)
            return 2
        if debug:
            raise
        print(f"vton: internal error: {type(exc).__name__}: {one_line(str(exc))} "
              "(please report it; VTON_DEBUG=1 shows the traceback)", file=sys.stderr)
        NativeStderr.note_unexpected(traceback.format_exc())
        return 1


if __name__ == "__main__":
    sys.exit(main())
