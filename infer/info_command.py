"""Print what an exported model is: its metadata, inputs and outputs.

    brushwork info starry.onnx
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ORDER = ("producer", "brushwork_version", "arch", "arch_kwargs", "precision", "stride", "style_name", "style_sha256",
         "io", "training_step", "training_config")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="an .onnx file written by `brushwork export`")
    parser.add_argument("--json", action="store_true", help="print the metadata as JSON")


def run(args: argparse.Namespace) -> int:
    from .session import Stylizer

    stylizer = Stylizer(args.model, device="cpu")
    meta = stylizer.metadata
    if args.json:
        print(json.dumps(meta, indent=2, sort_keys=True))
        return 0
    print(f"{args.model}  ({args.model.stat().st_size / 2**20:.2f} MB)")
    order = list(ORDER) + sorted(set(meta) - set(ORDER))
    for key, value in ((k, meta[k]) for k in order if k in meta):
        print(f"  {key:<20} {_pretty(value)}")
    for kind, args_ in (("input", stylizer.session.get_inputs()), ("output", stylizer.session.get_outputs())):
        for arg in args_:
            print(f"  {kind:<20} {arg.name} {arg.type} {arg.shape}")
    return 0


def _pretty(value: str) -> str:
    """Short JSON values on one line; a long training config stays one line too, but compact."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return json.dumps(parsed, separators=(", ", ": ")) if isinstance(parsed, (dict, list)) else value
