"""Print what an exported model is: its metadata, inputs and outputs.

    brushwork info starry.onnx
    brushwork info starry_night          # a shipped style: its full model and, if it has one, its fast student
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from .. import BrushworkError
from ..config import add_arguments as add_config_arguments
from ..config import from_args, option
from .engine.contract import METADATA_KEYS, TILED_SUFFIX, TRAINING_SCALE_KEY, scene_pixels, training_scale


@dataclass
class InfoConfig:
    model: str = option(help="an .onnx file written by `brushwork export`, or the name of a shipped style "
                        "(`brushwork styles`)", positional=True)
    json: bool = option(False, "print the metadata as JSON", switch=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, InfoConfig)


def run(args: argparse.Namespace) -> int:
    args = from_args(InfoConfig, args)
    from ..styles import model_files
    from .engine.session import Stylizer

    paths = model_files(args.model, "brushwork info")
    for path in paths:
        if path.name.endswith(TILED_SUFFIX):  # its inputs are the program's steps, not a picture
            model = path.name.removesuffix(TILED_SUFFIX) + ".onnx"
            raise BrushworkError(f"{path}: the tile graph of {model} (what `stylize --tile/--max-memory` runs); "
                                 f"give the model itself: brushwork info {path.with_name(model)}")
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
    order = list(METADATA_KEYS) + sorted(set(meta) - set(METADATA_KEYS))
    for key, value in ((k, meta[k]) for k in order if k in meta):
        print(f"  {key:<20} {_pretty(value)}")
    scale = training_scale(meta)
    print(f"  {'working size':<20} {scene_pixels(scale):,} pixels: larger pictures are painted at this size and "
          f"brought back (stylize --stroke; {'recorded' if TRAINING_SCALE_KEY in meta else 'the default'})")
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
