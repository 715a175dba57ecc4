"""The frames of a video to measure, decoded with PyAV as uint8 (H, W, 3) RGB, optionally downscaled.

    for frame in read_frames("bikes.mp4", max_frames=100, max_side=640): ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np


def read_frames(path: str | os.PathLike, *, max_frames: int | None = None,
                max_side: int | None = None) -> Iterator[np.ndarray]:
    """Decode a video's frames as uint8 (H, W, 3) RGB with PyAV, optionally downscaled to `max_side`."""
    from ...infer.video_io import open_input  # the same checks and messages as `brushwork stylize`

    container = open_input(path)
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield from _decoded(container, stream, max_frames, max_side)


def _decoded(container, stream, max_frames: int | None, max_side: int | None) -> Iterator[np.ndarray]:
    import av

    count = 0
    try:
        for frame in container.decode(stream):
            if max_frames is not None and count >= max_frames:
                return
            yield _scaled(frame, max_side).to_ndarray(format="rgb24")
            count += 1
    except av.FFmpegError as e:  # a truncated file: keep what decoded
        print(f"warning: decoding stopped after {count} frames ({e})")


def _scaled(frame, max_side: int | None):
    longest = max(frame.width, frame.height)
    if max_side is None or longest <= max_side:
        return frame
    scale = max_side / longest
    return frame.reformat(width=round(frame.width * scale / 2) * 2, height=round(frame.height * scale / 2) * 2)
