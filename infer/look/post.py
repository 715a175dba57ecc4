"""What runs on each stylized frame after the model, in this order: the temporal blend (video), colour
preservation, then the strength (a blend back toward the input). The stylize verb and the server build their
post-processing here, so both do the same thing in the same order.

    post = make_post("luminance", strength=0.7)     # None when there is nothing to do
    out = finish(post, frame, stylized)             # every caller applies it the same way
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ... import BrushworkError

Post = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (input frame, stylized frame) -> output frame


def make_post(preserve: str | None = None, strength: float = 1.0, blender: Post | None = None) -> Post | None:
    """(input frame, stylized frame) -> frame: `blender`, then colour preservation, then `strength`; None when
    there is nothing to do."""
    steps = [blender] if blender is not None else []
    if preserve or strength < 1.0:
        from .color import blend, preserve_color

        steps.append(lambda x, y: blend(x, preserve_color(x, y, preserve), strength))
    if not steps:
        return None

    def post(frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        for step in steps:
            stylized = step(frame, stylized)
        return stylized

    return post


def temporal_blender(weight: float | None, *, flow_side: int | None = None, preset: str | None = None):
    """A TemporalBlender (look/temporal.py) blending `weight` of the warped previous output, or None for none.
    The optical flow is OpenCV's, which a runtime can be installed without: then a one-line error."""
    if not weight:
        return None
    try:
        from .temporal import TemporalBlender
    except ModuleNotFoundError as e:
        if e.name != "cv2":
            raise
        raise BrushworkError("--temporal-blend needs OpenCV for the optical flow: "
                             "`pip install opencv-python-headless`, or leave --temporal-blend out") from None

    options = {"flow_side": flow_side, "preset": preset}
    return TemporalBlender(weight, **{k: v for k, v in options.items() if v is not None})


def finish(post: Post | None, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
    """The stylized frame after `post`, or as it is when there is no post-processing."""
    return post(frame, stylized) if post is not None else stylized
