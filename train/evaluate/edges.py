"""Edge roughness: how much busier a picture is along its border than inside it (torch-free).

A style model or the Gatys optimizer can leave a band of coloured dots along the four edges of every picture: the
loss network pads its convolutions with zeros there, so the border pixels meet a frame that no photo has, and the
optimum paints high-contrast dots to match the painting's statistics against it. The measure: the mean absolute
Laplacian (of the luminance) over the outer `band` pixels, divided by the interior's. Photos give 0.8-0.9 (their
edges are as calm as their middle, often calmer: sky, floor); a fringe gives 2.5-4.
"""

from __future__ import annotations

import cv2
import numpy as np

BAND = 3  # pixels along each edge


def luma_laplacian(image: np.ndarray) -> np.ndarray:
    """|Laplacian| (4-neighbour, reflected at the border) of the luminance of uint8 or float (H, W, 3) RGB."""
    luma = np.asarray(image, dtype=np.float32) @ np.float32([0.299, 0.587, 0.114])
    return np.abs(cv2.Laplacian(luma, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT_101))


def edge_roughness(image: np.ndarray, band: int = BAND) -> float:
    """mean |Laplacian| of the outer `band` pixels / that of the rest; uint8 or float (H, W, 3) RGB."""
    h, w = image.shape[:2]
    if min(h, w) <= 4 * band:
        raise ValueError(f"a {w}x{h} picture is too small to tell its {band}-pixel border from its interior")
    lap = luma_laplacian(image)
    inner = lap[band:-band, band:-band]
    border_sum = lap.sum() - inner.sum()
    border_mean = border_sum / (h * w - inner.size)
    return float(border_mean / max(float(inner.mean()), 1e-6))
