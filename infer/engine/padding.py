"""Frames smaller than the network can take: padded up to its minimum, stylized, cropped back.

    padded, (h, w) = pad_to_min_side(frames)     # uint8 (N, H, W, 3), any H, W >= 1
    out = stylize(padded)[:, :h, :w]

The network downsamples by 4 and its residual blocks reflection-pad by 1 at that scale, which needs 2 pixels
there: 8 at full resolution (MIN_SIDE, infer/engine/contract.py). A user does not care what the network needs, so a
1x1 icon or a 97x3 strip is padded on the bottom and right as the network itself pads to its stride (mirror
images of the border), then cropped back. Only an empty frame (0 pixels) has nothing to stylize.
"""

from __future__ import annotations

import numpy as np

from ... import BrushworkError
from .contract import MIN_SIDE


def empty_check(frames: np.ndarray) -> None:
    """An image without pixels is the user's input, not a programming error: a one-line BrushworkError."""
    h, w = frames.shape[1:3]
    if h == 0 or w == 0:
        raise BrushworkError(f"the image is empty ({w}x{h} pixels): there is nothing to stylize")


def pad_to_min_side(frames: np.ndarray, min_side: int = MIN_SIDE) -> tuple[np.ndarray, tuple[int, int]]:
    """uint8 (N, H, W, C) -> (frames padded to at least `min_side` on each side, the original (H, W)).

    Frames that are large enough come back as they are (no copy). A side of one pixel is replicated (a mirror
    needs two); otherwise the border is mirrored, repeatedly if the pad is wider than the frame.
    """
    empty_check(frames)
    h, w = frames.shape[1:3]
    if h >= min_side and w >= min_side:
        return frames, (h, w)
    pad = ((0, 0), (0, max(0, min_side - h)), (0, max(0, min_side - w)), (0, 0))
    mode = "reflect" if min(h, w) > 1 else "edge"
    return np.pad(frames, pad, mode=mode), (h, w)
