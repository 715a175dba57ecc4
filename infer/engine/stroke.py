"""Strokes at the painting's scale at any picture size: the network paints a working-size copy, and the result
comes back to the picture's full size with the picture's own fine detail (upsample.py).

    stylizer = StrokeScale(Stylizer("starry.onnx"))              # the default: 3x the trained scene's side
    stylizer = StrokeScale(Stylizer("starry.onnx"), stroke=2)    # strokes twice as large (half the working side)
    out = stylizer(phone_photo)                                  # (3024, 4032, 3) in, (3024, 4032, 3) out

A style network paints strokes of a fixed size in pixels, learned on scenes of about `scene_pixels` pixels
(infer/engine/contract.py). On a 12-megapixel photo the same strokes are a tenth of their size against the scene
and read as a fine texture, not a painting. The working size is derived from that scale (SCREEN below): a picture
larger than it is painted at the working size and brought back up with its own detail; one at or below it runs as
it is (resolution is never invented), as does every picture with stroke "native", where tiling stays exact. Fewer
pixels through the network also make big pictures fast.
"""

from __future__ import annotations

import math

import numpy as np

from ... import BrushworkError
from .contract import scene_pixels, training_scale
from .session import Frames, StylizerLike
from .upsample import detail_upsample, resize

NATIVE = "native"
# The working size's side is SCREEN times a training scene's at the default stroke (1). Painted at the trained scene
# size itself (`--stroke 3`), a 12-Mpx photo gets the largest strokes, but the network's finest texture (the regular
# dot pattern of these models, docs/quality.md "Hatching") is magnified 12x into a visible checker on flat areas; at
# 3x the side (about 1 Mpx for 256 px crops) the photo seen on a screen looks like the 1024-px stylization and is sharp
# at 100 %, and the strokes still grow with the picture (docs/quality.md, "Strokes at any size").
SCREEN = 3


def parse_stroke(text: str | float) -> float | None:
    """'1', '2', '0.5' -> the stroke size against the default (bigger = larger strokes); 'native' -> None."""
    if str(text).strip().lower() == NATIVE:
        return None
    try:
        stroke = float(text)
    except ValueError:
        stroke = -1.0
    if not (math.isfinite(stroke) and 0.05 <= stroke <= 20):
        raise BrushworkError(f"--stroke {text}: give a stroke size, e.g. 1 (the default), 2 (twice as large), 0.5 "
                             "(half), 3 (the trained scene size), or 'native' (the network at the picture's full size)")
    return stroke


class StrokeScale(Frames):
    """A stylizer (Stylizer, TiledStylizer) run at its model's working size, the result brought back to full size.

    Args:
        stylizer: what paints the working-size copy; its metadata says the training scale.
        stroke: stroke size against the default: 2 = twice as large, 0.5 = half, 3 = the trained scene size (the
            largest); None or "native" = the network at every picture's full size.
    """

    def __init__(self, stylizer: StylizerLike, stroke: float | str | None = 1.0):
        self.stylizer = stylizer
        self.path, self.provider, self.metadata = stylizer.path, stylizer.provider, stylizer.metadata
        self.stroke = None if stroke is None else parse_stroke(stroke)  # a number is checked as a flag would be
        scene = scene_pixels(training_scale(self.metadata))
        self.pixels = None if self.stroke is None else scene * (SCREEN / self.stroke) ** 2

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) at which the network paints a height x width picture: the working size, or the picture's own."""
        if self.pixels is None or height * width <= self.pixels:
            return height, width
        scale = math.sqrt(self.pixels / (height * width))
        return max(1, round(height * scale)), max(1, round(width * scale))

    def _frames(self, frames: np.ndarray) -> np.ndarray:
        height, width = frames.shape[1:3]
        h, w = self.working_size(height, width)
        if (h, w) == (height, width):
            return self.stylizer.batch(frames)
        small = np.stack([resize(frame, (w, h)) for frame in frames])
        painted = self.stylizer.batch(small)
        return np.stack([detail_upsample(*parts) for parts in zip(frames, small, painted, strict=True)])

    def __repr__(self) -> str:
        stroke = "native" if self.stroke is None else self.stroke
        return f"StrokeScale({self.stylizer!r}, stroke={stroke})"
