"""Inference-time temporal consistency for any model: blend each stylized frame with the previous output frame
carried along the optical flow, where the flow can be trusted.

    brushwork stylize holiday.mp4 -o holiday_starry.mp4 --model starry.onnx --temporal-blend 0.6

A feed-forward net stylizes each frame on its own, so a small change in the input moves the strokes: the video
flickers. Ruder et al. (2016) fixed that by optimizing each frame against the flow-warped previous one, at
minutes per frame. This is the cheap end of that idea: the output is
`(1 - a m) * stylized_t + a m * warp(output_{t-1})`, an exponential moving average along motion paths, where `a`
is the blend strength and `m` is 1 where the forward-backward check passes (0 at occlusions, frame borders,
scene cuts and where the input's brightness changed) with soft edges. The flow is computed on downscaled grey
INPUT frames (the stylized ones would mislead it with their own flicker), which keeps it to milliseconds.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import BrushworkError
from .flow import FlowEstimator, consistent, resize_flow, to_gray, warp

# A pixel whose grey level changed by more than this after warping is not the same surface (lighting change,
# a cut, a flow error the round trip missed): do not carry the old output there.
BRIGHTNESS_TOLERANCE = 24


class TemporalBlender:
    """Stateful blender for one video stream: call it on the frames in order; `reset()` at a new stream.

    Args:
        alpha: weight of the warped previous output where the flow is trusted, in [0, 1). 0 is the plain
            per-frame output; 0.5-0.8 removes most flicker; near 1 trails behind moving objects.
        flow_scale: the flow is computed on input frames downscaled by this factor (0.25 of 1080p is 480x270).
        preset: OpenCV DIS preset, "ultrafast" | "fast" | "medium".
    """

    def __init__(self, alpha: float, *, flow_scale: float = 0.25, preset: str = "ultrafast"):
        if not 0.0 <= alpha < 1.0:
            raise BrushworkError(f"--temporal-blend {alpha}: give a strength in [0, 1), e.g. 0.6")
        if not 0.0 < flow_scale <= 1.0:
            raise BrushworkError(f"flow scale {flow_scale}: give a factor in (0, 1], e.g. 0.25")
        self.alpha, self.flow_scale = float(alpha), float(flow_scale)
        self._flow = FlowEstimator(preset)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (a new video, or a jump in the stream)."""
        self._prev_gray: np.ndarray | None = None
        self._prev_output: np.ndarray | None = None

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """Blend `stylized` (the model's output for `frame`) with the previous output; uint8 (H, W, 3) in and out."""
        _check_pair(frame, stylized)
        gray = to_gray(frame, self.flow_scale)
        prev_gray, prev_output = self._prev_gray, self._prev_output
        if self.alpha == 0.0 or prev_output is None or prev_output.shape != stylized.shape:
            output = stylized  # first frame, or the size changed mid-stream: nothing to carry over
        else:
            output = self._blend(gray, prev_gray, prev_output, stylized)
        self._prev_gray, self._prev_output = gray, output
        return output

    def _blend(self, gray: np.ndarray, prev_gray: np.ndarray, prev_output: np.ndarray,
               stylized: np.ndarray) -> np.ndarray:
        backward = self._flow(gray, prev_gray)  # current(x) ~ previous(x + backward(x)), on the small grid
        trust = consistent(backward, self._flow(prev_gray, gray))
        same_surface = cv2.absdiff(gray, warp(prev_gray, backward)) <= BRIGHTNESS_TOLERANCE
        weight = self.alpha * soft_mask(trust & same_surface)
        h, w = stylized.shape[:2]
        carried = warp(prev_output, resize_flow(backward, h, w))
        weight = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.blendLinear(stylized, carried, 1.0 - weight, weight)


def soft_mask(mask: np.ndarray) -> np.ndarray:
    """bool mask -> float32 weights with the edges feathered over a few pixels, so blended regions show no seam."""
    return cv2.GaussianBlur(mask.astype(np.float32), (5, 5), 0) * mask


def _check_pair(frame: np.ndarray, stylized: np.ndarray) -> None:
    for name, a in (("input frame", frame), ("stylized frame", stylized)):
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise BrushworkError(f"temporal blend: the {name} must be uint8 (H, W, 3) RGB, got {a.dtype} {a.shape}")
    if frame.shape != stylized.shape:
        raise BrushworkError(f"temporal blend: input frame {frame.shape[:2]} and stylized frame "
                             f"{stylized.shape[:2]} differ in size; stylize at the input's size")
