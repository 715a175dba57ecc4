"""Temporal consistency of stylized video, measured: the warping error of Lai et al., "Learning Blind Video
Temporal Consistency" (ECCV 2018). `brushwork evaluate-video` reports it beside the per-frame style loss
(video_losses.py), so stability bought by washing out the style shows.

Warping error of frame t: optical flow from input frame t to input frame t-1 (OpenCV DIS, medium preset), a
mask of the pixels that pass the forward-backward check and stay inside the frame, then the mean squared
difference between output t and output t-1 warped by that flow, over the masked pixels (RGB in [0, 1],
averaged over channels). The same number for the input video itself is the floor: what the flow cannot explain
(noise, lighting, flow errors). A video's score is the mean over its frame pairs.

The flow comes from the INPUT frames, never the stylized ones, so every output of the same clip is judged by the
same flow and masks. No torch here: the measure runs wherever the runtime does.
"""

from __future__ import annotations

import cv2
import numpy as np

from ... import BrushworkError
from ...infer.look.flow import FlowEstimator, flow_to_previous, to_gray, warp
from .config import MEASURE_FLOWS

INPUT = "input"  # the series name of the input video's own warping error (the floor)
# A frame pair where fewer pixels than this pass the flow check is a scene cut: nothing carries over, so it is
# left out (one cut in a 60-frame clip otherwise outweighs all the flicker: its error is ~100x a normal pair's).
MIN_VALID_FRACTION = 0.2
CUT_TOLERANCE = 12  # grey levels: a trusted pixel farther than this from its warped match is not the same surface


class Farneback:
    """Farneback's polynomial-expansion flow (2003): a second opinion that shares nothing with DIS.

    When the temporal blend uses DIS too, blend and measure can agree on the same flow errors and flatter the
    blend; this measure cannot. Its own errors are larger (a higher floor), which pulls every row towards 1.
    """

    def __call__(self, a_gray: np.ndarray, b_gray: np.ndarray) -> np.ndarray:
        # 5 levels x 21-px windows: robust to the motion of real footage; Gaussian weighting for accuracy.
        return cv2.calcOpticalFlowFarneback(a_gray, b_gray, None, 0.5, 5, 21, 5, 7, 1.5,
                                            cv2.OPTFLOW_FARNEBACK_GAUSSIAN)


def warping_error(previous: np.ndarray, current: np.ndarray, flow: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared difference, RGB in [0, 1], between `current` and `previous` warped by `flow` over `mask`."""
    if not mask.any():
        return float("nan")  # nothing trustworthy (e.g. a scene cut): the pair is left out of the mean
    carried = warp(previous, flow).astype(np.float32)
    diff = (current.astype(np.float32) - carried)[mask] / 255.0
    return float(np.mean(np.square(diff)))


class WarpingError:
    """Accumulates per-frame warping errors over a stream of input frames and any number of named outputs.

    Call `update(frame, {"per-frame": out, ...})` for each frame in order; `errors[name]` then holds one value per
    frame pair (NaN at scene cuts, listed in `cuts`), `errors["input"]` the floor, `valid_fraction` the share of
    pixels the check kept.
    """

    def __init__(self, flow: str = "dis"):
        if flow not in MEASURE_FLOWS:
            raise BrushworkError(f"--measure-flow {flow}: choose one of {', '.join(MEASURE_FLOWS)}")
        self._flow = Farneback() if flow == "farneback" else FlowEstimator("medium")
        self._prev_gray: np.ndarray | None = None
        self._prev: dict[str, np.ndarray] = {}
        self.errors: dict[str, list[float]] = {INPUT: []}
        self.valid_fraction: list[float] = []
        self.cuts: list[int] = []

    def update(self, frame: np.ndarray, outputs: dict[str, np.ndarray]) -> None:
        for name, out in outputs.items():
            if out.shape != frame.shape:
                raise BrushworkError(f"output {name!r} is {out.shape[1]}x{out.shape[0]} but its input frame is "
                                     f"{frame.shape[1]}x{frame.shape[0]}; outputs must keep the input size")
        gray = to_gray(frame)
        if self._prev_gray is not None:
            if gray.shape != self._prev_gray.shape:
                raise BrushworkError(f"frame size changed from {self._prev_gray.shape[::-1]} to {gray.shape[::-1]} "
                                     "mid-video; evaluate each part separately")
            self._score_pair(gray, frame, outputs)
        self._prev_gray, self._prev = gray, {INPUT: frame, **outputs}

    def _score_pair(self, gray: np.ndarray, frame: np.ndarray, outputs: dict[str, np.ndarray]) -> None:
        flow, mask = flow_to_previous(self._flow, self._prev_gray, gray)
        self.valid_fraction.append(float(mask.mean()))
        # Farneback's smooth flows pass the round trip even across a cut, so a cut is also a pair where few
        # trusted pixels look alike after warping the input.
        alike = cv2.absdiff(gray, warp(self._prev_gray, flow)) <= CUT_TOLERANCE
        if self.valid_fraction[-1] < MIN_VALID_FRACTION or (mask & alike).mean() < MIN_VALID_FRACTION:
            self.cuts.append(len(self.valid_fraction))  # frame pair (t-1, t) numbered from 1, as in the plot
            mask = np.zeros_like(mask)  # a cut is no flicker: leave the pair out of every series
        for name, current in {INPUT: frame, **outputs}.items():
            self.errors.setdefault(name, []).append(warping_error(self._prev[name], current, flow, mask))

    def means(self) -> dict[str, float]:
        """The video's score per series: the mean over frame pairs that had trusted pixels."""
        if not self.valid_fraction:
            raise BrushworkError("the video has fewer than 2 frames; the warping error needs consecutive frames")
        return {name: _nanmean(values) for name, values in self.errors.items()}


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")
