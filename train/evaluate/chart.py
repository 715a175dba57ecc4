"""A line chart of per-frame values (the warping error of each series), drawn with Pillow: no plotting library.

    plot_series({"input": [...], "per-frame": [...]}, "warping_error.png", title="warping error per frame")
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ...data.images import write_image

# Line colours for the plot, in series order: the floor in grey, then strong colours.
PALETTE = [(120, 120, 120), (220, 50, 47), (38, 139, 210), (133, 153, 0), (211, 54, 130), (181, 137, 0)]


def plot_series(series: dict[str, list[float]], path: str | os.PathLike, *, title: str,
                size: tuple[int, int] = (960, 420)) -> None:
    """A line chart of per-frame values with axes, ticks and a legend, drawn with Pillow and written as PNG."""
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
