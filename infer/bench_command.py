"""Benchmarks. Speed goals live here, never in unit tests.

    brushwork bench train [--batch-size 4 ...]        training images/s (torch; see `bench train --help`)
    brushwork bench MODEL.onnx [--size 1920x1080 ...] inference fps and per-stage video times (no torch)
"""

from __future__ import annotations

import argparse
import importlib


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="'train', or an exported .onnx model")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark (see TARGET --help)")


def run(args: argparse.Namespace) -> int:
    # Each benchmark owns its parser; torch is imported only by the training one.
    module = importlib.import_module("brushwork.train.bench" if args.target == "train" else "brushwork.infer.bench")
    return module.main(args.target, args.rest)
