"""The frames of a video to measure: decoded as `brushwork stylize` decodes them (infer/media/video_io.py), at most
`max_frames`, optionally downscaled.

    for frame in read_frames("bikes.mp4", max_frames=100, max_side=640): ...
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import numpy as np


def read_frames(path: str | os.PathLike, *, max_frames: int | None = None,
                max_side: int | None = None) -> Iterator[np.ndarray]:
    """A video's frames as uint8 (H, W, 3) RGB; a truncated file keeps what decoded, with a warning."""
    from ...infer.media import video_io  # the same checks and messages as `brushwork stylize`

    warnings: list[str] = []
    yield from itertools.islice(video_io.read_frames(path, max_side, warnings), max_frames)
    for warning in warnings:
        print(f"warning: {path}: {warning}")
