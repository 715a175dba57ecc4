"""Optical flow between video frames, warping by flow and the forward-backward occlusion check (numpy + OpenCV).

Shared by the inference-time temporal blend (infer/look/temporal.py) and the warping-error measure
(train/evaluate/warping.py), so both trust exactly the same pixels.

Conventions: a flow maps each pixel of frame A to where it is in frame B, `A(x) ~ B(x + flow(x))`, as
(H, W, 2) float32 (dx, dy) in pixels. `warp(B, flow)` then brings B onto A's grid. The flow is computed with
OpenCV's DIS (Kroeger et al., "Fast Optical Flow using Dense Inverse Search", ECCV 2016): a few milliseconds
on a quarter-resolution frame, which is what real-time video needs.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from ...choices import FLOW_PRESETS

PRESETS = {name: getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{name.upper()}") for name in FLOW_PRESETS}


def to_gray(frame: np.ndarray, max_side: int | None = None) -> np.ndarray:
    """uint8 (H, W, 3) RGB -> uint8 grey, area-downscaled so the longest side is at most `max_side` (>= 8 px a
    side, DIS's patch); never upscaled."""
    gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    if max_side is None or max(h, w) <= max_side:
        return gray
    scale = max_side / max(h, w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


class FlowEstimator:
    """Dense flow between two grey frames of equal size with OpenCV DIS.

    Safe to call from several threads at once: a DIS object keeps scratch state between calls, so each thread
    gets its own (made on its first call, then reused).
    """

    def __init__(self, preset: str = "medium"):
        if preset not in PRESETS:
            raise ValueError(f"unknown flow preset {preset!r}; known: {', '.join(PRESETS)}")
        self.preset = preset
        self._local = threading.local()

    def __call__(self, a_gray: np.ndarray, b_gray: np.ndarray) -> np.ndarray:
        """Flow from a to b: a(x) ~ b(x + flow(x)), (H, W, 2) float32."""
        dis = getattr(self._local, "dis", None)
        if dis is None:
            dis = self._local.dis = cv2.DISOpticalFlow_create(PRESETS[self.preset])
        return dis.calc(a_gray, b_gray, None)


def sample_grid(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute sampling coordinates x + flow(x) as two float32 maps for cv2.remap."""
    h, w = flow.shape[:2]
    xs = np.arange(w, dtype=np.float32)[None, :] + flow[..., 0]
    ys = np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]
    return xs, ys


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Bring `image` (frame B) onto frame A's grid along `flow` (A -> B), bilinear; same dtype and channels."""
    # A relative map reads the flow as it is: no full-size grid of absolute coordinates to build first.
    return cv2.remap(image, np.ascontiguousarray(flow, np.float32), None,
                     interpolation=cv2.INTER_LINEAR | cv2.WARP_RELATIVE_MAP, borderMode=cv2.BORDER_REPLICATE)


def consistent(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """Pixels of A whose flow is trustworthy: bool (H, W).

    A pixel fails when it leaves the frame, or when going A -> B and back B -> A does not return near the start:
    |w + w~|^2 > 0.01 (|w|^2 + |w~|^2) + 0.5 with w~ the B -> A flow sampled at x + w (Sundaram, Brox &
    Keutzer 2010; the check Ruder et al. 2016 and Lai et al. 2018 use). That marks occlusions and flow errors.
    """
    h, w = flow_ab.shape[:2]
    xs, ys = sample_grid(flow_ab)
    inside = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
    back = cv2.remap(flow_ba, xs, ys, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    round_trip = np.square(flow_ab + back).sum(-1)
    magnitude = np.square(flow_ab).sum(-1) + np.square(back).sum(-1)
    return inside & (round_trip <= 0.01 * magnitude + 0.5)


def resize_flow(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """A flow computed on a downscaled frame, resized to (height, width) with its vectors rescaled to match."""
    h, w = flow.shape[:2]
    if (h, w) == (height, width):
        return flow
    # Scale the vectors on the small grid (linear interpolation commutes with it): cheaper than at full size.
    scaled = flow * np.array([width / w, height / h], np.float32)
    return cv2.resize(scaled, (width, height), interpolation=cv2.INTER_LINEAR)


def flow_to_previous(estimator: FlowEstimator, prev_gray: np.ndarray,
                     cur_gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flow from the current frame to the previous one, and the pixels of the current frame where it holds."""
    backward = estimator(cur_gray, prev_gray)  # cur(x) ~ prev(x + backward(x))
    forward = estimator(prev_gray, cur_gray)
    return backward, consistent(backward, forward)
