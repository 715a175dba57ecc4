"""Inference-time temporal consistency for any model: blend each stylized frame with the previous output frame
carried along the optical flow, where the flow can be trusted.

    brushwork stylize holiday.mp4 -o holiday_starry.mp4 --model starry.onnx --temporal-blend 0.5

A feed-forward net stylizes each frame on its own, so a small change in the input moves the strokes: the video
flickers. Ruder et al. (2016) fixed that by optimizing each frame against the flow-warped previous one, at
minutes per frame. This is the cheap end of that idea: the output is
`(1 - a m) * stylized_t + a m * warp(output_{t-1})`, an exponential moving average along motion paths, where `a`
is the blend strength and `m` is 1 where the forward-backward check passes (0 at occlusions, frame borders,
scene cuts and where the input's brightness changed) with soft edges. The flow is computed on downscaled grey
INPUT frames (the stylized ones would mislead it with their own flicker). Averaging two frames whose strokes
differ also flattens them (the style loss rises), so each colour channel's spread is then scaled back to the
stylized frame's (`restore_contrast`).

Only the last step (warp the previous output, mix) has to wait for the model; the flow depends on the input
frames alone. `prefetch(frame)`, called on each decoded frame in order, starts the flow on worker threads, so
on a GPU it runs beside the model instead of after it (the video pipeline does this).
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np

from ... import BrushworkError
from .flow import PRESETS, FlowEstimator, consistent, resize_flow, to_gray, warp

# A pixel whose grey level changed by more than this after warping is not the same surface (lighting change,
# a cut, a flow error the round trip missed): do not carry the old output there.
BRIGHTNESS_TOLERANCE = 24
# Fewer trusted pixels than this and the frame is a new shot: carry nothing over. Across a cut, chance matches
# between unrelated textures still pass both checks here and there (~20 % of pixels on noise-like frames), and
# would print the old shot into the new one.
MIN_TRUSTED = 0.3
MAX_CONTRAST_GAIN = 1.5  # restore_contrast never scales a channel's spread by more than this
# The flow's working size and method. Measured on bikes.mp4 (docs/quality.md): the blend's own flow sets how
# much flicker it removes and how much it smears (which costs style): DIS "ultrafast" on a 160-px frame left
# 0.54x the per-frame warping error at +9 % style loss (A 0.5), "medium" on a 480-px frame 0.38x at +7 %.
# Two such flows cost ~25 ms per frame on one CPU core, on worker threads beside the model.
FLOW_SIDE = 480
FLOW_PRESET = "medium"

Motion = tuple[np.ndarray, np.ndarray]  # (backward flow, trust weight in [0, 1]) on the flow's small grid


class TemporalBlender:
    """Stateful blender for one video stream: call it on the frames in order; `reset()` at a new stream.

    Args:
        alpha: weight of the warped previous output where the flow is trusted, in [0, 1). 0 is the plain
            per-frame output; 0.4-0.5 about halves the flicker; near 1 trails behind moving objects.
        flow_side: the flow runs on input frames downscaled so the longest side is at most this many pixels.
        preset: OpenCV DIS preset, "ultrafast" | "fast" | "medium".
        workers: threads for `prefetch` (0: compute each flow when the frame is blended).
    """

    def __init__(self, alpha: float, *, flow_side: int = FLOW_SIDE, preset: str = FLOW_PRESET,
                 workers: int | None = None):
        if not 0.0 <= alpha < 1.0:
            raise BrushworkError(f"--temporal-blend {alpha}: give a strength in [0, 1), e.g. 0.5")
        if flow_side < 16:
            raise BrushworkError(f"--flow-side {flow_side}: give at least 16 pixels, e.g. {FLOW_SIDE}")
        if preset not in PRESETS:
            raise BrushworkError(f"--flow-preset {preset}: choose one of {', '.join(PRESETS)}")
        self.alpha, self.flow_side = float(alpha), int(flow_side)
        self._flow = FlowEstimator(preset)
        workers = min(4, os.cpu_count() or 1) if workers is None else workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="flow") if workers > 0 else None
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (a new video, or a jump in the stream)."""
        self._prev_output: np.ndarray | None = None
        self._last_gray: np.ndarray | None = None  # the newest frame whose motion was started, downscaled
        self._prefetched: deque[Future] = deque()  # motion into each prefetched frame, in frame order

    def prefetch(self, frame: np.ndarray) -> None:
        """Start estimating the motion into `frame` on the worker threads. Call on every frame, in order, before
        calling the blender on it; frames never prefetched have their flow computed when blended."""
        self._prefetched.append(self._start_motion(frame, inline=self._pool is None))

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """Blend `stylized` (the model's output for `frame`) with the previous output; uint8 (H, W, 3) in and out."""
        _check_pair(frame, stylized)
        job = self._prefetched.popleft() if self._prefetched else self._start_motion(frame, inline=True)
        motion, prev_output = job.result(), self._prev_output
        if motion is None or prev_output is None or prev_output.shape != stylized.shape:
            output = stylized  # first frame, or the size changed mid-stream: nothing to carry over
        else:
            output = self._blend(motion, prev_output, stylized)
        self._prev_output = output
        return output

    def _start_motion(self, frame: np.ndarray, *, inline: bool) -> Future:
        """The motion from the previous frame into `frame`: computed here (inline) or on a worker thread."""
        gray = to_gray(frame, self.flow_side)
        prev, self._last_gray = self._last_gray, gray
        if prev is not None and self.alpha > 0.0 and not inline:
            return self._pool.submit(self.motion, prev, gray)
        job: Future = Future()
        job.set_result(self.motion(prev, gray) if prev is not None and self.alpha > 0.0 else None)
        return job

    def motion(self, prev_gray: np.ndarray, gray: np.ndarray) -> Motion | None:
        """Flow from this frame to the previous one and how far to trust it, per pixel; None at a scene cut or
        when the size changed."""
        if prev_gray.shape != gray.shape:
            return None
        backward = self._flow(gray, prev_gray)  # current(x) ~ previous(x + backward(x)), on the small grid
        trust = consistent(backward, self._flow(prev_gray, gray))
        same_surface = cv2.absdiff(gray, warp(prev_gray, backward)) <= BRIGHTNESS_TOLERANCE
        trusted = trust & same_surface
        if trusted.mean() < MIN_TRUSTED:
            return None
        return backward, soft_mask(trusted)

    def _blend(self, motion: Motion, prev_output: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        backward, trust = motion
        h, w = stylized.shape[:2]
        carried = warp(prev_output, resize_flow(backward, h, w))
        weight = self.alpha * cv2.resize(trust, (w, h), interpolation=cv2.INTER_LINEAR)
        return restore_contrast(cv2.blendLinear(stylized, carried, 1.0 - weight, weight), stylized)

    def close(self) -> None:
        """Stop the worker threads (they also stop with the process)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def restore_contrast(blended: np.ndarray, stylized: np.ndarray, max_gain: float = MAX_CONTRAST_GAIN) -> np.ndarray:
    """Scale each channel of `blended` about its mean so its standard deviation is the stylized frame's again.

    The blend averages the stroke texture of two frames where it flickers, which lowers its contrast: on
    bikes.mp4 that alone raised the style loss by 7 % at A 0.5; restored, the same flicker reduction costs about
    half as much (docs/quality.md). Only ever raises contrast, by at most `max_gain`.
    """
    step = max(1, min(blended.shape[:2]) // 256)  # statistics from every step-th pixel: ~0.1 Mpx is plenty
    mean, std = (v.ravel() for v in cv2.meanStdDev(blended[::step, ::step]))
    _, target = (v.ravel() for v in cv2.meanStdDev(stylized[::step, ::step]))
    gain = np.clip(target / np.maximum(std, 1e-3), 1.0, max_gain)
    matrix = np.zeros((3, 4), np.float32)
    matrix[[0, 1, 2], [0, 1, 2]] = gain
    matrix[:, 3] = mean * (1.0 - gain)  # x -> mean + gain (x - mean)
    return cv2.transform(blended, matrix)


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
