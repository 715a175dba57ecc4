"""Print what an exported model is: its metadata, inputs and outputs.

    brushwork info starry.onnx
    brushwork info starry_night          # a shipped style: its full model and, if it has one, its fast student
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ORDER = ("producer", "brushwork_version", "arch", "arch_kwargs", "precision", "stride", "style_name", "style_sha256",
         "io", "training_step", "training_config")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="an .onnx file written by `brushwork export`, or the name of a "
                        "shipped style (`brushwork styles`)")
    parser.add_argument("--json", action="store_true", help="print the metadata as JSON")


def run(args: argparse.Namespace) -> int:
    from .session import Stylizer
    from .styles import list_styles, style_files

    shipped = not args.model.exists() and str(args.model) in {s["name"] for s in list_styles()}
    paths = style_files(str(args.model)) if shipped else [args.model]  # neither: Stylizer says the file is missing
    stylizers = [Stylizer(path, device="cpu") for path in paths]
    if args.json:  # one document: the metadata, or {file name: metadata} for a style and its student
        metas = {s.path.name: s.metadata for s in stylizers}
        print(json.dumps(metas if len(metas) > 1 else stylizers[0].metadata, indent=2, sort_keys=True))
        return 0
    for i, stylizer in enumerate(stylizers):
        print("\n" * bool(i), end="")
        _show(stylizer)
    return 0


def _show(stylizer) -> None:
    meta, path = stylizer.metadata, stylizer.path
    print(f"{path}  ({path.stat().st_size / 2**20:.2f} MB)")
    order = list(ORDER) + sorted(set(meta) - set(ORDER))
    for key, value in ((k, meta[k]) for k in order if k in meta):
        print(f"  {key:<20} {_pretty(value)}")
    for kind, args_ in (("input", stylizer.session.get_inputs()), ("output", stylizer.session.get_outputs())):
        for arg in args_:
            print(f"  {kind:<20} {arg.name} {arg.type} {arg.shape}")


def _pretty(value: str) -> str:
    """Short JSON values on one line; a long training config stays one line too, but compact."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return json.dumps(parsed, separators=(", ", ": ")) if isinstance(parsed, (dict, list)) else value
