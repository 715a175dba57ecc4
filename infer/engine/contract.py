"""What an exported file looks like: the one contract between the export (torch) and the runtime (no torch).

    from brushwork.infer.engine.contract import INPUT_NAME, STRIDE, tiled_path
    session.run(None, {INPUT_NAME: frames})          # uint8 (N, H, W, 3) RGB in, uint8 (N, H, W, 3) RGB out
    tiled_path("starry.onnx")                         # -> starry.tiled.onnx, the tile graph beside it

models/export.py and models/tiled.py write files by it; infer/engine/session.py and infer/engine/tiling.py read
them by it. It lives on the torch-free side so that both can import it; it imports nothing but the standard library.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

# The main graph (models/export.py): one input, one output, per-pixel work inside the graph.
INPUT_NAME, OUTPUT_NAME = "image", "stylized"
IO_CONVENTION = "input 'image' uint8 NHWC RGB (N,H,W,3); output 'stylized' uint8 NHWC RGB, same size"

# The network's geometry (models/transformer_net.py).
STRIDE = 4  # two stride-2 downsamplings; the upsampling path restores exactly what they removed
MIN_SIDE = 8  # reflection padding of the 3x3 convs at 1/4 resolution needs at least 2 pixels there

# Every picture is reflection-padded by EDGE_MARGIN pixels on all four sides before the network and cropped back
# after it. The networks trained before the loss saw a padded picture (train/losses.py LOSS_MARGIN) paint a band of
# coloured dots along the edges of whatever they are given; with the margin that band falls outside the picture:
# edge roughness 2.70 -> 0.98 on the held-out photos at 256 px (photos: 0.84; docs/quality.md "Edges"), for 27 % more
# pixels at 256x256 and 5 % at 1080p. A file records its margin (EDGE_MARGIN_KEY; files without the key have none):
# the main graph pads inside itself, the tile graph's runner pads the frame (infer/engine/tiling.py).
EDGE_MARGIN = 16
EDGE_MARGIN_KEY = "edge_margin"


def edge_margin(metadata: dict[str, str]) -> int:
    """The edge margin a file was exported with: 0 for files from before it (and for files not of brushwork's)."""
    value = metadata.get(EDGE_MARGIN_KEY, "0")
    return int(value) if value.isdigit() else 0


def min_input_side(margin: int) -> int:
    """The smallest side a file with this edge margin takes (a reflection needs more pixels than it pads); the
    runtime pads smaller pictures up to it (infer/engine/padding.py)."""
    return max(MIN_SIDE, margin + 1)

# The scale a network learned to paint at (models/export.py writes it from the training config; infer/engine/stroke.py
# reads it). Training shows the network square crops of image_size pixels, each covering a random fraction of a
# photo's area drawn uniformly from crop_area: a whole scene is image_size**2 / fraction pixels large there. Strokes
# have a fixed size in pixels, so a picture painted at about that many pixels has strokes in the proportion to the
# scene the network learned; at 12 megapixels they would be a fifth of the size and read as a fine texture.
TRAINING_SCALE_KEY = "training_scale"
DEFAULT_TRAINING_SCALE = {"image_size": 256, "crop_area": [0.35, 1.0], "style_size": 512}  # train's defaults


def training_scale(metadata: dict[str, str]) -> dict:
    """{image_size, crop_area, style_size} of a file: its own key, else what its training config says, else the
    defaults of `brushwork train` (files from before the key, or not of brushwork's)."""
    for key in (TRAINING_SCALE_KEY, "training_config"):
        try:
            found = json.loads(metadata.get(key) or "{}")
        except ValueError:
            continue
        if isinstance(found, dict) and isinstance(found.get("image_size"), int):
            return {name: found.get(name) or default for name, default in DEFAULT_TRAINING_SCALE.items()}
    return dict(DEFAULT_TRAINING_SCALE)


def scene_pixels(scale: dict) -> int:
    """How many pixels a whole scene had in training, on average: image_size**2 times the mean of 1 / fraction over
    the uniform crop_area range (256 px crops of 35-100 %: 105,830 px, e.g. 375x282 at 4:3)."""
    low, high = (float(x) for x in scale["crop_area"])
    mean_inverse = math.log(high / low) / (high - low) if high > low else 1.0 / low
    return round(int(scale["image_size"]) ** 2 * mean_inverse)


# metadata_props of every exported file, strings only (models/export.py build_metadata writes them in this order).
METADATA_KEYS = ("producer", "brushwork_version", "arch", "arch_kwargs", "stride", "style_name", "style_sha256",
                 "io", "precision", "training_step", "training_config", TRAINING_SCALE_KEY, EDGE_MARGIN_KEY)

# The tile graph (models/tiled.py writes it, infer/engine/tiling.py runs it): a companion file beside the main export
# with the main export's metadata plus these keys.
TILED_SUFFIX = ".tiled.onnx"
TILED_FORMAT = "2"  # 1: the whole network per tile with given statistics (thumbnail + refine); 2: layer by layer
TILED_IO_KEY, TILED_FORMAT_KEY, TILED_PROGRAM_KEY = "tiled_io", "tiled_format", "tiled_program"
# A shipped tile graph reads its weights from the main export's bytes (models/shared_weights.py): that file's name and
# sha256, so that a changed main file is refused instead of read at the wrong offsets.
WEIGHTS_IN_KEY, WEIGHTS_SHA256_KEY = "weights_in", "weights_sha256"


def tiled_path(path: str | os.PathLike) -> Path:
    """`starry.onnx` -> `starry.tiled.onnx` (the runtime looks for the companion file there); a path that already
    names a companion file is kept."""
    path = Path(path)
    return path if path.name.endswith(TILED_SUFFIX) else path.with_name(path.stem + TILED_SUFFIX)


__all__ = [
    "DEFAULT_TRAINING_SCALE",
    "EDGE_MARGIN",
    "EDGE_MARGIN_KEY",
    "INPUT_NAME",
    "IO_CONVENTION",
    "METADATA_KEYS",
    "MIN_SIDE",
    "OUTPUT_NAME",
    "STRIDE",
    "TILED_FORMAT",
    "TILED_FORMAT_KEY",
    "TILED_IO_KEY",
    "TILED_PROGRAM_KEY",
    "TILED_SUFFIX",
    "TRAINING_SCALE_KEY",
    "WEIGHTS_IN_KEY",
    "WEIGHTS_SHA256_KEY",
    "edge_margin",
    "min_input_side",
    "scene_pixels",
    "tiled_path",
    "training_scale",
]
